# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: internal
short_description: Helpers of this collection's own roles and playbooks; not a public interface
version_added: 0.1.0
description:
  - Computes, on the control node, what the roles and playbooks of darevel.postgres derive from
    the validated catalogue (the plan that C(darevel.postgres.pg_preflight) returns), such as the
    arguments of the collection's modules, report rows, the firewall rules and certificate
    names, the developer files and the messages of their checks.
  - The first term names the helper, the other terms and the keyword arguments are its
    arguments. The helpers, their arguments and their results follow the roles and may change in
    any release; do not call this lookup from your own playbooks. Use the roles and playbooks,
    and the documented table filters (for example C(darevel.postgres.status_table)) on the
    reports they write.
  - "Helpers: V(audit_items), V(backup_failed), V(backup_failures), V(backup_items),
    V(backup_rows), V(compose_argv), V(container_items), V(database_items), V(dev_dirs),
    V(dev_files), V(env_lines), V(env_problems), V(env_switch), V(excluded_port_conflicts),
    V(excluded_port_message), V(excluded_port_ranges),
    V(firewall_rules), V(found_status), V(instance_items), V(move_request), V(purge_problems), V(purge_request), V(purge_rows),
    V(restore_instances), V(restore_items), V(restore_request),
    V(restore_rows), V(tls_names)."
author:
  - Darevel platform team (@darevel)
options:
  _terms:
    description: The helper's name, then its positional arguments.
    type: list
    elements: raw
    required: true
notes:
  - Call it with the C(lookup) function, which returns the helper's result as it is (a list stays a list).
"""

EXAMPLES = r"""
# As the instance role does it (postgres_plan is set by the preflight role):
- name: Native instances
  darevel.postgres.pg_instance:
    instances: "{{ lookup('darevel.postgres.internal', 'instance_items', postgres_plan, settings=false) }}"
"""

RETURN = r"""
_raw:
  description: One element, the helper's result.
  type: list
  elements: raw
"""

import importlib

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

PACKAGE = "ansible_collections.darevel.postgres.plugins."

# helper name -> the module of plugins/filter/ or plugins/plugin_utils/ that holds its function,
# imported when the helper is called. Ansible loads a lookup afresh in each worker process (one per
# task and host), so a call imports only the module it needs (2 to 20 ms) rather than all of them
# (45 ms): one of the costs of the control node per host (docs/benchmarks.md).
HELPERS = {
    "audit_items": "filter.audit",
    "backup_failed": "filter.backup",
    "backup_failures": "filter.restore",
    "backup_items": "filter.backup",
    "backup_rows": "filter.backup",
    "compose_argv": "filter.dev",
    "container_items": "plugin_utils._lifecycle",
    "database_items": "filter.catalogue",
    "dev_dirs": "filter.dev",
    "dev_files": "filter.dev",
    "env_lines": "filter.envfile",
    "env_problems": "filter.envfile",
    "env_switch": "filter.envfile",
    "excluded_port_conflicts": "filter.dev",
    "excluded_port_message": "filter.dev",
    "excluded_port_ranges": "filter.dev",
    "firewall_rules": "filter.security",
    "found_status": "filter.move",
    "instance_items": "plugin_utils._lifecycle",
    "move_request": "filter.move",
    "purge_problems": "filter.move",
    "purge_request": "filter.move",
    "purge_rows": "filter.move",
    "restore_instances": "filter.restore",
    "restore_items": "filter.restore",
    "restore_request": "filter.restore",
    "restore_rows": "filter.restore",
    "tls_names": "filter.security",
}


def helper(name: str):
    """The function of the helper `name` (a KeyError for a name HELPERS does not list)."""
    return getattr(importlib.import_module(PACKAGE + HELPERS[name]), name)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if not terms or terms[0] not in HELPERS:
            raise AnsibleLookupError("darevel.postgres.internal: the first term must name one of %s, got %r"
                                     % (", ".join(sorted(HELPERS)), terms[0] if terms else None))
        return [helper(terms[0])(*terms[1:], **kwargs)]
