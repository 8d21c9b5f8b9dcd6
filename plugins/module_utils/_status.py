# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Live status of an instance and the explanations of what went wrong. Private to darevel.postgres.

`probe` asks a running instance, through its runtime (plugins/module_utils/_runtime), what it is
doing (accepting connections, version, uptime, connections, database size, settings waiting for a
restart), with the few steps that differ per runtime beside it; the pure functions
(`log_cause`, `explain_refusal`, `tail_text`) turn a server log or a driver error into a cause
the user can act on.
"""

from __future__ import annotations

import os
import re
from typing import Optional

from ansible_collections.darevel.postgres.plugins.module_utils import _ports
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError

try:
    import psycopg2
    HAS_PSYCOPG2 = True
except ImportError:  # pragma: no cover - reported in the result
    HAS_PSYCOPG2 = False

TIMEOUT = 5  # the TCP check's own connection

# What the server prints at start, and what it means. First match wins, so the specific come first.
_LOG_CAUSES = [
    (re.compile(r'unrecognized configuration parameter "([^"]+)"'),
     "setting", "unknown setting '{0}' in the configuration; fix: remove or rename it "
                "(a typo, or a setting of another PostgreSQL version)"),
    (re.compile(r'invalid value for parameter "([^"]+)"'),
     "value", "invalid value for setting '{0}'; fix: correct it in the configuration"),
    (re.compile(r'parameter "([^"]+)" cannot be changed without restarting'),
     "restart", "setting '{0}' needs a restart; fix: restart the instance"),
    (re.compile(r'could not bind .*(?:Address already in use|address already in use)|'
                r'Is another postmaster already running on port (\d+)'),
     "port", None),
    (re.compile(r'lock file "([^"]+)" already exists'),
     "lock", "lock file {0} exists: another server runs on this data directory or socket; fix: stop it, "
             "or remove the file if no such process exists"),
    (re.compile(r'[Pp]ermission denied'),
     "permission", "permission denied: the data directory, configuration, log or socket directory is not "
                   "accessible to the postgres user; fix: chown -R postgres: the instance's directories "
                   "and check their modes (the data directory must be 0700 or 0750)"),
    (re.compile(r'could not (?:create|map) (?:anonymous )?shared memory|out of memory|Cannot allocate memory'),
     "memory", "not enough memory for shared_buffers and the other settings; fix: lower shared_buffers "
               "(or postgres_tuning_memory_mb) or free memory"),
    (re.compile(r'syntax error in file "([^"]+)"'),
     "config", "syntax error in {0}; fix: correct the file"),
    (re.compile(r'No space left on device'),
     "disk", "the disk is full; fix: free space on the data or WAL directory's file system"),
    (re.compile(r'database files are incompatible with server'),
     "version", "the data directory belongs to another PostgreSQL version; fix: set the instance's version "
                "or upgrade the data directory"),
]
# Follows a specific error and says less: used only when nothing above matches.
_GENERIC_CAUSES = [
    (re.compile(r'configuration file "([^"]+)" contains errors'),
     "config", "{0} contains errors; fix: correct the file (the lines above name the setting)"),
]


def tail_text(text: str, lines: int) -> list[str]:
    """The last `lines` non-empty lines of a text."""
    found = [ln for ln in text.splitlines() if ln.strip()]
    return found[-lines:] if lines > 0 else []


def current_log(data_dir: Optional[str], configured: Optional[str]) -> Optional[str]:
    """The file the server writes now. With the logging collector (prod), the one its
    current_logfiles names in the data directory, else the newest file of its log directory when
    `configured` is a pattern (pg_lsclusters shows log_directory/log_filename then); without, the
    service's stderr file, `configured`."""
    try:
        with open(os.path.join(data_dir or "", "current_logfiles")) as handle:
            for line in handle:
                kind, _sep, path = line.strip().partition(" ")
                if kind == "stderr" and path:
                    return os.path.join(data_dir, path)
    except (OSError, TypeError):
        pass
    if configured and "%" in configured:
        folder = os.path.dirname(configured)
        try:
            files = [os.path.join(folder, f) for f in os.listdir(folder)]
        except OSError:
            return None
        files = [f for f in files if os.path.isfile(f)]
        return max(files, key=os.path.getmtime) if files else None
    return configured


def tail(path: Optional[str], lines: int, block: int = 65536) -> list[str]:
    """The last lines of a (possibly large) log file; [] when it cannot be read."""
    if not path or lines <= 0:
        return []
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            data = b""
            while size > 0 and data.count(b"\n") <= lines:
                step = min(block, size)
                size -= step
                handle.seek(size)
                data = handle.read(step) + data
    except OSError:
        return []
    return tail_text(data.decode("utf-8", "replace"), lines)


def log_cause(lines: list[str], port: Optional[int] = None, holder: Optional[str] = None) -> Optional[str]:
    """The likely cause of a failed start, from the server's last log lines (latest error wins).
    `holder` names what holds `port` when the log says the address is in use."""
    for causes in (_LOG_CAUSES, _GENERIC_CAUSES):
        for line in reversed(lines):
            for pattern, kind, text in causes:
                match = pattern.search(line)
                if not match:
                    continue
                if kind == "port":
                    return "port %s is already in use%s; fix: stop that process or give the instance another " \
                           "port" % (port if port is not None else (match.group(1) or "?"),
                                     " by %s" % holder if holder else "")
                groups = [g for g in match.groups() if g] or [""]
                return text.format(groups[0])
    return None


def explain_refusal(error: str) -> Optional[str]:
    """Why a connection failed, from the client library's message."""
    text = error.lower()
    if "no pg_hba.conf entry" in text:
        return "pg_hba.conf rejects this client (no matching line for the host, user or database); fix: add a " \
               "line for it to pg_hba.conf and reload"
    if "password authentication failed" in text:
        return "wrong password for the user; fix: use the password of the env file"
    if "connection refused" in text or ("no such file or directory" in text and "socket" in text):
        return "nothing listens there: the instance is not running or does not listen on this address/port " \
               "(listen_addresses, port); fix: start it or correct the address"
    if "could not translate host name" in text or "cannot assign requested address" in text or \
            "network is unreachable" in text or "no route to host" in text:
        return "wrong address: the host name or address cannot be reached from here; fix: correct DB_HOST"
    if "timeout expired" in text or "timed out" in text:
        return "no answer before the timeout: a firewall drops the packets or the host is down; fix: open the " \
               "port in the firewall"
    if "starting up" in text or "shutting down" in text or "in recovery mode" in text:
        return "the server is starting or stopping; try again in a moment"
    if "too many connections" in text or "remaining connection slots" in text:
        return "max_connections is reached; fix: close idle connections or raise max_connections"
    return None


def port_holder(port: Optional[int], published: Optional[dict] = None, own=None) -> Optional[str]:
    """Who listens on the port, when it is not the instance itself (`own(holders)` says so);
    `published` maps host ports to the containers that publish them."""
    if not port:
        return None
    holders = _ports.holder_of(port)
    if holders is None:
        return None
    if own is not None and own(holders):
        return None
    container = (published or {}).get(port)
    if container:
        return "container %s" % container
    return _ports.describe(holders)


QUERY = ("SELECT current_setting('server_version'), pg_postmaster_start_time()::text, "
         "extract(epoch FROM now() - pg_postmaster_start_time())::bigint, "
         "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
         "AND pid <> pg_backend_pid()), current_setting('max_connections')::int, "
         "(SELECT coalesce(string_agg(name, ',' ORDER BY name), '') FROM pg_settings WHERE pending_restart), "
         "(SELECT pg_database_size(oid) FROM pg_database WHERE datname = %s)")


def empty() -> dict:
    return {"accepting": None, "server_version": None, "started_at": None, "uptime_seconds": None,
            "connections": None, "max_connections": None, "database_size_bytes": None,
            "pending_restart": [], "problem": None}


def fill(out: dict, row) -> dict:
    version, started, uptime, conns, max_conns, pending, size = row
    out.update(accepting=True, server_version=str(version).split()[0], started_at=started,
               uptime_seconds=int(uptime) if uptime is not None else None,
               connections=int(conns), max_connections=int(max_conns),
               pending_restart=[p for p in str(pending or "").split(",") if p],
               database_size_bytes=int(size) if size not in (None, "") else None)
    return out


def tcp_problem(port: int, host: str = "127.0.0.1") -> Optional[str]:
    """Whether a client reaches the instance over TCP at host:port as the backends do. A connection
    without a password that the server asks a password for proves: listening, and pg_hba has a line."""
    try:
        conn = psycopg2.connect(host=host, port=port, user="postgres", dbname="postgres", passfile="/dev/null",
                                connect_timeout=TIMEOUT, application_name="darevel.postgres status")
    except psycopg2.Error as exc:
        message = str(exc).strip()
        if "no password supplied" in message:
            return None
        why = explain_refusal(message)
        return "TCP %s:%d refused: %s" % (host, port, why or message.splitlines()[0])
    conn.close()
    return None


def detail(rt, error: DarevelError) -> str:
    """A runtime's error without its label and its fix, on one line: what the problem column shows."""
    text = error.msg
    if text.startswith(rt.label + ": "):
        text = text[len(rt.label) + 2:]
    return (text.split("; fix:")[0].strip().splitlines() or [""])[0]


def container_env(container) -> dict:
    env = {}
    for entry in container.attrs.get("Config", {}).get("Env") or []:
        key, _sep, value = entry.partition("=")
        env[key] = value
    return env


def docker_ready(rt, out: dict) -> bool:
    """pg_isready inside the container: tells a server starting up from one that does not answer."""
    rc, stdout, stderr = rt.exec(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"])
    if rc != 0:
        out["accepting"] = False
        out["problem"] = {1: "the server rejects connections (starting up or shutting down)",
                          2: "no response from the server inside the container"}.get(
                              rc, "pg_isready failed (rc=%s): %s" % (
                                  rc, (stdout + stderr).decode("utf-8", "replace").strip()[-200:]))
        return False
    out["accepting"] = True
    return True


def query(rt, out: dict, database: str) -> bool:
    """QUERY in a session of the runtime, into `out`; False when no session could be opened."""
    try:
        session = rt.session("postgres")
    except DarevelError as exc:
        out["accepting"] = False
        out["problem"] = "socket connection refused: %s (%s)" % (explain_refusal(exc.msg) or "see the log",
                                                                 detail(rt, exc))
        return False
    try:
        with session:
            row = session.one(QUERY, params=(database,))
    except DarevelError as exc:
        out["problem"] = "query failed: %s" % detail(rt, exc)
        return True
    if row is not None and len(row) == 7:
        fill(out, row)
    else:
        out["accepting"] = True
        out["problem"] = "unexpected answer to the status query: %r" % (row,)
    return True


def probe(rt, facts: dict, database: Optional[str], published: Optional[dict] = None, own=None) -> dict:
    """Live status of one instance through its runtime `rt` (native: as postgres over the Unix
    socket, then the TCP check; docker: pg_isready, then psql inside the container). A stopped
    instance is not asked: what holds its port is told instead (`published` maps host ports to
    containers, `own(holders)` says the holder is the instance itself)."""
    out = empty()
    port = facts.get("port")
    if facts.get("status") != "started":
        out["accepting"] = False
        holder = port_holder(port, published, own)
        if holder:
            out["problem"] = "down, and port %s is held by %s" % (port, holder)
        return out
    if rt.kind == "docker":
        if not docker_ready(rt, out):
            return out
        database = database or container_env(rt.container).get("POSTGRES_DB")
    elif not HAS_PSYCOPG2:
        out["problem"] = "psycopg2 is missing on the host: only the service state is known; fix: install " \
                         "python3-psycopg2"
        return out
    if query(rt, out, database or "postgres") and rt.kind == "native":
        out["problem"] = tcp_problem(port) or out["problem"]
    return out
