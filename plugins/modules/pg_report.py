#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pg_report
short_description: Write a JSON report on the control node
version_added: 0.1.0
description:
  - Writes O(data) as indented JSON with sorted keys to O(path) on the control node, creating the
    directory, through a temporary file and a rename. Runs entirely in the action plugin, so nothing
    is executed on the managed host.
  - Reports C(changed=false) always (a report is not a change to a managed host) and C(written)
    when the file's content changed. In check mode nothing is written.
author:
  - Darevel platform team (@darevel)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - darevel.postgres.attributes
  - darevel.postgres.attributes.no_diff
  - darevel.postgres.attributes.action
options:
  path:
    description: File to write on the control node.
    type: path
    required: true
  data:
    description: Data to write.
    type: raw
    required: true
  mode:
    description: File mode.
    type: str
    default: "0644"
"""

EXAMPLES = r"""
- name: Write reports/<host>/status.json
  darevel.postgres.pg_report:
    path: "reports/{{ inventory_hostname }}/status.json"
    data:
      host: "{{ inventory_hostname }}"
      instances: "{{ postgres_status.instances }}"
"""

RETURN = r"""
path:
  description: The file written.
  returned: always
  type: str
written:
  description: Whether the file's content changed.
  returned: always
  type: bool
"""
