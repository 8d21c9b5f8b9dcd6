#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pg_status
short_description: The planned instances' live status, as rows, a report and two tables
version_added: 0.1.0
description:
  - The status role's work in one task. Reads the planned instances live on the host with one run
    of M(darevel.postgres.pg_instance_info) (all of them concurrently), or takes the read another
    module of the run made (O(read), site.yml's), makes one row per planned
    instance (what runs, where, how it is doing and how to connect), writes them to O(report) on
    the control node, and returns the status table and who connects where as RV(msg), for
    M(ansible.builtin.debug) to show.
  - An instance of the plan that is not on the host is a row with state C(absent).
  - Reports C(changed=false) always, since it reads the host and a report on the control node is not a
    change to a managed host. In check mode the report is not written.
author:
  - Darevel platform team (@darevel)
extends_documentation_fragment:
  - darevel.postgres.attributes
  - darevel.postgres.attributes.action
  - darevel.postgres.attributes.no_diff
  - darevel.postgres.docker.runtime
  - darevel.postgres.docker
  - ansible.builtin.action_common_attributes.flow
  - ansible.builtin.action_common_attributes
options:
  plan:
    description: The planned instances (C(postgres_plan) of the preflight role); each needs C(name), C(port), C(database), C(owner) and C(version).
    type: list
    elements: dict
    required: true
  layout:
    description: Which layout to read on the native runtime, as in M(darevel.postgres.pg_instance_info).
    type: str
    choices: [auto, debian, generic]
    default: auto
  probe:
    description:
      - Ask each running instance whether it accepts connections, as M(darevel.postgres.pg_instance_info)
        does with its O(darevel.postgres.pg_instance_info#module:probe=true); without it, the size of
        each data directory is read instead.
    type: bool
    default: true
  backup_root:
    description: Backup root of darevel.postgres.pg_backup, for each instance's last backup.
    type: path
  env_dir:
    description: Directory of the backends' env files, shown in each row.
    type: path
    default: /etc/darevel/postgres
  report:
    description: JSON file written on the control node (host, runtime and the rows); none when omitted.
    type: path
  read:
    description:
      - The instances as another module of this run read them, live after its work - the RV(darevel.postgres.pg_database#module:status)
        result of M(darevel.postgres.pg_database) with its O(darevel.postgres.pg_database#module:status) option. The rows
        are made from it and no module runs (site.yml's status report); its problems fail the task.
      - Omitted, M(darevel.postgres.pg_instance_info) reads them (O(probe), O(layout), O(backup_root)).
    type: dict
"""

EXAMPLES = r"""
- name: Read the instances and write reports/<host>/status.json
  darevel.postgres.pg_status:
    plan: "{{ postgres_plan }}"
    runtime: "{{ postgres_runtime_in_use }}"
    report: "reports/{{ inventory_hostname }}/status.json"
  register: status

- name: Show them
  ansible.builtin.debug:
    msg: "{{ status.msg }}"
"""

RETURN = r"""
read:
  description: Where the rows come from - V(given) (O(read)), V(pg_instance_info) (its run) or V(none) (an empty plan).
  returned: success
  type: str
  sample: given
instances:
  description:
    - One row per planned instance, with the fields C(reports/<host>/status.json) holds per instance
      (listed in the collection's docs/operations.md, section Status) - among them C(name), C(port),
      C(state) (V(started), V(stopped), V(absent)), C(runtime), C(connect) and C(env_file).
  returned: always
  type: list
  elements: dict
msg:
  description:
    - The status table, a blank line, and who connects where; a list of lines under the json result
      format of the stdout callback, one text under yaml (each prints one row per line).
  returned: always
  type: raw
report:
  description: The report written, when O(report) is given.
  returned: when O(report) is given
  type: dict
  contains:
    path:
      description: The file.
      type: str
    written:
      description: Whether its content changed.
      type: bool
"""
