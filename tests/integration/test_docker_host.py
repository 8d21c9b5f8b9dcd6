# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docker runtime on an engine named only by postgres_docker_host.

A second socket of the real engine (socat, /tmp/darevel-it-dh-<pid>.sock) stands in for an engine at
a non-default address (Docker Desktop's WSL 2 socket, a remote engine). ansible-playbook runs with
DOCKER_HOST pointing at a socket that does not exist, so any step that falls back to the
environment's engine fails. Two instances (containers it-dh-a/it-dh-b, volumes it-dh-*-data, image
darevel-test/postgres:15, ports 26680-26681) go through site.yml, status.yml, backup.yml,
restore_drill.yml, audit.yml, restart.yml, logs.yml and stop.yml.

Tests run in file order and share the instances.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO, Ansible, need_docker

PLAYBOOKS = REPO / "playbooks"
IMAGE = "darevel-test/postgres:15"
A = {"name": "it_dh_a", "port": 26680, "database": "it_dh_a", "container": "it-dh-a", "volume": "it-dh-a-data"}
B = {"name": "it_dh_b", "port": 26681, "database": "it_dh_b", "container": "it-dh-b", "volume": "it-dh-b-data"}
NOWHERE = "unix:///nonexistent/darevel-it-dh.sock"


def docker(*argv: str) -> subprocess.CompletedProcess:
    """The docker CLI on the engine's own socket, as the tests see it (not through the proxy)."""
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    return subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=120, check=False, env=env)


def remove_scratch() -> None:
    for item in (A, B):
        docker("rm", "-f", item["container"])
        docker("volume", "rm", item["volume"])


class NowhereAnsible(Ansible):
    """ansible-playbook with DOCKER_HOST naming a socket that does not exist."""

    def env(self, callback: str) -> dict:
        return dict(super().env(callback), DOCKER_HOST=NOWHERE)


@pytest.fixture(scope="module")
def proxy():
    """A second socket of the engine; removed (with its socat) at the end."""
    need_docker(IMAGE)
    if shutil.which("socat") is None:
        if os.environ.get("DAREVEL_TESTS_NEED_DOCKER") == "1":
            pytest.fail("socat is missing, although the Makefile's TEST_OS_PACKAGES installs it")
        pytest.skip("socat is missing (Debian package socat)")
    path = Path("/tmp/darevel-it-dh-%d.sock" % os.getpid())
    if path.exists():
        path.unlink()
    proc = subprocess.Popen(["socat", "UNIX-LISTEN:%s,fork,mode=600" % path, "UNIX-CONNECT:/var/run/docker.sock"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _attempt in range(100):
            if path.exists():
                break
            time.sleep(0.05)
        assert path.exists(), "socat did not create %s" % path
        yield "unix://%s" % path
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if path.exists():
            path.unlink()


@pytest.fixture(scope="module")
def dh(proxy, scratch):
    runner = NowhereAnsible(scratch)
    for sub in ("dh-credentials", "dh-env", "dh-reports"):
        (scratch / sub).mkdir(mode=0o700, exist_ok=True)
    extra = {"postgres_instances": [A, B], "postgres_runtime": "docker",
             "postgres_docker_image": "darevel-test/postgres:{version}", "postgres_docker_host": proxy,
             "postgres_credentials_dir": str(scratch / "dh-credentials"), "postgres_env_dir": str(scratch / "dh-env"),
             "postgres_reports_dir": str(scratch / "dh-reports"), "postgres_backup_root": str(scratch / "dh-backups")}
    remove_scratch()
    try:
        yield {"ansible": runner, "vars": extra, "reports": scratch / "dh-reports" / "localhost",
               "root": scratch / "dh-backups", "env": scratch / "dh-env"}
    finally:
        remove_scratch()


def report(dh, verb: str) -> dict:
    return json.loads((dh["reports"] / ("%s.json" % verb)).read_text())


def started_at(container: str) -> str:
    return docker("inspect", "--format", "{{.State.StartedAt}}", container).stdout.strip()


def test_the_environment_names_no_engine(proxy):
    """The premise: the docker CLI with this DOCKER_HOST fails, through the proxy it answers."""
    nowhere = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60, check=False,
                             env=dict(os.environ, DOCKER_HOST=NOWHERE))
    assert nowhere.returncode != 0
    assert docker("-H", proxy, "info", "--format", "{{.ID}}").returncode == 0


def test_converge_on_the_named_engine(dh):
    run = dh["ansible"].run(PLAYBOOKS / "site.yml", dh["vars"])
    assert run.rc == 0, run.explain()
    for item in (A, B):
        health = docker("inspect", "--format", "{{.State.Health.Status}}", item["container"]).stdout.strip()
        assert health == "healthy", item["container"]
        env = (dh["env"] / ("%s.env" % item["name"])).read_text()
        assert "DB_PORT=%d" % item["port"] in env
        # The database step ran in the container: the owner and the application role exist.
        roles = docker("exec", "-u", "postgres", item["container"], "psql", "-X", "-At", "-U",
                       "%s_owner" % item["database"], "-d", "postgres", "-c",
                       "SELECT rolname FROM pg_roles WHERE rolname LIKE 'it_dh_%' ORDER BY 1").stdout.split()
        assert "%s_owner" % item["database"] in roles, roles
    again = dh["ansible"].run(PLAYBOOKS / "site.yml", dh["vars"])
    assert again.rc == 0 and again.changed == 0, again.explain()


def test_status(dh):
    run = dh["ansible"].run(PLAYBOOKS / "status.yml", dh["vars"])
    assert run.rc == 0, run.explain()
    rows = {row["name"]: row for row in report(dh, "status")["instances"]}
    for item in (A, B):
        row = rows[item["name"]]
        assert row["runtime"] == "docker" and row["container"] == item["container"], row
        assert row["health"] == "healthy" and row["accepting"] is True, row


def test_backup(dh):
    run = dh["ansible"].run(PLAYBOOKS / "backup.yml", dh["vars"])
    assert run.rc == 0, run.explain()
    data = report(dh, "backup")
    assert data["runtime"] == "docker"
    assert [(r["instance"], r["verified"]) for r in data["rows"]] == [("it_dh_a", True), ("it_dh_b", True)]


def test_restore_drill(dh):
    run = dh["ansible"].run(PLAYBOOKS / "restore_drill.yml", dh["vars"])
    assert run.rc == 0, run.explain()
    data = report(dh, "restore_drill")
    assert data["result"] == "passed", data
    assert sorted(r["instance"] for r in data["databases"] if r["verified"]) == ["it_dh_a", "it_dh_b"]


def test_audit(dh):
    run = dh["ansible"].run(PLAYBOOKS / "audit.yml", dh["vars"])
    assert run.rc == 0, run.explain()
    data = report(dh, "audit")
    assert data["runtime"] == "docker"
    assert sorted(i["name"] for i in data["instances"]) == ["it_dh_a", "it_dh_b"]
    for instance in data["instances"]:
        assert not instance.get("error"), instance
        controls = {c["id"]: c for c in instance["controls"]}
        assert controls["DP-NET-01"]["status"] == "pass", controls["DP-NET-01"]


def test_restart_logs_and_stop(dh):
    before = {item["name"]: started_at(item["container"]) for item in (A, B)}
    restart = dh["ansible"].run(PLAYBOOKS / "restart.yml", dh["vars"], args=["-e", "apps=it_dh_a"])
    assert restart.rc == 0, restart.explain()
    after = {item["name"]: started_at(item["container"]) for item in (A, B)}
    assert after["it_dh_a"] != before["it_dh_a"] and after["it_dh_b"] == before["it_dh_b"]

    logs = dh["ansible"].run(PLAYBOOKS / "logs.yml", dh["vars"], args=["-e", "app=it_dh_a", "-e", "lines=20"])
    assert logs.rc == 0, logs.explain()
    assert logs.task("Show the log")["msg"][0].startswith("it_dh_a: last 20 lines of container it-dh-a")

    stop = dh["ansible"].run(PLAYBOOKS / "stop.yml", dh["vars"])
    assert stop.rc == 0, stop.explain()
    for item in (A, B):
        assert docker("inspect", "--format", "{{.State.Status}}", item["container"]).stdout.strip() == "exited"
    start = dh["ansible"].run(PLAYBOOKS / "start.yml", dh["vars"], args=["-e", "apps=it_dh_b"])
    assert start.rc == 0, start.explain()
    assert docker("inspect", "--format", "{{.State.Status}}", B["container"]).stdout.strip() == "running"
