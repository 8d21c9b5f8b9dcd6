# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic of the restore side: backup selection, manifest and file checks, confirmation, row
count comparison, globals filtering, DSN handling, the target's runtime and the report filters."""

from __future__ import annotations

import hashlib
import json

import pytest

from ansible_collections.darevel.postgres.plugins.filter import restore as rf
from ansible_collections.darevel.postgres.plugins.module_utils import _restore as r
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.module_utils._runtime import base
from ansible_collections.darevel.postgres.tests.unit.runtime_fakes import UnusedParts


# --------------------------------------------------------------------------- selection


def test_backup_ids_sort_by_time_then_suffix_numerically():
    ids = ["20261126T020000Z-10", "20261126T020000Z", "20261126T020000Z-9", "20261125T235959Z"]
    assert sorted(ids, key=r.backup_key) == ["20261125T235959Z", "20261126T020000Z", "20261126T020000Z-9",
                                             "20261126T020000Z-10"]


def test_partial_and_foreign_directories_are_not_backups():
    names = [".20261126T020000Z.partial", "20261126T020000Z", "20261126T030000Z", "notes", "last_run.json",
             "20261126T040000Z"]
    complete = r.complete_backups(names, lambda n: n != "20261126T040000Z")  # no manifest yet
    assert complete == ["20261126T020000Z", "20261126T030000Z"]


@pytest.mark.parametrize("wanted, chosen", [
    (None, "20261126T020000Z-2"), ("", "20261126T020000Z-2"), ("latest", "20261126T020000Z-2"),
    ("20261125T010000Z", "20261125T010000Z"),
])
def test_select_backup(wanted, chosen):
    available = ["20261125T010000Z", "20261126T020000Z", "20261126T020000Z-2"]
    assert r.select_backup(available, wanted, "mail", "/b/mail") == chosen


def test_latest_is_the_highest_sequence_number_whatever_the_clock_said(tmp_path):
    # The clock stepped back before the newest backup (sequence 3): its id sorts as the oldest.
    # A backup from before sequence numbers, and one whose manifest cannot be read, come first.
    written = {"20261126T020000Z": 1, "20261126T030000Z": 2, "20261120T010000Z": 3, "20261101T000000Z": None,
               "20261127T000000Z": "unreadable"}
    for backup_id, sequence in written.items():
        (tmp_path / backup_id).mkdir()
        text = "{" if sequence == "unreadable" else json.dumps({"format": 1, "sequence": sequence})
        (tmp_path / backup_id / "manifest.json").write_text(text)
    available = sorted(written, key=r.backup_key)
    key = r.sequence_order(str(tmp_path), available)
    assert r.select_backup(available, "latest", "mail", str(tmp_path), key=key) == "20261120T010000Z"
    assert sorted(available, key=key) == ["20261101T000000Z", "20261127T000000Z", "20261126T020000Z",
                                          "20261126T030000Z", "20261120T010000Z"]
    # Without the manifests' order, the timestamp would pick the wrong one.
    assert r.select_backup(available, "latest", "mail", str(tmp_path)) == "20261127T000000Z"


def test_select_backup_names_the_choices_and_the_fix():
    with pytest.raises(DarevelError) as err:
        r.select_backup(["20261125T010000Z"], "20261126T020000Z", "mail", "/b/mail")
    assert "instance 'mail'" in err.value.msg and "20261125T010000Z" in err.value.msg and "latest" in err.value.msg
    with pytest.raises(DarevelError) as err:
        r.select_backup([], "latest", "mail", "/b/mail")
    assert "no complete backup under /b/mail" in err.value.msg and "backup.yml" in err.value.msg


# --------------------------------------------------------------------------- manifest and files


def manifest(files, databases=None) -> dict:
    return {"format": 1, "instance": "mail", "backup_id": "20261126T020000Z", "server_version_num": 150010,
            "databases": databases if databases is not None else [
                {"name": "darevel_mail", "format": "custom", "path": "darevel_mail.dump", "row_counts": {"public.m": 3}}],
            "files": files}


def write_backup(tmp_path, content: bytes = b"dump-bytes") -> dict:
    (tmp_path / "darevel_mail.dump").write_bytes(content)
    (tmp_path / "globals.sql").write_text("CREATE ROLE x;\n")
    files = [{"path": name, "size": (tmp_path / name).stat().st_size,
              "sha256": hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()}
             for name in ("darevel_mail.dump", "globals.sql")]
    return manifest(files)


def test_a_good_backup_verifies(tmp_path):
    data = write_backup(tmp_path)
    assert r.manifest_problems(data, "mail", "x") == []
    assert r.verify_files(str(tmp_path), data, "mail") == []


def test_a_flipped_byte_is_found(tmp_path):
    data = write_backup(tmp_path)
    raw = bytearray((tmp_path / "darevel_mail.dump").read_bytes())
    raw[3] ^= 0x01
    (tmp_path / "darevel_mail.dump").write_bytes(bytes(raw))
    problems = r.verify_files(str(tmp_path), data, "mail")
    assert len(problems) == 1 and "darevel_mail.dump does not match its sha256" in problems[0]
    assert "instance 'mail'" in problems[0] and "backup_id" in problems[0]


def test_missing_and_truncated_files_are_each_reported(tmp_path):
    data = write_backup(tmp_path)
    (tmp_path / "globals.sql").unlink()
    (tmp_path / "darevel_mail.dump").write_bytes(b"dump")
    problems = r.verify_files(str(tmp_path), data, "mail")
    assert len(problems) == 2
    assert "has 4 bytes, the manifest says 10" in problems[0] and "globals.sql is missing" in problems[1]


@pytest.mark.parametrize("change, needle", [
    (lambda m: m.update(format=2), "format 2 is not 1"),
    (lambda m: m["files"].append({"path": "../etc/passwd", "size": 1, "sha256": "a"}), "is invalid"),
    (lambda m: m["files"].append({"path": "/etc/passwd", "size": 1, "sha256": "a"}), "is invalid"),
    (lambda m: m["databases"][0].update(path="other.dump"), "has no checksummed file 'other.dump'"),
    (lambda m: m["databases"][0].update(format="tar"), "has no checksummed file"),
    (lambda m: m.update(databases=[]), "lists no database"),
    (lambda m: m.update(globals={"file": "../../evil.sql"}), "globals file '../../evil.sql' is not a checksummed"),
    (lambda m: m.update(globals={"file": "/etc/evil.sql"}), "globals file '/etc/evil.sql' is not"),
    (lambda m: m.update(globals={"file": "sub/globals.sql"}), "globals file 'sub/globals.sql' is not"),
    (lambda m: m.update(globals={"file": "unlisted.sql"}), "globals file 'unlisted.sql' is not"),
    (lambda m: m.update(globals={"file": ["globals.sql"]}), "globals file ['globals.sql'] is not"),
    (lambda m: m.update(globals="../globals.sql"), "globals file '../globals.sql' is not"),
])
def test_manifest_problems(tmp_path, change, needle):
    data = write_backup(tmp_path)
    change(data)
    problems = r.manifest_problems(data, "mail", "20261126T020000Z")
    assert problems and needle in " ".join(problems) and "backup 20261126T020000Z" in problems[0]


def test_a_directory_format_dump_is_covered_by_its_files():
    files = [{"path": "db.dir/toc.dat", "size": 1, "sha256": "a"}, {"path": "db.dir/3012.dat.gz", "size": 2, "sha256": "b"}]
    data = manifest(files, [{"name": "db", "format": "directory", "path": "db.dir", "row_counts": {}}])
    assert r.manifest_problems(data, "mail", "x") == []
    assert r.file_sizes(data) == {"db": 3}


def test_selected_databases():
    data = manifest([], [{"name": "a"}, {"name": "b"}])
    assert [d["name"] for d in r.selected_databases(data, None, "mail")[0]] == ["a", "b"]
    chosen, problems = r.selected_databases(data, ["b", "zz"], "mail")
    assert [d["name"] for d in chosen] == ["b"]
    assert problems == ["instance 'mail': database 'zz' is not in backup 20261126T020000Z; fix: choose from a, b"]


# --------------------------------------------------------------------------- names and confirmation


def test_target_names():
    assert r.target_names(["a"], "copy", None, "mail") == ({"a": "copy"}, [])
    assert r.target_names(["a", "b"], None, "_drill", "mail") == ({"a": "a_drill", "b": "b_drill"}, [])
    assert r.target_names(["a"], None, None, "mail") == ({"a": "a"}, [])
    names, problems = r.target_names(["a", "b"], "copy", None, "mail")
    assert names == {} and "target_database 'copy' given for 2 databases" in problems[0]
    names, problems = r.target_names(["x" * 60], None, "_drill", "mail")
    assert "longer than 63 bytes" in problems[0]


def test_replacing_needs_the_name_confirmed():
    existing = {"postgres", "darevel_mail", "darevel_mail_restored"}
    problems = r.replace_problems("mail", "instance 'mail'", existing, ["darevel_mail", "darevel_mail_restored", "new"],
                                  ["darevel_mail_restored"])
    assert len(problems) == 1
    assert "database 'darevel_mail' already exists on instance 'mail'" in problems[0]
    assert "-e confirm_replace=darevel_mail" in problems[0] and "target_database" in problems[0]
    assert r.replace_problems("mail", "x", existing, ["darevel_mail"], ["darevel_mail"]) == []
    assert r.replace_problems("mail", "x", existing, ["new"], []) == []


def test_temp_name_fits_an_identifier():
    assert r.temp_name("darevel_mail") == "darevel_mail_darevel_restore"
    assert len(r.temp_name("x" * 63).encode()) == 63


# --------------------------------------------------------------------------- row counts


def test_compare_counts():
    expected = {"public.a": 10, "app.b": 0, "public.c": 5}
    assert r.compare_counts(expected, {"public.a": 10, "app.b": 0, "public.c": 5, "public.extra": 1}) == []
    assert r.compare_counts(expected, {"public.a": 9, "app.b": 0}) == [
        "public.a: 9 rows, the backup has 10", "public.c: missing (the backup has 5 rows)"]


def test_row_counts_keep_dotted_piped_and_multiline_names():
    # A session returns every value as the server's text; no separator can split a name.
    assert r.row_counts([("public.a", "10"), ("app.Empty Things", "0"), ("public.x|y", "3"), ("a.b\nc", "1")]) == {
        "public.a": 10, "app.Empty Things": 0, "public.x|y": 3, "a.b\nc": 1}
    assert r.row_counts([]) == {}


def test_a_failed_restore_keeps_the_cause_and_gives_its_own_fix():
    assert r.cause("instance 'x': pg_restore into d failed (rc=1): boom; fix: see the error") == (
        "instance 'x': pg_restore into d failed (rc=1): boom")
    assert r.cause("target x: psql in container c stopped: boom") == "target x: psql in container c stopped: boom"


def test_parse_toc():
    listing = (";\n; Archive created at 2026-11-26 06:30:00 UTC\n;     dbname: darevel_mail\n"
               ";     Encoding: UTF8\n;\n3385; 1262 16384 DATABASE - darevel_mail darevel_mail_owner\n"
               "215; 1259 16390 TABLE public messages darevel_mail_owner\n")
    assert r.parse_toc(listing) == {"owner": "darevel_mail_owner", "encoding": "UTF8"}
    assert r.parse_toc("215; 1259 16390 TABLE public messages x\n") == {"owner": None, "encoding": None}


# --------------------------------------------------------------------------- globals


GLOBALS = """--
-- PostgreSQL database cluster dump
--

SET default_transaction_read_only = off;

--
-- Roles
--

CREATE ROLE darevel_mail_owner;
ALTER ROLE darevel_mail_owner WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN PASSWORD 'SCRAM-SHA-256$x';
CREATE ROLE postgres;
ALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS;
CREATE ROLE "Mail Reader";
ALTER ROLE "Mail Reader" WITH NOLOGIN;
GRANT "Mail Reader" TO darevel_mail_owner GRANTED BY postgres;
GRANT pg_monitor TO postgres GRANTED BY postgres;
CREATE TABLESPACE fast OWNER postgres LOCATION '/srv/fast';
"""


def test_globals_create_only_missing_roles_and_keep_existing_passwords():
    kept, created, skipped = r.filter_globals(GLOBALS, {"postgres", "darevel_mail_owner"})
    assert created == ["Mail Reader"] and skipped == ["darevel_mail_owner", "postgres"]
    assert 'CREATE ROLE "Mail Reader";' in kept and 'ALTER ROLE "Mail Reader" WITH NOLOGIN;' in kept
    assert "PASSWORD" not in kept and "SUPERUSER" not in kept and "TABLESPACE" not in kept
    assert 'GRANT "Mail Reader" TO darevel_mail_owner;' in kept.splitlines()
    assert "pg_monitor" not in kept  # both roles existed: nothing to add
    assert "SET default_transaction_read_only = off;" in kept


def test_globals_on_an_empty_target_create_every_role():
    kept, created, skipped = r.filter_globals(GLOBALS, set())
    assert created == ["darevel_mail_owner", "postgres", "Mail Reader"] and skipped == []
    assert "GRANTED BY" not in kept


# --------------------------------------------------------------------------- external servers


DSN = {"host": "db.example.net", "port": 6432, "user": "admin", "password": "s3cret", "sslmode": "verify-full",
       "sslrootcert": "/etc/ssl/ca.pem"}


def test_dsn_environment_carries_the_password_and_tls():
    env = r.dsn_env(DSN)
    assert env == {"PGHOST": "db.example.net", "PGPORT": "6432", "PGUSER": "admin", "PGPASSWORD": "s3cret",
                   "PGSSLMODE": "verify-full", "PGSSLROOTCERT": "/etc/ssl/ca.pem", "PGCONNECT_TIMEOUT": "10"}
    assert "PGPASSWORD" not in r.dsn_env({"host": "h", "user": "u"})
    assert r.dsn_env({"host": "h", "user": "u"})["PGPORT"] == "5432"


def test_dsn_label_and_env_file_values():
    assert r.dsn_label(DSN) == "admin@db.example.net:6432 (sslmode=verify-full)"
    assert "s3cret" not in r.dsn_label(DSN)
    assert r.env_values(DSN, "darevel_mail") == {
        "DB_HOST": "db.example.net", "DB_PORT": 6432, "DB_NAME": "darevel_mail", "POSTGRES_USER": "admin",
        "POSTGRES_PASSWORD": "s3cret", "PGSSLMODE": "verify-full", "PGSSLROOTCERT": "/etc/ssl/ca.pem"}
    assert "PGSSLMODE" not in r.env_values({"host": "h", "user": "u"}, "d")


# --------------------------------------------------------------------------- the target's runtime


class FakeModule:
    check_mode = False

    def __init__(self, **params) -> None:
        self.params = dict({"target_dsn": None, "docker_host": None, "socket_dir": "/run/pg", "default_version": 15},
                           **params)


def target_of(item: dict, minimum: int = 15, **params):
    return r.RestoreManager(FakeModule(**params)).target(item, minimum)


def test_a_native_instance_is_reached_over_its_socket_as_postgres():
    target, where = target_of({"name": "mail", "port": 5434, "version": 17})
    assert where == "instance 'mail'" and target.label == where and target.version == 17
    assert target.runtime.kind == "native" and target.runtime.version == 17
    assert target.runtime.conn_args() == ["-h", "/run/pg", "-p", "5434", "-U", "postgres", "--no-password"]
    other, where = target_of({"name": "mail", "port": 5434, "version": 17, "target_instance": "chat",
                              "target_port": 5435})
    assert where == "instance 'chat'" and other.runtime.port == 5435 and other.version == 15  # default_version
    with pytest.raises(DarevelError, match="instance 'chat': no port for the target instance"):
        target_of({"name": "mail", "port": 5434, "target_instance": "chat"})


def test_an_external_server_natively_gets_its_dsn_through_the_environment_only():
    target, where = target_of({"name": "mail", "port": 5434, "version": 15}, target_dsn=DSN)
    assert where == r.dsn_label(DSN) and target.label == "target " + r.dsn_label(DSN) and target.version is None
    assert isinstance(target.runtime, r.HostClients) and target.runtime.env == r.dsn_env(DSN)
    assert target.runtime.conn_args() == ["--no-password"], "a password never goes on a command line"


def test_an_external_server_that_refuses_is_named_with_the_dsn_fix(monkeypatch):
    from ansible_collections.darevel.postgres.plugins.module_utils._runtime import native

    def refuse(**kwargs):
        assert kwargs["password"] == "s3cret" and kwargs["sslrootcert"] == "/etc/ssl/ca.pem"
        raise native.psycopg2.OperationalError("FATAL:  password authentication failed for user \"admin\"")

    monkeypatch.setattr(native.psycopg2, "connect", refuse)
    target, _where = target_of({"name": "mail"}, target_dsn=DSN)
    with pytest.raises(DarevelError) as caught:
        target.names("SELECT datname FROM pg_database")
    msg = caught.value.msg
    assert msg.startswith("target admin@db.example.net:6432 (sslmode=verify-full): cannot connect on db.example.net:6432")
    assert "password authentication failed" in msg and "fix: check target_dsn" in msg
    assert "start.yml" not in msg and "s3cret" not in msg


def test_the_client_is_the_instance_version_or_the_newest_that_reads_the_archive(tmp_path, monkeypatch):
    from ansible_collections.darevel.postgres.plugins.module_utils._runtime import native
    for major in (13, 15, 17):
        (tmp_path / str(major) / "bin").mkdir(parents=True)
        (tmp_path / str(major) / "bin" / "pg_restore").write_text("")
    monkeypatch.setattr(base, "BIN_CANDIDATES", (str(tmp_path) + "/{v}/bin",))
    monkeypatch.setattr(native, "newest_client", lambda tool, minimum: base.newest_client(tool, minimum, str(tmp_path)))
    own, _where = target_of({"name": "mail", "port": 5434, "version": 15}, minimum=13)
    assert own.runtime.tool_path("pg_restore") == str(tmp_path / "15" / "bin" / "pg_restore")
    missing, _where = target_of({"name": "mail", "port": 5434, "version": 16}, minimum=13)
    with pytest.raises(DarevelError, match="instance 'mail': no pg_restore client of version 16"):
        missing.runtime.tool_path("pg_restore")  # never another version's client
    external, _where = target_of({"name": "mail"}, minimum=15, target_dsn=DSN)
    assert external.runtime.tool_path("pg_restore") == str(tmp_path / "17" / "bin" / "pg_restore")
    newer, _where = target_of({"name": "mail"}, minimum=18, target_dsn=DSN)
    newer.runtime.which = lambda tool: None
    with pytest.raises(DarevelError, match="no pg_restore client of version 18 or newer"):
        newer.runtime.tool_path("pg_restore")
    newer.runtime.which = lambda tool: "/usr/bin/" + tool
    assert newer.runtime.tool_path("pg_restore") == "/usr/bin/pg_restore"  # the one on PATH, as before


class FakeSession(r.Session):
    def __init__(self, runtime, database: str) -> None:
        self.runtime, self.database = runtime, database

    def rows(self, text, idents=(), params=()):
        self.runtime.sql.append((self.database, base.render(text, idents, params)))
        if text.startswith("SELECT datname"):
            return [("postgres",), ("mail",)]
        if text.startswith("SELECT rolname"):
            return [("postgres",), ("mail_owner",), ("darevel_mail_owner",)]
        return [("public.m", str(self.runtime.rows))] if text == r.COUNT_SQL else []


class FakeRuntime(UnusedParts, r.Runtime):
    kind = "fake"

    def __init__(self, rows: int) -> None:
        super().__init__("instance 'mail'")
        self.rows, self.sql, self.tools, self.cleaned = rows, [], [], False

    def session(self, database="postgres"):
        return FakeSession(self, database)

    def tool(self, name, args, what, stdin=None, dest=None, connect=True):
        self.tools.append((name, list(args), stdin, connect))
        return "3385; 1262 16384 DATABASE - mail mail_owner\n" if "-l" in args else ""

    def cleanup(self):
        self.cleaned = True


@pytest.mark.parametrize("rows", [7, 8])
def test_a_replaced_database_is_swapped_in_only_once_its_counts_match(rows):
    runtime = FakeRuntime(rows)
    manager = r.RestoreManager(FakeModule(jobs=2, no_owner=None, drop_after=False))
    target = r.RestoreTarget(runtime, 15)
    entry = {"name": "mail", "path": "mail.dump", "format": "custom", "row_counts": {"public.m": 7}}
    work = r.temp_name("mail")
    if rows == 7:
        row = manager._one(target, "/staged", entry, "mail", {"mail"}, {"mail": 10})
        assert row["verified"] is True and row["replaced"] is True
    else:
        with pytest.raises(DarevelError, match="does not match the backup's row counts: public.m: 8 rows, the backup "
                                               "has 7; it was dropped, mail is unchanged"):
            manager._one(target, "/staged", entry, "mail", {"mail"}, {"mail": 10})
    statements = [text for database, text in runtime.sql if database == "postgres" and not text.startswith("SELECT")]
    assert statements[:2] == ['DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % work,
                              'CREATE DATABASE "%s" TEMPLATE template0 OWNER "mail_owner"' % work]
    assert statements[2:] == (['DROP DATABASE "mail" WITH (FORCE)', 'ALTER DATABASE "%s" RENAME TO "mail"' % work]
                              if rows == 7 else ['DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % work])
    assert (work, r.COUNT_SQL) in runtime.sql  # counted in the restored database itself
    assert runtime.tools == [("pg_restore", ["-l", "-C", "/staged/mail.dump"], None, False),
                             ("pg_restore", ["--exit-on-error", "-d", work, "-j", "2", "/staged/mail.dump"], None, True)]
    target.cleanup()
    assert runtime.cleaned


def test_globals_go_on_stdin_in_one_transaction(tmp_path):
    (tmp_path / "globals.sql").write_text(GLOBALS)
    runtime = FakeRuntime(0)
    result = r.RestoreManager(FakeModule(globals="missing"))._globals(
        r.RestoreTarget(runtime), str(tmp_path), {"globals": {"file": "globals.sql"}})
    assert result["created"] == ["Mail Reader"]
    [(name, args, stdin, connect)] = runtime.tools
    assert name == "psql" and args == ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-d", "postgres", "-f", "-"]
    assert connect
    assert b'CREATE ROLE "Mail Reader"' in stdin and not [a for a in args if "ROLE" in a or "SCRAM" in a]


# --------------------------------------------------------------------------- report filters


RESULT = {"instances": [
    {"name": "mail", "backup_id": "20261126T020000Z", "target": "instance 'mail'",
     "databases": [{"database": "darevel_mail", "target_database": "darevel_mail_drill", "size_bytes": 2048,
                    "seconds": 1.25, "verified": True}]},
    {"name": "chat", "failed": True, "msg": "instance 'chat': backup x refused"},
]}


def test_rows_instances_and_table():
    rows = rf.restore_rows(RESULT)
    assert [(x["instance"], x["database"], x["verified"]) for x in rows] == [
        ("mail", "darevel_mail", True), ("chat", None, False)]
    assert rf.restore_instances(rows) == [
        {"instance": "mail", "backup_id": "20261126T020000Z", "databases": 1, "result": "passed", "error": None},
        {"instance": "chat", "backup_id": None, "databases": 0, "result": "failed",
         "error": "instance 'chat': backup x refused"}]
    lines = rf.restore_table(rows)
    assert lines[0].split() == ["instance", "backup", "database", "restored", "as", "target", "size", "duration",
                                "verified"]
    assert lines[2].split()[:4] == ["mail", "20261126T020000Z", "darevel_mail", "darevel_mail_drill"]
    assert lines[2].rstrip().endswith("yes") and "2.0 KiB" in lines[2] and "1.2s" in lines[2]
    assert lines[3].rstrip().endswith("NO") and lines[4] == "chat: instance 'chat': backup x refused"


def test_rows_of_a_single_failed_result():
    rows = rf.restore_rows({"failed": True, "name": "mail", "msg": "refused"})
    assert rows == [{"instance": "mail", "backup_id": None, "target": None, "database": None, "target_database": None,
                     "size_bytes": None, "seconds": None, "verified": False, "error": "refused"}]


def test_drill_items():
    plan = [{"name": "mail", "version": 15, "port": 5437, "docker": {"name": "darevel-postgres-mail"}}]
    assert rf.restore_items(plan) == [{"name": "mail", "version": 15, "port": 5437, "target_suffix": "_drill"}]
    assert rf.restore_items([dict(plan[0], in_container="darevel-postgres-mail")])[0]["container"] == \
        "darevel-postgres-mail"


def test_the_report_holds_no_password():
    assert "s3cret" not in json.dumps(rf.restore_rows({"name": "mail", "target": r.dsn_label(DSN), "databases": []}))


def test_check_mode_rows_are_neither_verified_nor_failed():
    rows = rf.restore_rows({"name": "mail", "backup_id": "b", "target": "instance 'mail'", "databases": [
        {"database": "d", "target_database": "d_drill", "size_bytes": 1, "seconds": None, "verified": None}]})
    assert rows[0]["verified"] is None
    assert rf.restore_instances(rows)[0]["result"] == "passed"
    assert rf.restore_table(rows)[2].rstrip().endswith("-")


# --------------------------------------------------------------------------- the request

PLAN = [{"name": "mail"}, {"name": "chat"}]


def test_a_good_request_of_each_verb_has_no_problem():
    assert rf.restore_request("restore", PLAN, "mail") == []
    assert rf.restore_request("restore", PLAN, "mail", "chat") == []
    assert rf.restore_request("restore", PLAN, "mail", "", {"host": "db.example.net", "user": "admin", "port": "5432"}) == []
    assert rf.restore_request("migrate", PLAN, "mail", target={"host": "db", "user": "u", "port": 6432},
                              fresh_backup="false", jobs="4") == []
    assert rf.restore_request("restore_drill", PLAN, fresh_backup=False) == []
    assert rf.restore_request("restore_drill", [], fresh_backup="yes") == []


def test_every_problem_of_a_restore_at_once_each_naming_value_and_fix():
    problems = rf.restore_request("restore", PLAN, "mail;x", "", {"host": "db", "user": "", "port": "5432x"}, jobs="many")
    assert [p.split(":")[1].strip() for p in problems] == ["app", "target_user", "target_port", "restore_jobs"]
    assert all(p.startswith("nothing was restored: ") and "fix: " in p for p in problems)
    assert "'mail;x'" in problems[0] and "mail, chat" in problems[0]
    assert rf.restore_request("restore", PLAN, None) == [
        "nothing was restored: app: (none); fix: -e app=NAME, the instance whose backup to use, one of mail, chat"
        " (role input: postgres_restore_app)"]


@pytest.mark.parametrize("target_app, bad", [("sheet", True), ("chat", False), ("", False), (None, False)])
def test_the_target_instance_is_a_planned_one_unless_the_target_is_external(target_app, bad):
    problems = rf.restore_request("restore", PLAN, "mail", target_app)
    assert bool(problems) == bad and (not bad or "target_app: 'sheet'" in problems[0])
    assert rf.restore_request("restore", PLAN, "mail", target_app, {"host": "db", "user": "u"}) == []


@pytest.mark.parametrize("value", [0, -1, "1.5", "", True, 4097, "abc", None])
def test_jobs_must_be_a_whole_number_from_one(value):
    assert rf.restore_request("restore", PLAN, "mail", jobs=value)[0].startswith("nothing was restored: restore_jobs:")


@pytest.mark.parametrize("value", [0, 65536, "22; rm", True, "x"])
def test_an_external_port_must_be_a_port(value):
    problems = rf.restore_request("migrate", PLAN, "mail", target={"host": "db", "user": "u", "port": value})
    assert [p for p in problems if "target_port" in p] and len(problems) == 1


def test_migrate_needs_an_external_target_and_a_boolean_fresh_backup():
    problems = rf.restore_request("migrate", PLAN, "", fresh_backup="maybe")
    assert [p.split(":")[1].strip() for p in problems] == ["app", "target_host", "fresh_backup"]
    assert all(p.startswith("nothing was migrated: ") for p in problems)
    assert rf.restore_request("restore_drill", PLAN, fresh_backup="maybe") == [
        "nothing was drilled: fresh_backup: 'maybe' is not true or false; fix: -e fresh_backup=false to use the "
        "latest backup, or leave it out to take one now (role input: postgres_restore_fresh_backup)"]
