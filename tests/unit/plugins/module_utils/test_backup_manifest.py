# -*- coding: utf-8 -*-
"""Manifest helpers and the pure parts of _backup: ids, files, checks, compression, options."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone

import pytest

from ansible_collections.darevel.postgres.plugins.module_utils import _backup, _manifest
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError

MOMENT = datetime(2026, 11, 26, 6, 30, 0, tzinfo=timezone.utc)
SERVER = {"version": "15.10", "version_num": 150010}


def test_backup_ids_are_utc_and_get_a_suffix_when_taken():
    assert _manifest.new_backup_id(MOMENT, set()) == "20261126T063000Z"
    assert _manifest.new_backup_id(MOMENT, {"20261126T063000Z"}) == "20261126T063000Z-2"
    assert _manifest.new_backup_id(MOMENT, {"20261126T063000Z", "20261126T063000Z-2"}) == "20261126T063000Z-3"
    assert _manifest.ID_RE.match("20261126T063000Z-2") and not _manifest.ID_RE.match(".20261126T063000Z.partial")
    assert _manifest.PARTIAL_RE.match(_manifest.partial_name("20261126T063000Z"))


def make_backup(root, backup_id="20261126T063000Z", content=b"PGDMP-data") -> tuple[str, dict]:
    path = root / backup_id
    (path / "db.dir").mkdir(parents=True)
    (path / "globals.sql").write_text("CREATE ROLE x;\n")
    (path / "db.dump").write_bytes(content)
    (path / "db.dir" / "toc.dat").write_bytes(b"PGDMP")
    files = _manifest.file_entries(str(path))
    manifest = _manifest.build("mail", backup_id, "native", SERVER, MOMENT, MOMENT, "gzip:6",
                               [{"name": "db", "format": "custom", "path": "db.dump", "row_counts": {"public.t": 3}}],
                               files)
    _manifest.write_json(str(path / "manifest.json"), manifest)
    return str(path), manifest


def test_manifest_lists_every_file_but_itself_with_sha256_and_size(tmp_path):
    path, manifest = make_backup(tmp_path)
    assert [f["path"] for f in manifest["files"]] == ["db.dir/toc.dat", "db.dump", "globals.sql"]
    assert manifest["files"][1]["size"] == len(b"PGDMP-data")
    assert manifest["files"][1]["sha256"] == hashlib.sha256(b"PGDMP-data").hexdigest()
    loaded = _manifest.load(path)
    assert loaded == json.loads(json.dumps(manifest))
    assert loaded["started_at"] == "2026-11-26T06:30:00Z" and loaded["format"] == 1
    assert oct(os.stat(os.path.join(path, "manifest.json")).st_mode & 0o777) == "0o600"


def test_problems_find_a_flipped_byte_and_a_missing_file(tmp_path):
    path, manifest = make_backup(tmp_path)
    assert _manifest.problems(path, manifest) == []
    with open(os.path.join(path, "db.dump"), "r+b") as handle:
        handle.seek(3)
        handle.write(b"X")
    assert _manifest.problems(path, manifest, hashes=False) == []
    assert _manifest.problems(path, manifest) == ["db.dump does not match its sha256 in the manifest"]
    os.unlink(os.path.join(path, "globals.sql"))
    assert "globals.sql is missing" in _manifest.problems(path, manifest)


def test_list_backups_ignores_partials_and_marks_the_unverified(tmp_path):
    make_backup(tmp_path, "20261125T063000Z")
    make_backup(tmp_path, "20261126T063000Z")
    (tmp_path / ".20261127T063000Z.partial").mkdir()
    (tmp_path / "20261124T063000Z").mkdir()  # no manifest
    os.truncate(tmp_path / "20261125T063000Z" / "db.dump", 2)
    found = _manifest.list_backups(str(tmp_path))
    assert [(b["id"], b["verified"]) for b in found] == [
        ("20261126T063000Z", True), ("20261125T063000Z", False), ("20261124T063000Z", False)]


def test_load_refuses_other_formats(tmp_path):
    (tmp_path / "manifest.json").write_text('{"format": 2}')
    with pytest.raises(ValueError, match="format 2"):
        _manifest.load(str(tmp_path))
    with pytest.raises(ValueError, match="cannot be read"):
        _manifest.load(str(tmp_path / "nothing"))


def test_last_backup_gives_age_and_the_last_run(tmp_path):
    directory = tmp_path / "mail"
    make_backup(directory)
    _manifest.write_json(str(directory / "last_run.json"), {"result": "failed", "backup_id": "x", "msg": "full"})
    now = datetime(2026, 11, 26, 8, 30, 0, tzinfo=timezone.utc)
    info = _manifest.last_backup(str(tmp_path), "mail", now)
    assert info["backup_id"] == "20261126T063000Z" and info["age_seconds"] == 7200
    assert info["result"] == "failed" and info["msg"] == "full"
    empty = _manifest.last_backup(str(tmp_path), "chat", now)
    assert empty["backup_id"] is None and empty["result"] is None


@pytest.mark.parametrize("requested, version_num, label, args", [
    ("auto", 150010, "gzip:6", ["-Z", "6"]),
    ("auto", 170002, "zstd:3", ["--compress=zstd:3"]),
    ("gzip", 150010, "gzip:6", ["-Z", "6"]),
    ("gzip:9", 160000, "gzip:9", ["--compress=gzip:9"]),
    ("lz4", 160004, "lz4", ["--compress=lz4"]),
    ("none", 150010, "none", ["-Z", "0"]),
    ("none", 170000, "none", ["--compress=none"]),
])
def test_compression(requested, version_num, label, args):
    assert _backup.compression(requested, version_num) == (label, args)


@pytest.mark.parametrize("requested, version_num, text", [
    ("zstd:3", 150010, "needs PostgreSQL 16"),
    ("lz4", 150010, "needs PostgreSQL 16"),
    ("gzip:10", 150010, "out of range"),
    ("brotli", 170000, "not understood"),
])
def test_compression_refusals_name_instance_and_fix(requested, version_num, text):
    with pytest.raises(DarevelError) as err:
        _backup.compression(requested, version_num, "mail")
    assert text in err.value.msg and "instance 'mail'" in err.value.msg and "fix:" in err.value.msg


def test_check_options_lists_every_problem_at_once():
    problems = _backup.check_options(
        [{"name": "mail"}, {"name": "../etc", "port": 5437}],
        {"runtime": "native", "root": "relative", "format": "custom", "jobs": 2, "compression": "brotli",
         "retention": {"keep_last": -1}})
    text = "\n".join(problems)
    for part in ("keep_last=-1", "jobs=2 needs format=directory", "compression 'brotli'", "root 'relative'",
                 "instance 'mail': no port", "instance '../etc'"):
        assert part in text
    assert all("fix:" in p for p in problems)


def test_check_options_accepts_good_input():
    assert _backup.check_options([{"name": "mail", "container": "c"}], {
        "runtime": "docker", "root": "/var/backups/x", "format": "directory", "jobs": 4, "compression": "auto",
        "retention": {}}) == []


def test_failures_on_a_full_disk_say_so():
    msg = _backup.describe_failure("mail", OSError(28, "No space left on device"), "/backups")
    assert "backup target /backups is full" in msg and "fix:" in msg
    msg = _backup.describe_failure("mail", DarevelError("instance 'mail': pg_dump failed: could not write to output "
                                                        "file: No space left on device"), "/backups")
    assert "is full" in msg


def test_leftovers_are_partials_and_half_deleted_backups(tmp_path):
    for name in (".20261126T063000Z.partial", "20261126T063000Z", ".20261120T063000Z.deleting", ".lock",
                 "last_run.json"):
        (tmp_path / name).mkdir()
    assert _backup.leftovers(str(tmp_path)) == [".20261120T063000Z.deleting", ".20261126T063000Z.partial"]


def test_count_rows_parse():
    assert _backup.parse_counts([("public", "t", "3"), ("s", "we ird", 0)]) == {"public.t": 3, "s.we ird": 0}


def test_backup_and_restore_count_the_same_tables_the_same_way():
    from ansible_collections.darevel.postgres.plugins.module_utils import _restore
    for sql in (_backup.COUNT_SQL, _restore.COUNT_SQL):
        assert sql.endswith(" %s %s" % (_manifest.ROW_COUNT, _manifest.COUNTED_TABLES))
    # Only the name column differs: the backup keeps schema and table apart, the restore joins them.
    assert _backup.COUNT_SQL.partition(_manifest.ROW_COUNT)[0] == "SELECT n.nspname, c.relname, "
    assert _restore.COUNT_SQL.partition(_manifest.ROW_COUNT)[0] == "SELECT n.nspname || '.' || c.relname, "
