# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""darevel.postgres.pg_status as a task of one's own playbook, against a real cluster (it_st_a,
port 25612): the rows and the report of a plan with an instance that runs and one that is not
there, check mode, an empty plan, a plan entry that is not the preflight's, and a failed read."""

from __future__ import annotations

import json

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
