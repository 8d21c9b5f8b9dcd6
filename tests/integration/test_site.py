# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/site.yml, stop.yml with a scratch catalogue of six instances (it_infra..it_sheet).

The `converged` fixture runs, in order: site.yml --check on a host without the instances,
site.yml, site.yml again, site.yml --check again; the tests then read what each run did. The
stop/start tests that follow change the instances and run last.
"""

from __future__ import annotations

import json
import os
import stat

import psycopg2
import pytest

from conftest import REPO, SITE_CATALOGUE, clusters, is_online

SITE = REPO / "playbooks" / "site.yml"
STOP = REPO / "playbooks" / "stop.yml"
NAMES = [entry["name"] for entry in SITE_CATALOGUE]


def snapshot(scratch) -> dict:
    """What a run could change: the it_* clusters of the catalogue, the env files, the report."""
    found = clusters()
    env = {p.name: (p.stat().st_mtime_ns, p.read_text()) for p in sorted((scratch / "env").glob("*"))}
    report = scratch / "reports" / "localhost" / "status.json"
    return {"clusters": {n: (found[n]["port"], found[n]["status"]) for n in NAMES if n in found},
            "pids": {n: _pid(n) for n in NAMES},
            "env": env, "report": report.read_text() if report.exists() else None}


def _pid(name: str):
    try:
        with open("/var/lib/postgresql/15/%s/postmaster.pid" % name) as handle:
            return handle.readline().strip()
    except OSError:
        return None


def credential_files(scratch) -> list[str]:
    return sorted(p.name for p in (scratch / "credentials").rglob("*") if p.is_file())


def password_of(scratch, name: str) -> str:
    path = scratch / "credentials" / "localhost" / ("%s.owner.password" % name)
    return path.read_text().strip()


def connect(scratch, entry: dict):
    return psycopg2.connect(host="127.0.0.1", port=entry["port"], user="%s_owner" % entry["database"],
                            password=password_of(scratch, entry["name"]), dbname=entry["database"],
                            connect_timeout=10)


@pytest.fixture(scope="module")
def site_vars(scratch):
    return {"postgres_instances": SITE_CATALOGUE,
            "postgres_runtime": "native", "postgres_credentials_dir": str(scratch / "credentials"),
            "postgres_env_dir": str(scratch / "env"),
            "postgres_reports_dir": str(scratch / "reports")}


@pytest.fixture(scope="module")
def converged(ansible, scratch, site_vars):
    runs = {}
    runs["fresh_before"] = snapshot(scratch)
    runs["credentials_before"] = credential_files(scratch)
    runs["check_fresh"] = ansible.run(SITE, site_vars, check=True)
    runs["fresh_after"] = snapshot(scratch)
    runs["credentials_after"] = credential_files(scratch)
    runs["first"] = ansible.run(SITE, site_vars)
    runs["second"] = ansible.run(SITE, site_vars)
    runs["converged_before"] = snapshot(scratch)
    runs["check_converged"] = ansible.run(SITE, site_vars, check=True)
    runs["converged_after"] = snapshot(scratch)
    return runs


def test_check_mode_on_a_fresh_host_changes_nothing(converged):
    run = converged["check_fresh"]
    assert run.rc == 0, run.explain()
    assert run.changed > 0, "check mode should report the instances it would create"
    assert converged["fresh_before"]["clusters"] == {}, "leftover site clusters"
    assert converged["fresh_after"] == converged["fresh_before"]


def test_check_mode_on_a_fresh_host_writes_no_credentials(converged):
    # --check should not leave files behind on the control node either.
    assert converged["credentials_after"] == converged["credentials_before"]


def test_first_run_converges_six_instances(converged, scratch):
    run = converged["first"]
    assert run.rc == 0, run.explain()
    assert run.failures == 0 and run.changed > 0
    found = clusters()
    for entry in SITE_CATALOGUE:
        facts = found[entry["name"]]
        assert facts["port"] == entry["port"] and facts["status"].startswith("online"), (entry, facts)


@pytest.mark.parametrize("entry", SITE_CATALOGUE, ids=NAMES)
def test_each_owner_logs_in_with_the_stored_password(converged, scratch, entry):
    assert converged["first"].rc == 0
    path = scratch / "credentials" / "localhost" / ("%s.owner.password" % entry["name"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    conn = connect(scratch, entry)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_user, current_database(), current_setting('port')")
            assert cur.fetchone() == ("%s_owner" % entry["database"], entry["database"], str(entry["port"]))
    finally:
        conn.close()
    env_file = scratch / "env" / ("%s.env" % entry["name"])
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert "POSTGRES_PASSWORD=%s\n" % password_of(scratch, entry["name"]) in env_file.read_text()


def test_report_lists_the_six_started(converged, scratch):
    assert converged["first"].rc == 0
    report = json.loads((scratch / "reports" / "localhost" / "status.json").read_text())
    rows = {row["name"]: row for row in report["instances"]}
    assert sorted(rows) == sorted(NAMES)
    for entry in SITE_CATALOGUE:
        row = rows[entry["name"]]
        assert row["state"] == "started", row
        assert row["port"] == entry["port"] and row["database"] == entry["database"]
        assert row["env_file"] == str(scratch / "env" / ("%s.env" % entry["name"]))
    # The rows come from the read pg_database's run made after its work: no module run of their own.
    first = converged["first"]
    assert first.task("Read the instances on the host")["read"] == "given", first.explain()
    read = first.task("Ensure each instance's database")["status"]
    assert sorted(i["name"] for i in read["instances"]) == sorted(NAMES) and "msg" not in read
    # A check run on a fresh host: the same read (nothing to read yet, every row absent).
    check = converged["check_fresh"]
    assert check.task("Read the instances on the host")["read"] == "given", check.explain()


def test_second_run_changes_nothing(converged):
    run = converged["second"]
    assert run.rc == 0, run.explain()
    assert run.changed == 0, [r["_task"] for r in run.results if r.get("changed")]


def test_check_mode_on_a_converged_host_changes_nothing(converged):
    run = converged["check_converged"]
    assert run.rc == 0, run.explain()
    assert run.changed == 0, [r["_task"] for r in run.results if r.get("changed")]
    assert converged["converged_after"] == converged["converged_before"]


def test_stop_keeps_data_and_site_starts_again(ansible, converged, scratch, site_vars):
    sheet = SITE_CATALOGUE[-1]
    conn = connect(scratch, sheet)
    with conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE it_rows (note text)")
        cur.execute("INSERT INTO it_rows VALUES ('kept across stop and start')")
    conn.close()

    stop = ansible.run(STOP, site_vars)
    assert stop.rc == 0, stop.explain()
    assert stop.changed > 0
    found = clusters()
    for name in NAMES:
        assert found[name]["status"] == "down", (name, found[name])
        assert os.path.isfile("/var/lib/postgresql/15/%s/PG_VERSION" % name)

    start = ansible.run(SITE, site_vars)
    assert start.rc == 0, start.explain()
    assert all(is_online(name) for name in NAMES), clusters()
    conn = connect(scratch, sheet)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT note FROM it_rows")
            assert cur.fetchall() == [("kept across stop and start",)]
    finally:
        conn.close()


def test_stop_with_apps_stops_only_that_one(ansible, converged, site_vars):
    assert all(is_online(name) for name in NAMES), clusters()
    run = ansible.run(STOP, site_vars, args=["-e", "apps=it_chat"])
    assert run.rc == 0, run.explain()
    assert run.changed == 1
    assert not is_online("it_chat")
    assert all(is_online(name) for name in NAMES if name != "it_chat"), clusters()
