# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restore, restore drill and migrate on real clusters (ports 25540-25559, it_rs_* names).

Three native instances from site.yml: it_rs_a and it_rs_b hold data; it_rs_m plays the managed
service for migrate.yml (a password login with CREATEDB, TLS with a self-signed certificate checked
with sslmode=verify-full). One container it-rs-dk (darevel-test/postgres:15, port 25545) is the
docker runtime's target. Backups are taken with playbooks/backup.yml (darevel.postgres.pg_backup).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import psycopg2
import pytest

from conftest import REPO, corrupt_copy, managed_service, need_docker, psql

PLAYBOOKS = REPO / "playbooks"
CATALOGUE = [
    {"name": "it_rs_a", "port": 25540, "database": "it_rs_a"},
    {"name": "it_rs_b", "port": 25541, "database": "it_rs_b"},
    {"name": "it_rs_m", "port": 25542, "database": "it_rs_m"},
]
PORTS = {entry["name"]: entry["port"] for entry in CATALOGUE}
ADMIN, ADMIN_PASSWORD = "it_rs_admin", "it-rs-admin-Secret-7"
DOCKER_IMAGE = "darevel-test/postgres:15"
DOCKER_NAME, DOCKER_PORT = "it-rs-dk", 25545
# it_rs_a's data: two schemas, one empty table, one table whose name needs quoting.
SEED_SQL = """
CREATE SCHEMA app;
CREATE TABLE public.messages (id serial PRIMARY KEY, body text);
INSERT INTO public.messages (body) SELECT 'message ' || g FROM generate_series(1, 1500) g;
CREATE TABLE app.folders (id int PRIMARY KEY, name text);
INSERT INTO app.folders SELECT g, 'folder ' || g FROM generate_series(1, 12) g;
CREATE TABLE app."Empty Things" (id int);
"""


# --------------------------------------------------------------------------- backups


def counts(port: int, database: str) -> dict:
    """Row counts the way the manifest defines them, read independently of the module."""
    tables = psql(port, "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n "
                        "ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN "
                        "('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'", database)
    out = {}
    for table in tables.splitlines():
        schema, name = table.split(".", 1)
        out[table] = int(psql(port, 'SELECT count(*) FROM "%s"."%s"' % (schema, name.replace('"', '""')), database))
    return out


# --------------------------------------------------------------------------- fixtures


def docker(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def rs_vars(scratch):
    for sub in ("rs-credentials", "rs-env", "rs-reports", "rs-backups", "rs-tls"):
        (scratch / sub).mkdir(mode=0o700, exist_ok=True)
    return {"postgres_instances": CATALOGUE, "postgres_runtime": "native",
            "postgres_tuning_memory_mb": 3072, "postgres_tuning_cpus": 2,
            "postgres_credentials_dir": str(scratch / "rs-credentials"),
            "postgres_env_dir": str(scratch / "rs-env"),
            "postgres_reports_dir": str(scratch / "rs-reports"),
            "postgres_backup_root": str(scratch / "rs-backups")}


@pytest.fixture(scope="module")
def rs(ansible, rs_vars, scratch):
    run = ansible.run(PLAYBOOKS / "site.yml", rs_vars)
    assert run.rc == 0, run.explain()
    psql(PORTS["it_rs_a"], SEED_SQL, "it_rs_a")
    psql(PORTS["it_rs_a"], "GRANT USAGE ON SCHEMA app TO it_rs_a_owner; ALTER TABLE app.folders OWNER TO it_rs_a_owner",
         "it_rs_a")
    psql(PORTS["it_rs_b"], "CREATE TABLE notes (n int); INSERT INTO notes SELECT generate_series(1, 40)", "it_rs_b")
    # it_rs_m acts as the managed service: a password login with CREATEDB, and TLS only.
    cert = managed_service(PORTS["it_rs_m"], scratch / "rs-tls", ADMIN, ADMIN_PASSWORD)
    backup = ansible.run(PLAYBOOKS / "backup.yml", rs_vars, args=["-e", "apps=it_rs_a,it_rs_b"])
    assert backup.rc == 0, backup.explain()
    backup_id = sorted(p.name for p in (scratch / "rs-backups" / "it_rs_a").iterdir() if p.name[0].isdigit())[-1]
    return {"backup_id": backup_id, "cert": cert}


def databases(port: int) -> set:
    return set(psql(port, "SELECT datname FROM pg_database").splitlines())


def report(scratch, verb: str) -> dict:
    return json.loads((scratch / "rs-reports" / "localhost" / ("%s.json" % verb)).read_text())


# --------------------------------------------------------------------------- tests


def test_restore_under_a_new_name_check_mode_first(ansible, rs, rs_vars, scratch):
    port = PORTS["it_rs_a"]
    expected = counts(port, "it_rs_a")
    args = ["-e", "app=it_rs_a", "-e", "target_database=it_rs_a_copy"]
    check = ansible.run(PLAYBOOKS / "restore.yml", rs_vars, check=True, args=args)
    assert check.rc == 0, check.explain()
    assert "it_rs_a_copy" not in databases(port)
    assert check.table("Show the restore")[2].rstrip().endswith("-")  # nothing verified

    run = ansible.run(PLAYBOOKS / "restore.yml", rs_vars, args=args)
    assert run.rc == 0, run.explain()
    assert counts(port, "it_rs_a_copy") == expected
    assert psql(port, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'it_rs_a_copy'") == "it_rs_a_owner"
    assert psql(port, "SELECT tableowner FROM pg_tables WHERE tablename = 'folders'", "it_rs_a_copy") == "it_rs_a_owner"
    data = report(scratch, "restore")
    rows = data["databases"]
    assert [(r["instance"], r["database"], r["target_database"], r["verified"]) for r in rows] == [
        ("it_rs_a", "it_rs_a", "it_rs_a_copy", True)]
    assert rows[0]["backup_id"] == rs["backup_id"] and rows[0]["size_bytes"] > 0 and data["result"] == "passed"
    table = run.table("Show the restore")
    assert table[0].split()[:2] == ["instance", "backup"] and "verified" in table[0]
    assert "it_rs_a_copy" in table[2] and table[2].rstrip().endswith("yes")


def test_bad_requests_are_refused_with_every_problem_and_nothing_restored(ansible, rs, rs_vars, scratch):
    """restore.yml, migrate.yml and restore_drill.yml check their request in one place (the restore
    role's restore_request) before any backup or restore: each problem named with its value and fix."""
    before = {name: databases(port) for name, port in PORTS.items()}
    backups = sorted(p.name for p in (scratch / "rs-backups" / "it_rs_a").iterdir())
    cases = {
        "restore.yml": (["-e", "app=it_rs_a;x", "-e", "target_host=db.example.net", "-e", "target_port=5432x",
                         "-e", "restore_jobs=many"],
                        ["nothing was restored: app: 'it_rs_a;x' is not an instance of this host's plan",
                         "target_user: (none) for target_host db.example.net", "target_port: '5432x' is not a port",
                         "restore_jobs: 'many' is not a number"]),
        "migrate.yml": (["-e", "fresh_backup=maybe"],
                        ["nothing was migrated: app: (none)", "target_host: (none)",
                         "fresh_backup: 'maybe' is not true or false"]),
        "restore_drill.yml": (["-e", "fresh_backup=maybe"], ["nothing was drilled: fresh_backup: 'maybe'"]),
    }
    for playbook, (args, expected) in cases.items():
        run = ansible.run(PLAYBOOKS / playbook, rs_vars, args=args)
        assert run.rc != 0, playbook
        msg = run.task("Check the request")["msg"]
        assert [part for part in expected if part not in msg] == [], (playbook, msg)
    run = ansible.run(PLAYBOOKS / "restore.yml", rs_vars, args=["-e", "app=it_rs_a", "-e", "target_app=it_rs_zz"])
    assert run.rc != 0 and "target_app: 'it_rs_zz' is not an instance" in run.task("Check the request")["msg"]
    assert {name: databases(port) for name, port in PORTS.items()} == before
    assert sorted(p.name for p in (scratch / "rs-backups" / "it_rs_a").iterdir()) == backups  # no backup taken


def test_replace_needs_confirmation(ansible, rs, rs_vars, scratch):
    port = PORTS["it_rs_a"]
    expected = counts(port, "it_rs_a")
    psql(port, "INSERT INTO public.messages (body) VALUES ('after the backup')", "it_rs_a")
    refused = ansible.run(PLAYBOOKS / "restore.yml", rs_vars, args=["-e", "app=it_rs_a"])
    assert refused.rc != 0
    msg = refused.task("Restore")["msg"]
    assert "'it_rs_a' already exists" in msg and "-e confirm_replace=it_rs_a" in msg, msg
    assert counts(port, "it_rs_a")["public.messages"] == expected["public.messages"] + 1
    assert report(scratch, "restore")["result"] == "failed"

    run = ansible.run(PLAYBOOKS / "restore.yml", rs_vars, args=["-e", "app=it_rs_a", "-e", "confirm_replace=it_rs_a",
                                                                "-e", "backup_id=%s" % rs["backup_id"]])
    assert run.rc == 0, run.explain()
    assert counts(port, "it_rs_a") == expected
    assert not [d for d in databases(port) if d.endswith("_darevel_restore")]


def test_restore_into_another_instance_creates_the_missing_owner(ansible, rs, rs_vars):
    target = PORTS["it_rs_b"]
    assert psql(target, "SELECT count(*) FROM pg_roles WHERE rolname = 'it_rs_a_owner'") == "0"
    run = ansible.run(PLAYBOOKS / "restore.yml", rs_vars, args=["-e", "app=it_rs_a", "-e", "target_app=it_rs_b"])
    assert run.rc == 0, run.explain()
    assert counts(target, "it_rs_a") == counts(PORTS["it_rs_a"], "it_rs_a")
    created = run.task("Restore")["globals"]["created"]
    assert "it_rs_a_owner" in created and "postgres" not in created and "it_rs_b_owner" not in created
    assert psql(target, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'it_rs_a'") == "it_rs_a_owner"
    # Roles that exist on the target (postgres) are skipped: their passwords and attributes stay.
    assert "postgres" in run.task("Restore")["globals"]["skipped"]


def test_a_corrupted_file_is_refused_before_any_database_is_touched(ansible, rs, rs_vars, scratch):
    root = scratch / "rs-backups" / "it_rs_a"
    corrupt = corrupt_copy(root, rs["backup_id"], "it_rs_a.dump").name
    before = {name: databases(port) for name, port in PORTS.items()}
    stamp = psql(PORTS["it_rs_a"], "SELECT stats_reset FROM pg_stat_database WHERE datname IS NULL")
    try:
        # The corrupted backup is the latest one: the default picks it and must refuse it.
        run = ansible.run(PLAYBOOKS / "restore.yml", rs_vars,
                          args=["-e", "app=it_rs_a", "-e", "target_database=it_rs_never"])
        assert run.rc != 0
        msg = run.task("Restore")["msg"]
        assert "it_rs_a.dump does not match its sha256" in msg and "no database was touched" in msg, msg
        assert {name: databases(port) for name, port in PORTS.items()} == before
        assert psql(PORTS["it_rs_a"], "SELECT stats_reset FROM pg_stat_database WHERE datname IS NULL") == stamp
    finally:
        shutil.rmtree(root / corrupt)


@pytest.mark.parametrize("tamper", ["outside", "edited"])
def test_a_globals_file_outside_the_backup_or_edited_is_refused(ansible, rs, rs_vars, scratch, tamper):
    """The globals file runs as the superuser: a manifest naming ../../evil.sql, or a globals.sql
    changed after the backup, is refused and no role is created."""
    root = scratch / "rs-backups" / "it_rs_a"
    other = "29990101T000000Z-3"
    shutil.copytree(root / rs["backup_id"], root / other)
    evil = "CREATE ROLE it_rs_evil SUPERUSER LOGIN PASSWORD 'x';\n"
    manifest = json.loads((root / other / "manifest.json").read_text())
    manifest["backup_id"] = other
    if tamper == "outside":
        (scratch / "rs-backups" / "evil.sql").write_text(evil)
        manifest["globals"] = {"file": "../../evil.sql"}
        needle = "globals file '../../evil.sql' is not a checksummed file of the backup directory"
    else:
        # Same size, other content: only the checksum can tell.
        size = (root / other / "globals.sql").stat().st_size
        assert size > len(evil) + 3
        (root / other / "globals.sql").write_text(evil + "--" + "x" * (size - len(evil) - 3) + "\n")
        needle = "globals.sql does not match its sha256"
    (root / other / "manifest.json").write_text(json.dumps(manifest))
    try:
        run = ansible.run(PLAYBOOKS / "restore.yml", rs_vars, args=[
            "-e", "app=it_rs_a", "-e", "target_app=it_rs_b", "-e", "backup_id=" + other,
            "-e", "target_database=it_rs_evil_db"])
        assert run.rc != 0
        msg = run.task("Restore")["msg"]
        assert needle in msg and "backup %s" % other in msg, msg
        assert psql(PORTS["it_rs_b"], "SELECT count(*) FROM pg_roles WHERE rolname = 'it_rs_evil'") == "0"
        assert "it_rs_evil_db" not in databases(PORTS["it_rs_b"])
    finally:
        shutil.rmtree(root / other)
        (scratch / "rs-backups" / "evil.sql").unlink(missing_ok=True)


def test_a_row_count_difference_fails_and_drops_what_was_restored(ansible, rs, rs_vars, scratch):
    root = scratch / "rs-backups" / "it_rs_a"
    other = "29990101T000000Z-2"
    shutil.copytree(root / rs["backup_id"], root / other)
    manifest = json.loads((root / other / "manifest.json").read_text())
    manifest["backup_id"] = other
    entry = [db for db in manifest["databases"] if db["name"] == "it_rs_a"][0]
    entry["row_counts"]["public.messages"] += 1
    (root / other / "manifest.json").write_text(json.dumps(manifest))
    try:
        run = ansible.run(PLAYBOOKS / "restore.yml", rs_vars, args=[
            "-e", "app=it_rs_a", "-e", "backup_id=" + other, "-e", "databases=it_rs_a", "-e", "target_database=it_rs_diff"])
        assert run.rc != 0
        msg = run.task("Restore")["msg"]
        assert "does not match the backup's row counts" in msg and "public.messages: " in msg, msg
        assert "it_rs_diff" not in databases(PORTS["it_rs_a"])
        rows = report(scratch, "restore")["databases"]
        assert [r["verified"] for r in rows] == [False] and "public.messages" in rows[0]["error"]
    finally:
        shutil.rmtree(root / other)


def test_drill_verifies_every_instance_and_leaves_nothing(ansible, rs, rs_vars, scratch):
    before = {name: databases(port) for name, port in PORTS.items()}
    run = ansible.run(PLAYBOOKS / "restore_drill.yml", rs_vars, args=["-e", "apps=it_rs_a,it_rs_b"])
    assert run.rc == 0, run.explain()
    data = report(scratch, "restore_drill")
    assert data["result"] == "passed"
    assert {r["instance"]: r["result"] for r in data["instances"]} == {"it_rs_a": "passed", "it_rs_b": "passed"}
    restored = {(r["instance"], r["database"], r["target_database"]) for r in data["databases"]}
    assert {("it_rs_a", "it_rs_a", "it_rs_a_drill"), ("it_rs_b", "it_rs_b", "it_rs_b_drill")} <= restored
    assert all(r["verified"] for r in data["databases"])
    assert {name: databases(port) for name, port in PORTS.items()} == before


def test_migrate_to_a_managed_service_over_tls_and_rewrite_the_env_file(ansible, rs, rs_vars, scratch):
    env_file = scratch / "rs-env" / "it_rs_a.env"
    old = env_file.read_text()
    target = {"target_host": "localhost", "target_port": PORTS["it_rs_m"], "target_user": ADMIN,
              "target_password": ADMIN_PASSWORD, "target_sslmode": "verify-full",
              "target_sslrootcert": str(rs["cert"]), "app": "it_rs_a"}
    run = ansible.run(PLAYBOOKS / "migrate.yml", dict(rs_vars, **target))
    assert run.rc == 0, run.explain()
    assert ADMIN_PASSWORD not in run.stdout + run.stderr
    assert counts(PORTS["it_rs_m"], "it_rs_a") == counts(PORTS["it_rs_a"], "it_rs_a")
    assert psql(PORTS["it_rs_m"], "SELECT tableowner FROM pg_tables WHERE tablename = 'folders'", "it_rs_a") == ADMIN
    env = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    assert (env["DB_HOST"], env["DB_PORT"], env["DB_NAME"], env["POSTGRES_USER"], env["PGSSLMODE"]) == (
        "localhost", str(PORTS["it_rs_m"]), "it_rs_a", ADMIN, "verify-full")
    assert env["POSTGRES_PASSWORD"] == ADMIN_PASSWORD and oct(env_file.stat().st_mode & 0o777) == "0o600"
    saved = [p for p in env_file.parent.iterdir() if p.name.startswith("it_rs_a.env.") and p.name.endswith(".bak")]
    assert len(saved) == 1 and saved[0].read_text() == old and oct(saved[0].stat().st_mode & 0o777) == "0o600"
    # The app's new settings work: TLS checked against the root certificate, password login.
    conn = psycopg2.connect(host=env["DB_HOST"], port=int(env["DB_PORT"]), user=env["POSTGRES_USER"],
                            password=env["POSTGRES_PASSWORD"], dbname=env["DB_NAME"], sslmode="verify-full",
                            sslrootcert=str(rs["cert"]))
    with conn.cursor() as cur:
        cur.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        assert cur.fetchone() == (True,)
    conn.close()
    data = report(scratch, "migrate")
    assert data["result"] == "passed" and data["env_file"]["backup"] == str(saved[0])
    assert ADMIN_PASSWORD not in json.dumps(data)


def test_docker_runtime_restore_runs_pg_restore_in_the_container(ansible, rs, scratch):
    need_docker(DOCKER_IMAGE)
    docker("rm", "-f", DOCKER_NAME)
    started = docker("run", "-d", "--name", DOCKER_NAME, "-e", "POSTGRES_USER=it_rs_dk_owner", "-e",
                     "POSTGRES_PASSWORD=unused-here", "-e", "POSTGRES_DB=it_rs_dk", "-p",
                     "127.0.0.1:%d:5432" % DOCKER_PORT, DOCKER_IMAGE)
    assert started.returncode == 0, started.stderr
    try:
        for _attempt in range(60):
            if docker("exec", "-u", "postgres", DOCKER_NAME, "pg_isready", "-h", "127.0.0.1").returncode == 0:
                break
            time.sleep(1)
        params = {"name": "it_rs_a", "port": PORTS["it_rs_a"], "backup_root": str(scratch / "rs-backups"),
                  "target_instance": "it_rs_dk", "target_container": DOCKER_NAME, "target_database": "restored",
                  "databases": ["it_rs_a"]}
        run = ansible.module("pg_restore", params)
        assert run.rc == 0, run.explain()
        result = run.task("pg_restore")
        assert result["databases"][0]["verified"] is True and result["target"] == "instance 'it_rs_dk'"
        out = docker("exec", "-u", "postgres", DOCKER_NAME, "psql", "-U", "it_rs_dk_owner", "-d", "restored", "-Atc",
                     "SELECT count(*) FROM public.messages").stdout.strip()
        assert out == str(counts(PORTS["it_rs_a"], "it_rs_a")["public.messages"])
        assert docker("exec", DOCKER_NAME, "ls", "/tmp").stdout.strip() == ""  # the staged copy is gone

        # A backup of the container itself (pg_backup, docker runtime), restored into it under a new name.
        backup = ansible.module("pg_backup", {"name": "it_rs_dk", "container": DOCKER_NAME, "runtime": "docker",
                                              "root": str(scratch / "rs-backups")})
        assert backup.rc == 0, backup.explain()
        again = ansible.module("pg_restore", {"name": "it_rs_dk", "container": DOCKER_NAME, "target_database": "again",
                                              "databases": ["restored"], "backup_root": str(scratch / "rs-backups")})
        assert again.rc == 0, again.explain()
        assert again.task("pg_restore")["databases"][0]["verified"] is True
        out = docker("exec", "-u", "postgres", DOCKER_NAME, "psql", "-U", "it_rs_dk_owner", "-d", "again", "-Atc",
                     "SELECT count(*) FROM app.folders").stdout.strip()
        assert out == "12"
    finally:
        docker("rm", "-f", DOCKER_NAME)
