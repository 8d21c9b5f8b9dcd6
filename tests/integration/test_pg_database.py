# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""darevel.postgres.pg_database against a real cluster: owner role, database, env file, secrets.

Ordered story on one instance (it_db): check mode, create, rerun, rotation, check-mode rotation.
The cluster logs every statement (log_statement=all) so that a password sent in clear text would
show up in its log.
"""

from __future__ import annotations

import os
import secrets
import stat

import psycopg2
import pytest

from conftest import clusters, psql

NAME, PORT, DATABASE, OWNER = "it_db", 25447, "it_keycloak", "it_keycloak_owner"


def new_password() -> str:
    return "ItPw%s" % secrets.token_hex(12)


@pytest.fixture(scope="module")
def cluster(ansible):
    run = ansible.module("pg_instance", {"name": NAME, "port": PORT})
    assert run.rc == 0, run.explain()
    assert psql(PORT, "ALTER SYSTEM SET log_statement = 'all'") == "ALTER SYSTEM"
    psql(PORT, "SELECT pg_reload_conf()")
    return clusters()[NAME]


@pytest.fixture(scope="module")
def state(cluster, scratch):
    """What the ordered tests share: the env file path and the passwords used so far."""
    return {"env_file": str(scratch / "env" / ("%s.env" % NAME)), "passwords": [], "current": None}


def converge(ansible, state, password, **kwargs):
    params = {"name": NAME, "port": PORT, "database": DATABASE, "owner": OWNER,
              "owner_password": "{{ it_owner_password }}", "env_file": state["env_file"],
              "env_host": "127.0.0.1"}
    state["passwords"].append(password)
    return ansible.module("pg_database", params, extra_vars={"it_owner_password": password}, **kwargs)


def login(password: str):
    return psycopg2.connect(host="127.0.0.1", port=PORT, user=OWNER, password=password, dbname=DATABASE,
                            connect_timeout=10)


def can_login(password: str) -> bool:
    try:
        login(password).close()
        return True
    except psycopg2.OperationalError:
        return False


def role_exists() -> bool:
    return psql(PORT, "SELECT count(*) FROM pg_roles WHERE rolname = '%s'" % OWNER) == "1"


def database_owner() -> str:
    return psql(PORT, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '%s'" % DATABASE)


def env_file_values(path: str) -> dict:
    values = {}
    with open(path) as handle:
        for line in handle:
            if line.strip() and not line.startswith("#"):
                key, _sep, value = line.rstrip("\n").partition("=")
                values[key] = value
    return values


def server_log(cluster) -> str:
    with open(cluster["log_file"], errors="replace") as handle:
        return handle.read()


def test_check_mode_changes_nothing_on_a_fresh_instance(ansible, state):
    run = converge(ansible, state, new_password(), check=True)
    assert run.rc == 0, run.explain()
    result = run.task("pg_database")
    assert result["changed"] is True
    assert any(q.startswith("CREATE ROLE %s" % OWNER) for q in result["queries"]), result["queries"]
    assert any(q.startswith("CREATE DATABASE %s" % DATABASE) for q in result["queries"]), result["queries"]
    assert not role_exists()
    assert database_owner() == ""
    assert not os.path.exists(state["env_file"])


def test_creates_owner_database_and_env_file(ansible, state, cluster):
    password = new_password()
    run = converge(ansible, state, password)
    assert run.rc == 0, run.explain()
    assert run.task("pg_database")["changed"] is True
    state["current"] = password
    assert role_exists() and database_owner() == OWNER
    mode = stat.S_IMODE(os.stat(state["env_file"]).st_mode)
    assert mode == 0o600, oct(mode)
    assert env_file_values(state["env_file"]) == {
        "DB_HOST": "127.0.0.1", "DB_PORT": str(PORT), "DB_NAME": DATABASE,
        "POSTGRES_USER": OWNER, "POSTGRES_PASSWORD": password}
    conn = login(password)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_user, current_database(), "
                        "(SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database())")
            assert cur.fetchone() == (OWNER, DATABASE, OWNER)
            # The owner can create objects in its own database.
            cur.execute("CREATE TABLE it_probe (id int)")
        conn.commit()
    finally:
        conn.close()
    assert password not in server_log(cluster)


def test_rerun_is_unchanged(ansible, state):
    env_mtime = os.stat(state["env_file"]).st_mtime_ns
    run = converge(ansible, state, state["current"])
    assert run.rc == 0, run.explain()
    result = run.task("pg_database")
    assert result["changed"] is False, result
    assert result["queries"] == []
    assert os.stat(state["env_file"]).st_mtime_ns == env_mtime


def test_wrong_password_is_refused(state):
    # Guards the login checks below: TCP really asks for the password.
    assert can_login(state["current"]) is True
    assert can_login(new_password()) is False


def test_rotation_changes_and_never_shows_the_password(ansible, state, cluster):
    old, password = state["current"], new_password()
    run = converge(ansible, state, password, verbose=1, diff=True, callback="default")
    assert run.rc == 0, run.explain()
    assert "changed: [localhost]" in run.stdout, run.explain()
    assert "ALTER ROLE %s" % OWNER in run.stdout  # -v shows the result, masked
    output = run.stdout + run.stderr
    assert password not in output and old not in output
    state["current"] = password
    assert can_login(password) and not can_login(old)
    assert env_file_values(state["env_file"])["POSTGRES_PASSWORD"] == password
    log = server_log(cluster)
    # The log really records statements, the rotation included, yet never the password.
    assert "ALTER ROLE" in log and OWNER in log
    for used in state["passwords"]:
        assert used not in log, "a password is in %s" % cluster["log_file"]


def test_rotation_with_json_and_vvv_never_shows_the_password(ansible, state, cluster):
    old, password = state["current"], new_password()
    run = converge(ansible, state, password, verbose=3, diff=True)
    assert run.rc == 0, run.explain()
    assert run.task("pg_database")["changed"] is True
    state["current"] = password
    output = run.stdout + run.stderr
    assert password not in output and old not in output
    assert can_login(password)
    assert password not in server_log(cluster)


def test_check_mode_rotation_changes_nothing(ansible, state):
    current, candidate = state["current"], new_password()
    before = open(state["env_file"]).read()
    run = converge(ansible, state, candidate, check=True, diff=True)
    assert run.rc == 0, run.explain()
    result = run.task("pg_database")
    assert result["changed"] is True
    assert any(q.startswith("ALTER ROLE %s" % OWNER) for q in result["queries"]), result["queries"]
    assert candidate not in run.stdout + run.stderr
    assert can_login(current) and not can_login(candidate)
    assert open(state["env_file"]).read() == before


def test_missing_database_fails_naming_the_instance(ansible):
    run = ansible.module("pg_database", {"name": "it_nodb", "port": 25449, "owner": "it_nodb_owner",
                                         "owner_password": "{{ it_owner_password }}"},
                         extra_vars={"it_owner_password": new_password()})
    assert run.rc != 0
    msg = run.task("pg_database")["msg"]
    assert "it_nodb" in msg and "database is required" in msg, msg
