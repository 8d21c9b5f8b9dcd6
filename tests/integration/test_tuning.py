# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tuning plan applied through site.yml and tune.yml on real clusters: a second run changes
nothing, only the instance whose restart-only setting changed restarts, a reload-only change
reloads, and the report is written."""

from __future__ import annotations

import json

import pytest

from conftest import REPO, postmaster_pid, psql

SITE = REPO / "playbooks" / "site.yml"
TUNE = REPO / "playbooks" / "tune.yml"
A = {"name": "it_tune_a", "port": 25470, "database": "it_tune_a"}
B = {"name": "it_tune_b", "port": 25471, "database": "it_tune_b"}


def tune_vars(scratch, a_settings=None, b_settings=None) -> dict:
    return {"postgres_instances": [dict(A, settings=a_settings or {}), dict(B, settings=b_settings or {})],
            "postgres_runtime": "native", "postgres_credentials_dir": str(scratch / "credentials"),
            "postgres_env_dir": str(scratch / "env"), "postgres_reports_dir": str(scratch / "reports"),
            # A fixed budget, so the plan does not depend on the machine running the tests.
            "postgres_tuning_memory_mb": 4096, "postgres_tuning_cpus": 2}


def pids() -> dict:
    return {i["name"]: postmaster_pid("/var/lib/postgresql/15/%s" % i["name"]) for i in (A, B)}


@pytest.fixture(scope="module")
def tuned(ansible, scratch):
    first = ansible.run(SITE, tune_vars(scratch))
    assert first.rc == 0, first.explain()
    return first


def test_plan_is_applied_and_a_second_run_changes_nothing(tuned, ansible, scratch):
    # 4 GiB less the 512 MiB reserve, split between two: 1792 MiB each, a quarter of it shared_buffers.
    assert psql(A["port"], "SHOW shared_buffers") == "448MB"
    assert psql(B["port"], "SHOW max_connections") == "100"
    again = ansible.run(SITE, tune_vars(scratch))
    assert again.rc == 0 and again.changed == 0, again.explain()


def test_only_the_instance_with_a_restart_only_change_restarts(tuned, ansible, scratch):
    before = pids()
    run = ansible.run(SITE, tune_vars(scratch, a_settings={"shared_buffers": "256MB"},
                                      b_settings={"work_mem": "2MB"}))
    assert run.rc == 0, run.explain()
    after = pids()
    assert after["it_tune_a"] != before["it_tune_a"], "it_tune_a was not restarted"
    assert after["it_tune_b"] == before["it_tune_b"], "it_tune_b was restarted for a reload-only change"
    assert psql(A["port"], "SHOW shared_buffers") == "256MB"
    assert psql(B["port"], "SHOW work_mem") == "2MB"
    assert psql(B["port"], "SELECT count(*) FROM pg_settings WHERE pending_restart") == "0"
    results = {r["name"]: r for r in run.task("Create and start the instances")["instances"]}
    # A smaller shared_buffers also shrinks the derived wal_buffers: both only apply at start.
    assert "shared_buffers" in results["it_tune_a"]["restart_required"]
    assert set(results["it_tune_a"]["restart_required"]) <= {"shared_buffers", "wal_buffers"}
    assert "restart" in results["it_tune_a"]["actions"]
    assert "work_mem" in results["it_tune_b"]["settings_changed"]
    assert results["it_tune_b"]["restart_required"] == []
    assert "reload" in results["it_tune_b"]["actions"] and "restart" not in results["it_tune_b"]["actions"]


def test_check_mode_shows_the_plan_and_changes_nothing(tuned, ansible, scratch):
    before = pids()
    conf = "/etc/postgresql/15/it_tune_a/conf.d/50-darevel-settings.conf"
    with open(conf) as handle:
        text = handle.read()
    run = ansible.run(SITE, tune_vars(scratch, a_settings={"shared_buffers": "128MB"}), check=True, diff=True)
    assert run.rc == 0, run.explain()
    assert run.changed > 0
    with open(conf) as handle:
        assert handle.read() == text
    assert pids() == before


def test_tune_playbook_reports_the_plan(tuned, ansible, scratch):
    run = ansible.run(TUNE, tune_vars(scratch, a_settings={"shared_buffers": "256MB"},
                                      b_settings={"work_mem": "2MB"}))
    assert run.rc == 0, run.explain()
    report = json.loads((scratch / "reports" / "localhost" / "tuning.json").read_text())
    host = report["plan"]["host"]
    assert host["budget"] == (4096 - 512) * 1024 * 1024 and host["fits"] is True
    assert set(report["plan"]["instances"]) == {"it_tune_a", "it_tune_b"}
    table = run.table("Show the plan")
    assert "it_tune_a" in "\n".join(table) and "committed" in table[-1]


def test_a_budget_too_small_is_refused_before_anything_changes(tuned, ansible, scratch):
    before = pids()
    small = dict(tune_vars(scratch), postgres_tuning_memory_mb=600)
    run = ansible.run(SITE, small)
    assert run.rc != 0
    message = run.failed_results()[0]["msg"]
    assert "tuning refused, the memory budget is too small" in message and "needs at least" in message
    assert pids() == before


def test_an_instance_with_settings_can_be_purged_and_created_again(tuned, ansible, scratch):
    gone = ansible.module("pg_instance",
                          {"name": B["name"], "version": 15, "state": "absent", "purge": True})
    assert gone.rc == 0, gone.explain()
    again = ansible.run(SITE, tune_vars(scratch))
    assert again.rc == 0, again.explain()
    assert psql(B["port"], "SELECT 1") == "1"
