# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runtime layer against real servers: one native cluster (it_rt_n, port 25598, made by
pg_instance) and one container (it-rt-d, image darevel-test/postgres:15, not published). The same
statements through both runtimes answer the same rows, so a feature written once over a runtime
reads them alike; the tools, the files and the errors behave the same way on both."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from conftest import REPO, drop_cluster, need_docker

sys.path.insert(0, str(REPO))
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError  # noqa: E402
from ansible_collections.darevel.postgres.plugins.module_utils._runtime import select_runtime  # noqa: E402

IMAGE = "darevel-test/postgres:15"
NATIVE = {"name": "it_rt_n", "port": 25598, "version": 15}
CONTAINER = {"name": "it_rt_d", "container": "it-rt-d-%s" % uuid.uuid4().hex[:6]}
# Text, NULL, an empty string, a boolean, JSON, an array, a multi-line value, a time zone-aware
# timestamp at a fixed instant, a number: the kinds of value the modules read.
PROBE = ("SELECT 'plain'::text, NULL::text, ''::text, true, '{\"a\": [1, 2]}'::json, ARRAY['x', 'y z'], "
         "E'two\\nlines', '2026-01-02 03:04:05+00'::timestamptz AT TIME ZONE 'UTC', 12345678901::int8, 1.5::numeric")


def docker(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture(scope="module")
def runtimes(ansible):
    need_docker(IMAGE)
    run = ansible.module("pg_instance", {"instances": [{"name": NATIVE["name"], "port": NATIVE["port"]}],
                                         "state": "started"})
    assert run.rc == 0, run.explain()
    started = docker("run", "-d", "--name", CONTAINER["container"], "-e", "POSTGRES_USER=it_rt_owner",
                     "-e", "POSTGRES_PASSWORD=it-rt-Secret-1", IMAGE)
    assert started.returncode == 0, started.stderr
    try:
        waited = docker("exec", CONTAINER["container"], "sh", "-c",
                        "for i in $(seq 1 120); do pg_isready -q -h 127.0.0.1 && exit 0; sleep 0.5; done; exit 1")
        assert waited.returncode == 0, "the container's server never answered"
        yield {"native": select_runtime("native", NATIVE),
               "docker": select_runtime("docker", CONTAINER)}
    finally:
        docker("rm", "-f", "-v", CONTAINER["container"])
        drop_cluster(NATIVE["name"])


@pytest.mark.parametrize("kind", ["native", "docker"])
def test_a_session_answers_the_servers_text(runtimes, kind):
    with runtimes[kind].session() as session:
        row = session.one(PROBE)
    assert row == ("plain", None, "", "t", '{"a": [1, 2]}', "{x,\"y z\"}", "two\nlines",
                   "2026-01-02 03:04:05", "12345678901", "1.5")


def test_both_runtimes_answer_the_same_rows(runtimes):
    sql = ("SELECT name, setting, unit FROM pg_settings WHERE name IN ('max_connections', 'password_encryption', "
           "'TimeZone', 'DateStyle', 'lc_messages') ORDER BY name")
    answers = {}
    for kind, runtime in runtimes.items():
        with runtime.session() as session:
            answers[kind] = [row[0] for row in session.rows(sql)], session.rows("SELECT 1 WHERE false")
    assert answers["native"] == answers["docker"]
    assert answers["native"][1] == []


@pytest.mark.parametrize("kind", ["native", "docker"])
def test_identifiers_and_literals_are_quoted_on_both(runtimes, kind):
    with runtimes[kind].session() as session:
        session.execute('CREATE TEMP TABLE {} (v text)', ('we"ird; table',))
        session.execute("INSERT INTO {} VALUES (%s)", ('we"ird; table',), ("it's; DROP TABLE x; --",))
        assert session.value("SELECT v FROM {}", ('we"ird; table',)) == "it's; DROP TABLE x; --"


@pytest.mark.parametrize("kind", ["native", "docker"])
def test_an_error_names_the_instance_and_masks_verifiers(runtimes, kind):
    verifier = "SCRAM-SHA-256$4096:c2FsdHNhbHQ=$c3RvcmVk:c2VydmVy"
    with pytest.raises(DarevelError) as caught:
        with runtimes[kind].session() as session:
            session.execute("ALTER ROLE it_rt_nobody PASSWORD %s", (), (verifier,))
    message = caught.value.msg
    assert message.startswith("instance 'it_rt_")
    assert "it_rt_nobody" in message and "c2FsdHNhbHQ" not in message


@pytest.mark.parametrize("kind", ["native", "docker"])
def test_a_snapshot_session_keeps_its_view_while_another_writes(runtimes, kind):
    runtime = runtimes[kind]
    with runtime.session() as writer:
        writer.execute("DROP TABLE IF EXISTS it_rt_snap")
        writer.execute("CREATE TABLE it_rt_snap (n int)")
        with runtime.session() as reader:
            reader.begin_snapshot()
            snapshot = reader.value("SELECT pg_export_snapshot()")
            assert reader.value("SELECT count(*) FROM it_rt_snap") == "0"
            writer.execute("INSERT INTO it_rt_snap VALUES (1)")
            assert reader.value("SELECT count(*) FROM it_rt_snap") == "0"
            dumped = runtime.tool("psql", ["-X", "-q", "-A", "-t", "-d", "postgres", "-f", "-"], "psql",
                                  stdin=("BEGIN ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION SNAPSHOT '%s'; "
                                         "SELECT count(*) FROM it_rt_snap; COMMIT;" % snapshot).encode())
            assert dumped.split() == ["0"]
        writer.execute("DROP TABLE it_rt_snap")


@pytest.mark.parametrize("kind", ["native", "docker"])
def test_a_tool_writes_to_a_host_file_and_failures_say_why(runtimes, kind, tmp_path):
    runtime = runtimes[kind]
    dest = tmp_path / "globals.sql"
    runtime.tool("pg_dumpall", ["--globals-only"], "pg_dumpall", dest=str(dest))
    assert "CREATE ROLE" in dest.read_text()
    with pytest.raises(DarevelError) as caught:
        runtime.tool("psql", ["-X", "-d", "it_rt_missing", "-c", "SELECT 1"], "psql")
    assert "psql failed" in caught.value.msg or "psql in container" in caught.value.msg
    assert "it_rt_missing" in caught.value.msg


@pytest.mark.parametrize("kind", ["native", "docker"])
def test_a_directory_dump_comes_back_to_the_host(runtimes, kind, tmp_path):
    runtime = runtimes[kind]
    dest = tmp_path / "postgres.dir"
    inside = runtime.output_path(str(dest))
    try:
        runtime.tool("pg_dump", ["-F", "d", "-f", inside, "--dbname", "postgres"], "pg_dump")
        runtime.collect(inside, str(dest))
        staged = runtime.stage(str(tmp_path), ["postgres.dir/toc.dat"])
        listing = runtime.tool("pg_restore", ["-l", staged + "/postgres.dir"], "pg_restore -l", connect=False)
    finally:
        runtime.cleanup()
    assert (dest / "toc.dat").is_file()
    assert "Archive created at" in listing or ";" in listing
    if kind == "docker":
        assert docker("exec", CONTAINER["container"], "ls", runtime.scratch).returncode != 0, "scratch left behind"


def test_files_where_the_server_runs_are_read_and_written_with_its_owner(runtimes):
    runtime = runtimes["docker"]
    with runtime.session() as session:
        hba = session.value("SELECT current_setting('hba_file')")
    original = runtime.read_file(hba)
    assert original and "local" in original
    path = hba + ".it-rt"
    runtime.write_file(path, "# probe\n", hba)
    try:
        stat = docker("exec", CONTAINER["container"], "stat", "-c", "%a %U", path).stdout.split()
        assert stat == ["600", "postgres"]
        assert runtime.read_file(path) == "# probe\n"
    finally:
        docker("exec", CONTAINER["container"], "rm", "-f", path)
    assert runtime.read_file("/nonexistent/file") is None


@pytest.mark.parametrize("kind", ["native", "docker"])
def test_pg_row_counts_compares_a_manifest_and_counts_relations(runtimes, kind, ansible):
    runtime = runtimes[kind]
    with runtime.session() as session:
        session.execute("DROP DATABASE IF EXISTS it_rt_rows")
        session.execute("DROP DATABASE IF EXISTS it_rt_empty")
        session.execute("CREATE DATABASE it_rt_rows")
        session.execute("CREATE DATABASE it_rt_empty")
    with runtime.session("it_rt_rows") as session:
        session.execute('CREATE SCHEMA "Odd ""Schema"""')
        session.execute('CREATE TABLE "Odd ""Schema""".t (n int)')
        session.execute('INSERT INTO "Odd ""Schema""".t SELECT generate_series(1, 7)')
        session.execute("CREATE TABLE public.m (n int)")
    target = ({"runtime": "docker", "container": CONTAINER["container"]} if kind == "docker"
              else {"runtime": "native", "port": NATIVE["port"], "version": 15})
    manifest = [{"name": "it_rt_rows", "row_counts": {'Odd "Schema".t': 7, "public.m": 0}}]
    same = ansible.module("pg_row_counts", dict(target, name="it_rt_" + kind, databases=manifest, relations=True))
    assert same.rc == 0, same.explain()
    changed = ansible.module("pg_row_counts", dict(target, name="it_rt_" + kind, databases=[
        {"name": "it_rt_rows", "row_counts": {'Odd "Schema".t': 6, "public.m": 0, "public.gone": 1}}]))
    assert changed.rc == 0, changed.explain()
    for run in (same, changed):
        assert run.changed == 0
    first, second = same.results[-1], changed.results[-1]
    assert first["matches"] is True and first["differences"] == "none"
    assert first["relations"]["it_rt_empty"] == 0 and first["relations"]["it_rt_rows"] >= 2
    assert second["matches"] is False
    assert second["differences"] == ('database it_rt_rows: Odd "Schema".t: 6 in the backup, 7 here; '
                                     "public.gone: 1 in the backup, missing here")
    with runtime.session() as session:
        session.execute("DROP DATABASE it_rt_rows")
        session.execute("DROP DATABASE it_rt_empty")
