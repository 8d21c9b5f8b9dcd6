# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docker runtime through site.yml on the real engine, with two scratch instances (containers
it-dk-a/it-dk-b, volumes it-dk-*-data, ports 26633-26634): one setting changed recreates only that
instance's container and keeps its data; check mode shows the change and touches nothing; the
owner's password is set in the database, not taken from the container's environment."""

from __future__ import annotations

import subprocess

import psycopg2
import pytest

from conftest import REPO, need_docker

SITE = REPO / "playbooks" / "site.yml"
IMAGE = "darevel-test/postgres:15"
A = {"name": "it_dk_a", "port": 26633, "database": "it_dk_a", "container": "it-dk-a", "volume": "it-dk-a-data"}
B = {"name": "it_dk_b", "port": 26634, "database": "it_dk_b", "container": "it-dk-b", "volume": "it-dk-b-data"}


def docker(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=120, check=False)


def remove_scratch() -> None:
    for item in (A, B):
        docker("rm", "-f", item["container"])
        docker("volume", "rm", item["volume"])


def container_id(name: str) -> str:
    return docker("inspect", "--format", "{{.Id}}", name).stdout.strip()


def login(item: dict, scratch):
    env = (scratch / "env" / ("%s.env" % item["name"])).read_text()
    password = [line.split("=", 1)[1] for line in env.splitlines() if line.startswith("POSTGRES_PASSWORD=")][0]
    return psycopg2.connect(host="127.0.0.1", port=item["port"], user="%s_owner" % item["database"],
                            password=password, dbname=item["database"], connect_timeout=10)


def docker_vars(scratch, a_settings=None) -> dict:
    return {"postgres_instances": [dict(A, settings=a_settings or {}), dict(B)],
            "postgres_runtime": "docker", "postgres_docker_image": "darevel-test/postgres:{version}",
            "postgres_credentials_dir": str(scratch / "credentials"), "postgres_env_dir": str(scratch / "env"),
            "postgres_reports_dir": str(scratch / "reports")}


@pytest.fixture(scope="module")
def running(ansible, scratch):
    need_docker(IMAGE)
    remove_scratch()
    first = ansible.run(SITE, docker_vars(scratch))
    assert first.rc == 0, first.explain()
    yield first
    remove_scratch()


def test_containers_run_and_owners_log_in(running, scratch):
    for item in (A, B):
        health = docker("inspect", "--format", "{{.State.Health.Status}}", item["container"]).stdout.strip()
        assert health == "healthy", item["container"]
        with login(item, scratch) as conn, conn.cursor() as cur:
            cur.execute("SELECT current_user, (SELECT pg_get_userbyid(datdba) FROM pg_database "
                        "WHERE datname = current_database())")
            assert cur.fetchone() == ("%s_owner" % item["database"],) * 2
        conn.close()


def test_the_container_environment_holds_no_working_password(running, scratch):
    env = docker("inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", A["container"]).stdout
    given = [line.split("=", 1)[1] for line in env.splitlines() if line.startswith("POSTGRES_PASSWORD=")][0]
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(host="127.0.0.1", port=A["port"], user="it_dk_a_owner", password=given,
                         dbname="it_dk_a", connect_timeout=10)


def test_a_setting_recreates_only_its_container_and_keeps_the_data(running, ansible, scratch):
    conn = login(A, scratch)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS kept (note text); INSERT INTO kept VALUES ('before')")
    conn.close()
    before = {item["name"]: container_id(item["container"]) for item in (A, B)}

    check = ansible.run(SITE, docker_vars(scratch, {"work_mem": "2MB"}), check=True, diff=True)
    assert check.rc == 0 and check.changed > 0, check.explain()
    assert {item["name"]: container_id(item["container"]) for item in (A, B)} == before

    run = ansible.run(SITE, docker_vars(scratch, {"work_mem": "2MB"}))
    assert run.rc == 0, run.explain()
    after = {item["name"]: container_id(item["container"]) for item in (A, B)}
    assert after["it_dk_a"] != before["it_dk_a"]
    assert after["it_dk_b"] == before["it_dk_b"]
    with login(A, scratch) as conn2, conn2.cursor() as cur:
        cur.execute("SHOW work_mem")
        assert cur.fetchone() == ("2MB",)
        cur.execute("SELECT note FROM kept")
        assert cur.fetchall() == [("before",)]
    conn2.close()

    again = ansible.run(SITE, docker_vars(scratch, {"work_mem": "2MB"}))
    assert again.rc == 0 and again.changed == 0, again.explain()
