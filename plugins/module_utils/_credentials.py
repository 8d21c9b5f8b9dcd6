# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-instance passwords kept on the control node (files 0600 in directories 0700)."""

from __future__ import annotations

import os
import secrets
import string

ALPHABET = string.ascii_letters + string.digits


def path_for(directory: str, host: str, name: str, kind: str) -> str:
    return os.path.join(directory, host, "%s.%s.password" % (name, kind))


def generate(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for dummy in range(length))


def read_or_create(path: str, length: int) -> str:
    """The password stored at `path`; a new one is generated and stored on first use."""
    try:
        with open(path) as handle:
            value = handle.read().strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    value = generate(length)
    tmp = "%s.tmp-%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    try:
        os.link(tmp, path)  # never replace a password another run stored meanwhile
    except FileExistsError:
        os.unlink(tmp)
        return read_or_create(path, length)
    os.unlink(tmp)
    return value
