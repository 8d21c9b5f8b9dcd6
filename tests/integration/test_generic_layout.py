# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The generic layout with a data root of its own: every verb finds the data directory the
instance really has (its registry entry), never the default path, and purge deletes only what it
has verified belongs to the instance.

Two instances it_gx_a and it_gx_b on 25570-25571, layout generic (pg_ctl here: systemd is not PID 1),
data under /var/tmp/darevel-it-gx/root. The verbs run without postgres_data_root, as an operator
runs them from another shell: stop, start, restart, status and purge. The default path
/var/lib/postgresql/15/it_gx_* must never appear.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, VERSION, postmaster_pid, psql

PLAYBOOKS = REPO / "playbooks"
CATALOGUE = [
    {"name": "it_gx_a", "port": 25570, "database": "it_gx_a"},
    {"name": "it_gx_b", "port": 25571, "database": "it_gx_b"},
]
NAMES = [entry["name"] for entry in CATALOGUE]
# Outside the session's 0700 scratch directory: the postgres user must reach the data root.
BASE = Path("/var/tmp/darevel-it-gx")
ROOT = BASE / "root"
REGISTRY = Path("/etc/darevel/postgres/instances")


def data_dir(name: str) -> Path:
    return ROOT / str(VERSION) / name


def default_dir(name: str) -> Path:
    return Path("/var/lib/postgresql/%d/%s" % (VERSION, name))


def entry(name: str) -> Path:
    return REGISTRY / ("%d-%s.conf" % (VERSION, name))


def clean() -> None:
    """Stop and remove whatever an earlier run of this file left (servers, entries, files)."""
    for name in NAMES:
        for path in (data_dir(name), default_dir(name)):
            if postmaster_pid(str(path)):
                subprocess.run(["runuser", "-u", "postgres", "--", "/usr/lib/postgresql/%d/bin/pg_ctl" % VERSION,
                                "-D", str(path), "-m", "immediate", "-w", "stop"], capture_output=True, check=False)
        entry(name).unlink(missing_ok=True)
        for log in glob.glob("/var/log/postgresql/darevel-%d-%s.log" % (VERSION, name)):
            os.unlink(log)
    shutil.rmtree(BASE, ignore_errors=True)


@pytest.fixture(scope="module")
def gx_vars(scratch):
    clean()
    BASE.mkdir(mode=0o755)
    for sub in ("gx-credentials", "gx-env", "gx-reports"):
        (scratch / sub).mkdir(mode=0o700, exist_ok=True)
    common = {"postgres_instances": CATALOGUE, "postgres_runtime": "native", "postgres_layout": "generic",
              "postgres_tuning_memory_mb": 2048, "postgres_tuning_cpus": 2,
              "postgres_credentials_dir": str(scratch / "gx-credentials"),
              "postgres_env_dir": str(scratch / "gx-env"),
              "postgres_reports_dir": str(scratch / "gx-reports")}
    try:
        yield common
    finally:
        clean()


@pytest.fixture(scope="module")
def gx(ansible, gx_vars):
    run = ansible.run(PLAYBOOKS / "site.yml", dict(gx_vars, postgres_data_root=str(ROOT)))
    assert run.rc == 0, run.explain()
    for name in NAMES:
        assert (data_dir(name) / "PG_VERSION").read_text().strip() == str(VERSION)
        assert "PGDATA=%s\n" % data_dir(name) in entry(name).read_text()
        assert not default_dir(name).exists()
    return run


# purge.yml asks for the host and for instances no longer enabled there.
PURGE_ARGS = ["-e", "apps=it_gx_a,it_gx_b", "-e", "confirm_purge=it_gx_a,it_gx_b", "-e", "host=localhost"]


def purge_vars(gx_vars: dict) -> dict:
    return dict(gx_vars, postgres_instances_enabled=[])


def pid(name: str):
    return postmaster_pid(str(data_dir(name)))


def test_the_verbs_find_the_data_directory_the_instance_has(ansible, gx, gx_vars, scratch):
    # A second converge without the data root (the default) keeps the instances where they are.
    again = ansible.run(PLAYBOOKS / "site.yml", gx_vars)
    assert again.rc == 0, again.explain()
    assert again.changed == 0, again.explain()
    before = pid("it_gx_b")
    stop = ansible.run(PLAYBOOKS / "stop.yml", gx_vars, args=["-e", "apps=it_gx_a"])
    assert stop.rc == 0, stop.explain()
    assert pid("it_gx_a") is None and pid("it_gx_b") == before
    start = ansible.run(PLAYBOOKS / "start.yml", gx_vars, args=["-e", "apps=it_gx_a"])
    assert start.rc == 0, start.explain()
    assert psql(25570, "SHOW data_directory") == str(data_dir("it_gx_a"))
    first = pid("it_gx_a")
    restart = ansible.run(PLAYBOOKS / "restart.yml", gx_vars, args=["-e", "apps=it_gx_a"])
    assert restart.rc == 0, restart.explain()
    assert pid("it_gx_a") not in (None, first) and pid("it_gx_b") == before
    status = ansible.run(PLAYBOOKS / "status.yml", gx_vars)
    assert status.rc == 0, status.explain()
    report = json.loads((scratch / "gx-reports" / "localhost" / "status.json").read_text())
    rows = {row["name"]: row for row in report["instances"]}
    assert rows["it_gx_a"]["state"] == "started" and rows["it_gx_b"]["state"] == "started"
    assert not any(default_dir(name).exists() for name in NAMES)


def test_purge_refuses_a_directory_it_cannot_verify_and_purges_none(ansible, gx, gx_vars):
    stop = ansible.run(PLAYBOOKS / "stop.yml", gx_vars)
    assert stop.rc == 0, stop.explain()
    # it_gx_b's entry now names a directory that is no PostgreSQL data directory of the instance.
    foreign = BASE / "not-a-cluster"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("precious\n")
    original = entry("it_gx_b").read_text()
    entry("it_gx_b").write_text(original.replace("PGDATA=%s" % data_dir("it_gx_b"), "PGDATA=%s" % foreign))
    try:
        refused = ansible.run(PLAYBOOKS / "purge.yml", purge_vars(gx_vars), args=PURGE_ARGS)
        assert refused.rc != 0
        text = refused.stdout
        assert "instance 'it_gx_b': its data directory is not deleted: %s holds no PG_VERSION" % foreign in text, \
            refused.explain()
        assert "nothing was purged" in text
        assert (foreign / "keep.txt").read_text() == "precious\n"
        assert (data_dir("it_gx_a") / "PG_VERSION").exists() and entry("it_gx_a").exists()
    finally:
        entry("it_gx_b").write_text(original)


def test_purge_deletes_the_real_data_directory_and_its_entry(ansible, gx, gx_vars):
    check = ansible.run(PLAYBOOKS / "purge.yml", purge_vars(gx_vars), check=True, args=PURGE_ARGS)
    assert check.rc == 0, check.explain()
    assert all((data_dir(name) / "PG_VERSION").exists() for name in NAMES)
    run = ansible.run(PLAYBOOKS / "purge.yml", purge_vars(gx_vars), args=PURGE_ARGS)
    assert run.rc == 0, run.explain()
    for name in NAMES:
        assert not data_dir(name).exists() and not entry(name).exists() and not default_dir(name).exists()
    table = "\n".join(run.table("Show the purge"))
    assert str(data_dir("it_gx_a")) in table and "/var/lib/postgresql" not in table
    again = ansible.run(PLAYBOOKS / "purge.yml", purge_vars(gx_vars), args=PURGE_ARGS)
    assert again.rc == 0 and again.changed == 0, again.explain()
