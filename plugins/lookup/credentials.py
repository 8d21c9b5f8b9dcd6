# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: credentials
short_description: Per-instance passwords generated on first use and kept on the control node
version_added: 0.1.0
description:
  - Returns one password per instance name given as a term. The first call generates a random
    password and stores it in O(directory)/HOST/NAME.KIND.password with mode 0600 (directory 0700);
    later calls return the stored value.
  - Meant for development inventories; production passwords come from Ansible Vault.
author:
  - Darevel platform team (@darevel)
options:
  _terms:
    description: Instance names.
    required: true
  directory:
    description: Directory on the control node that holds the password files.
    type: path
    required: true
  host:
    description: Host the instances belong to (usually C(inventory_hostname)).
    type: str
    required: true
  kind:
    description: Which credential, for example V(owner).
    type: str
    default: owner
  length:
    description: Length of generated passwords (letters and digits).
    type: int
    default: 32
  given:
    description:
      - Passwords already known, by instance name (for example from Ansible Vault). These are
        returned as they are; nothing is generated or stored for them.
    type: dict
    default: {}
  persist:
    description:
      - Store a newly generated password. With V(false) (check mode) a missing password is
        generated for this run only and nothing is written.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Owner passwords of two instances
  ansible.builtin.debug:
    msg: "{{ query('darevel.postgres.credentials', 'chat', 'mail', directory='~/.darevel-postgres/credentials',
         host=inventory_hostname) | length }} passwords"
"""

RETURN = r"""
_raw:
  description: One password per term, in order.
  type: list
  elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.darevel.postgres.plugins.module_utils._credentials import generate, path_for, read_or_create, read_stored


class LookupModule(LookupBase):
    @staticmethod
    def _one(directory: str, host: str, name: str, kind: str, length: int, persist: bool) -> str:
        path = path_for(directory, host, name, kind)
        if not persist:
            return read_stored(path) or generate(length)
        return read_or_create(path, length)

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        directory = self.get_option("directory")
        host, kind, length = self.get_option("host"), self.get_option("kind"), self.get_option("length")
        if length < 16:
            raise AnsibleLookupError("credentials: length %d is too short; fix: use 16 or more" % length)
        persist, given = self.get_option("persist"), self.get_option("given") or {}
        try:
            return [given[name] if name in given else self._one(directory, host, str(name), kind, length, persist)
                    for name in terms]
        except OSError as exc:
            raise AnsibleLookupError("credentials: cannot keep passwords under %s: %s; fix: make the "
                                     "directory writable or set postgres_credentials_dir" % (directory, exc))
