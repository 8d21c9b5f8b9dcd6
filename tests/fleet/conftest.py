# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the fleet tier: Debian systemd containers darevel-fleet-* as the postgres group.

The session removes leftover darevel-fleet-* containers before it starts and every one of them
when it ends, also on failure or interruption. Needs the Docker engine and the local image
darevel-test/debian:bookworm (tests/images/build.sh); the fleet image on top of it is built on
first use (tests/fleet/fleet.py). No host ports are used: the instances listen inside the
containers, which have no network.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fleet  # noqa: E402  (tests/fleet is not a package)

# Three hosts that stay, each with a subset of the six instances, and one that is stopped in the
# middle of the converge. darevel-fleet-1 holds mail, which the move test takes to darevel-fleet-2.
PLACEMENT = {
    "darevel-fleet-1": ["infra", "mail"],
    "darevel-fleet-2": ["chat", "slides"],
    "darevel-fleet-3": ["suite", "sheet"],
    "darevel-fleet-4": ["chat", "sheet"],
}
VICTIM = "darevel-fleet-4"


@pytest.fixture(scope="session")
def fleet_image() -> str:
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        subprocess.run([str(fleet.REPO / "scripts" / "docker-engine.sh")], check=True)
    return fleet.ensure_image()


@pytest.fixture(scope="session")
def scratch():
    path = Path(tempfile.mkdtemp(prefix="darevel-fleet-test-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def hosts(fleet_image):
    """The four containers, booted; removed at the end whatever happened."""
    fleet.remove_all()
    try:
        fleet.start_hosts(list(PLACEMENT), fleet_image)
        yield dict(PLACEMENT)
    finally:
        fleet.remove_all()


@pytest.fixture(scope="session")
def inventory(hosts, scratch) -> Path:
    return fleet.write_inventory(scratch / "inventory", hosts)
