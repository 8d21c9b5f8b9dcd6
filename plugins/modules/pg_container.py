#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pg_container
short_description: Run PostgreSQL instances as Docker containers, one container and volume each
version_added: 0.1.0
description:
  - The docker runtime of darevel.postgres. For each instance, a named volume and a container
    built from the instance's container description, the C(docker) entry of the plan that
    M(darevel.postgres.pg_preflight) returns. It gives the image, the C(-c) settings, the port
    published on the bind address, the health check C(pg_isready -h 127.0.0.1), the restart
    policy, the stop timeout, and the memory and CPU limits.
  - A container is recreated only when its description changes (a hash label records it); the
    volume stays, so data survives. A container removed by hand is created again with its data.
  - The password is used only when a container is first created (the image's
    C(POSTGRES_PASSWORD)); it is not part of the description, so changing it does not recreate
    the container. Without one, a random password that nobody keeps is used, and
    M(darevel.postgres.pg_database) sets the owner's real password afterwards (what the roles
    do), so C(docker inspect) never shows a password that works.
  - Instances are handled concurrently; with O(wait=true) the module returns once each started
    container reports healthy, or fails with the last lines of its log.
author:
  - Darevel platform team (@darevel)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - darevel.postgres.docker
requirements:
  - the Docker SDK for Python (C(docker)) on the managed host
options:
  instances:
    description: The instances.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Instance name.
        type: str
        required: true
      version:
        description: PostgreSQL major version (reported back).
        type: int
      spec:
        description: The container description (the plan's C(docker) entry).
        type: dict
        required: true
      password:
        description: Password for the image's C(POSTGRES_PASSWORD) when the container is created.
        type: str
  state:
    description:
      - V(started), V(stopped), V(restarted) and V(present) create what is missing first.
      - V(absent) removes the container; the volume (the data) only with O(purge=true).
    type: str
    choices: [present, started, stopped, restarted, absent]
    default: started
  purge:
    description: With O(state=absent), also remove the volume and so the data.
    type: bool
    default: false
  wait:
    description: Wait until started containers report healthy.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for a container to become healthy.
    type: int
    default: 180
  workers:
    description: How many instances are handled at the same time.
    type: int
    default: 6
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
"""

EXAMPLES = r"""
# postgres_plan: the instances that darevel.postgres.pg_preflight returns (the preflight role sets it)
- name: Run the first planned instance as a container
  darevel.postgres.pg_container:
    instances:
      - name: "{{ postgres_plan[0].name }}"
        version: "{{ postgres_plan[0].version }}"
        spec: "{{ postgres_plan[0].docker }}"
    state: started
"""

RETURN = r"""
instances:
  description: One result per instance.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Instance name.
      type: str
    container:
      description: Container name.
      type: str
    volume:
      description: Volume name.
      type: str
    status:
      description: V(started), V(stopped) or V(absent).
      type: str
    health:
      description: Health status once started (V(healthy)), null otherwise.
      type: str
    actions:
      description: What was done (or would be done in check mode).
      type: list
      elements: str
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.darevel.postgres.plugins.module_utils._docker import HAS_DOCKER, ContainerManager
from ansible_collections.darevel.postgres.plugins.module_utils._engine import docker_argument_spec
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.module_utils._module import exit_batch


def main() -> None:
    module = AnsibleModule(
        argument_spec=docker_argument_spec({
            "instances": {"type": "list", "elements": "dict", "required": True, "options": {
                "name": {"type": "str", "required": True},
                "version": {"type": "int"},
                "spec": {"type": "dict", "required": True},
                "password": {"type": "str", "no_log": True},
            }},
            "state": {"type": "str", "default": "started",
                      "choices": ["present", "started", "stopped", "restarted", "absent"]},
            "purge": {"type": "bool", "default": False},
            "wait": {"type": "bool", "default": True},
            "wait_timeout": {"type": "int", "default": 180},
            "workers": {"type": "int", "default": 6},
        }),
        supports_check_mode=True,
    )
    if not HAS_DOCKER:
        module.fail_json(msg=missing_required_lib("docker"))
    try:
        manager = ContainerManager(module)
    except DarevelError as exc:
        module.fail_json(msg=exc.msg)
    exit_batch(module, manager.run())


if __name__ == "__main__":
    main()
