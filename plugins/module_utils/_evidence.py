# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Evidence for the security audit, read from a live instance. Private to darevel.postgres.

One function over the instance's runtime (plugins/module_utils/_runtime): the same queries on
both, each answering one JSON document, so one parser serves both. Only the files and the
network differ: natively the instance's files are stat'ed on this host; in a container they are
stat'ed there, and the ports it publishes are read from the engine. Read-only.
"""

from __future__ import annotations

import datetime
import grp
import json
import os
import pwd
from typing import Optional

from ansible_collections.darevel.postgres.plugins.module_utils import _audit
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.module_utils._runtime import select_runtime
from ansible_collections.darevel.postgres.plugins.module_utils._runtime.native import HAS_PSYCOPG2

FILE_SETTINGS = ("data_directory", "config_file", "hba_file", "ident_file")

GLOBAL_SQL = (
    "SELECT json_build_object("
    "'settings', (SELECT json_object_agg(name, setting) FROM pg_settings WHERE name IN (%s)), "
    "'hba', (SELECT coalesce(json_agg(json_build_object('line', line_number, 'type', type, 'database', database, "
    "'user', user_name, 'address', address, 'netmask', netmask, 'method', auth_method, 'error', error) "
    "ORDER BY line_number), '[]'::json) FROM pg_hba_file_rules), "
    "'roles', (SELECT coalesce(json_agg(json_build_object('name', rolname, 'oid', oid::int8, 'super', rolsuper, "
    "'login', rolcanlogin, 'createdb', rolcreatedb, 'createrole', rolcreaterole, 'replication', rolreplication, "
    "'bypassrls', rolbypassrls, 'connlimit', rolconnlimit, 'password', CASE WHEN rolpassword IS NULL THEN 'none' "
    "WHEN rolpassword LIKE 'SCRAM-SHA-256$%%' THEN 'scram' WHEN rolpassword LIKE 'md5%%' THEN 'md5' "
    "ELSE 'plain' END) ORDER BY rolname), '[]'::json) FROM pg_authid WHERE rolname !~ '^pg_'), "
    "'databases', (SELECT json_agg(json_build_object('name', datname, 'allowconn', datallowconn, "
    "'public_connect', has_database_privilege('public', oid, 'CONNECT')) ORDER BY datname) FROM pg_database), "
    "'server_version', current_setting('server_version'))"
) % ", ".join("'%s'" % name for name in _audit.SETTINGS)
DATABASE_SQL = (
    "SELECT json_build_object('public_create', (SELECT has_schema_privilege('public', oid, 'CREATE') "
    "FROM pg_namespace WHERE nspname = 'public'), 'public_usage', (SELECT has_schema_privilege('public', oid, "
    "'USAGE') FROM pg_namespace WHERE nspname = 'public'), 'extensions', (SELECT coalesce(json_agg(extname ORDER BY extname), "
    "'[]'::json) FROM pg_extension))"
)
# Read inside the module only, to test for well-known passwords; never returned or logged.
PASSWORD_SQL = ("SELECT coalesce(json_object_agg(rolname, rolpassword), '{}'::json) FROM pg_authid "
                "WHERE rolcanlogin AND rolpassword IS NOT NULL")


def base_evidence(item: dict, params: dict) -> dict:
    """What the catalogue and the play say the instance should be."""
    allowed = list(params.get("extensions_allowed") or []) + list(item.get("extensions") or [])
    return {"instance": item["name"], "runtime": params["runtime"], "environment": params["environment"],
            "today": datetime.date.today().isoformat(), "database": item.get("database"), "owner": item.get("owner"),
            "app_role": item.get("app_role"), "expected_listen": item.get("listen_addresses"),
            "allow_wide": params.get("allow_any_address", False), "extensions_allowed": allowed,
            "server_user": "postgres", "loopback_tls": item.get("loopback_tls", True) is not False}


def merge(ev: dict, answer: dict, per_db: dict, stored: dict) -> dict:
    """Evidence from the global answer, the per-database answers and the stored passwords."""
    settings = answer.get("settings") or {}
    databases = []
    for db in answer.get("databases") or []:
        extra = per_db.get(db["name"]) or {}
        databases.append(dict(db, public_create=extra.get("public_create"), public_usage=extra.get("public_usage"),
                              extensions=extra.get("extensions") or []))
    ev.update(settings=settings, hba=answer.get("hba") or [], roles=answer.get("roles") or [], databases=databases,
              server_version=answer.get("server_version"),
              server_version_num=int(settings.get("server_version_num") or 0),
              weak_passwords=_audit.weak_roles(stored, [d["name"] for d in databases]))
    return ev


def file_paths(settings: dict) -> dict:
    """The files whose modes the audit checks, from the server's own settings."""
    paths = {key: settings.get(key) for key in FILE_SETTINGS}
    key = settings.get("ssl_key_file")
    if key and str(settings.get("ssl", "")).lower() == "on":
        paths["ssl_key_file"] = key if key.startswith("/") else os.path.join(settings.get("data_directory", ""), key)
    return paths


def stat_file(path: Optional[str]) -> Optional[dict]:
    if not path:
        return None
    try:
        st = os.stat(path)
    except OSError as exc:
        return {"path": path, "mode": None, "owner": None, "group": None, "error": exc.strerror}
    return {"path": path, "mode": st.st_mode & 0o7777, "owner": _user(st.st_uid), "group": _group(st.st_gid)}


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


# --------------------------------------------------------------------------- evidence over a runtime


def _json(value):
    """A query's one JSON value, as the server's text (None for NULL)."""
    return json.loads(value) if value is not None else None


def native_files(rt, ev: dict, facts: Optional[dict]) -> None:
    """The instance's files on this host, stat'ed here, with the log file the cluster facts name."""
    files = {key: stat_file(path) for key, path in file_paths(ev["settings"]).items()}
    files["log_file"] = stat_file((facts or {}).get("log_file"))
    ev["files"] = files


def docker_files(rt, ev: dict, facts: Optional[dict]) -> None:
    """The instance's files stat'ed inside its container, and where the container publishes 5432."""
    paths = {key: value for key, value in file_paths(ev["settings"]).items() if value}
    found = {}
    if paths:  # a missing file only fails its own line: the exit code says nothing more
        _rc, out, _err = rt.exec(["stat", "-c", "%a %U %G %n"] + sorted(set(paths.values())), "root")
        found = _audit.parse_stat(out.decode("utf-8", "replace"))
    ev["files"] = {key: found.get(path) or {"path": path, "mode": None, "owner": None, "group": None,
                                            "error": "not found in the container"} for key, path in paths.items()}
    ev["published"] = published(rt.container)


# What differs between the runtimes: where the files are, and how the port is exposed.
FILES = {"native": native_files, "docker": docker_files}


def evidence(rt, item: dict, params: dict, facts: Optional[dict] = None) -> dict:
    """The evidence of one instance through its runtime: the same queries on both (one JSON
    document each), then the runtime's own file and network facts."""
    ev = base_evidence(item, params)
    with rt.session("postgres") as session:
        answer = _json(session.value(GLOBAL_SQL)) or {}
        stored = _json(session.value(PASSWORD_SQL)) or {}
    per_db = {}
    for db in answer.get("databases") or []:
        if db.get("allowconn"):
            with rt.session(db["name"]) as session:
                per_db[db["name"]] = _json(session.value(DATABASE_SQL))
    merge(ev, answer, per_db, stored)
    FILES[rt.kind](rt, ev, facts)
    return ev


def published(container) -> list[str]:
    """host address:port pairs the container's 5432 is published on ('' means every address)."""
    bindings = (container.attrs.get("HostConfig", {}).get("PortBindings") or {}).get("5432/tcp") or []
    return ["%s:%s" % (b.get("HostIp") or "0.0.0.0", b.get("HostPort")) for b in bindings]


def runtime_of(item: dict, params: dict, facts: Optional[dict]):
    """The instance's runtime: its container, or its cluster on this host (which must be running)."""
    if params["runtime"] == "docker":
        return select_runtime("docker", item, docker_host=params["docker_host"])
    if not facts or facts.get("status") != "started":
        raise DarevelError("instance '%s': %s; fix: start it (make start APPS=%s) and run the audit again" % (
            item["name"], "not running" if facts else "not found on this host", item["name"]))
    return select_runtime("native", {"name": item["name"], "port": facts["port"], "version": facts.get("version")})


# --------------------------------------------------------------------------- the audit of a host


def instance_result(item: dict, params: dict, ev: Optional[dict], error: Optional[str]) -> dict:
    controls = _audit.unreachable(error) if error else _audit.evaluate(ev)
    return {"name": item["name"], "runtime": params["runtime"], "environment": params["environment"],
            "server_version": (ev or {}).get("server_version"), "error": error,
            "controls": controls, "summary": _audit.summary(controls)}


class Auditor:
    """Collects every instance's evidence concurrently and evaluates the controls."""

    def __init__(self, module) -> None:
        self.module = module
        self.params = module.params

    def _native_facts(self) -> dict:
        from ansible_collections.darevel.postgres.plugins.module_utils._instance import InstanceManager
        if not HAS_PSYCOPG2:
            from ansible.module_utils.basic import missing_required_lib
            self.module.fail_json(msg=missing_required_lib("psycopg2") + "; fix: install python3-psycopg2")
        return {name: facts for (version, name), facts in InstanceManager(self.module).clusters().items()}

    def _check_engine(self) -> None:
        """The SDK, every instance's container and an answering engine, checked once before any
        instance is read: one error then, not one per instance (each runtime opens its own client)."""
        from ansible_collections.darevel.postgres.plugins.module_utils._engine import HAS_DOCKER, client
        if not HAS_DOCKER:
            from ansible.module_utils.basic import missing_required_lib
            self.module.fail_json(msg=missing_required_lib("docker") + "; fix: install python3-docker")
        missing = [i["name"] for i in self.params["instances"] if not i.get("container")]
        if missing:
            self.module.fail_json(msg="instances %s: no container given; fix: pass each instance's container with "
                                      "runtime=docker" % ", ".join(missing))
        client(self.params["docker_host"])

    def run(self) -> dict:
        from ansible_collections.darevel.postgres.plugins.module_utils._batch import run_all
        found = {}
        try:
            if self.params["runtime"] == "docker":
                self._check_engine()
            else:
                found = self._native_facts()
        except DarevelError as exc:
            self.module.fail_json(msg=exc.msg)

        def collect(item: dict) -> dict:
            facts = found.get(item["name"])
            rt = runtime_of(item, self.params, facts)
            try:
                return evidence(rt, item, self.params, facts)
            finally:
                rt.cleanup()

        def job(item: dict) -> dict:
            try:
                return instance_result(item, self.params, collect(item), None)
            except DarevelError as exc:
                return instance_result(item, self.params, None, exc.msg)

        results, errors = run_all(self.params["instances"], job, self.params["workers"])
        if errors:
            self.module.fail_json(msg="; ".join(errors), instances=results)
        failed_high = ["%s: %s" % (r["name"], ident) for r in results for ident in r["summary"]["failed_high"]]
        return {"instances": results, "failed_high": failed_high}
