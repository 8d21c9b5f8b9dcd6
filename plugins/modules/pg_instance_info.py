#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pg_instance_info
short_description: List the native PostgreSQL instances on a host
version_added: 0.1.0
description:
  - Every postgresql-common cluster on the host with its status, port, data directory, size, log
    file and systemd unit. Read-only.
author:
  - Darevel platform team (@darevel)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  names:
    description: Only these instances; all when omitted.
    type: list
    elements: str
  runtime:
    description:
      - V(native) lists clusters (see O(layout)); V(docker) lists the collection's containers
        (labelled C(com.darevel.postgres.instance)) with their health.
    type: str
    choices: [native, docker]
    default: native
  docker_host:
    description: Docker engine address with O(runtime=docker); C(DOCKER_HOST) or the local socket when omitted.
    type: str
  layout:
    description: Which layout to list; V(auto) as in M(darevel.postgres.pg_instance).
    type: str
    choices: [auto, debian, generic]
    default: auto
  size:
    description: Compute the size of each data directory (walks the directory).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Every instance on the host
  darevel.postgres.pg_instance_info:
  register: info
"""

RETURN = r"""
instances:
  description: One entry per instance.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Instance (cluster) name.
      type: str
    version:
      description: PostgreSQL major version.
      type: int
    port:
      description: TCP port.
      type: int
    status:
      description: V(started) or V(stopped).
      type: str
    data_dir:
      description: Data directory.
      type: str
    size_bytes:
      description: Bytes under the data directory (null when O(size=false)).
      type: int
    log_file:
      description: Server log file.
      type: str
    unit:
      description: systemd unit of the instance.
      type: str
    layout:
      description: V(debian), V(generic) or V(docker).
      type: str
    container:
      description: Container name (docker runtime).
      type: str
    health:
      description: Container health (docker runtime).
      type: str
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.darevel.postgres.plugins.module_utils._docker import HAS_DOCKER, client, instances_info
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.module_utils._instance import InstanceManager, data_size


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "names": {"type": "list", "elements": "str"},
            "layout": {"type": "str", "default": "auto", "choices": ["auto", "debian", "generic"]},
            "runtime": {"type": "str", "default": "native", "choices": ["native", "docker"]},
            "docker_host": {"type": "str"},
            "size": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    if module.params["runtime"] == "docker":
        module.exit_json(changed=False, instances=docker_instances(module))
    manager = InstanceManager(module)
    try:
        found = manager.clusters()
    except DarevelError as exc:
        module.fail_json(msg=exc.msg)
    names = module.params["names"]
    instances = []
    for (version, name), facts in sorted(found.items()):
        if names is not None and name not in names:
            continue
        size = data_size(facts["data_dir"]) if module.params["size"] else None
        unit = manager.cluster(version, name).unit
        instances.append(dict(facts, size_bytes=size, unit=unit))
    module.exit_json(changed=False, instances=instances)


def docker_instances(module) -> list:
    if not HAS_DOCKER:
        module.fail_json(msg=missing_required_lib("docker"))
    try:
        found = instances_info(client(module.params["docker_host"]))
    except DarevelError as exc:
        module.fail_json(msg=exc.msg)
    names = module.params["names"]
    return [dict(facts, size_bytes=None, unit=None) for key, facts in sorted(found.items())
            if names is None or facts["name"] in names]


if __name__ == "__main__":
    main()
