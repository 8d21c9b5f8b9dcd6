# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""darevel.postgres.pg_status as a task of one's own playbook, against a real cluster (it_st_a,
port 25612): the rows and the report of a plan with an instance that runs and one that is not
there, check mode, an empty plan, a plan entry that is not the preflight's, and a failed read; and
the read that pg_database makes after its work (its status option), from which pg_status makes the
same rows with no module run of its own."""

from __future__ import annotations

import json
import secrets

import pytest

from conftest import drop_cluster

A = {"name": "it_st_a", "port": 25612, "database": "it_st_a", "owner": "it_st_a_owner", "version": 15}
GONE = {"name": "it_st_gone", "port": 25613, "database": "it_st_gone", "owner": "it_st_gone_owner", "version": 15}


@pytest.fixture(scope="module")
def cluster(ansible):
    run = ansible.module("pg_instance", {"instances": [{"name": A["name"], "port": A["port"]}], "state": "started"})
    assert run.rc == 0, run.explain()
    yield A
    drop_cluster(A["name"])


def status(ansible, scratch, plan, name, check=False, **params):
    report = scratch / "reports" / "status-action" / ("%s.json" % name)
    task = {"name": "pg_status under test", "darevel.postgres.pg_status": dict(
        {"plan": plan, "runtime": "native", "report": str(report), "env_dir": "/e"}, **params)}
    return report, ansible.run(ansible.write_playbook([task], name="pg_status"), check=check)


def test_rows_report_and_tables_of_a_running_and_a_missing_instance(ansible, scratch, cluster):
    report, run = status(ansible, scratch, [cluster, GONE], "both")
    assert run.rc == 0, run.explain()
    result = run.task("pg_status under test")
    assert result["changed"] is False and result["report"] == {"path": str(report), "written": True}
    rows = {row["name"]: row for row in result["instances"]}
    assert rows["it_st_a"]["state"] == "started" and rows["it_st_a"]["accepting"] is True
    assert rows["it_st_gone"]["state"] == "absent"
    assert rows["it_st_a"]["env_file"] == "/e/it_st_a.env"
    assert json.loads(report.read_text()) == {"host": "localhost", "runtime": "native", "instances": result["instances"]}
    msg = result["msg"] if isinstance(result["msg"], str) else "\n".join(result["msg"])
    status_table, connect_table = msg.split("\n\n")
    assert status_table.splitlines()[0].split()[:3] == ["name", "port", "state"]
    assert connect_table.splitlines()[2].endswith("psql -h 127.0.0.1 -p 25612 -U it_st_a_owner -d it_st_a")
    # The rows hold live figures (uptime, connections): the report is rewritten, the host unchanged.
    again = status(ansible, scratch, [cluster, GONE], "both")[1]
    assert again.rc == 0 and again.changed == 0, again.explain()


def test_check_mode_reads_but_writes_no_report(ansible, scratch, cluster):
    report, run = status(ansible, scratch, [cluster], "check", check=True)
    assert run.rc == 0, run.explain()
    assert run.task("pg_status under test")["instances"][0]["state"] == "started"
    assert run.task("pg_status under test")["report"]["written"] is False and not report.exists()


def test_an_empty_plan_reads_nothing_and_reports_no_row(ansible, scratch):
    report, run = status(ansible, scratch, [], "empty")
    assert run.rc == 0, run.explain()
    assert run.task("pg_status under test")["instances"] == []
    assert json.loads(report.read_text())["instances"] == []


def test_a_plan_entry_that_is_not_the_preflights_is_named_and_nothing_is_read(ansible, scratch):
    report, run = status(ansible, scratch, [{"name": "it_st_x", "port": 25614}], "bad")
    assert run.rc != 0
    assert ("pg_status: plan entry 0 (it_st_x) lacks database, owner, version; fix: pass the preflight role's "
            "postgres_plan") in run.task("pg_status under test")["msg"]
    assert not report.exists()


def test_a_failed_read_fails_the_task_with_the_modules_message_and_writes_no_report(ansible, scratch, cluster):
    report, run = status(ansible, scratch, [cluster], "failed", runtime="docker", docker_host="unix:///nonexistent/docker.sock")
    assert run.rc != 0
    result = run.task("pg_status under test")
    assert result["failed"] is True and "/nonexistent/docker.sock" in result["msg"], result
    assert not report.exists()


# The live figures, which change between two reads.
LIVE = ("uptime", "uptime_seconds", "connections", "connections_used", "size", "size_bytes", "database_size_bytes")


def test_pg_database_reads_the_instances_after_its_work_and_pg_status_makes_the_rows_of_that_read(ansible, scratch, cluster):
    env = scratch / "status-action-env"
    env.mkdir(mode=0o700, exist_ok=True)
    item = {"name": A["name"], "port": A["port"], "database": A["database"], "owner": A["owner"],
            "owner_password": "{{ it_owner_password }}", "env_file": str(env / "it_st_a.env")}
    report = scratch / "reports" / "status-action" / "read.json"
    database = {"instances": [item], "status": {"probe": True, "layout": "auto"}}
    rows_of = {"plan": [A], "runtime": "native", "report": str(report), "env_dir": str(env), "read": "{{ db.status }}"}
    tasks = [{"name": "pg_database with its status read", "darevel.postgres.pg_database": database, "register": "db", "no_log": True},
             {"name": "pg_status from that read", "darevel.postgres.pg_status": rows_of}]
    run = ansible.run(ansible.write_playbook(tasks, name="pg_status_read"), extra_vars={"it_owner_password": secrets.token_urlsafe(24)})
    assert run.rc == 0, run.explain()
    rows = run.task("pg_status from that read")["instances"]
    assert rows[0]["name"] == "it_st_a" and rows[0]["state"] == "started" and rows[0]["accepting"] is True, rows
    _report, direct = status(ansible, scratch, [A], "direct", env_dir=str(env))
    assert direct.rc == 0, direct.explain()
    strip = [{k: v for k, v in row.items() if k not in LIVE} for row in rows]
    assert strip == [{k: v for k, v in row.items() if k not in LIVE} for row in direct.task("pg_status under test")["instances"]]


def test_with_a_read_given_no_module_runs_and_its_problems_fail_the_task(ansible, scratch, cluster):
    # An empty read of a plan whose instance runs: the row says absent, so nothing read it live.
    report, run = status(ansible, scratch, [cluster], "given", read={"instances": []})
    assert run.rc == 0, run.explain()
    assert run.task("pg_status under test")["instances"][0]["state"] == "absent"
    report, run = status(ansible, scratch, [cluster], "given-failed", read={"instances": [], "msg": "instance 'it_st_a': refused"})
    assert run.rc != 0 and run.task("pg_status under test")["msg"] == "instance 'it_st_a': refused"
    assert not report.exists()
    report, run = status(ansible, scratch, [cluster], "given-bad", read={"changed": False})
    assert run.rc != 0 and "pg_status: read: no instances in ['changed']; fix: pass pg_database's status result" in run.task(
        "pg_status under test")["msg"]
    assert not report.exists()
