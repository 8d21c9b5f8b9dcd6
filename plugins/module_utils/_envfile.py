# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The env file an application backend reads (DB_HOST, DB_PORT, ...). Private to darevel.postgres.

One format for every env file the collection writes (pg_database's, restore's migrate, move's
switch, the developer files' .env and host.env), read the same way by POSIX sh (`set -a; . FILE`),
docker compose (`env_file:`, `--env-file`) and systemd (`EnvironmentFile=`): `KEY=value`, the
value bare when it has only letters, digits and `_.,:/@+-`, else in single quotes. What single
quotes cannot carry identically for all three readers is refused (value_problem):

- a single quote: sh cannot have one inside single quotes;
- a backslash: docker compose reads a backslash before a backslash or a quote as an escape, even
  inside single quotes; sh and systemd do not;
- `${`: docker compose 1.x substitutes `${NAME}` in env files, quoted or not;
- control characters and line breaks (newline, carriage return, tab, U+2028 ...): the three read a
  quoted newline alike, but a value is one line for the collection's own line-based handling (the
  masked --diff, move's switch of DB_HOST) and for the line-based dotenv readers of many backends.

tests/integration/test_envfiles.py reads awkward values back with the three real readers.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from typing import Optional

SECRET_KEYS = ("POSTGRES_PASSWORD", "DB_APP_PASSWORD")
MASK = "********"
# Directories this module creates. The default env directory, /etc/darevel/postgres, also holds
# the server's TLS directory, which the postgres OS user must reach: the directory is 0755 root,
# and each env file keeps its secrets by its own mode (0600 from its creation, see write).
DIR_MODE = 0o755


HEADER = "# Managed by darevel.postgres: connection settings for the application backend."
BARE = re.compile(r"[A-Za-z0-9_.,:/@+-]*\Z")
KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# What a value may not hold, in the words of the messages (the fix lists them all).
RULE = "single quotes, backslashes, '${', control characters (tab, newline ...) or line breaks"
LINE_BREAKS = ("Cc", "Zl", "Zp", "Cs")  # Cs: a lone surrogate is no UTF-8 at all


def value_problem(value) -> Optional[str]:
    """Why `value` cannot be written into an env file that sh, docker compose and systemd read
    alike, or None when it can. Never contains the value (it may be a password)."""
    text = "" if value is None else str(value)
    found = []
    if "'" in text:
        found.append("a single quote")
    if "\\" in text:
        found.append("a backslash")
    if "${" in text:
        found.append("'${' (docker compose 1.x substitutes ${NAME} in env files)")
    if any(unicodedata.category(char) in LINE_BREAKS for char in text):
        found.append("a control character or line break")
    return " and ".join(found) or None


def problem_message(where: str, what: str, value, fix: str) -> Optional[str]:
    """`where`: `what` contains ..., which an env file cannot carry; fix: `fix`. None when fine."""
    problem = value_problem(value)
    if problem is None:
        return None
    return ("%s: %s contains %s, which an env file cannot hold so that sh (set -a; . FILE), docker "
            "compose (env_file) and systemd (EnvironmentFile) all read it alike; fix: %s, without %s" % (
                where, what, problem, fix, RULE))


def quote(value) -> str:
    """The value as written after `KEY=`: bare when safe everywhere, else in single quotes.
    ValueError (without the value) for what value_problem refuses."""
    text = "" if value is None else str(value)
    problem = value_problem(text)
    if problem:
        raise ValueError("an env file value contains %s; it cannot be written" % problem)
    return text if BARE.match(text) else "'%s'" % text


def line(key: str, value) -> str:
    if not KEY.match(key):
        raise ValueError("env file key %r is not a variable name" % key)
    return "%s=%s" % (key, quote(value))


def render(values: dict, header: Optional[str] = HEADER) -> str:
    lines = [header] if header else []
    lines += [line(key, values[key]) for key in values]
    return "\n".join(lines) + "\n"


def parse(text: str) -> dict:
    """The values of an env file in this module's format (comments and blank lines skipped)."""
    values = {}
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#") or "=" not in stripped:
            continue
        key, _sep, value = stripped.partition("=")
        if len(value) >= 2 and value.startswith("'") and value.endswith("'"):
            value = value[1:-1]
        values[key.strip()] = value
    return values


def replace(text: str, updates: dict) -> str:
    """`text` with the lines of the keys in `updates` set to the new values (appended when the
    file has no such line); every other line stays as it is."""
    out, done = [], set()
    for raw in text.splitlines(keepends=True):
        key = raw.partition("=")[0].strip()
        if "=" in raw and not raw.lstrip().startswith("#") and key in updates:
            out.append(line(key, updates[key]) + "\n")
            done.add(key)
        else:
            out.append(raw)
    if out and not out[-1].endswith("\n"):
        out[-1] += "\n"
    out += [line(key, value) + "\n" for key, value in updates.items() if key not in done]
    return "".join(out)


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


def make_dirs(directory: str, mode: int = DIR_MODE) -> None:
    """Create the missing directories of `directory`, each `mode` whatever the umask; existing
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
        os.chmod(path, mode)


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
