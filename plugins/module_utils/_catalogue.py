# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The instance catalogue: schema, defaults and validation (pure functions, no AnsibleModule).

Every problem is collected and returned at once; each message names the instance, the field,
the bad value and the fix.
"""

from __future__ import annotations

import difflib
import math
import re
from typing import Any

from ansible_collections.darevel.postgres.plugins.module_utils import _security, _validate

# Patterns are matched whole (fullmatch): `$` would also match before a trailing newline.
NAME_RE = re.compile(r"[a-z][a-z0-9_]*")
IDENT_MAX = _validate.IDENT_MAX
PORT_MIN, PORT_MAX = 1024, 65535
VERSION_MIN, VERSION_MAX = 13, 18
# field -> (minimum, maximum, whole number): one parser for every number of an entry.
NUMBERS = {
    "port": (PORT_MIN, PORT_MAX, True),
    "version": (VERSION_MIN, VERSION_MAX, True),
    "weight": (0.001, 1000, False),
    "max_connections": (1, 262143, True),  # PostgreSQL's own upper bound
    "connection_limit": (1, 262143, True),
}
RANGES = {"weight": "a number from 0.001 to 1000, e.g. 1", "max_connections": "a whole number from 1 to 262143, "
          "e.g. 100", "connection_limit": "a whole number from 1 to 262143, e.g. 50"}
CPUS_MIN, CPUS_MAX = 0.01, 1024
# Fields matched whole against a pattern of their own (no control character can pass one).
PATTERNED = ("name", "database", "owner", "app_role", "container", "volume", "compose_file", "listen_addresses",
             "clients", "profile", "storage")
# listen_addresses entries: host names and addresses (no quotes, commas or spaces: they are
# joined into one setting value).
LISTEN_RE = re.compile(r"[A-Za-z0-9_.:%*-]+")

# field -> (python types accepted, required, default template or None)
FIELDS: dict[str, tuple[tuple[type, ...], bool, Any]] = {
    "name": ((str,), True, None),
    "port": ((int,), True, None),
    "database": ((str,), True, None),
    "owner": ((str,), False, "{database}_owner"),
    "container": ((str,), False, "darevel-postgres-{name}"),
    "volume": ((str,), False, "darevel-postgres-{name}-data"),
    "purpose": ((str,), False, ""),
    "used_by": ((str,), False, ""),
    "backend_ports": ((str,), False, "N/A"),
    "compose_file": ((str,), False, "apps/{name}/backend/postgres-compose.yml"),
    "version": ((int,), False, None),
    "resources": ((dict,), False, None),
    "settings": ((dict,), False, None),
    "profile": ((str,), False, "mixed"),
    "weight": ((int, float), False, None),
    "max_connections": ((int,), False, None),
    "connection_limit": ((int,), False, None),
    "storage": ((str,), False, "ssd"),
    "app_role": ((str,), False, "{database}_app"),
    "clients": ((list,), False, None),
    "listen_addresses": ((list,), False, None),
    "loopback_tls": ((bool,), False, True),
}
PROFILES = ("web", "oltp", "dw", "mixed", "desktop")
STORAGES = ("ssd", "hdd", "san")
RESOURCE_KEYS = ("memory", "cpus", "memory_reservation", "cpus_reservation")
MEMORY_RE = re.compile(r"[0-9]+(\.[0-9]+)?[bkmgBKMG]?")
# On prod the security role owns these settings (and every ssl* one); through `settings` they could
# weaken what it enforces, so they are refused there with the fix.
PROD_MANAGED = sorted(set(_security.LOGGING) | set(_security.FORCED) | set(_security.PROD)
                      | set(_security.COLLECTOR) | {"log_file_mode", "listen_addresses", "log_directory"})
DESCRIPTIONS = {
    "name": "Instance name; also the cluster name (`postgresql@VERSION-NAME`) and the key of its credentials.",
    "port": "TCP port, unique per catalogue, 1024-65535.",
    "database": "The application's database.",
    "owner": "Role that owns the database; the application logs in as this role.",
    "container": "Container name on the docker runtime.",
    "volume": "Named volume on the docker runtime.",
    "purpose": "What the instance holds (documentation, reports).",
    "used_by": "Which service uses it (documentation, reports).",
    "backend_ports": "Ports of the backend that uses the instance (documentation).",
    "compose_file": "Where the per-app compose file is rendered, relative to the dev directory.",
    "version": "PostgreSQL major version (13-18); `postgres_version` when omitted.",
    "resources": "Docker runtime limits: `memory`, `cpus`, `memory_reservation`, `cpus_reservation` "
                 "(`postgres_docker_resources` when omitted: 512M / 0.5 CPU, reserved 256M / 0.25).",
    "settings": "PostgreSQL settings pinned for this instance (`name: value`); they win over the tuner's.",
    "profile": "Workload for the tuner: `web`, `oltp`, `dw`, `mixed` or `desktop`.",
    "weight": "Share of the host's memory and CPUs relative to the other instances on the host (default 1).",
    "max_connections": "Connections the tuner plans for; the profile's default when omitted.",
    "connection_limit": "Connections each of the instance's login roles (owner, application role) may hold at once "
                        "(`rolconnlimit`, CIS 5.5); when omitted, the instance's `max_connections` less the "
                        "superuser's reserved connections and two. Every other login role of the instance "
                        "without a limit gets the same.",
    "storage": "Storage under the data directory for the tuner: `ssd`, `hdd` or `san`.",
    "app_role": "Role the application uses for its data (connect, read and change rows; no DDL, no "
                "CREATEROLE/CREATEDB/superuser).",
    "clients": "Networks (CIDR) allowed to connect over TCP besides this host; `hostssl` with "
               "scram-sha-256 on prod, `host` on dev; also the instance's firewall rule on prod.",
    "listen_addresses": "Addresses the native instance listens on (`postgres_listen_addresses` when omitted).",
    "loopback_tls": "On prod with TLS, loopback TCP connections need TLS too (`hostssl`, and a `hostnossl ... "
                    "reject` line before every TCP line); `false` keeps plain `host` lines for 127.0.0.1 and ::1.",
}
UNIQUE_FIELDS = ("name", "port", "database", "container", "volume")
# The rules as docs/catalogue.md states them (scripts/gen-docs.py); docs/security.md says why.
RULES = (
    "Rules (each pattern matched whole, so a trailing newline does not pass): `name` matches "
    "`[a-z][a-z0-9_]*` (Debian cluster names may not contain dashes); `database`, `owner` and "
    "`app_role` are unquoted PostgreSQL identifiers (`[a-z_][a-z0-9_]*`, no `$`, at most %d bytes), "
    "not reserved (`postgres`, `template0`, `template1`, `public`, `none`, `current_user`, "
    "`current_role`, `session_user`, `user`, the pg_hba keywords `all`, `replication`, `sameuser`, "
    "`samerole`, `samegroup`, any `pg_*`), and `owner` differs from `app_role`; `port` is in %d-%d and "
    "not held by another process on the target; `version`, `weight` (0.001-1000), `max_connections` "
    "and `connection_limit` (1-262143) and `resources` are finite numbers in range, never booleans; `container` and `volume` "
    "follow Docker's name rule `[a-zA-Z0-9][a-zA-Z0-9_.-]+`; `compose_file` is a relative path without "
    "`.` or `..` segments; `settings` keys are parameter names (`name` or `class.name`), not `include*`, "
    "`config_file`, `hba_file`, `ident_file`, `data_directory`, `external_pid_file`, `port`, "
    "`dynamic_library_path` or a command the server runs (`archive_command`, `archive_library`, "
    "`restore_command`, `archive_cleanup_command`, `recovery_end_command`, `ssl_passphrase_command`); "
    "the `*_preload_libraries` and `jit_provider` values are plain library names; "
    "values hold no control character (on prod, the settings the security role manages are "
    "refused, see docs/security.md); no string holds a control character; unknown keys are refused "
    "with the closest valid key. Defaults in braces are filled from the entry itself."
    % (IDENT_MAX, PORT_MIN, PORT_MAX))

# The seed's table (DATABASE_ARCHITECTURE.md). roles/preflight/defaults/main.yml carries the same
# list as the user-facing default; a unit test keeps the two equal.
SEED: list[dict[str, Any]] = [
    {"name": "infra", "port": 5433, "database": "keycloak", "container": "darevel-postgres-infra",
     "volume": "darevel-postgres-infra", "purpose": "Authentication data only", "used_by": "Keycloak",
     "backend_ports": "N/A", "compose_file": "infrastructure/docker-compose.yml"},
    {"name": "chat", "port": 5434, "database": "darevel_chat", "container": "darevel-postgres-chat",
     "volume": "darevel-postgres-chat-data", "purpose": "Chat messages, users, channels",
     "used_by": "Chat microservices", "backend_ports": "8081-8088",
     "compose_file": "apps/chat/backend-java/postgres-compose.yml"},
    {"name": "slides", "port": 5435, "database": "darevel_slides", "container": "darevel-postgres-slides",
     "volume": "darevel-postgres-slides-data", "purpose": "Presentations and slides",
     "used_by": "Slides service", "backend_ports": "8084",
     "compose_file": "apps/slides/backend/postgres-compose.yml"},
    {"name": "suite", "port": 5436, "database": "darevel_suite", "container": "darevel-postgres-suite",
     "volume": "darevel-postgres-suite-data", "purpose": "User profiles, preferences, integrations",
     "used_by": "Suite/Dashboard service", "backend_ports": "8085",
     "compose_file": "apps/suite/backend/postgres-compose.yml"},
    {"name": "mail", "port": 5437, "database": "darevel_mail", "container": "darevel-postgres-mail",
     "volume": "darevel-postgres-mail-data", "purpose": "Emails and calendar events",
     "used_by": "Mail service", "backend_ports": "8086",
     "compose_file": "apps/mail/backend/postgres-compose.yml"},
    {"name": "sheet", "port": 5438, "database": "darevel_sheet", "container": "darevel-postgres-sheet",
     "volume": "darevel-postgres-sheet-data", "purpose": "Spreadsheet data", "used_by": "Sheet service",
     "backend_ports": "8089", "compose_file": "apps/sheet/backend/postgres-compose.yml"},
]


class _Missing(dict):
    """format_map helper: a missing field renders as '?' so a broken entry still gets defaults."""

    def __missing__(self, key: str) -> str:
        return "?"


def _label(entry: Any, index: int) -> str:
    if isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry["name"]:
        return "instance '%s'" % entry["name"]
    return "instance #%d" % (index + 1)


def _as_int(value: Any) -> Any:
    """Inventory values may arrive as strings ("5434"); accept digits, keep anything else as is."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def _check_keys(entry: dict, label: str) -> list[str]:
    problems = []
    for key in entry:
        if key in FIELDS:
            continue
        close = difflib.get_close_matches(str(key), list(FIELDS), n=1, cutoff=0.5)
        hint = "did you mean '%s'?" % close[0] if close else "valid keys: %s" % ", ".join(sorted(FIELDS))
        problems.append("%s: unknown key '%s'; fix: remove it or rename it (%s)" % (label, key, hint))
    for key, (_types, required, _default) in FIELDS.items():
        if required and entry.get(key) is None:
            problems.append("%s: missing required key '%s'; fix: add '%s' to the entry" % (label, key, key))
    return problems


def _check_types(entry: dict, label: str) -> list[str]:
    problems = []
    for key, (types, _required, _default) in FIELDS.items():
        if key not in entry or entry[key] is None or key in NUMBERS:
            continue  # numbers: _check_numbers
        value = entry[key]
        if types == (dict,):
            if not isinstance(value, dict):
                problems.append("%s: %s %r must be a mapping; fix: write it as 'key: value' lines" % (
                    label, key, value))
            continue
        if types == (bool,):
            if not isinstance(value, bool):
                problems.append("%s: %s %r must be true or false; fix: write true or false, unquoted" % (
                    label, key, value))
            continue
        if types == (list,):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems.append("%s: %s %r must be a list of strings; fix: write it as a YAML list" % (
                    label, key, value))
            continue
        if isinstance(value, bool) or not isinstance(value, types):
            problems.append("%s: %s %r must be a string; fix: write it as a quoted string" % (label, key, value))
    return problems


def _check_numbers(entry: dict, label: str) -> list[str]:
    """Every number of an entry through one parser: finite, in range, no booleans (nan and inf
    pass a `<= 0` check and would crash the tuner later)."""
    problems = []
    for key, (low, high, whole) in NUMBERS.items():
        value = entry.get(key)
        if value is None:
            continue
        _number, problem = _validate.number(value, low, high, whole, strings=False)
        if not problem:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and isinstance(value, float)):
            problems.append("%s: %s %r must be %s; fix: write it as a plain number" % (
                label, key, value, "an integer" if whole else "a number"))
        elif not math.isfinite(value):
            problems.append("%s: %s %r is not a finite number; fix: write %s" % (
                label, key, value, RANGES[key]))
        elif key == "port":
            problems.append("%s: port %d is outside %d-%d; fix: choose a free port in that range (the seed uses "
                            "5433-5438)" % (label, value, PORT_MIN, PORT_MAX))
        elif key == "version":
            problems.append("%s: version %d is not a supported PostgreSQL major version; fix: use %d-%d" % (
                label, value, VERSION_MIN, VERSION_MAX))
        else:
            problems.append("%s: %s %r %s; fix: write %s" % (
                label, key, value, "must be positive" if value <= 0 else "is too large", RANGES[key]))
    return problems


def _check_strings(entry: dict, label: str) -> list[str]:
    """No string of the catalogue may carry a control character: each reaches a file (compose and
    env files, pg_hba, configuration, reports) where a newline starts a line of its own."""
    problems = []
    for key, value in entry.items():
        if key in PATTERNED:
            continue  # refused by their own pattern, with a more precise fix
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, str) and _validate.CONTROL_RE.search(item):
                problems.append("%s: %s %r holds a control character (newline, tab, ...); fix: write it on one "
                                "line without control characters" % (label, key, item))
    return problems


def _check_resources(entry: dict, label: str) -> list[str]:
    return ["%s: %s" % (label, p) for p in resources_problems(entry.get("resources"))]


def resources_problems(resources: Any, prefix: str = "resources") -> list[str]:
    """Docker limits (the catalogue's `resources` or postgres_docker_resources)."""
    if not isinstance(resources, dict):
        return []
    problems = []
    for key, value in resources.items():
        if key not in RESOURCE_KEYS:
            close = difflib.get_close_matches(str(key), RESOURCE_KEYS, n=1, cutoff=0.5)
            problems.append("%s has unknown key '%s'; fix: %s" % (
                prefix, key, "did you mean '%s'?" % close[0] if close else "use " + ", ".join(RESOURCE_KEYS)))
        elif key.startswith("memory"):
            if isinstance(value, bool) or not MEMORY_RE.fullmatch(str(value)) or \
                    float(re.sub(r"[bkmgBKMG]\Z", "", str(value))) <= 0:
                problems.append("%s.%s %r is not a size; fix: write it like 512M or 1G" % (prefix, key, value))
        else:
            _number, problem = _validate.number(value, CPUS_MIN, CPUS_MAX)
            if problem:
                problems.append("%s.%s is not a number of CPUs: %s (like 0.5)" % (prefix, key, problem))
    return problems


def _check_settings(entry: dict, label: str) -> list[str]:
    return ["%s: %s" % (label, p) for p in _validate.settings_problems(entry.get("settings"))]


def _check_values(entry: dict, label: str) -> list[str]:
    problems = []
    name = entry.get("name")
    if isinstance(name, str) and not NAME_RE.fullmatch(name):
        problems.append("%s: name %r must match ^[a-z][a-z0-9_]*$ (it names the cluster, and Debian "
                        "cluster names may not contain dashes); fix: use e.g. %r" % (
                            label, name, re.sub(r"[^a-z0-9_]", "_", name.lower()).lstrip("0123456789_") or "app"))
    for key in ("database", "owner", "app_role"):
        value = entry.get(key)
        if isinstance(value, str):
            problem = _validate.identifier(value)
            if problem:
                problems.append("%s: %s %s" % (label, key, problem))
    for key in ("container", "volume"):
        value = entry.get(key)
        if isinstance(value, str):
            problem = _validate.docker_name(value, key)
            if problem:
                problems.append("%s: %s %s" % (label, key, problem))
    compose = entry.get("compose_file")
    if isinstance(compose, str):
        problem = _validate.relative_path(compose)
        if problem:
            problems.append("%s: compose_file %s (relative to postgres_dev_dir)" % (label, problem))
    addresses = entry.get("listen_addresses")
    for address in addresses if isinstance(addresses, list) else []:
        if isinstance(address, str) and not LISTEN_RE.fullmatch(address):
            problems.append("%s: listen_addresses entry %r is not a host name or address; fix: write one name or "
                            "address per list item, like 10.0.0.5" % (label, address))
    for key, allowed in (("profile", PROFILES), ("storage", STORAGES)):
        value = entry.get(key)
        if isinstance(value, str) and value not in allowed:
            close = difflib.get_close_matches(value, allowed, n=1, cutoff=0.5)
            problems.append("%s: %s %r is not one of %s; fix: %s" % (
                label, key, value, ", ".join(allowed), "did you mean %r?" % close[0] if close else "pick one"))
    return problems


def managed_settings_problems(instances: list[dict], environment: str) -> list[str]:
    """On prod, the settings the security role manages cannot come from the catalogue's `settings`."""
    if environment != "prod":
        return []
    problems = []
    for instance in instances:
        settings = instance.get("settings") if isinstance(instance, dict) else None
        if not isinstance(settings, dict):
            continue
        for key in sorted(k for k in settings if isinstance(k, str)):
            if _validate.managed_setting(key, PROD_MANAGED):
                fix = "list the addresses in the entry's listen_addresses field" if key == "listen_addresses" \
                    else "remove it; the security role sets it on prod (docs/security.md)"
                problems.append("instance '%s': settings.%s %r is managed by the security role on prod and "
                                "cannot be set through the catalogue; fix: %s" % (
                                    instance.get("name"), key, settings[key], fix))
    return problems


def _check_unique(entries: list[dict]) -> list[str]:
    problems = []
    for key in UNIQUE_FIELDS:
        seen: dict[Any, str] = {}
        for index, entry in enumerate(entries):
            value = entry.get(key)
            if value is None or isinstance(value, (list, dict)):
                continue  # missing or of the wrong type: reported by the other checks
            label = _label(entry, index)
            if value in seen:
                problems.append("%s: %s %r is already used by %s; fix: give each instance its own %s" % (
                    label, key, value, seen[value], key))
            else:
                seen[value] = label
    return problems


def with_defaults(entry: dict, version: int) -> dict:
    """Return the entry with every optional field filled from its default template."""
    result = dict(entry)
    for key in ("port", "version"):
        if key in result:
            result[key] = _as_int(result[key])
    for key, (_types, _required, default) in FIELDS.items():
        if result.get(key) is None:
            if key == "version":
                result[key] = version
            elif isinstance(default, str):
                result[key] = default.format_map(_Missing(result))
            elif default is not None:
                result[key] = default
    return result


def enabled_names(enabled: Any, entries: list[dict]) -> list[str]:
    names = [e.get("name") for e in entries if isinstance(e, dict)]
    if enabled in (None, "all", ["all"]):
        return [n for n in names if isinstance(n, str)]
    if isinstance(enabled, str):
        enabled = [part.strip() for part in enabled.split(",") if part.strip()]
    return list(enabled)


def validate(instances: Any, enabled: Any = "all", version: int = 15) -> tuple[list[dict], list[str]]:
    """Check the whole catalogue; return (enabled instances with defaults, problems)."""
    if not isinstance(instances, list):
        return [], ["postgres_instances must be a list of instance entries, got %s; fix: write it as a "
                    "YAML list" % type(instances).__name__]
    problems: list[str] = []
    entries: list[dict] = []
    for index, raw in enumerate(instances):
        label = _label(raw, index)
        if not isinstance(raw, dict):
            problems.append("%s: entry must be a mapping, got %r; fix: write it as 'name: ..., port: ...'"
                            % (label, raw))
            continue
        raw = dict(raw)
        for key in ("port", "version"):
            if key in raw:
                raw[key] = _as_int(raw[key])
        problems += _check_keys(raw, label) + _check_types(raw, label) + _check_numbers(raw, label)
        problems += _check_strings(raw, label) + _check_values(raw, label)
        problems += _check_resources(raw, label) + _check_settings(raw, label)
        entries.append(raw)
    filled = [with_defaults(e, version) for e in entries]
    problems += _check_unique(filled)
    for index, (raw, entry) in enumerate(zip(entries, filled)):
        for key in ("owner", "app_role"):
            if raw.get(key) is None and _validate.identifier(raw.get("database")) is None:
                # A derived role (<database>_owner) can pass 63 bytes although the database does not.
                problems += [p.replace("%s '" % key, "%s (derived from the database) '" % key, 1)
                             for p in _check_values({key: entry[key]}, _label(raw, index))]
        if isinstance(entry.get("owner"), str) and entry.get("owner") == entry.get("app_role"):
            problems.append("%s: owner and app_role are both %r, but they are two roles with two passwords (the "
                            "owner's for DDL, the application's for rows); fix: give each its own name (defaults "
                            "<database>_owner and <database>_app)" % (_label(raw, index), entry["owner"]))
    wanted = enabled_names(enabled, entries)
    known = [e.get("name") for e in entries]
    for name in wanted:
        if name not in known:
            close = difflib.get_close_matches(str(name), [k for k in known if isinstance(k, str)], n=1)
            problems.append("postgres_instances_enabled: %r is not in the catalogue; fix: %s" % (
                name, "did you mean %r?" % close[0] if close else "use one of %s" % ", ".join(map(str, known))))
    if problems:
        return [], problems
    return [e for e in filled if e["name"] in wanted], []


def docker_problems(settings: Any, resources: Any) -> list[str]:
    """The inventory's postgres_docker_settings and postgres_docker_resources, by the rules of the
    catalogue's own `settings` and `resources`."""
    problems = ["host: postgres_docker_%s" % p for p in _validate.settings_problems(settings)]
    if resources is not None and not isinstance(resources, dict):
        problems.append("host: postgres_docker_resources %r must be a mapping; fix: write it as 'key: value' "
                        "lines" % (resources,))
    problems += ["host: %s" % p for p in resources_problems(resources, "postgres_docker_resources")]
    return problems
