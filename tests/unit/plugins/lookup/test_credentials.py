"""Unit tests for plugins/lookup/credentials.py, loaded the way Ansible loads it."""

from __future__ import annotations

import os
import stat

import pytest
from ansible.errors import AnsibleError

try:
    from ansible.plugins.loader import lookup_loader

    LOOKUP = lookup_loader.get("darevel.postgres.credentials")
except ImportError:  # pragma: no cover - the plugin loader is part of ansible-core
    LOOKUP = None
if LOOKUP is None:  # pragma: no cover
    from ansible_collections.darevel.postgres.plugins.lookup.credentials import LookupModule

    LOOKUP = LookupModule()


def run(terms, **kwargs):
    return LOOKUP.run(terms, variables={}, **kwargs)


def test_loaded_from_this_collection():
    assert type(LOOKUP).__module__ == "ansible_collections.darevel.postgres.plugins.lookup.credentials"


def test_generates_then_rereads(tmp_path):
    first = run(["chat", "mail"], directory=str(tmp_path), host="db1")
    assert len(first) == 2 and first[0] != first[1]
    assert all(len(p) == 32 and p.isalnum() for p in first)
    assert run(["mail", "chat"], directory=str(tmp_path), host="db1") == first[::-1]
    path = tmp_path / "db1" / "chat.owner.password"
    assert path.read_text() == first[0] + "\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize("kwargs, filename", [
    ({}, "chat.owner.password"),
    ({"kind": "replication"}, "chat.replication.password"),
])
def test_kind(tmp_path, kwargs, filename):
    run(["chat"], directory=str(tmp_path), host="h", **kwargs)
    assert os.listdir(tmp_path / "h") == [filename]


def test_hosts_are_separate(tmp_path):
    a = run(["chat"], directory=str(tmp_path), host="a")
    b = run(["chat"], directory=str(tmp_path), host="b")
    assert a != b


@pytest.mark.parametrize("length", [16, 20, 64])
def test_length(tmp_path, length):
    (value,) = run(["chat"], directory=str(tmp_path), host="h", length=length)
    assert len(value) == length


@pytest.mark.parametrize("length", [0, 8, 15])
def test_short_length_refused(tmp_path, length):
    with pytest.raises(AnsibleError, match="length %d is too short; fix: use 16 or more" % length):
        run(["chat"], directory=str(tmp_path), host="h", length=length)
    assert not (tmp_path / "h").exists()


def test_unwritable_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(AnsibleError, match="cannot keep passwords under"):
        run(["chat"], directory=str(blocker / "sub"), host="h")
