# darevel.postgres: the two commands are `make up` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PLAYBOOK := $(BIN)/ansible-playbook
INVENTORY ?= inventories/local
ARGS ?=
# Instances for start, stop, restart (APPS=slides,mail; all when empty) and logs (APP=slides LINES=100).
APPS ?=
comma := ,
APP ?= $(firstword $(subst $(comma), ,$(APPS)))
LINES ?= 100
APPS_ARG = $(if $(APPS),-e apps=$(APPS))
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)

# OS packages the test suite needs on a Debian 12 machine.
TEST_OS_PACKAGES := postgresql postgresql-common postgresql-contrib debootstrap docker.io git rsync docker-compose docker-registry socat default-jdk-headless libpostgresql-jdbc-java

.PHONY: help up down start stop restart logs status audit venv test test-deps unit lint sanity integration fleet build-test installed molecule bench clean

help:
	@echo "make up          converge this machine: the six instances on 127.0.0.1:5433-5438"
	@echo "make down        stop them (data kept)"
	@echo "make status      status table and reports/<host>/status.json"
	@echo "make audit [APPS=chat,mail]  security audit: table and reports/<host>/audit.json"
	@echo "make start | stop | restart [APPS=slides,mail]   only the instances named (all when omitted)"
	@echo "make logs APP=slides [LINES=100]                  the last lines of one instance's log"
	@echo "make test        the whole suite: unit, lint, sanity, integration, fleet, build, installed, molecule"
	@echo "make unit | lint | sanity | integration | fleet | build-test | installed | molecule   one tier"
	@echo "make bench       benchmarks, native and docker (see docs/benchmarks.md)"

venv:
	@scripts/bootstrap.sh venv

up: venv
	$(PLAYBOOK) -i $(INVENTORY) playbooks/site.yml $(ARGS)

down: venv
	$(PLAYBOOK) -i $(INVENTORY) playbooks/stop.yml $(APPS_ARG) $(ARGS)

stop: down

start: venv
	$(PLAYBOOK) -i $(INVENTORY) playbooks/start.yml $(APPS_ARG) $(ARGS)

restart: venv
	$(PLAYBOOK) -i $(INVENTORY) playbooks/restart.yml $(APPS_ARG) $(ARGS)

logs: venv
	@test -n "$(APP)" || { echo "usage: make logs APP=slides [LINES=100]"; exit 2; }
	$(PLAYBOOK) -i $(INVENTORY) playbooks/logs.yml -e app=$(APP) -e lines=$(LINES) $(ARGS)

status: venv
	$(PLAYBOOK) -i $(INVENTORY) playbooks/status.yml $(ARGS)

audit: venv
	$(PLAYBOOK) -i $(INVENTORY) playbooks/audit.yml $(APPS_ARG) $(ARGS)

test-deps:
	@scripts/bootstrap.sh os $(TEST_OS_PACKAGES)
	@scripts/bootstrap.sh venv

test: test-deps
	@scripts/run-tests.sh all

unit: venv
	@scripts/run-tests.sh unit

lint: venv
	@scripts/run-tests.sh lint

sanity: venv
	@scripts/run-tests.sh sanity

integration: test-deps
	@scripts/run-tests.sh integration

build-test: venv
	@scripts/run-tests.sh build

installed: test-deps
	@scripts/run-tests.sh installed

fleet: test-deps
	@scripts/run-tests.sh fleet

molecule: test-deps
	@scripts/run-tests.sh molecule

bench: test-deps
	bench/converge/run.sh
	scripts/docker-engine.sh
	bench/docker/run.sh

clean:
	rm -rf ansible_collections .cache tests/output *.tar.gz
