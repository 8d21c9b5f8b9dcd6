"""Unit tests for plugins/module_utils/_envfile.py."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.darevel.postgres.plugins.module_utils import _envfile

SECRET = "Zq8s3cretPassw0rd"
VALUES = {"DB_HOST": "localhost", "DB_PORT": 5434, "DB_NAME": "darevel_chat",
          "POSTGRES_USER": "darevel_chat_owner", "POSTGRES_PASSWORD": SECRET}


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_render():
    text = _envfile.render(VALUES)
    lines = text.splitlines()
    assert lines[0].startswith("# Managed by darevel.postgres")
    assert lines[1:] == ["DB_HOST=localhost", "DB_PORT=5434", "DB_NAME=darevel_chat",
                         "POSTGRES_USER=darevel_chat_owner", "POSTGRES_PASSWORD=" + SECRET]
    assert text.endswith("\n")


@pytest.mark.parametrize("password", [SECRET, "with=equals", "x"])
def test_masked_hides_password(password):
    masked = _envfile.masked(_envfile.render(dict(VALUES, POSTGRES_PASSWORD=password)))
    assert password not in masked.split("POSTGRES_PASSWORD=")[1]
    assert "POSTGRES_PASSWORD=********\n" in masked
    assert "DB_HOST=localhost\n" in masked
    assert "POSTGRES_USER=darevel_chat_owner\n" in masked


def test_masked_keeps_other_lines_and_empty_text():
    assert _envfile.masked("") == ""
    assert _envfile.masked("# POSTGRES_PASSWORD is below\n") == "# POSTGRES_PASSWORD is below\n"


def test_write_creates_0600(tmp_path):
    path = tmp_path / "etc" / "darevel" / "chat.env"
    content = _envfile.render(VALUES)
    _envfile.write(str(path), content)
    assert path.read_text() == content
    assert mode_of(path) == 0o600
    # The directories are reachable (the default one holds the server's TLS directory too): the
    # file's own mode keeps its secrets, whatever the umask.
    assert mode_of(path.parent) == 0o755 and mode_of(path.parent.parent) == 0o755
    assert os.listdir(path.parent) == ["chat.env"]  # no temporary file left behind


def test_write_makes_dirs_whatever_the_umask_and_leaves_existing_ones(tmp_path):
    kept = tmp_path / "kept"
    kept.mkdir(mode=0o700)
    old = os.umask(0o077)
    try:
        _envfile.write(str(kept / "new" / "chat.env"), "A=1\n")
    finally:
        os.umask(old)
    assert mode_of(kept) == 0o700  # an existing directory is not this function's to change
    assert mode_of(kept / "new") == 0o755
    assert mode_of(kept / "new" / "chat.env") == 0o600


def test_write_replaces_file_and_mode(tmp_path):
    path = tmp_path / "chat.env"
    path.write_text("OLD=1\n")
    os.chmod(path, 0o644)
    inode_before = os.stat(path).st_ino
    _envfile.write(str(path), "NEW=1\n")
    assert path.read_text() == "NEW=1\n"
    assert mode_of(path) == 0o600
    assert os.stat(path).st_ino != inode_before  # renamed into place, not rewritten in place
    assert os.listdir(tmp_path) == ["chat.env"]


def test_write_failure_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "chat.env"
    path.write_text("OLD=1\n")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        _envfile.write(str(path), "NEW=1\n")
    assert path.read_text() == "OLD=1\n"
    assert os.listdir(tmp_path) == ["chat.env"]


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o400])
def test_write_sets_requested_mode(tmp_path, mode):
    path = tmp_path / "chat.env"
    _envfile.write(str(path), "A=1\n", mode)
    assert mode_of(path) == mode
    assert _envfile.is_current(str(path), "A=1\n", mode) is True


def test_is_current(tmp_path):
    path = str(tmp_path / "chat.env")
    content = _envfile.render(VALUES)
    assert _envfile.is_current(path, content) is False  # missing
    _envfile.write(path, content)
    assert _envfile.is_current(path, content) is True
    assert _envfile.is_current(path, content + "X=1\n") is False
    os.chmod(path, 0o644)
    assert _envfile.is_current(path, content) is False


def test_read_missing(tmp_path):
    assert _envfile.read(str(tmp_path / "none.env")) == ""
