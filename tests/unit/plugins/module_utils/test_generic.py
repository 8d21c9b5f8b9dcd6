# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The generic layout's data directory: the registry's, never a default, and verified before a purge."""

from __future__ import annotations

import os

import pytest

from ansible_collections.darevel.postgres.plugins.module_utils import _generic as g

UID = os.getuid()


def registry(tmp_path, text: str):
    path = tmp_path / "registry" / "15-mail.conf"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def cluster_dir(tmp_path, version: str = "15"):
    path = tmp_path / "elsewhere" / "15" / "mail"
    path.mkdir(parents=True)
    (path / "PG_VERSION").write_text(version + "\n")
    return path


@pytest.mark.parametrize("pgdata, expected", [
    ("/srv/pg/15/mail", "/srv/pg/15/mail"),
    ("srv/pg/15/mail", None),  # relative
    ("/srv/pg/../../etc", None),  # not normalised
    ("/srv/pg/15/mail/", None),
    ("", None),
])
def test_registered_data_dir(tmp_path, pgdata, expected):
    path = registry(tmp_path, "PGBIN=/usr/lib/postgresql/15/bin\nPGDATA=%s\nPGPORT=5437\n" % pgdata)
    assert g.registered_data_dir(str(path)) == expected
    assert g.registered_data_dir(str(tmp_path / "absent.conf")) is None


def test_an_existing_instance_keeps_its_registered_data_directory_whatever_the_data_root(tmp_path):
    path = registry(tmp_path, "PGDATA=/srv/pg/15/mail\n")
    cluster = g.GenericCluster(None, 15, "mail", systemd=False, data_root="/var/lib/postgresql",
                               registry_dir=str(path.parent))
    assert cluster.data_dir == "/srv/pg/15/mail"
    assert "/srv/pg/15/mail" in cluster.control_argv("stop")
    # A new instance (no entry) is placed under the data root it was given.
    new = g.GenericCluster(None, 15, "chat", systemd=False, data_root="/data/pg", registry_dir=str(path.parent))
    assert new.data_dir == "/data/pg/15/chat"


def test_a_data_directory_that_is_a_cluster_of_the_version_may_be_dropped(tmp_path):
    path = cluster_dir(tmp_path)
    assert g.drop_problem(str(path), 15, UID) is None
    assert g.drop_problem(str(tmp_path / "gone"), 15, UID) is None  # nothing to delete


@pytest.mark.parametrize("make, needle", [
    (lambda t: cluster_dir(t, "17"), "holds PostgreSQL 17 data, not 15"),
    (lambda t: (t / "plain").mkdir() or t / "plain", "holds no PG_VERSION"),
    (lambda t: (t / "file").write_text("x") and t / "file", "not a directory"),
    (lambda t: os.symlink(cluster_dir(t), t / "link") or t / "link", "not a directory (a link"),
])
def test_what_is_not_the_instance_s_cluster_is_never_deleted(tmp_path, make, needle):
    path = make(tmp_path)
    problem = g.drop_problem(str(path), 15, UID)
    assert problem and needle in problem and str(path) in problem


def test_owner_paths_and_a_running_server_are_checked(tmp_path):
    path = cluster_dir(tmp_path)
    assert "not owned by the postgres user" in g.drop_problem(str(path), 15, UID + 1)
    assert "normalised absolute path" in g.drop_problem(str(path) + "/../mail", 15, UID)
    assert "normalised absolute path" in g.drop_problem("/", 15, UID)
    (path / "postmaster.pid").write_text("%d\n" % os.getpid())
    assert "a server still runs" in g.drop_problem(str(path), 15, UID)
    assert g.drop_problem(str(path), 15, UID, running_ok=True) is None


def test_the_cluster_s_message_names_the_instance_the_path_and_the_fix(tmp_path):
    plain = tmp_path / "srv" / "15" / "mail"
    plain.mkdir(parents=True)
    path = registry(tmp_path, "PGDATA=%s\n" % plain)
    cluster = g.GenericCluster(None, 15, "mail", systemd=False, registry_dir=str(path.parent))
    message = cluster.drop_problem()
    assert message.startswith("instance 'mail': its data directory is not deleted: %s holds no PG_VERSION" % plain)
    assert "fix: " in message and str(path) in message
    with pytest.raises(g.DarevelError):
        cluster.perform("drop", 5437, "C.UTF-8", True, check_mode=True)
    assert plain.is_dir() and path.exists()
