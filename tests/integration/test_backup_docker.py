# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup.yml, restore.yml, restore_drill.yml and migrate.yml end to end on the docker runtime.

Two instances converged by site.yml with postgres_runtime docker (containers it-dd-a/it-dd-b,
volumes it-dd-*-data, image darevel-test/postgres:15, ports 26660-26661); a native cluster it_dd_m
(port 26662) plays the managed service for migrate.yml: a password login with CREATEDB, TLS with a
self-signed certificate checked with sslmode=verify-full (as in test_restore.py). On the docker
runtime the clients of the source's container reach the target, so it_dd_m also listens on the
Docker bridge's gateway address, the name the containers and the managed host both reach it by.

Tests run in file order and share the instances; each says what it changes.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from conftest import (REPO, VERSION, clusters, container_gateway, corrupt_copy, docker_gateway, drop_cluster,
                      interface_gateway, managed_service, need_docker, psql)

sys.path.insert(0, str(REPO))  # the checkout is ansible_collections/darevel/postgres (see ansible.cfg)
from ansible_collections.darevel.postgres.plugins.module_utils import _manifest  # noqa: E402

PLAYBOOKS = REPO / "playbooks"
IMAGE = "darevel-test/postgres:15"
A = {"name": "it_dd_a", "port": 26660, "database": "it_dd_a", "container": "it-dd-a", "volume": "it-dd-a-data"}
B = {"name": "it_dd_b", "port": 26661, "database": "it_dd_b", "container": "it-dd-b", "volume": "it-dd-b-data"}
M = {"name": "it_dd_m", "port": 26662}
ADMIN, ADMIN_PASSWORD = "it_dd_admin", "it-dd-admin-Secret-4"
# A network made without a gateway, as the engine's default bridge is on a fresh docker.io 20.10.
PROBE = {"network": "it-dd-gw", "subnet": "172.31.250.0/24", "container": "it-dd-gw-c"}
# it_dd_a: two schemas, an empty table and a name that needs quoting; it_dd_b: one table.
SEED = {
    "it_dd_a": """
CREATE SCHEMA app;
CREATE TABLE public.messages (id serial PRIMARY KEY, body text);
INSERT INTO public.messages (body) SELECT 'message ' || g FROM generate_series(1, 2500) g;
CREATE TABLE app.folders (id int PRIMARY KEY, name text);
INSERT INTO app.folders SELECT g, 'folder ' || g FROM generate_series(1, 17) g;
CREATE TABLE app."Empty Things" (id int);
""",
    "it_dd_b": "CREATE TABLE notes (n int); INSERT INTO notes SELECT generate_series(1, 40);",
}
COUNT_SQL = ("SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
             "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
             "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1")


def docker(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=120, check=False)


def dpsql(item: dict, sql: str, dbname: str = "postgres") -> str:
    """SQL in the instance's container, as its superuser (the database's owner) over the socket."""
    done = docker("exec", "-u", "postgres", item["container"], "psql", "-X", "-v", "ON_ERROR_STOP=1",
                  "-U", "%s_owner" % item["database"], "-d", dbname, "-Atc", sql)
    assert done.returncode == 0, "psql in %s failed: %s" % (item["container"], done.stderr)
    return done.stdout.strip()


def counts(item: dict, dbname: str) -> dict:
    """Row counts the way the manifest defines them, read independently of the modules."""
    out = {}
    for table in dpsql(item, COUNT_SQL, dbname).splitlines():
        schema, name = table.split(".", 1)
        out[table] = int(dpsql(item, 'SELECT count(*) FROM "%s"."%s"' % (schema, name.replace('"', '""')), dbname))
    return out


def databases(item: dict) -> set:
    return set(dpsql(item, "SELECT datname FROM pg_database").splitlines())


def remove_scratch() -> None:
    for item in (A, B):
        docker("rm", "-f", item["container"])
        docker("volume", "rm", item["volume"])


def complete(root: Path, name: str) -> list[str]:
    return sorted(n for n in os.listdir(root / name) if _manifest.ID_RE.match(n))


@pytest.fixture(scope="module")
def dd(ansible, scratch):
    need_docker(IMAGE)
    for sub in ("dd-credentials", "dd-env", "dd-reports", "dd-tls"):
        (scratch / sub).mkdir(mode=0o700, exist_ok=True)
    extra = {"postgres_instances": [A, B], "postgres_runtime": "docker",
             "postgres_docker_image": "darevel-test/postgres:{version}",
             "postgres_credentials_dir": str(scratch / "dd-credentials"), "postgres_env_dir": str(scratch / "dd-env"),
             "postgres_reports_dir": str(scratch / "dd-reports"), "postgres_backup_root": str(scratch / "dd-backups")}
    remove_scratch()
    try:
        site = ansible.run(PLAYBOOKS / "site.yml", extra)
        assert site.rc == 0, site.explain()
        for item in (A, B):
            dpsql(item, SEED[item["name"]], item["database"])
        # it_dd_m, a native cluster, acts as the managed service: password login over TLS, reached
        # on the bridge's gateway from the containers (and the host), connections logged.
        gateway, subnet = docker_gateway("bridge")
        hba = [{"type": "local", "database": "all", "user": "postgres", "address": "", "method": "peer map=darevel_superuser"},
               {"type": "hostssl", "database": "all", "user": ADMIN, "address": subnet, "method": "scram-sha-256"},
               {"type": "hostssl", "database": "all", "user": ADMIN, "address": "samehost", "method": "scram-sha-256"}]
        run = ansible.module("pg_instance", {"instances": [{
            "name": M["name"], "version": VERSION, "port": M["port"], "hba": hba,
            "settings": {"listen_addresses": gateway, "log_connections": "on"}}], "state": "started"})
        assert run.rc == 0, run.explain()
        cert = managed_service(M["port"], scratch / "dd-tls", ADMIN, ADMIN_PASSWORD, gateway)
        yield {"vars": extra, "root": scratch / "dd-backups", "reports": scratch / "dd-reports" / "localhost",
               "env": scratch / "dd-env", "cert": cert, "gateway": gateway}
    finally:
        remove_scratch()
        drop_cluster(M["name"])


def table_lines(run, task: str) -> list[str]:
    """A table's lines from its debug task: one text, or a list of lines (the shape the json result
    format prints one row per line)."""
    msg = run.task(task)["msg"]
    return msg.splitlines() if isinstance(msg, str) else list(msg)


def report(dd, verb: str) -> dict:
    return json.loads((dd["reports"] / ("%s.json" % verb)).read_text())


# --------------------------------------------------------------------------- the bridge's gateway


def route_gateway(container: str) -> str:
    """The default route's gateway inside a container, read from /proc/net/route (no tools needed)."""
    text = docker("exec", container, "cat", "/proc/net/route").stdout
    for line in text.splitlines()[1:]:
        fields = line.split()
        if fields[1] == "00000000":
            return socket.inet_ntoa(struct.pack("<I", int(fields[2], 16)))
    raise AssertionError("no default route in %s:\n%s" % (container, text))


@pytest.fixture
def probe():
    need_docker(IMAGE)
    docker("rm", "-f", PROBE["container"])
    docker("network", "rm", PROBE["network"])
    made = docker("network", "create", "--subnet", PROBE["subnet"], PROBE["network"])
    assert made.returncode == 0, made.stderr
    try:
        started = docker("run", "-d", "--rm", "--name", PROBE["container"], "--network", PROBE["network"],
                         "--entrypoint", "sleep", IMAGE, "300")
        assert started.returncode == 0, started.stderr
        yield json.loads(docker("network", "inspect", PROBE["network"]).stdout)[0]
    finally:
        docker("rm", "-f", PROBE["container"])
        docker("network", "rm", PROBE["network"])


def test_the_gateway_of_a_network_whose_ipam_config_has_none(probe):
    """docker_gateway finds the host's address on a network whose IPAM config has no Gateway:
    from its bridge interface, and else from a running container; both are the container's route."""
    assert [sorted(c) for c in probe["IPAM"]["Config"]] == [["Subnet"]], probe["IPAM"]
    route = route_gateway(PROBE["container"])
    assert ipaddress.ip_address(route) in ipaddress.ip_network(PROBE["subnet"])
    assert docker_gateway(PROBE["network"]) == (route, PROBE["subnet"])
    assert interface_gateway(probe) == route
    assert container_gateway(probe) == route
    gateway, subnet = docker_gateway("bridge")  # this engine's default bridge, whatever it reports
    assert ipaddress.ip_address(gateway) in ipaddress.ip_network(subnet)


# --------------------------------------------------------------------------- backup.yml


def test_backup_playbook_in_the_containers_then_one_app(dd, ansible):
    """Check mode first writes nothing; both instances, then -e apps=it_dd_b: only it_dd_b gets a second backup."""
    check = ansible.run(PLAYBOOKS / "backup.yml", dd["vars"], check=True)
    assert check.rc == 0, check.explain()
    assert not dd["root"].exists()
    run = ansible.run(PLAYBOOKS / "backup.yml", dd["vars"])
    assert run.rc == 0, run.explain()
    data = report(dd, "backup")
    assert data["runtime"] == "docker"
    assert [(r["instance"], r["database"], r["verified"]) for r in data["rows"]] == [
        ("it_dd_a", "it_dd_a", True), ("it_dd_b", "it_dd_b", True)]
    table = table_lines(run, "Show the backups")
    assert table[0].split()[:5] == ["instance", "database", "size", "duration", "verified"]
    assert oct(os.stat(dd["root"]).st_mode & 0o777) == "0o700"
    for item in (A, B):
        ids = complete(dd["root"], item["name"])
        assert len(ids) == 1
        path = dd["root"] / item["name"] / ids[0]
        manifest = _manifest.load(str(path))
        assert _manifest.problems(str(path), manifest) == []
        assert (manifest["instance"], manifest["runtime"], manifest["compression"]) == (item["name"], "docker", "gzip:6")
        assert manifest["server_version_num"] // 10000 == VERSION
        assert [db["name"] for db in manifest["databases"]] == [item["database"]]
        assert manifest["databases"][0]["row_counts"] == counts(item, item["database"])
        assert "%s_owner" % item["database"] in (path / "globals.sql").read_text()
        modes = {oct(os.stat(os.path.join(p, f)).st_mode & 0o777) for p, _d, fs in os.walk(path) for f in fs}
        assert modes == {"0o600"} and oct(os.stat(path).st_mode & 0o777) == "0o700"
    assert manifest["databases"][0]["row_counts"] == {"public.notes": 40}
    assert complete(dd["root"], "it_dd_a") and counts(A, "it_dd_a")["public.messages"] == 2500
    assert not [n for n in docker("exec", A["container"], "ls", "/tmp").stdout.split() if n.startswith("darevel")]

    first = {item["name"]: complete(dd["root"], item["name"]) for item in (A, B)}
    one = ansible.run(PLAYBOOKS / "backup.yml", dd["vars"], args=["-e", "apps=it_dd_b"])
    assert one.rc == 0, one.explain()
    assert [(r["instance"], r["verified"]) for r in report(dd, "backup")["rows"]] == [("it_dd_b", True)]
    assert complete(dd["root"], "it_dd_a") == first["it_dd_a"]
    assert len(complete(dd["root"], "it_dd_b")) == 2


# --------------------------------------------------------------------------- restore.yml


def test_restore_latest_under_a_new_name_check_mode_first(dd, ansible):
    expected = counts(A, "it_dd_a")
    args = ["-e", "app=it_dd_a", "-e", "target_database=it_dd_a_copy"]
    check = ansible.run(PLAYBOOKS / "restore.yml", dd["vars"], check=True, args=args)
    assert check.rc == 0, check.explain()
    assert "it_dd_a_copy" not in databases(A)
    assert table_lines(check, "Show the restore")[2].rstrip().endswith("-")  # nothing verified

    run = ansible.run(PLAYBOOKS / "restore.yml", dd["vars"], args=args)
    assert run.rc == 0, run.explain()
    assert counts(A, "it_dd_a_copy") == expected
    assert dpsql(A, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'it_dd_a_copy'") == "it_dd_a_owner"
    data = report(dd, "restore")
    rows = data["databases"]
    assert data["result"] == "passed" and data["target"] == "instance 'it_dd_a'"
    assert [(r["instance"], r["database"], r["target_database"], r["verified"]) for r in rows] == [
        ("it_dd_a", "it_dd_a", "it_dd_a_copy", True)]
    assert rows[0]["backup_id"] == complete(dd["root"], "it_dd_a")[-1] and rows[0]["size_bytes"] > 0
    assert table_lines(run, "Show the restore")[2].rstrip().endswith("yes")
    assert not [n for n in docker("exec", A["container"], "ls", "/tmp").stdout.split() if n.startswith("darevel")]


def test_replacing_a_database_needs_the_confirmation(dd, ansible):
    """it_dd_a gets a row after its backup; the refused restore keeps it, the confirmed one removes it."""
    expected = counts(A, "it_dd_a")
    dpsql(A, "INSERT INTO public.messages (body) VALUES ('after the backup')", "it_dd_a")
    refused = ansible.run(PLAYBOOKS / "restore.yml", dd["vars"], args=["-e", "app=it_dd_a"])
    assert refused.rc != 0
    msg = refused.task("Restore the backup")["msg"]
    assert "'it_dd_a' already exists" in msg and "-e confirm_replace=it_dd_a" in msg, msg
    assert counts(A, "it_dd_a")["public.messages"] == expected["public.messages"] + 1
    assert report(dd, "restore")["result"] == "failed"

    run = ansible.run(PLAYBOOKS / "restore.yml", dd["vars"], args=["-e", "app=it_dd_a", "-e", "confirm_replace=it_dd_a"])
    assert run.rc == 0, run.explain()
    assert counts(A, "it_dd_a") == expected
    assert dpsql(A, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'it_dd_a'") == "it_dd_a_owner"
    assert not [d for d in databases(A) if d.endswith("_darevel_restore")]
    assert [(r["target_database"], r["verified"]) for r in report(dd, "restore")["databases"]] == [("it_dd_a", True)]


def test_a_flipped_byte_is_refused_before_any_database_is_touched(dd, ansible):
    root = dd["root"] / "it_dd_a"
    good = complete(dd["root"], "it_dd_a")[-1]
    corrupt = corrupt_copy(root, good, "it_dd_a.dump").name
    before = databases(A)
    try:
        # The corrupted backup is the latest one: the default picks it and must refuse it.
        run = ansible.run(PLAYBOOKS / "restore.yml", dd["vars"],
                          args=["-e", "app=it_dd_a", "-e", "target_database=it_dd_never"])
        assert run.rc != 0
        msg = run.task("Restore the backup")["msg"]
        assert "it_dd_a.dump does not match its sha256" in msg and "no database was touched" in msg, msg
        assert databases(A) == before
        assert not [n for n in docker("exec", A["container"], "ls", "/tmp").stdout.split() if n.startswith("darevel")]
    finally:
        shutil.rmtree(root / corrupt)


def test_directory_format_with_parallel_jobs_both_ways(dd, ansible):
    """A directory-format backup with two pg_dump jobs (written in the container, copied out), restored
    with two pg_restore jobs (copied in)."""
    extra = dict(dd["vars"], postgres_backup_format="directory", postgres_backup_jobs=2)
    backup = ansible.run(PLAYBOOKS / "backup.yml", extra, args=["-e", "apps=it_dd_a"])
    assert backup.rc == 0, backup.explain()
    path = dd["root"] / "it_dd_a" / complete(dd["root"], "it_dd_a")[-1]
    manifest = _manifest.load(str(path))
    assert _manifest.problems(str(path), manifest) == []
    assert {(db["name"], db["format"], db["path"]) for db in manifest["databases"]} >= {("it_dd_a", "directory", "it_dd_a.dir")}
    assert {db["format"] for db in manifest["databases"]} == {"directory"}
    assert (path / "it_dd_a.dir" / "toc.dat").is_file()
    run = ansible.run(PLAYBOOKS / "restore.yml", dd["vars"], args=[
        "-e", "app=it_dd_a", "-e", "databases=it_dd_a", "-e", "target_database=it_dd_a_dir", "-e", "restore_jobs=2"])
    assert run.rc == 0, run.explain()
    assert counts(A, "it_dd_a_dir") == counts(A, "it_dd_a")
    assert report(dd, "restore")["databases"][0]["backup_id"] == path.name
    dpsql(A, "DROP DATABASE it_dd_a_dir")
    assert not [n for n in docker("exec", A["container"], "ls", "/tmp").stdout.split() if n.startswith("darevel")]


# --------------------------------------------------------------------------- restore_drill.yml


def test_drill_verifies_every_instance_and_leaves_no_scratch_database(dd, ansible):
    before = {item["name"]: databases(item) for item in (A, B)}
    ids = {item["name"]: complete(dd["root"], item["name"]) for item in (A, B)}
    # Check mode takes no backup: it checks the latest existing ones and restores nothing.
    check = ansible.run(PLAYBOOKS / "restore_drill.yml", dd["vars"], check=True)
    assert check.rc == 0, check.explain()
    assert {item["name"]: complete(dd["root"], item["name"]) for item in (A, B)} == ids
    assert {item["name"]: databases(item) for item in (A, B)} == before
    planned = table_lines(check, "Show the drill")
    assert {line.split()[0] for line in planned[2:]} == {"it_dd_a", "it_dd_b"}, planned
    assert all(line.rstrip().endswith("-") for line in planned[2:]), planned  # nothing verified, nothing failed
    run = ansible.run(PLAYBOOKS / "restore_drill.yml", dd["vars"])
    assert run.rc == 0, run.explain()
    data = report(dd, "restore_drill")
    assert data["result"] == "passed" and data["fresh_backup"] is True
    assert {r["instance"]: r["result"] for r in data["instances"]} == {"it_dd_a": "passed", "it_dd_b": "passed"}
    restored = {(r["instance"], r["database"], r["target_database"], r["verified"]) for r in data["databases"]}
    assert {("it_dd_a", "it_dd_a", "it_dd_a_drill", True), ("it_dd_b", "it_dd_b", "it_dd_b_drill", True)} <= restored
    assert all(r["verified"] for r in data["databases"])
    # The drill restored the backups it took just now.
    for item in (A, B):
        taken = sorted(set(complete(dd["root"], item["name"])) - set(ids[item["name"]]))
        assert len(taken) == 1
        assert {r["backup_id"] for r in data["databases"] if r["instance"] == item["name"]} == set(taken)
    assert {item["name"]: databases(item) for item in (A, B)} == before
    text = "\n".join(table_lines(run, "Show the drill"))
    assert "it_dd_a_drill" in text and "it_dd_b_drill" in text


def test_restore_into_another_container_creates_the_missing_owner(dd, ansible):
    """it_dd_a's latest backup into it_dd_b (target_app): B gains the database it_dd_a and its owner."""
    assert dpsql(B, "SELECT count(*) FROM pg_roles WHERE rolname = 'it_dd_a_owner'") == "0"
    run = ansible.run(PLAYBOOKS / "restore.yml", dd["vars"], args=["-e", "app=it_dd_a", "-e", "target_app=it_dd_b"])
    assert run.rc == 0, run.explain()
    assert counts(B, "it_dd_a") == counts(A, "it_dd_a")
    result = run.task("Restore the backup")
    # A's roles (its owner and the app's login from site.yml) are created; B's own are left alone.
    assert result["target"] == "instance 'it_dd_b'"
    assert sorted(result["globals"]["created"]) == ["it_dd_a_app", "it_dd_a_owner"]
    assert dpsql(B, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'it_dd_a'") == "it_dd_a_owner"
    assert not [n for n in docker("exec", B["container"], "ls", "/tmp").stdout.split() if n.startswith("darevel")]


# --------------------------------------------------------------------------- migrate.yml


def test_migrate_with_a_wrong_password_changes_nothing(dd, ansible):
    env_file = dd["env"] / "it_dd_a.env"
    old = env_file.read_text()
    wrong = "it-dd-Wrong-Password-9"
    target = {"target_host": dd["gateway"], "target_port": M["port"], "target_user": ADMIN, "target_password": wrong,
              "target_sslmode": "verify-full", "target_sslrootcert": str(dd["cert"]), "app": "it_dd_a"}
    run = ansible.run(PLAYBOOKS / "migrate.yml", dict(dd["vars"], **target), args=["-e", "fresh_backup=false"])
    assert run.rc != 0
    msg = run.task("Restore into the target")["msg"]
    assert "password authentication failed" in msg and "container it-dd-a" in msg, msg
    assert wrong not in run.stdout + run.stderr
    assert env_file.read_text() == old and not [p for p in env_file.parent.iterdir() if p.name.endswith(".bak")]
    assert "it_dd_a" not in psql(M["port"], "SELECT datname FROM pg_database").splitlines()
    # The root certificate copied in for the clients is removed on failure too.
    assert not [n for n in docker("exec", A["container"], "ls", "/tmp").stdout.split() if n.startswith("darevel")]
    assert report(dd, "migrate")["result"] == "failed"


def test_migrate_from_a_container_to_a_managed_service_over_tls(dd, ansible):
    env_file = dd["env"] / "it_dd_a.env"
    old = env_file.read_text()
    expected = counts(A, "it_dd_a")
    log = Path(clusters()[M["name"]]["log_file"])
    seen = log.stat().st_size
    source = docker("inspect", "--format", "{{.NetworkSettings.IPAddress}}", A["container"]).stdout.strip()
    target = {"target_host": dd["gateway"], "target_port": M["port"], "target_user": ADMIN,
              "target_password": ADMIN_PASSWORD, "target_sslmode": "verify-full",
              "target_sslrootcert": str(dd["cert"]), "app": "it_dd_a"}
    run = ansible.run(PLAYBOOKS / "migrate.yml", dict(dd["vars"], **target))
    assert run.rc == 0, run.explain()
    assert ADMIN_PASSWORD not in run.stdout + run.stderr
    migrated = {}
    for table in expected:
        schema, name = table.split(".", 1)
        migrated[table] = int(psql(M["port"], 'SELECT count(*) FROM "%s"."%s"' % (schema, name.replace('"', '""')),
                                   "it_dd_a"))
    assert migrated == expected
    assert psql(M["port"], "SELECT tableowner FROM pg_tables WHERE tablename = 'folders'", "it_dd_a") == ADMIN
    env = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    assert (env["DB_HOST"], env["DB_PORT"], env["DB_NAME"], env["POSTGRES_USER"], env["PGSSLMODE"]) == (
        dd["gateway"], str(M["port"]), "it_dd_a", ADMIN, "verify-full")
    assert env["POSTGRES_PASSWORD"] == ADMIN_PASSWORD and oct(env_file.stat().st_mode & 0o777) == "0o600"
    saved = [p for p in env_file.parent.iterdir() if p.name.startswith("it_dd_a.env.") and p.name.endswith(".bak")]
    assert len(saved) == 1 and saved[0].read_text() == old and oct(saved[0].stat().st_mode & 0o777) == "0o600"
    conn = psycopg2.connect(host=env["DB_HOST"], port=int(env["DB_PORT"]), user=env["POSTGRES_USER"],
                            password=env["POSTGRES_PASSWORD"], dbname=env["DB_NAME"], sslmode="verify-full",
                            sslrootcert=str(dd["cert"]), connect_timeout=10)
    with conn.cursor() as cur:
        cur.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        assert cur.fetchone() == (True,)
    conn.close()
    # The restore's clients ran in the source's container (the version of its archive), not on the host.
    with open(log, encoding="utf-8", errors="replace") as handle:
        handle.seek(seen)
        received = handle.read()
    assert "connection received: host=%s " % source in received, received[-2000:]
    assert not [n for n in docker("exec", A["container"], "ls", "/tmp").stdout.split() if n.startswith("darevel")]
    data = report(dd, "migrate")
    assert data["result"] == "passed" and data["env_file"]["backup"] == str(saved[0])
    assert [(r["instance"], r["target_database"], r["verified"]) for r in data["databases"]] == [
        ("it_dd_a", "it_dd_a", True)]
    assert ADMIN_PASSWORD not in json.dumps(data)
    # The migration's backup was taken in the container (a fresh one, runtime docker).
    latest = dd["root"] / "it_dd_a" / data["databases"][0]["backup_id"]
    assert _manifest.load(str(latest))["runtime"] == "docker"
