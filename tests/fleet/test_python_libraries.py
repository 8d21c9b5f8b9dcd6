# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host that already has PostgreSQL but not psycopg2, the Python library the native runtime's
modules import: the server packages are there, so their install task is skipped, and psycopg2 must
still be found missing and installed on its own (python3-psycopg2 for the interpreter Ansible uses
there), or refused in preflight with the fix when nothing may be installed.

One container host from the fleet image (PostgreSQL 15 installed) with python3-psycopg2 removed;
it alone gets the default network, for apt. The tests run in file order."""

from __future__ import annotations

import re

import fleet
import pytest

HOST = fleet.PREFIX + "pylib"
IMPORT = ["python3", "-c", "import psycopg2"]


def has_psycopg2() -> bool:
    return fleet.docker("exec", HOST, *IMPORT, check=False).returncode == 0


@pytest.fixture(scope="module")
def bare_host(fleet_image, scratch):
    fleet.docker("rm", "-f", "-v", HOST, check=False)
    try:
        fleet.start_hosts([HOST], fleet_image, network="bridge")
        fleet.docker("exec", HOST, "dpkg", "--remove", "python3-psycopg2")
        assert not has_psycopg2()
        assert fleet.docker("exec", HOST, "test", "-x", "/usr/lib/postgresql/%d/bin/postgres" % fleet.VERSION,
                            check=False).returncode == 0
        yield fleet.write_inventory(scratch / "pylib-inventory", {HOST: ["infra"]})
    finally:
        fleet.docker("rm", "-f", "-v", HOST, check=False)


def test_refused_in_preflight_with_the_fix_when_nothing_may_be_installed(bare_host, scratch):
    result = fleet.run_playbook(bare_host, "site.yml", "-e", "postgres_install_packages=false", scratch=scratch)
    assert result.returncode != 0
    assert "Preflight found" in result.stdout, result.stdout[-4000:]
    assert "cannot import psycopg2, which the native runtime needs; fix: apt-get install python3-psycopg2" \
        in result.stdout, result.stdout[-4000:]
    assert "Create and start the instances" not in result.stdout
    assert "infra" not in fleet.docker("exec", HOST, "pg_lsclusters", "--no-header").stdout


def test_check_mode_reports_the_library_it_would_install(bare_host, scratch):
    result = fleet.run_playbook(bare_host, "site.yml", "--check", scratch=scratch)
    assert result.returncode == 0, result.stdout[-6000:]
    assert re.search(r"Install the Python libraries the runtime needs.*, python3-psycopg2", result.stdout)
    assert "Failed to import the required Python library" not in result.stdout
    assert not has_psycopg2()


def test_the_converge_installs_it_and_creates_the_database(bare_host, scratch):
    result = fleet.run_playbook(bare_host, "site.yml", scratch=scratch)
    assert result.returncode == 0, result.stdout[-6000:]
    assert has_psycopg2()
    assert fleet.psql(HOST, 5433, "SELECT datname FROM pg_database WHERE datname = 'keycloak'") == "keycloak"
    again = fleet.run_playbook(bare_host, "site.yml", scratch=scratch)
    assert again.returncode == 0, again.stdout[-6000:]
    assert fleet.recap(again.stdout)[HOST]["changed"] == 0, again.stdout[-4000:]
