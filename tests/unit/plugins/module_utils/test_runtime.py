# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runtime layer's pure code: psql's output read back exactly, statements rendered safely, the
staging tar, and the one place a catalogue item becomes a runtime. The runtimes themselves run
against real servers in tests/integration/test_runtime.py."""

from __future__ import annotations

import io
import tarfile

import pytest

from ansible_collections.darevel.postgres.plugins.module_utils import _runtime
from ansible_collections.darevel.postgres.plugins.module_utils._runtime import base
from ansible_collections.darevel.postgres.plugins.module_utils._runtime.native import NativeRuntime

F, R, N = base.FIELD_SEP, base.RECORD_SEP, base.NULL_MARK


@pytest.mark.parametrize("text, rows", [
    ("", []),
    ("1%sx\n" % F, [("1", "x")]),
    ("1%s%s\n" % (F, N), [("1", None)]),
    ("1%s\n" % F, [("1", "")]),
    ("a\nb%sc%sd\n" % (F, R), [("a\nb", "c"), ("d",)]),
    ("line\n\n", [("line\n",)]),
])
def test_unaligned_output_is_read_back_exactly(text, rows):
    assert base.parse_unaligned(text) == rows


def test_psql_arguments_name_the_separators_the_parser_reads():
    args = base.PSQL_ARGS
    assert args[args.index("-F") + 1] == F and args[args.index("-R") + 1] == R
    assert "null=" + N in args and "ON_ERROR_STOP=1" in args


@pytest.mark.parametrize("template, idents, params, out", [
    ("SELECT 1", (), (), "SELECT 1"),
    ("GRANT CONNECT ON DATABASE {} TO {}", ('we"ird', "app"), (), 'GRANT CONNECT ON DATABASE "we""ird" TO "app"'),
    ("SELECT %s, %s", (), ("it's", 5), "SELECT 'it''s', '5'"),
    ("ALTER ROLE {} PASSWORD %s", ("o",), ("SCRAM-SHA-256$4096:a$b:c",),
     "ALTER ROLE \"o\" PASSWORD 'SCRAM-SHA-256$4096:a$b:c'"),
    ("SELECT '%' || {}", ("x",), (), "SELECT '%' || \"x\""),
    ("CREATE ROLE {} PASSWORD %s", ("a%b",), ("v",), "CREATE ROLE \"a%b\" PASSWORD 'v'"),
])
def test_render_quotes_identifiers_and_literals(template, idents, params, out):
    assert base.render(template, idents, params) == out


def test_verifiers_are_masked_in_error_texts():
    text = "ERROR at ALTER ROLE x PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$abc:def'"
    assert "c2FsdA" not in base.mask_verifiers(text) and "SCRAM-SHA-256$********" in base.mask_verifiers(text)


def test_tar_stream_holds_the_files_under_their_prefix(tmp_path):
    (tmp_path / "db.dir").mkdir()
    (tmp_path / "db.dir" / "toc.dat").write_bytes(b"toc")
    (tmp_path / "globals.sql").write_bytes(b"x" * 1000)
    data = b"".join(base.tar_stream(str(tmp_path), ["globals.sql", "db.dir/toc.dat"], "stage", chunk=7))
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = {m.name: m for m in archive.getmembers()}
        assert set(members) == {"stage", "stage/db.dir", "stage/globals.sql", "stage/db.dir/toc.dat"}
        assert archive.extractfile("stage/globals.sql").read() == b"x" * 1000
        assert members["stage/globals.sql"].mode == 0o600 and members["stage/db.dir"].mode == 0o700


def test_bin_dir_finds_the_versions_tools(tmp_path, monkeypatch):
    tools = tmp_path / "17" / "bin"
    tools.mkdir(parents=True)
    (tools / "pg_dump").write_text("")
    monkeypatch.setattr(base, "BIN_CANDIDATES", (str(tmp_path) + "/{v}/bin",))
    assert base.bin_dir(17, "pg_dump") == str(tools)
    assert base.bin_dir(16, "pg_dump") == "" and base.bin_dir(None, "pg_dump") == ""
    assert base.newest_client("pg_dump", 15, root=str(tmp_path)) == str(tools / "pg_dump")
    assert base.newest_client("pg_dump", 18, root=str(tmp_path)) is None


def test_a_native_item_becomes_a_socket_runtime():
    rt = _runtime.select_runtime("native", {"name": "chat", "port": 5434, "version": 15}, socket_dir="/run/pg")
    assert isinstance(rt, NativeRuntime) and rt.kind == "native" and rt.label == "instance 'chat'"
    assert rt.conn_args() == ["-h", "/run/pg", "-p", "5434", "-U", "postgres", "--no-password"]
    assert rt.connect_kwargs("chat")["host"] == "/run/pg" and rt.connect_kwargs("chat")["dbname"] == "chat"


def test_an_external_server_is_reached_through_its_environment_only():
    env = {"PGHOST": "db.example", "PGPORT": "5433", "PGUSER": "admin", "PGPASSWORD": "s3cret", "PGSSLMODE": "require"}
    rt = _runtime.select_runtime(None, {"name": "x"}, env=env, minimum=15, label="target admin@db.example:5433")
    assert rt.conn_args() == ["--no-password"], "a password never goes on a command line"
    kwargs = rt.connect_kwargs("app")
    assert kwargs["password"] == "s3cret" and kwargs["sslmode"] == "require" and kwargs["port"] == "5433"


def test_a_missing_tool_is_named_with_its_fix(monkeypatch):
    rt = NativeRuntime("instance 'chat'", 5434, 99)
    with pytest.raises(Exception) as caught:
        rt.tool_path("pg_dump")
    assert "instance 'chat'" in str(caught.value) and "pg_dump" in str(caught.value) and "fix:" in str(caught.value)


def test_the_interface_is_abstract_and_both_runtimes_implement_all_of_it():
    from ansible_collections.darevel.postgres.plugins.module_utils._runtime import docker, native
    assert base.Runtime.__abstractmethods__ == {"session", "tool", "command", "read_file", "write_file",
                                                "private_file"}
    assert base.Session.__abstractmethods__ == {"rows"}
    for cls in (native.NativeRuntime, docker.DockerRuntime, native.DriverSession, docker.ExecSession):
        assert not cls.__abstractmethods__, cls
