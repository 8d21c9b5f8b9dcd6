# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The env file an application backend reads (DB_HOST, DB_PORT, ...). Private to darevel.postgres."""

from __future__ import annotations

import os
import tempfile

SECRET_KEYS = ("POSTGRES_PASSWORD", "DB_APP_PASSWORD")
MASK = "********"
# Directories this module creates. The default env directory, /etc/darevel/postgres, also holds
# the server's TLS directory, which the postgres OS user must reach: the directory is 0755 root,
# and each env file keeps its secrets by its own mode (0600 from its creation, see write).
DIR_MODE = 0o755


def render(values: dict) -> str:
    lines = ["# Managed by darevel.postgres: connection settings for the application backend."]
    lines += ["%s=%s" % (key, values[key]) for key in values]
    return "\n".join(lines) + "\n"


def masked(text: str) -> str:
    """The same text with secret values hidden, for diffs and logs."""
    out = []
    for line in text.splitlines(keepends=True):
        key = line.split("=", 1)[0]
        out.append("%s=%s\n" % (key, MASK) if key in SECRET_KEYS and "=" in line else line)
    return "".join(out)


def read(path: str) -> str:
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return ""


def is_current(path: str, content: str, mode: int = 0o600) -> bool:
    try:
        return read(path) == content and (os.stat(path).st_mode & 0o7777) == mode
    except OSError:
        return False


def make_dirs(directory: str) -> None:
    """Create the missing directories of `directory`, each DIR_MODE whatever the umask; existing
    ones are left as they are."""
    missing = []
    while directory and not os.path.isdir(directory):
        missing.append(directory)
        directory = os.path.dirname(directory)
    for path in reversed(missing):
        try:
            os.mkdir(path)
        except FileExistsError:  # another instance's thread made it
            continue
        os.chmod(path, DIR_MODE)


def write(path: str, content: str, mode: int = 0o600) -> None:
    """Write atomically: a temporary file in the same directory (mkstemp: 0600 from the start),
    synced, then renamed."""
    directory = os.path.dirname(path)
    make_dirs(directory)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
