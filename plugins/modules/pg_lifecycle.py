#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pg_lifecycle
short_description: Stop, restart or remove planned PostgreSQL instances on either runtime
version_added: 0.1.0
description:
  - One task for the lifecycle of the planned instances, whatever the runtime. The action plugin
    runs the runtime's own module on the managed host once for all of them,
    M(darevel.postgres.pg_instance) on the V(native) runtime (the host's clusters, either layout)
    and M(darevel.postgres.pg_container) on the V(docker) runtime (one container and volume each).
  - The settings file is left as it is in every state; on the native runtime C(pg_hba.conf) is kept as
    the plan has it, as the converge writes it. Creating and starting instances, and applying
    settings, is the converge's work (the instance role), which is why there is no V(started).
  - With no instances, nothing runs on the host and the result is unchanged.
  - Check mode and C(--diff) are those of the module that runs.
author:
  - Darevel platform team (@darevel)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - darevel.postgres.docker
  - darevel.postgres.docker.runtime
  - darevel.postgres.attributes
  - darevel.postgres.attributes.diff
  - darevel.postgres.attributes.action
options:
  instances:
    description:
      - The planned instances to act on, entries of the plan that M(darevel.postgres.pg_preflight)
        returns (the preflight role's C(postgres_plan)), each with at least C(name), C(version),
        C(port) and, for the docker runtime, C(docker).
    type: list
    elements: dict
    required: true
  state:
    description: What to do with each instance.
    type: str
    required: true
    choices: [stopped, restarted, absent]
  purge:
    description: With O(state=absent), also remove the data (native the data directory, docker the volume).
    type: bool
    default: false
  layout:
    description: The native runtime's layout (see M(darevel.postgres.pg_instance)); ignored on docker.
    type: str
    choices: [auto, debian, generic]
    default: auto
  data_root:
    description: The generic layout's data root (see M(darevel.postgres.pg_instance)); ignored on docker.
    type: path
  workers:
    description: How many instances are handled at once; the module's own default when omitted.
    type: int
seealso:
  - module: darevel.postgres.pg_instance
  - module: darevel.postgres.pg_container
"""

EXAMPLES = r"""
- name: Stop the instances (data kept)
  darevel.postgres.pg_lifecycle:
    instances: "{{ postgres_plan }}"
    state: stopped
    runtime: "{{ postgres_runtime_in_use }}"
    docker_host: "{{ postgres_docker_host | default('', true) or omit }}"
"""

RETURN = r"""
runtime:
  description: The runtime acted on.
  returned: always
  type: str
  sample: native
module:
  description: The module that ran on the managed host.
  returned: always
  type: str
  sample: darevel.postgres.pg_instance
instances:
  description: One result per instance, as the module that ran returns it (each has C(name) and C(changed)).
  returned: always
  type: list
  elements: dict
"""
