# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tuning plan applied through site.yml and tune.yml on real clusters: a second run changes
nothing, only the instance whose restart-only setting changed restarts, a reload-only change
reloads, and the report is written."""

from __future__ import annotations

import glob
import json
import os
import subprocess

import pytest

from conftest import REPO, drop_cluster, postmaster_pid, psql

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


def clusters_seen_by_the_system(planned: set) -> list[str]:
    """The clusters outside the plan that start at boot, as pg_lsclusters, start.conf and the
    generic registry show them: the test's own count, from the system's files and tools."""
    seen = []
    out = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        version, name = line.split()[:2]
        try:
            start = [w.strip() for w in open("/etc/postgresql/%s/%s/start.conf" % (version, name))
                     if w.strip() and not w.startswith("#")][0]
        except (OSError, IndexError):
            start = "auto"
        if name not in planned and start == "auto":
            seen.append("%s/%s" % (version, name))
    for path in glob.glob("/etc/darevel/postgres/instances/*.conf"):
        if "START=auto" in open(path).read():
            seen.append(os.path.basename(path)[:-5].replace("-", "/", 1))
    return sorted(seen)


def test_other_servers_on_the_host_keep_their_share_of_the_budget(tuned, ansible, scratch):
    """A cluster outside the catalogue (here it_tune_other, running) takes the share of an instance
    of weight 1; every other server the system shows counts the same way, and is named."""
    subprocess.run(["pg_createcluster", "15", "it_tune_other", "-p", "25472", "--start"], capture_output=True,
                   check=True)
    try:
        wide = dict(tune_vars(scratch), postgres_tuning_memory_mb=32768, postgres_tuning_others="share")
        run = ansible.run(SITE, wide, check=True)
        assert run.rc == 0, run.explain()
        result = run.task("Check the catalogue, ports and disk")
        others = [o["name"] for o in result["tuning"]["host"]["others"]]
        assert "cluster 15/it_tune_other (port 25472, running)" in others
        clusters = sorted(o.split()[1] for o in others if o.startswith("cluster "))
        assert clusters == clusters_seen_by_the_system({A["name"], B["name"]}), others
        budget = result["tuning"]["host"]["budget"]
        share = result["tuning"]["instances"]["it_tune_a"]["share"]["memory"]
        assert share == budget // (2 + len(others)) // 2 ** 20 * 2 ** 20
        assert all(o["memory"] == share for o in result["tuning"]["host"]["others"])
        warned = json.dumps(result.get("warnings", [])) + run.stdout + run.stderr
        assert "share of an instance of weight 1" in warned and "it_tune_other" in warned
        # Stopped and not started at boot, it no longer counts.
        subprocess.run(["pg_ctlcluster", "15", "it_tune_other", "stop"], check=True)
        with open("/etc/postgresql/15/it_tune_other/start.conf", "w") as handle:
            handle.write("manual\n")
        again = ansible.run(SITE, wide, check=True)
        assert again.rc == 0, again.explain()
        names = [o["name"] for o in again.task("Check the catalogue, ports and disk")["tuning"]["host"].get("others", [])]
        assert not any("it_tune_other" in n for n in names) and len(names) == len(others) - 1
    finally:
        drop_cluster("it_tune_other")


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
