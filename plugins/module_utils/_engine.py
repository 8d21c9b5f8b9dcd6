# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which Docker engine the docker runtime talks to: the one client factory and the one option.

Private to darevel.postgres. Every module whose code can reach Docker declares the engine option
with `docker_argument_spec` (documented by the doc fragment darevel.postgres.docker) and every
client is made by `client` from that option's value, so an engine named by the inventory
(`postgres_docker_host`) is the one used by every step; tests/unit/test_docker_engine.py checks
both. Depends only on the Docker SDK, _errors and _options, because the scheduled backup runs this file
without Ansible (tests/unit/roles/test_backup_schedule_code.py checks the copied files).
"""

from __future__ import annotations

import copy
import importlib.util
import os
from typing import Optional

from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.module_utils._options import DOCKER_HOST_SPEC, RUNTIME_SPEC

# Whether the SDK is installed, found without importing it: importing it takes 0.1 to 0.15 s, which
# a module run on the native runtime never needs. `client` imports it when a client is made.
HAS_DOCKER = importlib.util.find_spec("docker") is not None


def docker_argument_spec(spec: dict, runtime: bool = False) -> dict:
    """`spec` with the shared engine option (and with `runtime`, the shared runtime option)."""
    out = dict(spec)
    out.update(copy.deepcopy(DOCKER_HOST_SPEC))
    if runtime:
        out.update(copy.deepcopy(RUNTIME_SPEC))
    return out


def describe(docker_host: Optional[str]) -> str:
    """The engine a client for `docker_host` talks to, as the messages name it."""
    if docker_host:
        return docker_host
    if os.environ.get("DOCKER_HOST"):
        return "%s (DOCKER_HOST)" % os.environ["DOCKER_HOST"]
    return "the local socket"


def client(docker_host: Optional[str], timeout: int = 60):
    """A client of the engine at `docker_host` (the modules' docker_host option, the inventory's
    postgres_docker_host); empty: DOCKER_HOST, else the local socket."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError as exc:
        raise DarevelError("the Docker SDK for Python is missing or broken (%s); fix: install python3-docker" % exc)
    try:
        if docker_host:
            return docker.DockerClient(base_url=docker_host, timeout=timeout)
        return docker.from_env(timeout=timeout)
    except DockerException as exc:
        raise DarevelError("cannot reach the Docker engine at %s: %s; fix: start Docker (Docker Desktop on "
                           "Windows/macOS, dockerd on Linux) or set postgres_docker_host to its address" % (
                               describe(docker_host), exc))
