# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-instance passwords kept on the control node (files 0600 in directories 0700)."""

from __future__ import annotations

import os
import secrets
import string
from typing import Optional

from ansible_collections.darevel.postgres.plugins.module_utils import _envfile

ALPHABET = string.ascii_letters + string.digits
# The passwords an instance has: (kind, the catalogue key of its role, the inventory variable).
KINDS = (("owner", "owner", "postgres_owner_passwords"), ("app", "app_role", "postgres_app_passwords"))


def path_for(directory: str, host: str, name: str, kind: str) -> str:
    return os.path.join(directory, host, "%s.%s.password" % (name, kind))


def env_problems(instances: list, given: dict, hosts: Optional[dict] = None) -> list:
    """The passwords (and host names) that an instance's env file could not hold, on every
    environment: the one rule of _envfile, for the converge's env files, the developer files and
    prod's Vault passwords alike. `given` is {kind: {instance: password}} for kind owner and app
    (passwords the inventory sets; generated ones are letters and digits); `hosts` {variable: value}
    of the DB_HOST values the inventory sets. Messages never contain a password."""
    problems = []
    for variable, value in sorted((hosts or {}).items()):
        message = _envfile.problem_message("host", "%s (DB_HOST of the env files)" % variable, value,
                                           "set %s to a host name or address" % variable)
        if message:
            problems.append(message)
    for instance in instances:
        for kind, role_key, variable in KINDS:
            role = instance.get(role_key)
            value = ((given or {}).get(kind) or {}).get(instance["name"])
            if not role or value in (None, ""):
                continue
            message = _envfile.problem_message(
                "instance '%s': role %s" % (instance["name"], role), "the password (%s.%s)" % (variable, instance["name"]),
                value, "choose another password for %s.%s (in Ansible Vault on prod)" % (variable, instance["name"]))
            if message:
                problems.append(message)
    return problems


def generate(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for dummy in range(length))


def read_stored(path: str) -> str:
    """The stored password, or an empty string when there is none."""
    try:
        with open(path) as handle:
            return handle.read().strip()
    except FileNotFoundError:
        return ""


def read_or_create(path: str, length: int) -> str:
    """The password stored at `path`; a new one is generated and stored on first use."""
    blank = False
    try:
        with open(path) as handle:
            value = handle.read().strip()
        if value:
            return value
        blank = True  # an empty file holds no password: replace it
    except FileNotFoundError:
        pass
    _envfile.make_dirs(os.path.dirname(path), 0o700)
    value = generate(length)
    tmp = "%s.tmp-%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    if blank:
        os.replace(tmp, path)
        return value
    try:
        os.link(tmp, path)  # never replace a password another run stored meanwhile
    except FileExistsError:
        os.unlink(tmp)
        with open(path) as handle:
            stored = handle.read().strip()
        if not stored:
            raise OSError("%s is empty" % path)
        return stored
    os.unlink(tmp)
    return value
