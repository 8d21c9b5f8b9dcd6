# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The Docker engine option of every module that can talk to Docker (module_utils/_engine.py
    DOCKER_HOST_SPEC), and the runtime option of those that serve both runtimes (RUNTIME_SPEC)."""

    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - Address of the Docker engine of the docker runtime, such as C(unix:///run/user/1000/docker.sock)
        or C(tcp://127.0.0.1:2375); the roles and playbooks pass the inventory's C(postgres_docker_host).
      - When omitted or empty, C(DOCKER_HOST) in the module's environment on the managed host, else
        the local socket.
    type: str
"""

    RUNTIME = r"""
options:
  runtime:
    description:
      - V(native) (PostgreSQL clusters of the host) or V(docker) (containers on the engine at O(docker_host)).
    type: str
    choices: [native, docker]
    default: native
"""
