# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input is refused by site.yml before anything changes: one run, one message, every problem."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import REPO, it_clusters

SITE = REPO / "playbooks" / "site.yml"
HELD_PORT = 25448

BAD_CATALOGUE = [
    {"name": "it_dup_a", "port": 25460, "database": "it_dup_a"},
    {"name": "it_dup_b", "port": 25460, "database": "it_dup_b"},
    {"name": "it_typo", "prot": 25461, "database": "it_typo"},
    {"name": "it-dash", "port": 25462, "database": "it_dash"},
    {"name": "it_low", "port": 80, "database": "it_low"},
    {"name": "it_baddb", "port": 25463, "database": "1bad"},
]
EXPECTED = [
    "port 25460 is already used by instance 'it_dup_a'",
    "instance 'it_typo': unknown key 'prot'",
    "did you mean 'port'?",
    "name 'it-dash' must match",
    "instance 'it_low': port 80 is outside 1024-65535",
    "instance 'it_baddb': database '1bad' is not a valid PostgreSQL identifier",
    "postgres_instances_enabled: 'it_missing' is not in the catalogue",
]


def scratch_vars(scratch, instances, enabled="all") -> dict:
    return {"postgres_instances": instances, "postgres_instances_enabled": enabled,
            "postgres_runtime": "native", "postgres_credentials_dir": str(scratch / "credentials"),
            "postgres_env_dir": str(scratch / "env"), "postgres_reports_dir": str(scratch / "reports")}


def test_bad_catalogue_is_refused_with_every_problem_at_once(ansible, scratch):
    before = set(it_clusters())
    enabled = [e["name"] for e in BAD_CATALOGUE] + ["it_missing"]
    run = ansible.run(SITE, scratch_vars(scratch, BAD_CATALOGUE, enabled))
    assert run.rc != 0
    failed = run.failed_results()
    assert len(failed) == 1, run.explain()
    assert "Check the catalogue" in failed[0]["_task"], failed[0]["_task"]
    message = failed[0]["msg"]
    missing = [text for text in EXPECTED if text not in message]
    assert not missing, "not in the failure message: %s\n--- message:\n%s" % (missing, message)
    # Nothing ran after the preflight, and no cluster appeared.
    assert run.results[-1] is failed[0], [r["_task"] for r in run.results]
    assert not any(r.get("changed") for r in run.results)
    assert set(it_clusters()) == before
    assert not [e["name"] for e in BAD_CATALOGUE if (scratch / "env" / ("%s.env" % e["name"])).exists()]


@pytest.fixture
def listener():
    """A plain Python process listening on 127.0.0.1:HELD_PORT."""
    code = ("import socket, sys, time\n"
            "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            "s.bind(('127.0.0.1', %d)); s.listen(1)\n"
            "print('ready', flush=True); time.sleep(600)\n" % HELD_PORT)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_port_held_by_another_process_is_refused_naming_it(ansible, scratch, listener):
    before = set(it_clusters())
    catalogue = [{"name": "it_held", "port": HELD_PORT, "database": "it_held"}]
    run = ansible.run(SITE, scratch_vars(scratch, catalogue))
    assert run.rc != 0
    failed = run.failed_results()
    assert len(failed) == 1, run.explain()
    message = failed[0]["msg"]
    comm = os.path.basename(sys.executable)
    assert "instance 'it_held': port %d is already in use" % HELD_PORT in message, message
    assert "pid %d" % listener.pid in message, message
    assert "python" in message and comm in message, message
    assert set(it_clusters()) == before
    assert "it_held" not in it_clusters()
