# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Operations on real native clusters: status.yml, restart.yml, logs.yml, stop.yml and start.yml
with -e apps, and the explanations of a failed start and of a held port.

Three instances it_ops_a..c on 25480-25482 are created once (site.yml); the tests run in file order
and each says which instances it changes; the others' postmaster pids must not move.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from contextlib import contextmanager

import pytest

from conftest import REPO, VERSION, clusters, drop_cluster, is_online, need_docker, postmaster_pid, psql

PLAYBOOKS = REPO / "playbooks"
CATALOGUE = [
    {"name": "it_ops_a", "port": 25480, "database": "it_ops_a"},
    {"name": "it_ops_b", "port": 25481, "database": "it_ops_b"},
    {"name": "it_ops_c", "port": 25482, "database": "it_ops_c"},
]
NAMES = [entry["name"] for entry in CATALOGUE]
PORTS = {entry["name"]: entry["port"] for entry in CATALOGUE}


def data_dir(name: str) -> str:
    return "/var/lib/postgresql/%d/%s" % (VERSION, name)


def pids() -> dict:
    return {name: postmaster_pid(data_dir(name)) for name in NAMES}


@contextmanager
def hold_port(port: int):
    """Listen on the port on every address (IPv4 and IPv6 where there is IPv6), as a foreign process would."""
    if socket.has_ipv6:
        try:
            sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            sock.bind(("::", port))
        except OSError:
            sock.close()
            sock = None
    else:
        sock = None
    if sock is None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("0.0.0.0", port))
    sock.listen(1)
    try:
        yield sock
    finally:
        sock.close()


@pytest.fixture(scope="module")
def ops_vars(scratch):
    for sub in ("ops-credentials", "ops-env", "ops-reports"):
        (scratch / sub).mkdir(mode=0o700, exist_ok=True)
    return {"postgres_instances": CATALOGUE, "postgres_runtime": "native",
            "postgres_tuning_memory_mb": 4096, "postgres_tuning_cpus": 2,
            "postgres_credentials_dir": str(scratch / "ops-credentials"),
            "postgres_env_dir": str(scratch / "ops-env"),
            "postgres_reports_dir": str(scratch / "ops-reports")}


@pytest.fixture(scope="module")
def ops(ansible, ops_vars):
    start = time.monotonic()
    run = ansible.run(PLAYBOOKS / "site.yml", ops_vars)
    assert run.rc == 0, run.explain()
    assert all(is_online(name) for name in NAMES), clusters()
    yield {"site_seconds": time.monotonic() - start}
    for name in NAMES:
        drop_cluster(name)


def report(scratch) -> dict:
    data = json.loads((scratch / "ops-reports" / "localhost" / "status.json").read_text())
    return {row["name"]: row for row in data["instances"]}


def test_status_shows_the_full_picture(ansible, ops, ops_vars, scratch):
    run = ansible.run(PLAYBOOKS / "status.yml", ops_vars)
    assert run.rc == 0, run.explain()
    assert run.changed == 0
    table, connect = run.tables("Show the instances and how to connect")
    assert connect[0].split() == ["name", "port", "database", "user", "state", "connect"] and len(connect) == 2 + len(NAMES)
    assert table[0].split()[:4] == ["name", "port", "state", "accepting"]
    assert "pending restart" in table[0] and table[0].rstrip().endswith("health  last backup")
    assert len(table) == 2 + len(NAMES), table  # no problem lines
    rows = report(scratch)
    assert sorted(rows) == sorted(NAMES)
    for name, row in rows.items():
        assert row["state"] == "started" and row["accepting"] is True, row
        assert row["runtime"] == "native" and row["health"] is None
        assert row["server_version"].startswith("%d." % VERSION)
        assert row["port"] == PORTS[name] and row["uptime_seconds"] >= 0 and row["started_at"]
        assert row["max_connections"] == int(psql(PORTS[name], "SHOW max_connections"))
        assert 0 <= row["connections"] < row["max_connections"]
        assert row["database_size_bytes"] == int(psql(PORTS[name], "SELECT pg_database_size('%s')" % name))
        assert row["pending_restart"] == [] and row["problem"] is None
        assert row["last_backup"]["backup_id"] is None  # never backed up: nothing is invented
    line = [ln for ln in table if ln.startswith("it_ops_a ")][0]
    assert " yes " in line and " %d." % VERSION in line and "/%d" % rows["it_ops_a"]["max_connections"] in line


def test_status_with_apps_and_a_pending_restart(ansible, ops, ops_vars, scratch):
    port = PORTS["it_ops_b"]
    psql(port, "ALTER SYSTEM SET max_wal_senders = 7")
    psql(port, "SELECT pg_reload_conf()")
    try:
        time.sleep(0.5)
        run = ansible.run(PLAYBOOKS / "status.yml", ops_vars, args=["-e", "apps=it_ops_b"])
        assert run.rc == 0, run.explain()
        rows = report(scratch)
        assert sorted(rows) == ["it_ops_b"]
        assert rows["it_ops_b"]["pending_restart"] == ["max_wal_senders"]
        assert "max_wal_senders" in "\n".join(run.table("Show the instances"))
    finally:
        psql(port, "ALTER SYSTEM RESET max_wal_senders")
        psql(port, "SELECT pg_reload_conf()")


def test_restart_touches_only_the_named_instance(ansible, ops, ops_vars):
    before = pids()
    run = ansible.run(PLAYBOOKS / "restart.yml", ops_vars, args=["-e", "apps=it_ops_a"])
    assert run.rc == 0, run.explain()
    assert run.changed == 1
    after = pids()
    assert after["it_ops_a"] and after["it_ops_a"] != before["it_ops_a"]
    assert {n: after[n] for n in ("it_ops_b", "it_ops_c")} == {n: before[n] for n in ("it_ops_b", "it_ops_c")}
    assert is_online("it_ops_a")


def test_restart_two_of_three(ansible, ops, ops_vars):
    before = pids()
    run = ansible.run(PLAYBOOKS / "restart.yml", ops_vars, args=["-e", "apps=it_ops_a,it_ops_b"])
    assert run.rc == 0, run.explain()
    after = pids()
    assert after["it_ops_a"] != before["it_ops_a"] and after["it_ops_b"] != before["it_ops_b"]
    assert after["it_ops_c"] == before["it_ops_c"]
    assert all(is_online(name) for name in NAMES)


def test_restart_refuses_an_instance_that_does_not_exist(ansible, ops, ops_vars):
    before = pids()
    extra = dict(ops_vars, postgres_instances=CATALOGUE + [{"name": "it_ops_d", "port": 25483,
                                                            "database": "it_ops_d"}])
    run = ansible.run(PLAYBOOKS / "restart.yml", extra, args=["-e", "apps=it_ops_a,it_ops_d"])
    assert run.rc != 0
    assert "it_ops_d not found" in run.stdout and "start.yml -e apps=it_ops_d" in run.stdout
    assert pids() == before and "it_ops_d" not in clusters()


def test_logs_prints_the_last_lines(ansible, ops, ops_vars):
    psql(PORTS["it_ops_b"], "DO $$BEGIN RAISE LOG 'it-ops-log-marker'; END$$")
    run = ansible.run(PLAYBOOKS / "logs.yml", ops_vars, args=["-e", "app=it_ops_b", "-e", "lines=5"])
    assert run.rc == 0, run.explain()
    assert run.changed == 0
    shown = run.task("Show the log")["msg"]
    assert shown[0].startswith("it_ops_b: last 5 lines of /var/log/postgresql/postgresql-%d-it_ops_b.log" % VERSION)
    assert 1 <= len(shown) - 1 <= 5
    assert any("it-ops-log-marker" in line for line in shown[1:]), shown


def test_logs_needs_one_app(ansible, ops, ops_vars):
    run = ansible.run(PLAYBOOKS / "logs.yml", ops_vars)
    assert run.rc != 0 and "usage:" in run.stdout


def test_stop_with_apps_then_status_explains_a_held_port(ansible, ops, ops_vars, scratch):
    before = pids()
    run = ansible.run(PLAYBOOKS / "stop.yml", ops_vars, args=["-e", "apps=it_ops_c"])
    assert run.rc == 0, run.explain()
    assert run.changed == 1 and not is_online("it_ops_c")
    after = pids()
    assert {n: after[n] for n in ("it_ops_a", "it_ops_b")} == {n: before[n] for n in ("it_ops_a", "it_ops_b")}

    with hold_port(PORTS["it_ops_c"]):
        status = ansible.run(PLAYBOOKS / "status.yml", ops_vars)
    assert status.rc == 0, status.explain()
    rows = report(scratch)
    assert rows["it_ops_c"]["state"] == "stopped" and rows["it_ops_c"]["accepting"] is False
    problem = rows["it_ops_c"]["problem"]
    assert problem.startswith("down, and port %d is held by" % PORTS["it_ops_c"]), problem
    assert "pid %d" % os.getpid() in problem
    assert "it_ops_c: down, and port" in "\n".join(status.table("Show the instances"))
    assert rows["it_ops_a"]["accepting"] is True and rows["it_ops_a"]["problem"] is None


def test_failed_start_names_the_port_holder_and_shows_the_log(ansible, ops):
    assert not is_online("it_ops_c")
    with hold_port(PORTS["it_ops_c"]):
        run = ansible.module("pg_instance", {"name": "it_ops_c", "version": VERSION, "port": PORTS["it_ops_c"],
                                             "state": "started"})
    assert run.rc != 0
    msg = run.task("pg_instance")["msg"]
    assert "likely cause: port %d is already in use by" % PORTS["it_ops_c"] in msg, msg
    assert "pid %d" % os.getpid() in msg
    assert "last lines of /var/log/postgresql/postgresql-%d-it_ops_c.log" % VERSION in msg
    assert "Address already in use" in msg


def test_failed_start_names_a_bad_setting(ansible, ops):
    assert not is_online("it_ops_c")
    bogus = "/etc/postgresql/%d/it_ops_c/conf.d/90-it-ops-bogus.conf" % VERSION
    with open(bogus, "w") as handle:
        handle.write("shared_bufers = 128MB\n")
    try:
        run = ansible.module("pg_instance", {"name": "it_ops_c", "version": VERSION, "port": PORTS["it_ops_c"],
                                             "state": "started"})
    finally:
        os.unlink(bogus)
    assert run.rc != 0
    msg = run.task("pg_instance")["msg"]
    assert "likely cause: unknown setting 'shared_bufers'" in msg, msg
    assert 'unrecognized configuration parameter "shared_bufers"' in msg


def test_start_with_apps_starts_only_that_one(ansible, ops, ops_vars):
    before = pids()
    run = ansible.run(PLAYBOOKS / "start.yml", ops_vars, args=["-e", "apps=it_ops_c"])
    assert run.rc == 0, run.explain()
    assert run.changed == 1
    assert all(is_online(name) for name in NAMES)
    after = pids()
    assert {n: after[n] for n in ("it_ops_a", "it_ops_b")} == {n: before[n] for n in ("it_ops_a", "it_ops_b")}
    # the shared tuning plan is the same whichever instances are named: nothing else changes
    again = ansible.run(PLAYBOOKS / "site.yml", ops_vars)
    assert again.rc == 0 and again.changed == 0, [r["_task"] for r in again.results if r.get("changed")]
    assert pids() == after


# --------------------------------------------------------------------------- docker runtime

DK = [{"name": "it_ops_dk_a", "port": 25486, "database": "it_ops_dk_a", "container": "it-ops-dk-a",
       "volume": "it-ops-dk-a-data"},
      {"name": "it_ops_dk_b", "port": 25487, "database": "it_ops_dk_b", "container": "it-ops-dk-b",
       "volume": "it-ops-dk-b-data"}]
DK_IMAGE = "darevel-test/postgres:15"


def docker(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=120, check=False)


def started_at(container: str) -> str:
    return docker("inspect", "--format", "{{.State.StartedAt}}", container).stdout.strip()


def remove_dk() -> None:
    for item in DK:
        docker("rm", "-f", item["container"])
        docker("volume", "rm", item["volume"])


@pytest.fixture(scope="module")
def dk_vars(ops_vars):
    return dict(ops_vars, postgres_instances=DK, postgres_runtime="docker",
                postgres_docker_image="darevel-test/postgres:{version}")


@pytest.fixture(scope="module")
def dk(ansible, dk_vars):
    need_docker(DK_IMAGE)
    remove_dk()
    run = ansible.run(PLAYBOOKS / "site.yml", dk_vars)
    assert run.rc == 0, run.explain()
    yield run
    remove_dk()


def test_docker_status_restart_and_logs(ansible, dk, dk_vars, scratch):
    status = ansible.run(PLAYBOOKS / "status.yml", dk_vars)
    assert status.rc == 0, status.explain()
    rows = report(scratch)
    for item in DK:
        row = rows[item["name"]]
        assert row["runtime"] == "docker" and row["health"] == "healthy" and row["accepting"] is True, row
        assert row["server_version"].startswith("15.") and row["database_size_bytes"] > 0
        assert row["max_connections"] > 0 and row["connections"] >= 0 and row["container"] == item["container"]
    before = {item["name"]: started_at(item["container"]) for item in DK}

    restart = ansible.run(PLAYBOOKS / "restart.yml", dk_vars, args=["-e", "apps=it_ops_dk_a"])
    assert restart.rc == 0, restart.explain()
    after = {item["name"]: started_at(item["container"]) for item in DK}
    assert after["it_ops_dk_a"] != before["it_ops_dk_a"]
    assert after["it_ops_dk_b"] == before["it_ops_dk_b"]

    logs = ansible.run(PLAYBOOKS / "logs.yml", dk_vars, args=["-e", "app=it_ops_dk_a", "-e", "lines=20"])
    assert logs.rc == 0, logs.explain()
    shown = logs.task("Show the log")["msg"]
    assert shown[0].startswith("it_ops_dk_a: last 20 lines of container it-ops-dk-a")
    assert 1 <= len(shown) - 1 <= 20
    assert any("ready to accept connections" in line for line in shown[1:]), shown

    stop = ansible.run(PLAYBOOKS / "stop.yml", dk_vars, args=["-e", "apps=it_ops_dk_b"])
    assert stop.rc == 0, stop.explain()
    with hold_port(DK[1]["port"]):
        status = ansible.run(PLAYBOOKS / "status.yml", dk_vars)
    assert status.rc == 0, status.explain()
    rows = report(scratch)
    assert rows["it_ops_dk_b"]["state"] == "stopped" and rows["it_ops_dk_b"]["accepting"] is False
    assert "held by" in rows["it_ops_dk_b"]["problem"] and "pid %d" % os.getpid() in rows["it_ops_dk_b"]["problem"]
    assert rows["it_ops_dk_a"]["accepting"] is True
