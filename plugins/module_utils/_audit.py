# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The security audit's controls, as pure functions of the evidence. Private to darevel.postgres.

pg_audit collects the evidence of one instance (settings, pg_hba rules, roles, databases, file
modes) into a dict; `evaluate` runs every control on it. Each control has our id, the closest
recommendation of the CIS PostgreSQL 15 Benchmark (v1.1.0 numbering), a severity, a check that
returns (status, evidence) and the fix. Evidence never holds a password or a verifier.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ipaddress
import re
from typing import Callable, NamedTuple, Optional

from ansible_collections.darevel.postgres.plugins.module_utils import _scram

PASS, FAIL, NA = "pass", "fail", "not_applicable"
# An instance that could not be read: none of its controls was checked (never counted as failed or passed).
NOT_AUDITED = "not_audited"
# A control of a feature the collection does not configure yet (WAL archiving, physical backups).
NOT_CONFIGURED = "not_configured"
SEVERITIES = ("high", "medium", "low")
LOOPBACK = {"localhost", "127.0.0.1", "::1"}
UTC_ZONES = {"UTC", "Etc/UTC", "UCT", "Etc/UCT", "GMT", "Etc/GMT", "Zulu", "Etc/Zulu", "Universal", "Etc/Universal"}
VERBOSE_ENOUGH = ("debug5", "debug4", "debug3", "debug2", "debug1", "info", "notice", "warning")
TLS_VERSIONS = {"TLSv1": 10, "TLSv1.1": 11, "TLSv1.2": 12, "TLSv1.3": 13}
# End of community support of each major version (https://www.postgresql.org/support/versioning/).
END_OF_LIFE = {12: "2024-11-21", 13: "2025-11-13", 14: "2026-11-12", 15: "2027-11-11", 16: "2028-11-09",
               17: "2029-11-08", 18: "2030-11-14"}
# The settings pg_audit reads from pg_settings.
SETTINGS = ("data_directory", "config_file", "hba_file", "ident_file", "listen_addresses", "password_encryption",
            "ssl", "ssl_min_protocol_version", "ssl_key_file", "ssl_cert_file", "data_checksums", "logging_collector",
            "log_destination", "log_file_mode", "log_min_messages", "log_min_error_statement", "debug_print_parse",
            "debug_print_rewritten", "debug_print_plan", "log_connections", "log_disconnections",
            "log_error_verbosity", "log_hostname", "log_line_prefix", "log_statement", "log_timezone",
            "shared_preload_libraries", "authentication_timeout", "server_version_num", "ssl_ciphers",
            "auth_delay.milliseconds", "unix_socket_permissions", "archive_mode", "archive_command",
            "archive_library", "log_directory", "log_filename", "log_truncate_on_rotation", "log_rotation_age",
            "log_replication_commands")
# ssl_ciphers elements that name key exchanges with forward secrecy (OpenSSL's names and aliases).
FORWARD_SECRET = ("ECDHE", "DHE", "EECDH", "EDH", "kECDHE", "kDHE", "kEECDH", "kEDH", "TLS_")
WEAK_PASSWORDS = ("postgres", "password", "changeme", "admin", "secret", "123456")


class Control(NamedTuple):
    id: str
    cis: str
    title: str
    severity: str
    fix: str
    check: Callable[[dict], tuple[str, str]]


CONTROLS: list[Control] = []


def control(ident: str, cis: str, severity: str, title: str, fix: str):
    """Register a check function as a control."""
    def register(check: Callable[[dict], tuple[str, str]]):
        CONTROLS.append(Control(ident, cis, title, severity, fix, check))
        return check
    return register


# --------------------------------------------------------------------------- helpers


def setting(ev: dict, name: str) -> str:
    return str((ev.get("settings") or {}).get(name, ""))


def one_of(ev: dict, name: str, allowed) -> tuple[str, str]:
    """PASS when the setting is one of `allowed`; the evidence is the setting as the server has it."""
    value = setting(ev, name)
    return (PASS if value in allowed else FAIL), "%s = %s" % (name, value)


def on(ev: dict, name: str) -> bool:
    return setting(ev, name).lower() in ("on", "true", "yes", "1")


def mode_text(mode: Optional[int]) -> str:
    return "-" if mode is None else "%04o" % mode


def file_fact(ev: dict, key: str) -> Optional[dict]:
    return (ev.get("files") or {}).get(key)


def describe_file(fact: dict) -> str:
    return "%s: %s %s:%s" % (fact["path"], mode_text(fact.get("mode")), fact.get("owner"), fact.get("group"))


def mode_check(ev: dict, key: str, allowed: int, owner: bool = True) -> tuple[str, str]:
    """Pass when the file exists, has no permission bit outside `allowed` and (with `owner`) belongs
    to the server's OS user."""
    fact = file_fact(ev, key)
    if not fact or not fact.get("path"):
        return NA, "no %s for this instance" % key.replace("_", " ")
    if fact.get("mode") is None:
        return FAIL, "%s: cannot be read (%s)" % (fact["path"], fact.get("error") or "missing")
    problems = []
    if fact["mode"] & ~allowed & 0o7777:
        problems.append("mode %s allows more than %s" % (mode_text(fact["mode"]), mode_text(allowed)))
    user = ev.get("server_user") or "postgres"
    if owner and fact.get("owner") not in (user, "root"):
        problems.append("owner %s is neither %s nor root" % (fact.get("owner"), user))
    return (FAIL if problems else PASS), describe_file(fact) + ("; " + "; ".join(problems) if problems else "")


def listen_list(value: str) -> list[str]:
    return [a.strip() for a in value.split(",") if a.strip()]


def is_prod(ev: dict) -> bool:
    return ev.get("environment") == "prod"


def ssl_off(ev: dict, name: str) -> tuple[str, str]:
    """A TLS setting's control with TLS off: not applicable (DP-TLS-01 says whether TLS must be on)."""
    return NA, "ssl = off (%s = %s)" % (name, setting(ev, name) or "-")


def native(ev: dict) -> bool:
    return ev.get("runtime") != "docker"


def libraries(ev: dict) -> list[str]:
    return [part.strip().strip('"') for part in setting(ev, "shared_preload_libraries").split(",") if part.strip()]


def cipher_problems(value: str) -> list[str]:
    """The elements of an ssl_ciphers list that admit suites without forward secrecy: every element
    that adds suites (not `!`, `-` or `+` ones, not @STRENGTH) must name an ECDHE or DHE key exchange."""
    bad = []
    for element in [e.strip() for e in re.split(r"[:, ]+", value) if e.strip()]:
        if element[0] in "!-+" or element.startswith("@"):
            continue
        if not any(part.startswith(FORWARD_SECRET) for part in element.split("+")):
            bad.append(element)
    return bad


def login_roles(ev: dict) -> list[dict]:
    return [r for r in ev.get("roles") or [] if r.get("login")]


def bootstrap(ev: dict) -> str:
    """The bootstrap superuser (oid 10): postgres natively, POSTGRES_USER in the official image."""
    for role in ev.get("roles") or []:
        if role.get("oid") == 10:
            return role["name"]
    return "postgres"


def hba_rules(ev: dict) -> list[dict]:
    return [r for r in ev.get("hba") or [] if not r.get("error")]


def rule_text(rule: dict) -> str:
    parts = [rule.get("type") or "?", ",".join(rule.get("database") or []), ",".join(rule.get("user") or [])]
    if rule.get("type", "").startswith("host"):
        parts.append(network_text(rule))
    return "line %s: %s %s" % (rule.get("line"), " ".join(parts), rule.get("method"))


def network_text(rule: dict) -> str:
    address, netmask = rule.get("address") or "", rule.get("netmask") or ""
    if address in ("all", "samehost", "samenet") or not netmask:
        return address or "all"
    try:
        prefix = bin(int(ipaddress.ip_address(netmask))).count("1")
        return str(ipaddress.ip_network("%s/%d" % (address, prefix), strict=False))
    except ValueError:
        return "%s/%s" % (address, netmask)


def is_wide(rule: dict) -> bool:
    """A host rule that admits any address: `all`, 0.0.0.0/0 or ::/0 (any prefix of 0 bits)."""
    if not rule.get("type", "").startswith("host"):
        return False
    text = network_text(rule)
    return text == "all" or text.endswith("/0")


def is_loopback_rule(rule: dict) -> bool:
    text = network_text(rule)
    if text in ("samehost",) or text in LOOPBACK:
        return True
    try:
        return ipaddress.ip_network(text, strict=False).is_loopback
    except ValueError:
        return False


def names(items) -> str:
    return ", ".join(items) if items else "none"


# --------------------------------------------------------------------------- installation (CIS 1)


@control("DP-INST-01", "1.3", "high", "Data checksums are enabled",
         "checksums are chosen at initdb: dump and restore into an instance created by darevel.postgres "
         "(initdb --data-checksums), or run pg_checksums --enable on the stopped instance")
def _checksums(ev):
    value = setting(ev, "data_checksums") or "unknown"
    return (PASS if value == "on" else FAIL), "data_checksums = %s" % value


@control("DP-INST-02", "1.4", "medium", "The server's major version is supported by the PostgreSQL project",
         "upgrade to a supported major version (set the instance's version and migrate); keep minor releases "
         "current through the OS packages")
def _version(ev):
    num = int(ev.get("server_version_num") or 0)
    major = num // 10000
    eol = END_OF_LIFE.get(major)
    today = ev.get("today") or datetime.date.today().isoformat()
    shown = "server %s" % (ev.get("server_version") or num)
    if eol is None:
        return (PASS if major > max(END_OF_LIFE) else FAIL), "%s; major %d is %s" % (
            shown, major, "newer than the support table" if major > max(END_OF_LIFE) else "out of support")
    return (PASS if today <= eol else FAIL), "%s; major %d supported until %s" % (shown, major, eol)


@control("DP-INST-03", "1.5", "low", "Only allowed extensions are installed",
         "DROP EXTENSION the ones not needed, or add them to postgres_audit_extensions_allowed (or the "
         "instance's extensions) when they are meant to be there")
def _extensions(ev):
    allowed = set(ev.get("extensions_allowed") or []) | {"plpgsql"}
    extra = sorted({"%s.%s" % (db["name"], ext) for db in ev.get("databases") or []
                    for ext in db.get("extensions") or [] if ext not in allowed})
    installed = sorted({ext for db in ev.get("databases") or [] for ext in db.get("extensions") or []})
    if extra:
        return FAIL, "not allowed: %s (allowed: %s)" % (names(extra), names(sorted(allowed)))
    return PASS, "installed: %s" % names(installed)


# --------------------------------------------------------------------------- files (CIS 2)


@control("DP-FILE-01", "2.2", "high", "The data directory is mode 0700",
         "chmod 0700 the data directory")
def _data_mode(ev):
    return mode_check(ev, "data_directory", 0o700, owner=False)


@control("DP-FILE-02", "2.2", "high", "The data directory belongs to the server's OS user",
         "chown -R postgres:postgres the data directory")
def _data_owner(ev):
    fact = file_fact(ev, "data_directory")
    if not fact or fact.get("owner") is None:
        return FAIL, "data directory: cannot be read (%s)" % ((fact or {}).get("error") or "missing")
    user = ev.get("server_user") or "postgres"
    return (PASS if fact["owner"] == user else FAIL), describe_file(fact)


@control("DP-FILE-03", "2.4", "high", "pg_hba.conf is 0640 or stricter and belongs to the server's OS user or root",
         "chmod 0640 and chown postgres the instance's pg_hba.conf")
def _hba_file(ev):
    return mode_check(ev, "hba_file", 0o640)


@control("DP-FILE-04", "2.4", "medium", "pg_ident.conf is 0640 or stricter and belongs to the server's OS user or root",
         "chmod 0640 and chown postgres the instance's pg_ident.conf")
def _ident_file(ev):
    return mode_check(ev, "ident_file", 0o640)


@control("DP-FILE-05", "2.1", "medium", "postgresql.conf is 0640 or stricter and belongs to the server's OS user or root",
         "chmod 0640 the instance's postgresql.conf (nobody but postgres and its group reads the configuration)")
def _config_file(ev):
    return mode_check(ev, "config_file", 0o640)


@control("DP-FILE-06", "6.8", "high", "The TLS private key is 0600 (or 0640 owned by root) and not readable by others",
         "chmod 0600 the key file named by ssl_key_file and chown it to postgres")
def _key_file(ev):
    if not on(ev, "ssl"):
        return NA, "ssl = off: no private key in use"
    fact = file_fact(ev, "ssl_key_file")
    status, text = mode_check(ev, "ssl_key_file", 0o640 if fact and fact.get("owner") == "root" else 0o600)
    return (FAIL if status == NA else status), text


@control("DP-FILE-07", "3.1.6", "medium", "The server log file is not readable by others (0640 or stricter)",
         "chmod 0640 (or 0600) the instance's log file; with logging_collector set log_file_mode = 0600")
def _log_file(ev):
    if ev.get("runtime") == "docker":
        return NA, "the server logs to stderr, kept by the Docker engine (docker logs)"
    return mode_check(ev, "log_file", 0o640)


# --------------------------------------------------------------------------- logging (CIS 3)


@control("DP-LOG-01", "3.1.2-3.1.7", "medium", "The server log goes to a kept destination (prod, native: the "
         "logging collector's own files, rotated and truncated)",
         "prod: set logging_collector = on with log_directory, log_filename and log_truncate_on_rotation = on, and "
         "restart (the prod converge does); dev: keep stderr captured by the service (postgresql-common's log file, "
         "the collection's unit, the Docker engine)")
def _log_destination(ev):
    dest = setting(ev, "log_destination") or "stderr"
    if is_prod(ev) and native(ev):
        # CIS 3.1.3: stderr kept by the service is not enough on prod; the collector writes the files.
        wanted = {"logging_collector": on(ev, "logging_collector"), "log_directory": bool(setting(ev, "log_directory")),
                  "log_filename": bool(setting(ev, "log_filename")),
                  "log_truncate_on_rotation": on(ev, "log_truncate_on_rotation")}
        missing = [name for name, ok in wanted.items() if not ok]
        text = "logging_collector = %s, log_directory = %s, log_filename = %s, log_truncate_on_rotation = %s" % tuple(
            setting(ev, name) or "-" for name in wanted)
        return (FAIL, text + "; not set: " + ", ".join(missing)) if missing else (PASS, text)
    if on(ev, "logging_collector"):
        return PASS, "logging_collector = on, log_destination = %s" % dest
    if ev.get("runtime") == "docker":
        return PASS, "log_destination = %s, kept by the Docker engine (docker logs)" % dest
    fact = file_fact(ev, "log_file")
    if fact and fact.get("mode") is not None:
        return PASS, "log_destination = %s, captured in %s" % (dest, fact["path"])
    return FAIL, "logging_collector = off and no log file found (%s)" % ((fact or {}).get("path") or "none known")


@control("DP-LOG-02", "3.1.6", "low", "log_file_mode is 0600",
         "set log_file_mode = 0600")
def _log_file_mode(ev):
    value = setting(ev, "log_file_mode")
    try:
        mode = int(value, 8)
    except ValueError:
        return FAIL, "log_file_mode = %r" % value
    return (PASS if mode & ~0o600 == 0 else FAIL), "log_file_mode = %s" % value


@control("DP-LOG-03", "3.1.14", "low", "log_min_messages is warning or more detailed",
         "set log_min_messages = warning")
def _log_min_messages(ev):
    return one_of(ev, "log_min_messages", VERBOSE_ENOUGH)


@control("DP-LOG-04", "3.1.15", "low", "log_min_error_statement is error or more detailed",
         "set log_min_error_statement = error")
def _log_min_error_statement(ev):
    return one_of(ev, "log_min_error_statement", VERBOSE_ENOUGH + ("error",))


@control("DP-LOG-05", "3.1.16-3.1.18", "low", "debug_print_parse, debug_print_rewritten and debug_print_plan are off",
         "set the debug_print_* settings to off")
def _debug_print(ev):
    found = ["%s = %s" % (n, setting(ev, n)) for n in ("debug_print_parse", "debug_print_rewritten", "debug_print_plan")]
    return (FAIL if any(f.endswith("= on") for f in found) else PASS), ", ".join(found)


@control("DP-LOG-06", "3.1.20", "medium", "log_connections is on",
         "set log_connections = on")
def _log_connections(ev):
    return (PASS if on(ev, "log_connections") else FAIL), "log_connections = %s" % setting(ev, "log_connections")


@control("DP-LOG-07", "3.1.21", "medium", "log_disconnections is on",
         "set log_disconnections = on")
def _log_disconnections(ev):
    return (PASS if on(ev, "log_disconnections") else FAIL), "log_disconnections = %s" % setting(
        ev, "log_disconnections")


@control("DP-LOG-08", "3.1.22", "low", "log_error_verbosity is verbose on prod (default or verbose on dev)",
         "set log_error_verbosity = verbose (the prod converge does)")
def _log_error_verbosity(ev):
    return one_of(ev, "log_error_verbosity", ("verbose",) if is_prod(ev) else ("default", "verbose"))


@control("DP-LOG-09", "3.1.23", "low", "log_hostname is off",
         "set log_hostname = off (a DNS lookup per connection; the address is logged anyway)")
def _log_hostname(ev):
    return (FAIL if on(ev, "log_hostname") else PASS), "log_hostname = %s" % setting(ev, "log_hostname")


@control("DP-LOG-10", "3.1.24", "medium", "log_line_prefix names the time, the process, the user and the database",
         "set log_line_prefix to include %m (or %t), %p (or %c), %u and %d, for example '%m [%p] %q%u@%d '")
def _log_line_prefix(ev):
    value = setting(ev, "log_line_prefix")
    wanted = {"time": ("%m", "%t", "%n"), "process": ("%p", "%c"), "user": ("%u",), "database": ("%d",)}
    missing = [what for what, escapes in wanted.items() if not any(e in value for e in escapes)]
    text = "log_line_prefix = %r" % value
    return (FAIL, text + "; missing: " + ", ".join(missing)) if missing else (PASS, text)


@control("DP-LOG-11", "3.1.25", "medium", "log_statement records at least DDL",
         "set log_statement = ddl (or mod)")
def _log_statement(ev):
    return one_of(ev, "log_statement", ("ddl", "mod", "all"))


@control("DP-LOG-12", "3.1.26", "low", "log_timezone is UTC",
         "set log_timezone = 'UTC'")
def _log_timezone(ev):
    return one_of(ev, "log_timezone", UTC_ZONES)


@control("DP-LOG-13", "3.2", "low", "pgAudit (session audit logging)",
         "install the pgaudit package and add pgaudit to shared_preload_libraries if object-level audit is required")
def _pgaudit(ev):
    libraries = setting(ev, "shared_preload_libraries")
    if "pgaudit" in listen_list(libraries):
        return PASS, "shared_preload_libraries = %s" % libraries
    return NA, "pgaudit is not part of this architecture (no OS package for every runtime); DDL is logged " \
               "through log_statement (DP-LOG-11) and connections through DP-LOG-06/07"


@control("DP-LOG-14", "7.2", "low", "Replication commands are logged on prod",
         "set log_replication_commands = on (the prod converge does)")
def _log_replication(ev):
    if not is_prod(ev):
        return NA, "log_replication_commands = %s; dev" % (setting(ev, "log_replication_commands") or "-")
    return (PASS if on(ev, "log_replication_commands") else FAIL), \
        "log_replication_commands = %s" % (setting(ev, "log_replication_commands") or "-")


# --------------------------------------------------------------------------- roles and privileges (CIS 4)


@control("DP-ROLE-01", "4.2", "high", "Only the bootstrap superuser is a superuser",
         "ALTER ROLE <name> NOSUPERUSER for every other role")
def _superusers(ev):
    supers = sorted(r["name"] for r in ev.get("roles") or [] if r.get("super"))
    boot = bootstrap(ev)
    others = [s for s in supers if s != boot]
    return (FAIL if others else PASS), "superusers: %s (bootstrap: %s)" % (names(supers), boot)


@control("DP-ROLE-02", "4.2", "medium", "No other role holds CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS",
         "ALTER ROLE <name> NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS")
def _role_attributes(ev):
    boot = bootstrap(ev)
    found = []
    for role in ev.get("roles") or []:
        attrs = [a.upper() for a in ("createrole", "createdb", "replication", "bypassrls") if role.get(a)]
        if attrs and role["name"] != boot and not role.get("super"):
            found.append("%s (%s)" % (role["name"], " ".join(attrs)))
    return (FAIL if found else PASS), "roles with such attributes: %s" % names(found)


@control("DP-ROLE-03", "5.2", "high", "Every login role but the bootstrap superuser has a SCRAM-SHA-256 password",
         "set a password as a SCRAM verifier (the next converge does it for the roles it manages) or ALTER ROLE "
         "<name> NOLOGIN")
def _login_passwords(ev):
    boot = bootstrap(ev)
    bad = ["%s (%s)" % (r["name"], {"none": "no password"}.get(r.get("password"), r.get("password")))
           for r in login_roles(ev) if r["name"] != boot and r.get("password") != "scram"]
    shown = names(sorted(r["name"] for r in login_roles(ev)))
    return (FAIL if bad else PASS), "login roles: %s; without a SCRAM password: %s" % (shown, names(bad))


@control("DP-ROLE-04", "5.3", "high", "No login role uses a well-known password (postgres, password, its own name, "
         "the database name ...)",
         "rotate the role's password (postgres_owner_passwords from Ansible Vault, or let the converge generate one)")
def _weak_passwords(ev):
    weak = sorted(ev.get("weak_passwords") or [])
    return (FAIL if weak else PASS), "roles with a well-known password: %s" % names(weak)


@control("DP-ROLE-05", "4.2", "high", "The application role has least privilege (login; no superuser, CREATEDB, "
         "CREATEROLE, REPLICATION or BYPASSRLS)",
         "ALTER ROLE <app role> NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")
def _app_role(ev):
    wanted = ev.get("app_role")
    if not wanted:
        return NA, "no application role in the catalogue for this instance"
    role = next((r for r in ev.get("roles") or [] if r["name"] == wanted), None)
    if role is None:
        return FAIL, "application role %s does not exist" % wanted
    attrs = [a.upper() for a in ("super", "createdb", "createrole", "replication", "bypassrls") if role.get(a)]
    return (FAIL if attrs else PASS), "%s: %s" % (wanted, ", ".join(attrs) if attrs else "login, no extra attributes")


@control("DP-ROLE-07", "5.5", "medium", "Every login role has a connection limit",
         "ALTER ROLE <name> CONNECTION LIMIT <n> (the converge sets the catalogue's connection_limit for the owner "
         "and application roles, and that default for every other login role without one; PostgreSQL does not "
         "apply it to superusers, whom superuser_reserved_connections serves)")
def _connection_limits(ev):
    unlimited = sorted(r["name"] for r in login_roles(ev) if int(r.get("connlimit", -1)) < 0)
    return (FAIL if unlimited else PASS), "login roles without a connection limit: %s" % names(unlimited)


@control("DP-ROLE-06", "4.2", "high", "The database owner role is not a superuser",
         "ALTER ROLE <owner> NOSUPERUSER (docker runtime: see docs/security.md)")
def _owner_role(ev):
    owner = ev.get("owner")
    role = next((r for r in ev.get("roles") or [] if r["name"] == owner), None)
    if role is None:
        return FAIL, "owner role %s does not exist" % owner
    if role.get("super"):
        docker = ev.get("runtime") == "docker" and owner == bootstrap(ev)
        return FAIL, "%s is a superuser%s" % (owner, " (the image's POSTGRES_USER)" if docker else "")
    return PASS, "%s is not a superuser" % owner


@control("DP-PRIV-01", "4.8", "medium", "PUBLIC cannot CREATE in schema public in any database",
         "REVOKE CREATE ON SCHEMA public FROM PUBLIC in each database named")
def _public_create(ev):
    dbs = [db for db in ev.get("databases") or [] if db.get("allowconn")]
    bad = sorted(db["name"] for db in dbs if db.get("public_create"))
    return (FAIL if bad else PASS), "databases where PUBLIC may create in public: %s (checked: %s)" % (
        names(bad), names(sorted(db["name"] for db in dbs)))


@control("DP-PRIV-03", "4.10", "medium", "On prod PUBLIC cannot use schema public in any database",
         "REVOKE ALL ON SCHEMA public FROM PUBLIC in each database named and GRANT USAGE to the roles that need it "
         "(the prod converge does)")
def _public_usage(ev):
    dbs = [db for db in ev.get("databases") or [] if db.get("allowconn")]
    open_ = sorted(db["name"] for db in dbs if db.get("public_usage"))
    found = "databases where PUBLIC may use public: %s (checked: %s)" % (names(open_), names(sorted(
        db["name"] for db in dbs)))
    if not is_prod(ev):
        return NA, "%s; dev: not required" % found
    return (FAIL if open_ else PASS), found


@control("DP-PRIV-02", "4.4", "medium", "PUBLIC cannot CONNECT to the application database",
         "REVOKE CONNECT ON DATABASE <db> FROM PUBLIC and GRANT CONNECT to the owner and application roles")
def _public_connect(ev):
    wanted = ev.get("database")
    db = next((d for d in ev.get("databases") or [] if d["name"] == wanted), None)
    if db is None:
        return FAIL, "database %s does not exist" % wanted
    return (FAIL if db.get("public_connect") else PASS), "%s: PUBLIC %s CONNECT" % (
        wanted, "has" if db.get("public_connect") else "has no")


# --------------------------------------------------------------------------- connections (CIS 5)


@control("DP-HBA-01", "5.1, 5.2", "high", "pg_hba.conf has no trust line",
         "replace trust with peer (local) or scram-sha-256 (host); the next converge rewrites pg_hba.conf")
def _hba_trust(ev):
    bad = [rule_text(r) for r in hba_rules(ev) if r.get("method") == "trust"]
    return (FAIL if bad else PASS), "trust lines: %s" % ("; ".join(bad) or "none")


@control("DP-HBA-02", "5.2", "high", "Password lines use scram-sha-256, never md5 or password",
         "use scram-sha-256 for every password line; the next converge rewrites pg_hba.conf")
def _hba_password(ev):
    bad = [rule_text(r) for r in hba_rules(ev) if r.get("method") in ("md5", "password")]
    return (FAIL if bad else PASS), "md5/password lines: %s" % ("; ".join(bad) or "none")


@control("DP-HBA-03", "5.6", "high", "No pg_hba line admits every address (all, 0.0.0.0/0, ::/0) unless allowed",
         "name the client networks instead, or allow it explicitly (postgres_hba_allow_any) if meant")
def _hba_wide(ev):
    wide = [rule_text(r) for r in hba_rules(ev) if is_wide(r) and r.get("method") != "reject"]
    if not wide:
        return PASS, "lines admitting every address: none"
    if ev.get("allow_wide"):
        return PASS, "allowed explicitly: %s" % "; ".join(wide)
    return FAIL, "lines admitting every address: %s" % "; ".join(wide)


@control("DP-HBA-04", "5.2", "medium", "pg_hba.conf loads without errors",
         "correct the lines named, then reload")
def _hba_errors(ev):
    bad = ["line %s: %s" % (r.get("line"), r["error"]) for r in ev.get("hba") or [] if r.get("error")]
    if not ev.get("hba"):
        return FAIL, "pg_hba.conf has no rules"
    return (FAIL if bad else PASS), "errors: %s" % ("; ".join(bad) or "none")


@control("DP-HBA-05", "5.7", "high", "On prod, remote clients must use TLS (hostssl, no plain host lines off loopback)",
         "turn remote host lines into hostssl lines (the prod pg_hba does)")
def _hba_ssl(ev):
    if not is_prod(ev):
        return NA, "dev: TLS for remote clients is optional"
    bad = [rule_text(r) for r in hba_rules(ev) if r.get("type") in ("host", "hostnossl")
           and r.get("method") != "reject" and not is_loopback_rule(r)]
    return (FAIL if bad else PASS), "remote lines without TLS: %s" % ("; ".join(bad) or "none")


@control("DP-HBA-06", "5.8, 6.8", "high", "On prod with TLS, loopback TCP lines need TLS too (unless the catalogue "
         "says loopback_tls: false), after a hostnossl reject line for every address",
         "make the loopback host lines hostssl and put hostnossl all all all reject before the hostssl lines (the "
         "prod converge does)")
def _hba_all_ssl(ev):
    if not is_prod(ev) or not native(ev):
        return NA, "%s: TLS is not required on every connection" % ("docker" if not native(ev) else "dev")
    if not on(ev, "ssl"):
        return NA, "ssl = off (DP-TLS-01 fails)"
    tcp = [r for r in hba_rules(ev) if r.get("type", "").startswith("host")]
    # Remote lines without TLS are DP-HBA-05's; this control covers loopback and the reject lines.
    plain = [r for r in tcp if r.get("type") in ("host", "hostnossl") and r.get("method") != "reject"
             and is_loopback_rule(r) and ev.get("loopback_tls") is not False]
    problems = ["loopback without TLS: %s" % rule_text(r) for r in plain]
    rejects = [i for i, r in enumerate(tcp) if r.get("type") == "hostnossl" and r.get("method") == "reject"
               and is_wide(r)]
    first_ssl = next((i for i, r in enumerate(tcp) if r.get("type") == "hostssl"), None)
    if not rejects or (first_ssl is not None and min(rejects) > first_ssl):
        problems.append("no hostnossl ... reject line before the hostssl lines")
    return (FAIL if problems else PASS), "; ".join(problems) or "every TCP line is hostssl, after %d hostnossl " \
        "reject line(s)" % len(rejects)


@control("DP-NET-01", "5.6", "high", "The instance listens only where it should (dev: loopback; prod: the given addresses)",
         "set listen_addresses (dev: localhost; prod: the addresses given for the instance) and restart; docker: "
         "publish on 127.0.0.1")
def _listen(ev):
    if ev.get("runtime") == "docker":
        return _published(ev)
    value = setting(ev, "listen_addresses")
    actual = listen_list(value)
    text = "listen_addresses = %r" % value
    if not is_prod(ev):
        extra = [a for a in actual if a not in LOOPBACK]
        return (FAIL, text + "; not loopback: " + ", ".join(extra)) if extra else (PASS, text)
    expected = ev.get("expected_listen")
    if expected:
        extra = [a for a in actual if a not in set(expected) | LOOPBACK]
        return (FAIL, "%s; not in %s" % (text, ", ".join(expected))) if extra else (PASS, text)
    wild = [a for a in actual if a in ("*", "0.0.0.0", "::")]
    return (FAIL, text + "; every address, and no addresses were given") if wild else (PASS, text)


def _published(ev: dict) -> tuple[str, str]:
    published = ev.get("published") or []
    text = "published on %s" % (", ".join(published) or "nothing")
    open_to = [a for a in published if a.rsplit(":", 1)[0].strip("[]") not in LOOPBACK]
    if open_to and not (is_prod(ev) or ev.get("allow_wide")):
        return FAIL, text + "; not loopback"
    return PASS, text


@control("DP-NET-02", "2.6", "medium", "On prod the Unix socket is not open to every local user (0770 or stricter)",
         "set unix_socket_permissions = 0770 and restart (the prod converge does); add the OS users that need the "
         "socket to the group postgres")
def _socket(ev):
    value = setting(ev, "unix_socket_permissions")
    if not native(ev):
        return NA, "docker: the socket is inside the container"
    try:
        mode = int(value, 8)
    except ValueError:
        return FAIL, "unix_socket_permissions = %s is not a mode" % (value or "-")
    if not is_prod(ev):
        return NA, "unix_socket_permissions = %s; dev: the socket stays open to local users (peer)" % value
    return (FAIL if mode & 0o007 else PASS), "unix_socket_permissions = %s" % value


@control("DP-AUTH-01", "5.2", "high", "password_encryption is scram-sha-256",
         "set password_encryption = 'scram-sha-256', then set every password again")
def _password_encryption(ev):
    value = setting(ev, "password_encryption")
    return (PASS if value == "scram-sha-256" else FAIL), "password_encryption = %s" % value


@control("DP-AUTH-02", "5.4", "low", "authentication_timeout is at most one minute",
         "set authentication_timeout = '60s'")
def _auth_timeout(ev):
    value = setting(ev, "authentication_timeout")
    seconds = int(value) if value.isdigit() else 0
    return (PASS if 0 < seconds <= 60 else FAIL), "authentication_timeout = %ss" % value


# --------------------------------------------------------------------------- TLS (CIS 6)


@control("DP-TLS-01", "6.8", "high", "TLS is on (required on prod, optional on dev)",
         "prod: set ssl = on with the instance's certificate and key (the prod converge does)")
def _ssl(ev):
    value = setting(ev, "ssl") or "off"
    if on(ev, "ssl"):
        return PASS, "ssl = on, certificate %s" % (setting(ev, "ssl_cert_file") or "-")
    if not is_prod(ev):
        return NA, "ssl = %s; dev: TLS optional" % value
    return FAIL, "ssl = %s" % value


@control("DP-TLS-02", "6.9", "high", "ssl_min_protocol_version is TLSv1.2 or newer",
         "set ssl_min_protocol_version = 'TLSv1.2'")
def _ssl_protocol(ev):
    value = setting(ev, "ssl_min_protocol_version")
    if not on(ev, "ssl"):
        return ssl_off(ev, "ssl_min_protocol_version")
    return (PASS if TLS_VERSIONS.get(value, 0) >= 12 else FAIL), "ssl_min_protocol_version = %s" % value


@control("DP-TLS-03", "6.10", "medium", "ssl_ciphers allows only cipher suites with forward secrecy",
         "set ssl_ciphers to ECDHE and DHE suites only (the converge does, with TLS on)")
def _ssl_ciphers(ev):
    value = setting(ev, "ssl_ciphers")
    if not on(ev, "ssl"):
        return ssl_off(ev, "ssl_ciphers")
    bad = cipher_problems(value)
    return (FAIL if bad or not value else PASS), "ssl_ciphers = %s%s" % (
        value or "-", "; without forward secrecy: %s" % ", ".join(bad) if bad else "")


@control("DP-AUTH-03", "5.6", "medium", "passwordcheck is loaded on prod",
         "add passwordcheck to shared_preload_libraries and restart (the prod converge does); length and "
         "well-known passwords are checked by the preflight, since only SCRAM verifiers reach the server")
def _passwordcheck(ev):
    found = "shared_preload_libraries = %s" % (setting(ev, "shared_preload_libraries") or "''")
    if not is_prod(ev):
        return NA, "%s; dev: not required" % found
    return (PASS if "passwordcheck" in libraries(ev) else FAIL), found


@control("DP-AUTH-04", "5.7", "medium", "auth_delay is loaded on prod and delays failed authentications",
         "add auth_delay to shared_preload_libraries, set auth_delay.milliseconds (500) and restart (the prod "
         "converge does)")
def _auth_delay(ev):
    delay = setting(ev, "auth_delay.milliseconds")
    found = "shared_preload_libraries = %s, auth_delay.milliseconds = %s" % (
        setting(ev, "shared_preload_libraries") or "''", delay or "-")
    if not is_prod(ev):
        return NA, "%s; dev: not required" % found
    ok = "auth_delay" in libraries(ev) and delay.isdigit() and int(delay) > 0
    return (PASS if ok else FAIL), found


@control("DP-WAL-01", "7.4", "low", "WAL archiving is configured",
         "physical backups (WAL archiving and a backup tool) are not configured by this release; the logical "
         "backups of pg_backup are (docs/backups.md)")
def _wal_archiving(ev):
    command = setting(ev, "archive_command") or setting(ev, "archive_library")
    mode = setting(ev, "archive_mode") or "off"
    if mode in ("on", "always") and command and command != "(disabled)":
        return PASS, "archive_mode = %s, archiving with %s" % (mode, command)
    return NOT_CONFIGURED, "archive_mode = %s: not configured" % mode


@control("DP-BKP-01", "8.2", "low", "A physical backup and restore tool is configured",
         "physical backups are not configured by this release; the logical backups of pg_backup are "
         "(docs/backups.md)")
def _physical_backup(ev):
    return NOT_CONFIGURED, "no physical backup tool configured (the logical backups of pg_backup are)"


# --------------------------------------------------------------------------- evaluation and output


def evaluate(ev: dict) -> list[dict]:
    """Every control on one instance's evidence, in the order of CONTROLS."""
    results = []
    for item in CONTROLS:
        try:
            status, text = item.check(ev)
        except (KeyError, TypeError, ValueError) as exc:  # evidence missing: a failure, never a silent pass
            status, text = FAIL, "evidence incomplete: %s" % exc
        results.append({"id": item.id, "cis": item.cis, "title": item.title, "severity": item.severity,
                        "status": status, "evidence": text, "fix": item.fix})
    return results


def summary(results: list[dict]) -> dict:
    count = {s: sum(1 for r in results if r["status"] == s) for s in (PASS, FAIL, NA, NOT_AUDITED, NOT_CONFIGURED)}
    count["failed_high"] = sorted(r["id"] for r in results if r["status"] == FAIL and r["severity"] == "high")
    return count


def weak_candidates(role: str, databases: list[str]) -> list[str]:
    """Passwords anyone would try first for a role."""
    return list(WEAK_PASSWORDS) + [role] + [db for db in databases if db != role]


def is_weak(role: str, stored: Optional[str], databases: list[str]) -> bool:
    """Whether the stored password (SCRAM or md5 verifier, or clear text) is a well-known one."""
    if not stored:
        return False
    for candidate in weak_candidates(role, databases):
        if stored.startswith("SCRAM-SHA-256$"):
            if _scram.matches(candidate, stored):
                return True
        elif stored.startswith("md5") and len(stored) == 35:
            digest = hashlib.md5((candidate + role).encode("utf-8")).hexdigest()  # nosec - PostgreSQL's md5 format
            if hmac.compare_digest("md5" + digest, stored):
                return True
        elif hmac.compare_digest(candidate.encode("utf-8"), stored.encode("utf-8")):
            return True
    return False


def weak_roles(stored: dict, databases: list[str]) -> list[str]:
    """Names of the roles whose password is a well-known one; the passwords are never returned."""
    return sorted(role for role, value in stored.items() if is_weak(role, value, databases))


def unreachable(reason: str) -> list[dict]:
    """An instance that could not be read: no control was checked, so each is not audited (neither
    passed nor failed); the reason's own fix, when it gives one, is the fix (once)."""
    cause, _sep, fix = reason.partition("; fix: ")
    return [{"id": c.id, "cis": c.cis, "title": c.title, "severity": c.severity, "status": NOT_AUDITED,
             "evidence": "not audited: %s" % cause, "fix": fix or "start the instance and run the audit again"}
            for c in CONTROLS]


def parse_stat(text: str) -> dict[str, dict]:
    """Parse `stat -c '%a %U %G %n'` lines into {path: {path, mode, owner, group}}."""
    found = {}
    for line in text.splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and re.match(r"^[0-7]{1,4}\Z", parts[0]):
            found[parts[3]] = {"path": parts[3], "mode": int(parts[0], 8), "owner": parts[1], "group": parts[2]}
    return found


def docs_table() -> str:
    """The control list of docs/security.md (a unit test keeps the two equal)."""
    lines = ["| id | CIS | severity | control | fix |", "|---|---|---|---|---|"]
    for item in CONTROLS:
        cells = (item.id, item.cis, item.severity, item.title, item.fix)
        lines.append("| %s |" % " | ".join(c.replace("|", "\\|") for c in cells))
    return "\n".join(lines)
