# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""darevel.postgres.pg_instance against real postgresql-common clusters.

The lifecycle class is one ordered story for the instance it_inst_a (check mode, create, rerun,
stop, restart, port move, absent, purge); each step asserts on the real cluster, not only on what
the module says.
"""

from __future__ import annotations

import os
import re

import pytest

from conftest import clusters, is_online, listening_ports, postmaster_pid, psql

A, A_PORT, A_NEW_PORT = "it_inst_a", 25440, 25441
B, B_PORT = "it_inst_b", 25442
BATCH = [("it_batch1", 25443), ("it_batch2", 25444), ("it_batch3", 25445)]


def config_dir(name: str) -> str:
    return "/etc/postgresql/15/%s" % name


def data_dir(name: str) -> str:
    return "/var/lib/postgresql/15/%s" % name


def start_conf(name: str) -> str:
    with open(os.path.join(config_dir(name), "start.conf")) as handle:
        lines = [ln.strip() for ln in handle if ln.strip() and not ln.strip().startswith("#")]
    return lines[0] if lines else "auto"


def instance(ansible, name, state="started", port=None, **kwargs):
    params = {"name": name, "state": state}
    if port is not None:
        params["port"] = port
    params.update(kwargs.pop("params", {}))
    return ansible.module("pg_instance", params, **kwargs)


def only_result(run) -> dict:
    assert run.rc == 0, run.explain()
    return run.task("pg_instance")


class TestLifecycle:
    def test_check_mode_reports_create_and_creates_nothing(self, ansible):
        result = only_result(instance(ansible, A, port=A_PORT, check=True))
        assert result["changed"] is True
        assert "create" in result["actions"] and "start" in result["actions"]
        assert any(cmd.startswith("pg_createcluster 15 %s --port %d" % (A, A_PORT)) for cmd in result["commands"])
        assert A not in clusters()
        assert not os.path.exists(config_dir(A)) and not os.path.exists(data_dir(A))

    def test_create_and_start(self, ansible):
        result = only_result(instance(ansible, A, port=A_PORT))
        assert result["changed"] is True
        assert result["status"] == "started"
        facts = clusters()[A]
        assert facts["port"] == A_PORT and facts["status"].startswith("online")
        assert psql(A_PORT, "SHOW data_checksums") == "on"
        assert psql(A_PORT, "SHOW port") == str(A_PORT)

    def test_pg_hba_has_no_trust(self):
        with open(os.path.join(config_dir(A), "pg_hba.conf")) as handle:
            rules = [line.split() for line in handle if line.strip() and not line.lstrip().startswith("#")]
        assert rules, "pg_hba.conf has no rules"
        assert all("trust" not in rule for rule in rules), rules
        # The running server uses the same rules (not a stale file).
        methods = psql(A_PORT, "SELECT DISTINCT auth_method FROM pg_hba_file_rules").split()
        assert "trust" not in methods and "scram-sha-256" in methods

    def test_rerun_is_unchanged(self, ansible):
        result = only_result(instance(ansible, A, port=A_PORT))
        assert result["changed"] is False, result
        assert result["commands"] == []

    def test_stopped_stops_only_that_instance(self, ansible):
        assert only_result(instance(ansible, B, port=B_PORT))["changed"] is True
        assert is_online(B)
        result = only_result(instance(ansible, A, state="stopped", port=A_PORT))
        assert result["changed"] is True and result["status"] == "stopped"
        assert not is_online(A)
        assert is_online(B), "stopping %s also stopped %s" % (A, B)
        assert os.path.isdir(data_dir(A))
        again = only_result(instance(ansible, A, state="stopped", port=A_PORT))
        assert again["changed"] is False

    def test_restarted_restarts(self, ansible):
        assert only_result(instance(ansible, A, port=A_PORT))["changed"] is True
        pid_before = postmaster_pid(data_dir(A))
        assert pid_before
        b_pid = postmaster_pid(data_dir(B))
        result = only_result(instance(ansible, A, state="restarted", port=A_PORT))
        assert result["changed"] is True and result["status"] == "started"
        pid_after = postmaster_pid(data_dir(A))
        assert is_online(A)
        assert pid_after and pid_after != pid_before
        assert postmaster_pid(data_dir(B)) == b_pid, "restarting %s restarted %s too" % (A, B)

    def test_port_change_moves_instance_with_diff(self, ansible):
        run = instance(ansible, A, port=A_NEW_PORT, diff=True, callback="default")
        assert run.rc == 0, run.explain()
        assert re.search(r"changed: \[localhost\]", run.stdout), run.explain()
        # The diff shows the state before and after, port included.
        assert "--- before" in run.stdout and "+++ after" in run.stdout, run.explain()
        assert re.search(r'^-\s*"?port"?: %d' % A_PORT, run.stdout, re.M), run.explain()
        assert re.search(r'^\+\s*"?port"?: %d' % A_NEW_PORT, run.stdout, re.M), run.explain()
        facts = clusters()[A]
        assert facts["port"] == A_NEW_PORT and facts["status"].startswith("online")
        assert psql(A_NEW_PORT, "SHOW port") == str(A_NEW_PORT)
        assert A_PORT not in listening_ports()
        rerun = only_result(instance(ansible, A, port=A_NEW_PORT))
        assert rerun["changed"] is False

    def test_absent_without_purge_keeps_data(self, ansible):
        result = only_result(instance(ansible, A, state="absent"))
        assert result["changed"] is True and result["status"] == "stopped"
        assert A in clusters() and not is_online(A)
        assert os.path.isfile(os.path.join(data_dir(A), "PG_VERSION"))

    def test_absent_without_purge_sets_manual_start(self):
        # postgresql-common reads the first non-comment line of start.conf.
        assert start_conf(A) == "manual"
        with open(os.path.join(config_dir(A), "postgresql.conf")) as handle:
            assert "start.conf" not in handle.read(), "start.conf was written into postgresql.conf"

    def test_absent_without_purge_again_is_unchanged(self, ansible):
        again = only_result(instance(ansible, A, state="absent"))
        assert again["changed"] is False, (again["actions"], again["commands"])
        assert A in clusters() and os.path.isdir(data_dir(A))

    def test_absent_with_purge_removes_data(self, ansible):
        result = only_result(instance(ansible, A, state="absent", params={"purge": True}))
        assert result["changed"] is True and result["status"] == "absent"
        assert A not in clusters()
        assert not os.path.exists(data_dir(A)) and not os.path.exists(config_dir(A))

    def test_absent_again_is_unchanged(self, ansible):
        for purge in (True, False):
            result = only_result(instance(ansible, A, state="absent", params={"purge": purge}))
            assert result["changed"] is False, result
        assert A not in clusters()
        assert is_online(B)


def test_batch_creates_several(ansible):
    run = ansible.module("pg_instance", {"instances": [{"name": n, "port": p} for n, p in BATCH],
                                         "state": "started"})
    result = only_result(run)
    assert result["changed"] is True
    assert [r["name"] for r in result["instances"]] == [name for name, dummy in BATCH]
    assert all(r["status"] == "started" and r["changed"] for r in result["instances"])
    found = clusters()
    for name, port in BATCH:
        assert found[name]["port"] == port and found[name]["status"].startswith("online")
        assert psql(port, "SHOW data_checksums") == "on"
    again = only_result(ansible.module("pg_instance", {"instances": [{"name": n, "port": p} for n, p in BATCH]}))
    assert again["changed"] is False


def test_new_instance_without_port_fails_naming_it(ansible):
    run = instance(ansible, "it_noport")
    assert run.rc != 0
    failed = run.failed_results()
    assert len(failed) == 1, run.explain()
    assert "it_noport" in failed[0]["msg"] and "port" in failed[0]["msg"], failed[0]["msg"]
    assert "it_noport" not in clusters()


def test_batch_failure_names_the_bad_instance_and_converges_the_others(ansible):
    run = ansible.module("pg_instance", {"instances": [{"name": "it_batch4", "port": 25446},
                                                       {"name": "it_noport2"}]})
    assert run.rc != 0
    msg = run.task("pg_instance")["msg"]
    assert "it_noport2" in msg and "it_batch4" not in msg, msg
    assert is_online("it_batch4")
    assert "it_noport2" not in clusters()


@pytest.mark.parametrize("state", ["started", "present"])
def test_check_mode_on_existing_instance_changes_nothing(ansible, state):
    name, port = BATCH[0]
    pid = postmaster_pid(data_dir(name))
    result = only_result(instance(ansible, name, state=state, port=port + 100, check=True))
    assert result["changed"] is True and "set_port" in result["actions"]
    assert clusters()[name]["port"] == port
    assert postmaster_pid(data_dir(name)) == pid
