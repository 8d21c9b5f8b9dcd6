# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The secure state of an instance as data: password rules, pg_hba rules, security settings and
the firewall rule. Pure functions (no AnsibleModule), private to darevel.postgres.

The superuser `postgres` gets no password at all: it is reached only as the OS user (peer on the
Unix socket, root through an ident map), so there is no superuser secret to keep, leak or rotate,
and a TCP login as `postgres` fails whatever pg_hba says (SCRAM needs a stored verifier).
"""

from __future__ import annotations

import ipaddress
from typing import Any, Optional

ENVIRONMENTS = ("dev", "prod")
MIN_LENGTH = 16
WELL_KNOWN = ("postgres", "password", "changeme", "admin", "secret", "root")
ANY_NETWORKS = ("0.0.0.0/0", "::/0", "all")
SUPERUSER_MAP = "darevel_superuser"
# The collection's configuration directories on a target, 0755 root: the server's TLS directory
# (read by the postgres OS user) and the applications' env files (0600 root each) are below them.
# The security role's vars (__postgres_config_dirs, __postgres_tls_dir); a unit test keeps them equal.
CONFIG_DIRS = ("/etc/darevel", "/etc/darevel/postgres")
TLS_DIR = "/etc/darevel/postgres/tls"
# The security role's defaults (postgres_tls_days, postgres_tls_ca_days, postgres_tls_renew_days);
# a unit test keeps the two equal.
TLS_DAYS = {"postgres_tls_days": 825, "postgres_tls_ca_days": 3650, "postgres_tls_renew_days": 30}
LOG_LINE_PREFIX = "%m [%p] %q%u@%d from %h (%a) "
# Settings every instance gets. Passed to PostgreSQL as a whole; the catalogue's `settings` win
# except for password_encryption, which stays SCRAM (md5 verifiers are refused by design).
LOGGING = {
    "log_connections": "on",
    "log_disconnections": "on",
    "log_line_prefix": LOG_LINE_PREFIX,
    "log_timezone": "UTC",
    # DDL (role and password changes included) is logged; passwords only ever as SCRAM verifiers.
    "log_statement": "ddl",
}
FORCED = {"password_encryption": "scram-sha-256"}
# What prod adds on the native runtime (CIS 3.1.22, 5.6, 5.7, 7.2): errors logged with their
# SQLSTATE and source location; Debian's passwordcheck (a password equal to the role's name is
# refused, even as a SCRAM verifier; length and complexity need the clear text, which the
# collection never sends: the preflight checks those) and auth_delay (each failed authentication
# answered late); replication commands logged (a base backup is a copy of every database).
# The Unix socket (CIS 2.6) is 0770: the server's OS user and the members of its group (postgres)
# connect through it, root too; other local users go through TCP.
PROD = {"log_error_verbosity": "verbose", "auth_delay.milliseconds": "500", "unix_socket_permissions": "0770",
        "log_replication_commands": "on"}
# The logging collector on prod (CIS 3.1.2-3.1.9): the server writes its own log files, one
# directory per instance outside the data directory (LOG_DIRECTORY), a file per weekday, each
# truncated when its day comes back, so seven days are kept without logrotate; 0600, as
# log_file_mode says for every instance. The service's stderr file keeps what the server prints
# before the collector starts (a bad setting, a port in use).
LOG_DIRECTORY = "/var/log/postgresql/%(version)s-%(name)s"
COLLECTOR = {"logging_collector": "on", "log_filename": "postgresql-%a.log", "log_truncate_on_rotation": "on",
             "log_rotation_age": "1d", "log_rotation_size": "0"}
PROD_LIBRARIES = ("passwordcheck", "auth_delay")
# TLS (CIS 6.9, 6.10): cipher suites of TLS 1.2 with forward secrecy only (ECDHE or DHE key
# exchange, AEAD ciphers); TLS 1.3's suites all have it and are not governed by ssl_ciphers.
# Named one by one rather than by OpenSSL's aliases, so that a reader (or an assessment tool) sees
# exactly which suites are offered.
SSL_CIPHERS = ":".join(("ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305",
                        "ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
                        "DHE-RSA-AES256-GCM-SHA384", "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-CHACHA20-POLY1305"))
TLS_MIN_PROTOCOLS = ("TLSv1.2", "TLSv1.3")  # postgres_tls_min_protocol (_validate checks it)
LIBRARY_LISTS = ("shared_preload_libraries",)


def _kinds(instance: dict) -> list[tuple[str, str, str]]:
    """(kind, role, variable) for each password an instance needs."""
    return [("owner", instance["owner"], "postgres_owner_passwords"),
            ("app", instance["app_role"], "postgres_app_passwords")]


def password_problems(instances: list[dict], environment: str, given: dict,
                      catalogue_names: Optional[list] = None, fleet: Optional[dict] = None) -> list[str]:
    """Problems with the passwords of `instances` on a prod inventory: missing, shorter than 16,
    a well-known default, the role's or database's name, or the same value used twice (across every
    instance of the catalogue found in the variables). `given` is {kind: {instance: password}} as
    this host sees it; `fleet` the same merged over every host of the play (this host's values
    win), so that a password reused in another host's variables is found too.
    Messages never contain a password."""
    if environment != "prod":
        return []
    problems = []
    for instance in instances:
        for kind, role, variable in _kinds(instance):
            value = (given.get(kind) or {}).get(instance["name"])
            where = "instance '%s': role %s" % (instance["name"], role)
            fix = "fix: set %s.%s to a Vault variable of %d or more characters" % (variable, instance["name"], MIN_LENGTH)
            if value is None or str(value) == "":
                problems.append("%s has no password on this prod inventory (passwords are not generated on "
                                "prod); %s" % (where, fix))
                continue
            value = str(value)
            lowered = value.lower()
            defaults = set(WELL_KNOWN) | {r.lower() for _k, r, _v in _kinds(instance)} | {
                instance["database"].lower(), instance["name"].lower()}
            if lowered in defaults:
                problems.append("%s: the password is a well-known default (postgres, password, the role, "
                                "database or instance name); %s" % (where, fix))
            elif len(value) < MIN_LENGTH:
                problems.append("%s: the password has %d characters, fewer than %d; %s" % (
                    where, len(value), MIN_LENGTH, fix))
    return problems + reuse_problems(fleet or given, catalogue_names)


def reuse_problems(given: dict, catalogue_names: Optional[list] = None) -> list[str]:
    """A password used by two roles (of one instance or of two) is one leak away from both."""
    seen: dict[str, str] = {}
    problems = []
    for kind in ("owner", "app"):
        variable = "postgres_%s_passwords" % kind
        for name in sorted(given.get(kind) or {}):
            value = (given.get(kind) or {})[name]
            if value in (None, "") or (catalogue_names is not None and name not in catalogue_names):
                continue
            label = "%s.%s" % (variable, name)
            if str(value) in seen:
                problems.append("instance '%s': %s reuses the password of %s; fix: give every instance and "
                                "role its own password" % (name, label, seen[str(value)]))
            else:
                seen[str(value)] = label
    return problems


def network_problems(instance: dict, allow_any: bool) -> tuple[list[str], list[str]]:
    """(problems, warnings) for the instance's client networks."""
    problems, warnings = [], []
    for client in instance.get("clients") or []:
        if client in ANY_NETWORKS:
            if allow_any:
                warnings.append("instance '%s': clients %s admits every address (allowed by "
                                "postgres_hba_allow_any)" % (instance["name"], client))
            else:
                problems.append("instance '%s': clients %s would admit every address; fix: name the client "
                                "networks (for example 10.0.20.0/24), or set postgres_hba_allow_any: true "
                                "if this is really meant" % (instance["name"], client))
            continue
        try:
            network = ipaddress.ip_network(client, strict=False)
        except ValueError:
            problems.append("instance '%s': clients %r is not a network address; fix: write it as CIDR, "
                            "for example 10.0.20.0/24" % (instance["name"], client))
            continue
        if network.prefixlen == 0:
            problems.append("instance '%s': clients %s would admit every address; fix: name the client "
                            "networks or set postgres_hba_allow_any: true" % (instance["name"], client))
    return problems, warnings


def hba_rules(instance: dict, environment: str, tls: bool) -> list[dict]:
    """The whole pg_hba of one instance, as rules: peer for the superuser on the socket, SCRAM on
    loopback, and the instance's client networks for its own database and roles only (hostssl on
    prod or with TLS). On prod with TLS every TCP line is hostssl, loopback too unless the entry's
    `loopback_tls` is false, after one `hostnossl all all all reject` (CIS 5.8, 6.8): `all` covers
    both address families without naming a network of prefix 0, which CIS 5.9 counts as too wide."""
    rules = [
        {"type": "local", "database": "all", "user": "postgres", "address": "",
         "method": "peer map=%s" % SUPERUSER_MAP},
        {"type": "local", "database": "all", "user": "all", "address": "", "method": "peer"},
    ]
    strict = environment == "prod" and tls
    loopback = [{"type": "hostssl" if strict and instance.get("loopback_tls", True) is not False else "host",
                 "database": "all", "user": "all", "address": address, "method": "scram-sha-256"}
                for address in ("127.0.0.1/32", "::1/128")]
    plain = [rule for rule in loopback if rule["type"] == "host"]
    rules += plain
    if strict:
        rules.append({"type": "hostnossl", "database": "all", "user": "all", "address": "all", "method": "reject"})
    rules += [rule for rule in loopback if rule["type"] == "hostssl"]
    remote = "hostssl" if environment == "prod" or tls else "host"
    users = "%s,%s" % (instance["owner"], instance["app_role"])
    for client in instance.get("clients") or []:
        address = "all" if client == "all" else str(ipaddress.ip_network(client, strict=False))
        rules.append({"type": remote, "database": instance["database"], "user": users, "address": address,
                      "method": "scram-sha-256"})
    return rules


def render_hba(rules: list) -> str:
    """pg_hba.conf text of the rules."""
    lines = ["# Managed by darevel.postgres: local edits are replaced.",
             "# TYPE   DATABASE        USER                            ADDRESS           METHOD"]
    for rule in rules:
        fields = (rule["type"], rule["database"], rule["user"], rule.get("address") or "", rule["method"])
        lines.append("%-8s %-15s %-31s %-17s %s" % fields)
    return "\n".join(line.rstrip() if not line.startswith("#") else line for line in lines) + "\n"


def container_hba_rules() -> list[dict]:
    """pg_hba inside a container (replacing the image's `trust` lines): the image's superuser as the
    container's postgres OS user on the socket, SCRAM over TCP from loopback and the container's own
    network, through which the published port arrives."""
    return [
        {"type": "local", "database": "all", "user": "all", "address": "", "method": "peer map=%s" % SUPERUSER_MAP},
        {"type": "host", "database": "all", "user": "all", "address": "127.0.0.1/32", "method": "scram-sha-256"},
        {"type": "host", "database": "all", "user": "all", "address": "::1/128", "method": "scram-sha-256"},
        {"type": "host", "database": "all", "user": "all", "address": "samenet", "method": "scram-sha-256"},
    ]


def render_container_ident(superuser: str) -> str:
    return ("# Managed by darevel.postgres: local edits are replaced.\n"
            "# MAPNAME          SYSTEM-USERNAME  PG-USERNAME\n"
            "%s  postgres         %s\n" % (SUPERUSER_MAP, superuser))


def tls_paths(name: str, tls_dir: str = TLS_DIR) -> dict:
    return {"ca": "%s/ca.crt" % tls_dir, "cert": "%s/%s/server.crt" % (tls_dir, name),
            "key": "%s/%s/server.key" % (tls_dir, name)}


def tls_validity_problems(given: dict) -> list[str]:
    """The certificates' validity and renewal window, as the inventory sets them (None = the
    role's default): whole days, and a renewal window shorter than a certificate's life, or every
    converge would renew every certificate."""
    values, problems = {}, []
    for name, default in TLS_DAYS.items():
        value = given.get(name)
        value = default if value is None or value == "" else value
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)  # -e name=30 gives a string
        least = 0 if name == "postgres_tls_renew_days" else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            problems.append("host: %s %r is not a whole number of days of at least %d; fix: set it to one "
                            "(default %d)" % (name, value, least, default))
        values[name] = value
    days, renew = values["postgres_tls_days"], values["postgres_tls_renew_days"]
    if not problems and renew >= days:
        problems.append("host: postgres_tls_renew_days %d is not below postgres_tls_days %d, so every converge "
                        "would renew every certificate; fix: set postgres_tls_renew_days below %d (default %d)"
                        % (renew, days, days, TLS_DAYS["postgres_tls_renew_days"]))
    return problems


def tls_names(instance: dict, host: str, extra: Optional[list] = None) -> list[str]:
    """localhost, the loopback addresses, the host's name, the instance's listen addresses and the
    extra names, as subjectAltName entries."""
    names = ["localhost", "127.0.0.1", "::1", host] + list(extra or [])
    listen = str((instance.get("settings") or {}).get("listen_addresses") or "")
    names += [a.strip() for a in listen.split(",") if a.strip() not in ("", "*", "localhost")]
    out: list[str] = []
    for name in names:
        try:
            entry = "IP:%s" % ipaddress.ip_address(name)
        except ValueError:
            entry = "DNS:%s" % name
        if entry not in out:
            out.append(entry)
    return out


def settings(instance: dict, environment: str, runtime: str, tls: bool, listen: Optional[list] = None,
             own_cert: Optional[dict] = None, min_protocol: str = "TLSv1.2") -> dict:
    """Security settings of one instance (the catalogue's settings are applied over them by
    `merged`). Docker: the container must listen on its own interface and gets no TLS; on prod it
    gets the part of the baseline that applies inside a container."""
    wanted: dict[str, Any] = dict(LOGGING, **FORCED)
    if runtime == "docker":
        if environment == "prod":
            # What applies inside a container: the socket stays in it, the Docker engine keeps the
            # log (docker logs), and the container has no TLS (docs/security.md).
            wanted.update({k: v for k, v in PROD.items() if k != "unix_socket_permissions"})
            wanted["shared_preload_libraries"] = ",".join(PROD_LIBRARIES)
        return wanted
    wanted["log_file_mode"] = "0600"
    if environment == "prod":
        wanted.update(PROD)
        wanted.update(COLLECTOR)
        wanted["log_directory"] = log_directory(instance)
        wanted["shared_preload_libraries"] = ",".join(PROD_LIBRARIES)
    addresses = instance.get("listen_addresses") if environment == "prod" else None
    addresses = addresses or (listen if environment == "prod" else None) or ["localhost"]
    wanted["listen_addresses"] = ",".join(addresses)
    if tls:
        paths = own_cert or tls_paths(instance["name"])
        wanted.update({"ssl": "on", "ssl_cert_file": paths["cert"], "ssl_key_file": paths["key"],
                       "ssl_min_protocol_version": min_protocol, "ssl_ciphers": SSL_CIPHERS})
    return wanted


def log_directory(instance: dict) -> str:
    """The logging collector's directory of one instance (prod, native)."""
    return LOG_DIRECTORY % {"version": instance["version"], "name": instance["name"]}


def library_list(value: Any) -> list[str]:
    return [part.strip().strip('"') for part in str(value or "").split(",") if part.strip().strip('"')]


def merged(wanted: dict, pinned: Optional[dict]) -> dict:
    """The catalogue's settings over the security settings; password_encryption stays SCRAM, and the
    libraries the baseline loads stay loaded next to the catalogue's own."""
    result = dict(wanted)
    result.update(pinned or {})
    result.update(FORCED)
    for name in LIBRARY_LISTS:
        if name in wanted and name in (pinned or {}):
            libraries = library_list(wanted[name])
            libraries += [lib for lib in library_list(pinned[name]) if lib not in libraries]
            result[name] = ",".join(libraries)
    return result


def firewall_rules(instances: list[dict], table: str = "darevel_postgres") -> str:
    """An nftables table of its own: per instance port, loopback and the instance's client networks
    are accepted and every other source is dropped. Other ports are not touched."""
    lines = ["# Managed by darevel.postgres: one rule set per instance port.",
             "table inet %s" % table, "delete table inet %s" % table, "table inet %s {" % table,
             "  chain input {", "    type filter hook input priority 0; policy accept;"]
    for instance in sorted(instances, key=lambda i: i["port"]):
        port = instance["port"]
        v4 = [c for c in instance.get("clients") or [] if c not in ANY_NETWORKS and ":" not in c]
        v6 = [c for c in instance.get("clients") or [] if c not in ANY_NETWORKS and ":" in c]
        lines.append("    # instance %s" % instance["name"])
        lines.append("    iifname \"lo\" tcp dport %d accept" % port)
        if v4:
            lines.append("    ip saddr { %s } tcp dport %d accept" % (", ".join(v4), port))
        if v6:
            lines.append("    ip6 saddr { %s } tcp dport %d accept" % (", ".join(v6), port))
        if any(c in ANY_NETWORKS for c in instance.get("clients") or []):
            lines.append("    tcp dport %d accept" % port)
        else:
            lines.append("    tcp dport %d drop" % port)
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"
