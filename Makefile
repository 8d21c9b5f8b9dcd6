# darevel.postgres: the two commands are `make up` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PLAYBOOK := $(BIN)/ansible-playbook
INVENTORY ?= inventories/local
ARGS ?=
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)

# OS packages the test suite needs on a Debian 12 machine.
TEST_OS_PACKAGES := postgresql postgresql-common postgresql-contrib debootstrap docker.io git rsync docker-compose

.PHONY: help up down status venv test test-deps unit lint sanity integration build-test molecule bench clean

help:
	@echo "make up          converge this machine: the six instances on 127.0.0.1:5433-5438"
	@echo "make down        stop them (data kept)"
	@echo "make status      status table and reports/<host>/status.json"
	@echo "make test        the whole suite: unit, lint, sanity, integration, build, molecule"
	@echo "make unit | lint | sanity | integration | build-test | molecule   one tier"
	@echo "make bench       benchmarks, native and docker (see docs/benchmarks.md)"

venv:
	@scripts/bootstrap.sh venv

up: venv
	$(PLAYBOOK) -i $(INVENTORY) playbooks/site.yml $(ARGS)

down: venv
	$(PLAYBOOK) -i $(INVENTORY) playbooks/stop.yml $(ARGS)

status: venv
	$(PLAYBOOK) -i $(INVENTORY) playbooks/status.yml $(ARGS)

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

molecule: test-deps
	@scripts/run-tests.sh molecule

bench: test-deps
	bench/converge/run.sh
	scripts/docker-engine.sh
	bench/docker/run.sh

clean:
	rm -rf ansible_collections .cache tests/output *.tar.gz
