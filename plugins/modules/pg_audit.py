#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pg_audit
short_description: Audit PostgreSQL instances against CIS-style security controls
version_added: 0.1.0
description:
  - Reads each instance's settings, C(pg_hba.conf) rules, roles, database and schema privileges,
    extensions and file modes, and evaluates every control of the collection's audit (see
    C(docs/security.md)). Each control has our id, the closest CIS PostgreSQL 15 Benchmark
    recommendation, a severity, a status (V(pass), V(fail), V(not_applicable), V(not_configured);
    V(not_audited) for an instance that cannot be read), the evidence and the fix.
  - Read-only; runs the same in check mode. Native instances are read as C(postgres) over the Unix
    socket (root is mapped to it by the instance's ident map) and with C(stat); containers through
    C(psql) and C(stat) inside them.
  - Passwords are read only to test them against well-known values inside the module; no password or
    verifier is ever returned.
  - An instance that cannot be read (stopped, missing) is not audited, each control V(not_audited),
    with the reason and its fix once; the audit role then fails.
author:
  - Darevel platform team (@darevel)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - darevel.postgres.docker
  - darevel.postgres.docker.runtime
  - darevel.postgres.attributes
  - darevel.postgres.attributes.no_diff
requirements:
  - psycopg2 on the managed host (native runtime)
  - the Docker SDK for Python on the managed host (docker runtime)
options:
  instances:
    description: The instances to audit.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Instance name.
        type: str
        required: true
      version:
        description: PostgreSQL major version.
        type: int
        default: 15
      database:
        description: The application database.
        type: str
        required: true
      owner:
        description: The database's owner role.
        type: str
        required: true
      app_role:
        description: The application role, checked for least privilege; the control is not applicable without it.
        type: str
      container:
        description: Container name (O(runtime=docker)).
        type: str
      listen_addresses:
        description: Addresses the instance may listen on with O(environment=prod), besides loopback.
        type: list
        elements: str
      extensions:
        description: Extensions this instance may have, besides O(extensions_allowed).
        type: list
        elements: str
      loopback_tls:
        description: The catalogue's C(loopback_tls); V(false) lets plain C(host) lines on loopback pass on prod.
        type: bool
        default: true
  layout:
    description: Native layout, as in M(darevel.postgres.pg_instance).
    type: str
    choices: [auto, debian, generic]
    default: auto
  data_root:
    description: Data root of the generic layout.
    type: path
    default: /var/lib/postgresql
  environment:
    description: V(prod) makes TLS and TLS-only remote lines required and compares listen addresses with the given ones.
    type: str
    choices: [dev, prod]
    default: dev
  allow_any_address:
    description: Whether pg_hba lines (or docker port bindings) open to every address are accepted.
    type: bool
    default: false
  extensions_allowed:
    description: Extensions allowed in every instance (C(plpgsql) always is).
    type: list
    elements: str
    default: [pgcrypto]
  workers:
    description: Instances read at the same time.
    type: int
    default: 6
"""

EXAMPLES = r"""
- name: Audit chat and mail on a prod host
  darevel.postgres.pg_audit:
    environment: prod
    instances:
      - {name: chat, database: darevel_chat, owner: darevel_chat_owner, listen_addresses: [10.0.0.5]}
      - {name: mail, database: darevel_mail, owner: darevel_mail_owner, listen_addresses: [10.0.0.5]}
  register: audit
"""

RETURN = r"""
instances:
  description: One entry per instance, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Instance name.
      type: str
    runtime:
      description: V(native) or V(docker).
      type: str
    environment:
      description: V(dev) or V(prod).
      type: str
    server_version:
      description: The server's version (null when it could not be read).
      type: str
    error:
      description: Why the instance could not be read (each control is then V(not_audited), and the audit role fails).
      type: str
    controls:
      description: One entry per control, with C(id), C(cis), C(title), C(severity), C(status), C(evidence), C(fix).
      type: list
      elements: dict
    summary:
      description: Counts of V(pass), V(fail), V(not_applicable), V(not_audited), V(not_configured) and the ids of the failed high controls (C(failed_high)).
      type: dict
failed_high:
  description: Every failed control of severity high, as C(<instance>, <control id>) joined by a colon.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.darevel.postgres.plugins.module_utils._engine import docker_argument_spec
from ansible_collections.darevel.postgres.plugins.module_utils._evidence import Auditor
from ansible_collections.darevel.postgres.plugins.module_utils._options import LAYOUT_SPEC


def main() -> None:
    module = AnsibleModule(
        argument_spec=docker_argument_spec({
            "instances": {"type": "list", "elements": "dict", "required": True, "options": {
                "name": {"type": "str", "required": True},
                "version": {"type": "int", "default": 15},
                "database": {"type": "str", "required": True},
                "owner": {"type": "str", "required": True},
                "app_role": {"type": "str"},
                "container": {"type": "str"},
                "listen_addresses": {"type": "list", "elements": "str"},
                "extensions": {"type": "list", "elements": "str"},
                "loopback_tls": {"type": "bool", "default": True},
            }},
            **LAYOUT_SPEC,
            "data_root": {"type": "path", "default": "/var/lib/postgresql"},
            "environment": {"type": "str", "default": "dev", "choices": ["dev", "prod"]},
            "allow_any_address": {"type": "bool", "default": False},
            "extensions_allowed": {"type": "list", "elements": "str", "default": ["pgcrypto"]},
            "workers": {"type": "int", "default": 6},
        }, runtime=True),
        supports_check_mode=True,
    )
    module.exit_json(changed=False, **Auditor(module).run())


if __name__ == "__main__":
    main()
