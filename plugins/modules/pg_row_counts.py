#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pg_row_counts
short_description: Row counts of an instance's tables, compared with a backup's manifest
version_added: 0.1.0
description:
  - Counts the rows of every table a backup's manifest counted (its C(databases) list, each with
    C(name) and C(row_counts)), live in the instance, and says for each database whether the
    counts match and which tables differ. playbooks/move.yml runs it on both hosts of a move.
  - With O(relations), also returns how many relations each database except C(postgres) holds,
    to tell a database a container made empty at its first start from one with data.
  - The same on both runtimes; read-only, so it never reports a change.
author:
  - Darevel platform team (@darevel)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - darevel.postgres.docker
  - darevel.postgres.docker.runtime
  - darevel.postgres.instance.connection
  - darevel.postgres.attributes
  - darevel.postgres.attributes.no_diff
options:
  name:
    description: Instance name (the catalogue's C(name)), as the messages name it.
    type: str
    required: true
  version:
    description: PostgreSQL major version (native runtime).
    type: int
  port:
    description: TCP port of the instance (native runtime, with the Unix socket).
    type: int
  databases:
    description: The manifest's databases, each with C(name) and C(row_counts) (C({"schema.table" - rows})).
    type: list
    elements: dict
    default: []
  relations:
    description: Also count each database's relations outside the system schemas.
    type: bool
    default: false
attributes:
  check_mode:
    details: Read-only; runs the same in check mode.
"""

EXAMPLES = r"""
- name: Compare the mail instance with its backup's manifest
  darevel.postgres.pg_row_counts:
    name: mail
    version: 15
    port: 5437
    databases: "{{ (lookup('ansible.builtin.file', backup_dir ~ '/manifest.json') | from_json).databases }}"
  register: counted

- name: Stop when a table differs
  ansible.builtin.assert:
    that: counted.matches
    fail_msg: "{{ counted.differences }}"
"""

RETURN = r"""
databases:
  description: Per database of O(databases) - C(name), C(counts) (live), C(matches) and C(differences) (text, V(none) when equal).
  returned: always
  type: list
  elements: dict
matches:
  description: Every database's counts equal the manifest's.
  returned: always
  type: bool
differences:
  description: The databases that differ and their tables, as text (V(none) when all match).
  returned: always
  type: str
  sample: "database mail: public.messages: 1200 in the backup, 1201 here"
relations:
  description: C({database - relations}) for every database except C(postgres); empty without O(relations).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.darevel.postgres.plugins.module_utils._engine import docker_argument_spec
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.module_utils._ops import rows
from ansible_collections.darevel.postgres.plugins.module_utils._runtime import select_runtime


def main() -> None:
    module = AnsibleModule(
        argument_spec=docker_argument_spec({
            "name": {"type": "str", "required": True},
            "version": {"type": "int"},
            "port": {"type": "int"},
            "container": {"type": "str"},
            "user": {"type": "str"},
            "socket_dir": {"type": "path", "default": "/var/run/postgresql"},
            "databases": {"type": "list", "elements": "dict", "default": []},
            "relations": {"type": "bool", "default": False},
        }, runtime=True),
        required_if=[("runtime", "docker", ("container",)), ("runtime", "native", ("port",))],
        supports_check_mode=True,
    )
    params = module.params
    bad = [str(entry) for entry in params["databases"] if not entry.get("name")
           or not isinstance(entry.get("row_counts", {}), dict)]
    if bad:
        module.fail_json(msg="instance '%s': databases %s are not the manifest's {name, row_counts}; fix: pass the "
                             "manifest's databases list" % (params["name"], ", ".join(bad)))
    try:
        runtime = select_runtime(params["runtime"], params, docker_host=params["docker_host"],
                                 socket_dir=params["socket_dir"])
        compared = rows.compare(runtime, params["databases"])
        found = rows.relations(runtime) if params["relations"] else {}
    except (DarevelError, ValueError) as exc:
        module.fail_json(msg=getattr(exc, "msg", None) or "instance '%s': %s" % (params["name"], exc))
    differing = ["database %s: %s" % (d["name"], d["differences"]) for d in compared if not d["matches"]]
    module.exit_json(changed=False, databases=compared, matches=not differing,
                     differences="; ".join(differing) or "none", relations=found)


if __name__ == "__main__":
    main()
