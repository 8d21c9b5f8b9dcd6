# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The read pg_database makes after its work (its status option, pg_database.status_read): what it
asks _ops/status.read for, an empty plan, and a read that fails, which never fails the module's
work. _ops/status.read itself runs against real clusters and containers in the integration tests
(test_status_action, test_site, test_docker_runtime)."""

from __future__ import annotations

import pytest

from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.modules import pg_database

ITEMS = [{"name": "chat", "database": "darevel_chat", "port": 5434}, {"name": "mail", "database": "darevel_mail", "port": 5437}]


class Module:
    def __init__(self, status, **params):
        self.params = dict({"status": dict({"runtime": None, "layout": "auto", "probe": True, "backup_root": None}, **status),
                            "docker_host": None, "workers": 6}, **params)


@pytest.fixture
def asked(monkeypatch):
    calls = []

    def read(module, params):
        calls.append(params)
        return [{"name": n} for n in params["names"]], []

    monkeypatch.setattr(pg_database, "read", read)
    return calls


def test_the_read_asks_for_the_items_with_their_databases_and_the_given_runtime(asked):
    got = pg_database.status_read(Module({"runtime": "docker", "backup_root": "/b"}, docker_host="tcp://127.0.0.1:2375"), ITEMS)
    assert got == {"instances": [{"name": "chat"}, {"name": "mail"}]}
    params = asked[0]
    assert params["names"] == ["chat", "mail"] and params["databases"] == {"chat": "darevel_chat", "mail": "darevel_mail"}
    assert (params["runtime"], params["docker_host"], params["backup_root"]) == ("docker", "tcp://127.0.0.1:2375", "/b")
    assert params["probe"] is True and params["size"] is False and params["log_lines"] == 0


def test_without_a_runtime_it_is_told_by_the_items_containers(asked):
    pg_database.status_read(Module({}), ITEMS)
    pg_database.status_read(Module({"probe": False}), [dict(ITEMS[0], container="darevel-chat")])
    assert [p["runtime"] for p in asked] == ["native", "docker"]
    assert asked[1]["size"] is True


def test_no_instance_reads_nothing(asked):
    assert pg_database.status_read(Module({}), []) == {"instances": []}
    assert pg_database.status_read(Module({}), [{"name": None}]) == {"instances": []}
    assert asked == []


@pytest.mark.parametrize("error, text", [
    (DarevelError("instance 'chat': refused; fix: start it"), "instance 'chat': refused; fix: start it"),
    (RuntimeError("engine went away"), "the instances could not be read after the databases' work: RuntimeError: engine went away"),
])
def test_a_read_that_fails_is_told_in_the_read_not_raised(monkeypatch, error, text):
    def read(module, params):
        raise error

    monkeypatch.setattr(pg_database, "read", read)
    got = pg_database.status_read(Module({}), ITEMS)
    assert got["instances"] == [] and got["msg"].startswith(text)


def test_problems_of_some_instances_come_with_the_others(monkeypatch):
    monkeypatch.setattr(pg_database, "read", lambda module, params: ([{"name": "chat"}], ["instance 'mail': x", "instance 'y': z"]))
    assert pg_database.status_read(Module({}), ITEMS) == {"instances": [{"name": "chat"}], "msg": "instance 'mail': x; instance 'y': z"}
