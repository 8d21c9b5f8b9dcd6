#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pg_instance_info
short_description: List the PostgreSQL instances on a host, with their live status
version_added: 0.1.0
description:
  - Every instance on the host (native clusters, or the collection's containers) with its status,
    port, data directory, size, log file and systemd unit. Read-only.
  - With O(runtime=native) the clusters (see O(layout)); with O(runtime=docker) the collection's
    containers (labelled C(com.darevel.postgres.instance)) with their health.
  - With O(probe=true) each running instance is also asked, all of them concurrently, whether it
    accepts connections, its version, uptime, connections in use, the size of its database and the
    settings waiting for a restart; a problem (refused connection, port held by something else) is
    explained in RV(instances[].problem).
author:
  - Darevel platform team (@darevel)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - darevel.postgres.docker
  - darevel.postgres.docker.runtime
  - darevel.postgres.attributes
  - darevel.postgres.attributes.no_diff
options:
  names:
    description: Only these instances; all when omitted.
    type: list
    elements: str
  layout:
    description: Which layout to list; V(auto) as in M(darevel.postgres.pg_instance).
    type: str
    choices: [auto, debian, generic]
    default: auto
  size:
    description: Compute the size of each data directory (walks the directory).
    type: bool
    default: true
  probe:
    description:
      - Connect to each running instance (native - as C(postgres) over the Unix socket, then over TCP
        on 127.0.0.1 without a password to check that a client gets as far as authentication;
        docker - C(pg_isready) and C(psql) inside the container).
    type: bool
    default: false
  databases:
    description: Instance name to the database whose size is reported with O(probe=true).
    type: dict
    default: {}
  log_lines:
    description: Return the last lines of each instance's server log (native - its log file; docker - the container's log).
    type: int
    default: 0
  backup_root:
    description:
      - Backup root of darevel.postgres.pg_backup; when given, each instance gets C(last_backup) from
        the newest manifest under it and the latest run's C(last_run.json) (small files only).
    type: path
  workers:
    description: Instances read at the same time.
    type: int
    default: 6
"""

EXAMPLES = r"""
- name: Every instance on the host
  darevel.postgres.pg_instance_info:
  register: info

- name: Live status of chat and mail, and the size of their databases
  darevel.postgres.pg_instance_info:
    names: [chat, mail]
    probe: true
    databases: {chat: darevel_chat, mail: darevel_mail}
  register: info

- name: The last 100 lines of slides' log
  darevel.postgres.pg_instance_info:
    names: [slides]
    size: false
    log_lines: 100
  register: logs
"""

RETURN = r"""
instances:
  description:
    - One entry per instance; on the docker runtime one per container, so an engine that several
      hosts' catalogues share may list two containers of one instance (told apart by C(container)).
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
    runtime:
      description: V(native) or V(docker).
      type: str
    accepting:
      description: Accepts connections (O(probe=true); null when not probed).
      type: bool
    server_version:
      description: The server's version, for example C(15.14) (O(probe=true)).
      type: str
    started_at:
      description: When the postmaster started (O(probe=true)).
      type: str
    uptime_seconds:
      description: Seconds since the postmaster started (O(probe=true)).
      type: int
    connections:
      description: Client connections in use, the probe's own excluded (O(probe=true)).
      type: int
    max_connections:
      description: The max_connections setting (O(probe=true)).
      type: int
    database_size_bytes:
      description: pg_database_size of the instance's database from O(databases) (O(probe=true)).
      type: int
    pending_restart:
      description: Settings changed in the configuration that wait for a restart (O(probe=true)).
      type: list
      elements: str
    problem:
      description: What is wrong and why, when something is (refused connection, port held by another process).
      type: str
    log:
      description: The last O(log_lines) lines of the server log.
      type: list
      elements: str
    last_backup:
      description:
        - With O(backup_root) - C(backup_id), C(finished_at), C(age_seconds) and C(size_bytes) of the
          newest complete backup, and C(result) (V(ok) or V(failed)) and C(msg) of the latest run.
      type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.darevel.postgres.plugins.module_utils._engine import docker_argument_spec
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.module_utils._ops.status import READ_SPEC, read
from ansible_collections.darevel.postgres.plugins.module_utils._options import LAYOUT_SPEC


def main() -> None:
    module = AnsibleModule(
        argument_spec=docker_argument_spec(dict(READ_SPEC, **LAYOUT_SPEC, workers={"type": "int", "default": 6}), runtime=True),
        supports_check_mode=True,
    )
    try:
        instances, errors = read(module, module.params)
    except DarevelError as exc:
        module.fail_json(msg=exc.msg)
    if errors:
        module.fail_json(msg="; ".join(errors), instances=instances)
    module.exit_json(changed=False, instances=instances)


if __name__ == "__main__":
    main()
