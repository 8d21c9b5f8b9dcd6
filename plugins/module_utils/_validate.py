# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules every value from the catalogue or the inventory passes before it reaches a file, SQL,
a path or a command line (private to darevel.postgres; standard library only).

Each check returns a problem text (naming the value and the fix) or None, so that callers can
prefix the instance and collect every problem at once. Patterns are matched whole
(`re.fullmatch`): `$` would also match before a trailing newline.
"""

from __future__ import annotations

import ipaddress
import math
import posixpath
import re
from typing import Any, Optional

# --- identifiers -------------------------------------------------------------------------------

# Lower-case unquoted SQL identifiers without `$` (PostgreSQL allows it, but a `$` reaches shell
# scripts, env files and compose files, where it expands); 63 bytes is NAMEDATALEN - 1.
IDENT_RE = re.compile(r"[a-z_][a-z0-9_]*")
IDENT_MAX = 63

# Names PostgreSQL refuses as role names or treats specially, and names pg_hba.conf reads as
# keywords rather than as a database or role: one list for database, owner and app_role.
RESERVED = {
    "postgres": "the bootstrap superuser and the maintenance database",
    "template0": "a template database",
    "template1": "a template database",
    "public": "the pseudo-role every role belongs to",
    "none": "reserved by PostgreSQL as a role name",
    "current_user": "an SQL keyword for the session's role",
    "current_role": "an SQL keyword for the session's role",
    "session_user": "an SQL keyword for the session's role",
    "user": "an SQL keyword for the session's role",
    "all": "a pg_hba.conf keyword matching every database and role",
    "sameuser": "a pg_hba.conf keyword",
    "samerole": "a pg_hba.conf keyword",
    "samegroup": "a pg_hba.conf keyword",
    "replication": "a pg_hba.conf keyword for replication connections",
}
RESERVED_PREFIX = "pg_"


def reserved(value: str) -> Optional[str]:
    """Why `value` may not be a database or role name, or None."""
    lowered = value.lower()
    if lowered in RESERVED:
        return RESERVED[lowered]
    if lowered.startswith(RESERVED_PREFIX):
        return "names starting with pg_ are reserved for PostgreSQL's own roles"
    return None


def identifier(value: Any) -> Optional[str]:
    """A database or role name: lower-case identifier, at most 63 bytes, not reserved."""
    if not isinstance(value, str) or not IDENT_RE.fullmatch(value) or len(value.encode()) > IDENT_MAX:
        return ("%r is not a valid PostgreSQL identifier; fix: use lower-case letters, digits and underscores "
                "(no $), starting with a letter or underscore, at most %d bytes" % (value, IDENT_MAX))
    why = reserved(value)
    if why:
        return "%r is reserved (%s); fix: use a name of the application's own, e.g. %r" % (
            value, why, "app_" + value.lstrip("_") if not value.startswith("pg_") else "app_" + value[3:])
    return None


# --- Docker names --------------------------------------------------------------------------------

# The engine's rule for container and volume names; anything else (a host path such as /srv/x or
# ./data, a name with a space) is refused here rather than later by the engine.
DOCKER_NAME_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")


def docker_name(value: Any, what: str) -> Optional[str]:
    if isinstance(value, str) and DOCKER_NAME_RE.fullmatch(value):
        return None
    hint = " (a host path is not a volume name)" if what == "volume" and isinstance(value, str) and (
        "/" in value or value.startswith(".")) else ""
    return ("%r is not a Docker %s name%s; fix: use letters, digits, '_', '.' and '-', starting with a letter "
            "or digit, at least 2 characters" % (value, what, hint))


# --- paths ---------------------------------------------------------------------------------------

PATH_SEGMENT_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def relative_path(value: Any) -> Optional[str]:
    """A path below a root the inventory names (postgres_dev_dir, a backup directory): relative,
    '/'-separated segments of letters, digits, '_', '.' and '-' (none of them '.' or '..', none
    starting with '.' or '-'), so it stays inside its root and reads the same in every script."""
    if not isinstance(value, str) or not value:
        return "%r is not a relative path; fix: write it like apps/chat/postgres-compose.yml" % (value,)
    if value.startswith("/") or value.startswith("\\") or re.match(r"[A-Za-z]:", value):
        return "%r is absolute; fix: make it relative to its root, like apps/chat/postgres-compose.yml" % value
    parts = value.split("/")
    if ".." in parts or "." in parts:
        return "%r contains '.' or '..' and could leave its root; fix: write the path without them" % value
    if not all(PATH_SEGMENT_RE.fullmatch(part) for part in parts):
        return ("%r has an empty segment or characters other than letters, digits, '_', '.', '-' and '/'; fix: "
                "write it like apps/chat/postgres-compose.yml" % value)
    return None


# A directory or file the inventory names on a target (postgres_backup_root, postgres_env_dir, ...):
# it reaches unit files, cron lines, scripts and command lines, so its segments are plain names
# (dots allowed, as in .cache) and it is absolute and normalised. The control node's own paths
# (postgres_credentials_dir, postgres_reports_dir) reach only module arguments and are not listed.
HOST_PATH_SEGMENT_RE = re.compile(r"[A-Za-z0-9_.@+,=-]+")
HOST_PATHS = {
    # variable: may start with ~/ (expanded on the control node or in the user's home)
    "postgres_backup_root": False, "postgres_backup_lib_dir": False, "postgres_backup_config_dir": False,
    "postgres_env_dir": False, "postgres_data_root": False, "postgres_firewall_file": False,
    "postgres_dev_windows_backup_config_dir": False, "postgres_backup_python": False,
    "postgres_dev_dir": True,
}
# On a Windows developer machine postgres_dev_dir is a Windows path (C:\Users\me\darevel-dev).
WINDOWS_PATH_RE = re.compile(r"[A-Za-z]:(\\[A-Za-z0-9_.@+,=-]+)+")


def host_path(name: str, value: Any, home: bool = False) -> Optional[str]:
    """Why `value` cannot be the path variable `name` (None: it can)."""
    example = "/var/backups/darevel-postgres" if not home else "~/darevel-dev or /srv/darevel-dev"
    if not isinstance(value, str) or not value:
        return "%s %r is not a path; fix: write an absolute path such as %s" % (name, value, example)
    if CONTROL_RE.search(value):
        return "%s %r holds a control character; fix: write the path on one line" % (name, value)
    if home and WINDOWS_PATH_RE.fullmatch(value) and not any(p in (".", "..") for p in value[3:].split("\\")):
        return None
    body = value[2:] if home and value.startswith("~/") else value
    if not body.startswith("/") and body is value:
        return "%s %r is not absolute; fix: write it from the root, such as %s" % (name, value, example)
    parts = body.strip("/").split("/") if body.startswith("/") else body.split("/")
    if body == "/" or not parts or parts == [""]:
        return "%s %r is the root directory; fix: name a directory of its own, such as %s" % (name, value, example)
    if ".." in parts or "." in parts or "" in parts or body.endswith("/"):
        return ("%s %r is not normalised (an empty, '.' or '..' segment, or a trailing '/'); fix: write it "
                "without them" % (name, value))
    if not all(HOST_PATH_SEGMENT_RE.fullmatch(part) for part in parts):
        return ("%s %r has characters other than letters, digits and _ . @ + , = - in its names (a space or a "
                "shell character would split or change the unit files, cron lines and scripts it reaches); "
                "fix: choose a path without them" % (name, value))
    return None


# --- other host variables that reach a file or a command line ----------------------------------

# A Docker image reference (after {version} is replaced): [registry[:port]/]path[:tag][@sha256:...].
IMAGE_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_RE = re.compile(r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?/)?%s(?:/%s)*"
                      r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?" % (
                          IMAGE_COMPONENT, IMAGE_COMPONENT))
CRON_FIELD_RE = re.compile(r"[0-9A-Za-z*/,-]+")
CRON_NICKNAMES = ("@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually")
CALENDAR_RE = re.compile(r"[A-Za-z0-9_*:,./~+-]+(?: [A-Za-z0-9_*:,./~+-]+)*")
TIMESPAN_RE = re.compile(r"[0-9]+ ?[a-z]*(?: [0-9]+ ?[a-z]*)*")
LOCALE_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]*")


def _image(value: Any) -> Optional[str]:
    text = value.replace("{version}", "15") if isinstance(value, str) else value
    if isinstance(text, str) and IMAGE_RE.fullmatch(text):
        return None
    return "is not a Docker image reference; fix: write [registry/]name[:tag], such as postgres:{version}"


def _address(value: Any) -> Optional[str]:
    try:
        ipaddress.ip_address(value if isinstance(value, str) else "")
        return None
    except ValueError:
        return "is not an IP address; fix: write one, such as 127.0.0.1 (or 0.0.0.0 for every interface)"


def _cron(value: Any) -> Optional[str]:
    fields = value.split(" ") if isinstance(value, str) else []
    fields = [f for f in fields if f]
    if isinstance(value, str) and not CONTROL_RE.search(value) and (value.strip() in CRON_NICKNAMES or (
            len(fields) == 5 and all(CRON_FIELD_RE.fullmatch(f) for f in fields))):
        return None
    return ("is not five cron time fields (minute hour day month weekday, separated by spaces) or a nickname "
            "such as @daily; fix: write it like '30 2 * * *'")


def _calendar(value: Any) -> Optional[str]:
    if isinstance(value, str) and CALENDAR_RE.fullmatch(value):
        return None
    return ("is not a systemd calendar expression on one line (letters, digits and * : , . / ~ + -, one space "
            "apart); fix: write it like '*-*-* 02:30:00' (see systemd.time(7))")


def _timespan(value: Any) -> Optional[str]:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return None
    if isinstance(value, str) and TIMESPAN_RE.fullmatch(value):
        return None
    return "is not a systemd time span; fix: write it like 15min, 1h 30min or 0"


def _locale(value: Any) -> Optional[str]:
    if isinstance(value, str) and LOCALE_RE.fullmatch(value):
        return None
    return "is not a locale name; fix: write one such as C.UTF-8 or en_US.UTF-8"


# The TLS versions ssl_min_protocol_version may be raised to (_security.TLS_MIN_PROTOCOLS).
TLS_MIN_PROTOCOLS = ("TLSv1.2", "TLSv1.3")


def _tls_protocol(value: Any) -> Optional[str]:
    if value in TLS_MIN_PROTOCOLS:
        return None
    return "is not TLSv1.2 or TLSv1.3; fix: set TLSv1.2 (the default) or TLSv1.3"


HOST_VALUES = {
    "postgres_docker_image": _image, "postgres_docker_bind_address": _address,
    "postgres_tls_min_protocol": _tls_protocol,
    "postgres_backup_cron_time": _cron, "postgres_backup_on_calendar": _calendar, "postgres_locale": _locale,
    "postgres_backup_randomized_delay": _timespan,
}


def host_variables_problems(variables: Optional[dict]) -> list[str]:
    """Every problem of the host variables the inventory sets (None: not set, the default applies):
    the path variables by host_path(), the others by their own rule (HOST_VALUES)."""
    problems = []
    for name, value in sorted((variables or {}).items()):
        if value is None:
            continue
        if name in HOST_PATHS:
            problem = host_path(name, value, HOST_PATHS[name])
        elif name in HOST_VALUES:
            problem = HOST_VALUES[name](value)
            if problem is None and CONTROL_RE.search(str(value)):
                problem = "holds a control character; fix: write it on one line"
            problem = problem and "%s %r %s" % (name, value, problem)
        else:
            continue
        if problem:
            problems.append("host: %s" % problem)
    return problems


def inside(root: str, value: str) -> str:
    """The path of `value` under `root`; ValueError when the value breaks relative_path() or the
    joined path does not stay below the root."""
    problem = relative_path(value)
    if problem:
        raise ValueError(problem)
    base = posixpath.normpath(root)
    joined = posixpath.normpath(posixpath.join(base, value))
    if not joined.startswith(base.rstrip("/") + "/"):
        raise ValueError("%r leaves %s; fix: write a path below it" % (value, root))
    return joined


# --- numbers -------------------------------------------------------------------------------------

def number(value: Any, minimum: float, maximum: float, integer: bool = False, strings: bool = True):
    """(the number, None) or (None, problem): finite, within [minimum, maximum], never a boolean;
    a string of digits (from -e or a template) counts when `strings`."""
    kind = "a whole number" if integer else "a number"
    wanted = "%s from %s to %s" % (kind, _plain(minimum), _plain(maximum))
    if isinstance(value, str) and strings:
        text = value.strip()
        try:
            value = int(text) if re.fullmatch(r"[+-]?[0-9]+", text) else float(text)
        except ValueError:
            return None, "%r is not %s; fix: write %s" % (value, kind, wanted)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, "%r is not %s; fix: write %s" % (value, kind, wanted)
    if isinstance(value, float) and not math.isfinite(value):
        return None, "%r is not a finite number; fix: write %s" % (value, wanted)
    if integer and (isinstance(value, float) or value != int(value)):
        return None, "%r is not a whole number; fix: write %s" % (value, wanted)
    if not minimum <= value <= maximum:
        return None, "%r is out of range; fix: write %s" % (value, wanted)
    return (int(value) if integer else value), None


def _plain(bound: float) -> str:
    return ("%d" % bound) if float(bound).is_integer() else ("%g" % bound)


# --- PostgreSQL settings ------------------------------------------------------------------------

# A parameter name as postgresql.conf reads one: `name` or `class.name` (PostgreSQL folds case; the
# collection writes names in lower case).
SETTING_NAME_RE = re.compile(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?")
# Directives and file locations: through `settings` they would make the server read other files or
# move its data, configuration or authentication away from what the collection manages.
SETTING_REFUSED = {
    "include": "an include directive",
    "include_if_exists": "an include directive",
    "include_dir": "an include directive",
    "config_file": "a file location the collection manages",
    "hba_file": "a file location the collection manages",
    "ident_file": "a file location the collection manages",
    "data_directory": "a file location the collection manages",
    "external_pid_file": "a file location outside the data directory",
    "port": "the catalogue's `port` field sets it (preflight checks that port)",
    "dynamic_library_path": "a file location: libraries named without a path would load from it",
    # Shell commands the server runs as the postgres user: no rule can tell a safe one, and the
    # features they belong to (WAL archiving, recovery, the TLS key) are not set through settings.
    "archive_command": "a shell command the server runs as postgres",
    "archive_library": "a library the server loads to archive WAL",
    "restore_command": "a shell command the server runs as postgres",
    "archive_cleanup_command": "a shell command the server runs as postgres",
    "recovery_end_command": "a shell command the server runs as postgres",
    "ssl_passphrase_command": "a shell command the server runs as postgres; the collection's TLS keys have no passphrase",
}
# Settings that load shared libraries: plain names from the server's own library directory
# (installed by packages, owned by root), never a path to a file anyone could have written.
LIBRARY_SETTINGS = ("shared_preload_libraries", "session_preload_libraries", "local_preload_libraries",
                    "jit_provider")
LIBRARY_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def setting_name(key: Any) -> Optional[str]:
    if not isinstance(key, str) or not SETTING_NAME_RE.fullmatch(key):
        return ("key %r is not a PostgreSQL parameter name; fix: use a lower-case name such as work_mem (or "
                "class.name for an extension's setting)" % (key,))
    if key in SETTING_REFUSED:
        return "key %r is refused (%s); fix: remove it from settings" % (key, SETTING_REFUSED[key])
    return None


def setting_value(key: str, value: Any) -> Optional[str]:
    if isinstance(value, (dict, list, tuple, set)) or value is None:
        return "%s must be a single value, got %r; fix: write a string or a number" % (key, value)
    if isinstance(value, float) and not math.isfinite(value):
        return "%s %r is not a finite number; fix: write a number or a quoted string" % (key, value)
    if CONTROL_RE.search(render_value(value)):
        return ("%s %r holds a control character (newline, tab, ...), which a configuration line cannot hold; "
                "fix: write the value on one line without control characters" % (key, value))
    if key in LIBRARY_SETTINGS and render_value(value).strip():
        # Plain names, or $libdir/name (the same directory, spelt out); an empty value loads none.
        names = [part.strip().strip('"') for part in render_value(value).split(",")]
        plain = [name[len("$libdir/"):] if name.startswith("$libdir/") else name for name in names]
        bad = [name for name, bare in zip(names, plain) if not LIBRARY_NAME_RE.fullmatch(bare) or ".." in bare]
        if bad or (key == "jit_provider" and len(names) != 1):
            return ("%s %r names a library by path or in another form (%s); fix: give plain library names "
                    "from the server's library directory, separated by commas, such as pg_stat_statements" % (
                        key, value, ", ".join(repr(b) for b in bad) or "more than one"))
    return None


def settings_problems(settings: Any) -> list[str]:
    """Every problem of a settings mapping (keys and values), without a prefix."""
    if settings is None:
        return []
    if not isinstance(settings, dict):
        return ["settings %r must be a mapping; fix: write it as 'name: value' lines" % (settings,)]
    problems = []
    for key, value in settings.items():
        problem = setting_name(key)
        if problem:
            problems.append("settings %s" % problem)
            continue
        problem = setting_value(key, value)
        if problem:
            problems.append("settings.%s" % problem)
    return problems


def render_value(value: Any) -> str:
    """A value as PostgreSQL reads it: booleans as on/off, everything else as its text."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def quote_setting(value: Any) -> str:
    """The value as a postgresql.conf string literal: in single quotes, a quote doubled and a
    backslash doubled (the configuration parser reads backslash escapes such as \\n inside quotes).
    ValueError for a value no configuration line can hold."""
    text = render_value(value)
    if CONTROL_RE.search(text):
        raise ValueError("setting value %r holds a control character" % text)
    return "'%s'" % text.replace("\\", "\\\\").replace("'", "''")


def unquote_setting(literal: str) -> str:
    """The inverse of quote_setting for the literals it writes (the part between the quotes)."""
    out, i = [], 0
    while i < len(literal):
        char = literal[i]
        if char == "\\" and i + 1 < len(literal):
            out.append(literal[i + 1])
            i += 2
        elif char == "'" and literal[i + 1:i + 2] == "'":
            out.append("'")
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def managed_setting(key: str, managed: Any) -> bool:
    """Whether the security role owns `key` on prod: one of `managed`, or any ssl* setting."""
    return key in managed or key == "ssl" or key.startswith("ssl_")
