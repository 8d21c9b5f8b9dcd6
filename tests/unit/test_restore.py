# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic of the restore side: backup selection, manifest and file checks, confirmation, row
count comparison, globals filtering, DSN handling, the tar stream and the report filters."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pytest

from ansible_collections.darevel.postgres.plugins.filter import restore as rf
from ansible_collections.darevel.postgres.plugins.module_utils import _restore as r
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError


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


def test_parse_counts_keeps_dotted_and_piped_names():
    assert r.parse_counts("public.a|10\napp.Empty Things|0\npublic.x|y|3\n\n") == {
        "public.a": 10, "app.Empty Things": 0, "public.x|y": 3}


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
        "POSTGRES_PASSWORD": "s3cret", "DB_SSLMODE": "verify-full", "DB_SSLROOTCERT": "/etc/ssl/ca.pem"}
    assert "DB_SSLMODE" not in r.env_values({"host": "h", "user": "u"}, "d")


def test_client_bin_picks_the_instance_version_or_the_newest_that_reads_the_archive(tmp_path):
    for major in (13, 15, 17):
        (tmp_path / str(major) / "bin").mkdir(parents=True)
        (tmp_path / str(major) / "bin" / "pg_restore").write_text("")
    assert r.client_bin("pg_restore", 15, 15, str(tmp_path)).endswith("/15/bin/pg_restore")
    assert r.client_bin("pg_restore", 16, 15, str(tmp_path)) is None
    assert r.client_bin("pg_restore", None, 15, str(tmp_path)).endswith("/17/bin/pg_restore")
    assert r.client_bin("pg_restore", None, 18, str(tmp_path)) is None


# --------------------------------------------------------------------------- the tar stream


def test_tar_stream_is_a_tar_of_the_files(tmp_path):
    (tmp_path / "a.dump").write_bytes(b"x" * 1000)
    (tmp_path / "db.dir").mkdir()
    (tmp_path / "db.dir" / "toc.dat").write_bytes(b"toc")
    data = b"".join(r.tar_stream(str(tmp_path), ["a.dump", "db.dir/toc.dat"], "stage", chunk=64))
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.getnames() == ["stage", "stage/db.dir", "stage/a.dump", "stage/db.dir/toc.dat"]
        assert tar.extractfile("stage/a.dump").read() == b"x" * 1000
        assert tar.extractfile("stage/db.dir/toc.dat").read() == b"toc"
        assert tar.getmember("stage/a.dump").mode == 0o600


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
    assert rf.restore_items(plan, True)[0]["container"] == "darevel-postgres-mail"


def test_the_report_holds_no_password():
    assert "s3cret" not in json.dumps(rf.restore_rows({"name": "mail", "target": r.dsn_label(DSN), "databases": []}))


def test_check_mode_rows_are_neither_verified_nor_failed():
    rows = rf.restore_rows({"name": "mail", "backup_id": "b", "target": "instance 'mail'", "databases": [
        {"database": "d", "target_database": "d_drill", "size_bytes": 1, "seconds": None, "verified": None}]})
    assert rows[0]["verified"] is None
    assert rf.restore_instances(rows)[0]["result"] == "passed"
    assert rf.restore_table(rows)[2].rstrip().endswith("-")
