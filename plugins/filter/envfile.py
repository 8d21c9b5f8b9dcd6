# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The env-file format of plugins/module_utils/_envfile.py for the roles and playbooks: the
developer files' .env and host.env, move's switch of DB_HOST, and the checks before them."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.darevel.postgres.plugins.module_utils import _credentials, _envfile


def env_lines(values: dict) -> str:
    """KEY=value lines (no header) in the one env-file format, in the order given."""
    try:
        return _envfile.render(dict(values), header=None)
    except ValueError as exc:  # the checks before (env_problems) name the instance and the fix
        raise AnsibleFilterError(str(exc))


def env_switch(text: str, updates: dict) -> str:
    """An env file's text with the lines of `updates` set (other lines kept as they are)."""
    try:
        return _envfile.replace(str(text), dict(updates))
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def env_problems(plan: list, owner_passwords=None, app_passwords=None, hosts=None) -> list:
    """What an env file could not hold: the instances' passwords ({instance: password}) and the
    DB_HOST values ({variable: value}), each naming the instance or variable and the fix."""
    return _credentials.env_problems(list(plan or []), {"owner": owner_passwords or {}, "app": app_passwords or {}},
                                     dict(hosts or {}))


class FilterModule:
    def filters(self):
        # Reached through the darevel.postgres.internal lookup (not a public interface).
        return {}
