"""Unit tests for plugins/module_utils/_credentials.py."""

from __future__ import annotations

import os
import stat
import string

import pytest

from ansible_collections.darevel.postgres.plugins.module_utils import _credentials


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_path_for():
    assert _credentials.path_for("/c", "db1", "chat", "owner") == "/c/db1/chat.owner.password"


@pytest.mark.parametrize("length", [16, 32, 64])
def test_generate_length_and_alphabet(length):
    value = _credentials.generate(length)
    assert len(value) == length
    assert set(value) <= set(string.ascii_letters + string.digits)


def test_generate_is_random():
    assert len({_credentials.generate(32) for dummy in range(20)}) == 20


def test_read_or_create_creates_0600_in_0700(tmp_path):
    path = _credentials.path_for(str(tmp_path), "db1", "chat", "owner")
    value = _credentials.read_or_create(path, 24)
    assert len(value) == 24
    assert set(value) <= set(_credentials.ALPHABET)
    assert mode_of(path) == 0o600
    assert mode_of(os.path.dirname(path)) == 0o700
    with open(path) as handle:
        assert handle.read() == value + "\n"
    assert os.listdir(os.path.dirname(path)) == ["chat.owner.password"]  # temporary file removed


def test_read_or_create_returns_same_value(tmp_path):
    path = _credentials.path_for(str(tmp_path), "db1", "chat", "owner")
    first = _credentials.read_or_create(path, 32)
    assert _credentials.read_or_create(path, 32) == first
    assert _credentials.read_or_create(path, 64) == first  # the length only applies to new passwords


def test_read_or_create_keeps_existing_value(tmp_path):
    path = tmp_path / "db1" / "chat.owner.password"
    path.parent.mkdir()
    path.write_text("from-vault\n")
    assert _credentials.read_or_create(str(path), 32) == "from-vault"


def test_read_or_create_different_instances_differ(tmp_path):
    a = _credentials.read_or_create(_credentials.path_for(str(tmp_path), "h", "chat", "owner"), 32)
    b = _credentials.read_or_create(_credentials.path_for(str(tmp_path), "h", "mail", "owner"), 32)
    assert a != b


def test_read_or_create_credentials_root_is_0700(tmp_path):
    # BUG (minor, doc vs code): the lookup documents "DIRECTORY/HOST/NAME.KIND.password with mode 0600
    # (directory 0700)", but os.makedirs(mode=0o700) applies the mode to the last directory only:
    # a credentials directory that did not exist yet is created 0755 (umask 022), listing host names.
    root = tmp_path / "credentials"
    _credentials.read_or_create(_credentials.path_for(str(root), "db1", "chat", "owner"), 32)
    assert mode_of(root) == 0o700


@pytest.mark.parametrize("content", ["", "\n", "   \n"])
def test_read_or_create_with_empty_file(tmp_path, monkeypatch, content):
    # BUG: an empty (or blank) password file makes read_or_create recurse until RecursionError:
    # the value is empty so it tries to create one, os.link() fails with FileExistsError because the
    # file exists, and it calls itself again, forever. Expected: a usable password (or a clear error).
    path = tmp_path / "db1" / "chat.owner.password"
    path.parent.mkdir(mode=0o700)
    path.write_text(content)
    original, calls = _credentials.read_or_create, []

    def counted(*args):
        calls.append(args)
        if len(calls) > 5:  # stop the endless recursion early: a deep RecursionError takes minutes to report
            raise AssertionError("read_or_create called itself %d times for an empty file" % len(calls))
        return original(*args)

    monkeypatch.setattr(_credentials, "read_or_create", counted)
    value = _credentials.read_or_create(str(path), 32)
    assert len(value) == 32
