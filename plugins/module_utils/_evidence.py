# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Evidence for the security audit, read from a live instance. Private to darevel.postgres.

Native: SQL as `postgres` over the Unix socket (root is mapped to it by pg_ident) and stat() of
the instance's files. Docker: `psql` and `stat` inside the container. Both run the same queries,
which answer one JSON document each, so one parser serves both runtimes. Read-only.
"""

from __future__ import annotations

import datetime
import grp
import json
import os
import pwd
from typing import Optional

from ansible_collections.darevel.postgres.plugins.module_utils import _audit
from ansible_collections.darevel.postgres.plugins.module_utils._docker import exec_text
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError

try:
    import psycopg2
    HAS_PSYCOPG2 = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_PSYCOPG2 = False

SOCKET_DIR = "/var/run/postgresql"
TIMEOUT = 10
FILE_SETTINGS = ("data_directory", "config_file", "hba_file", "ident_file")

GLOBAL_SQL = (
    "SELECT json_build_object("
    "'settings', (SELECT json_object_agg(name, setting) FROM pg_settings WHERE name IN (%s)), "
    "'hba', (SELECT coalesce(json_agg(json_build_object('line', line_number, 'type', type, 'database', database, "
    "'user', user_name, 'address', address, 'netmask', netmask, 'method', auth_method, 'error', error) "
    "ORDER BY line_number), '[]'::json) FROM pg_hba_file_rules), "
    "'roles', (SELECT coalesce(json_agg(json_build_object('name', rolname, 'oid', oid::int8, 'super', rolsuper, "
    "'login', rolcanlogin, 'createdb', rolcreatedb, 'createrole', rolcreaterole, 'replication', rolreplication, "
    "'bypassrls', rolbypassrls, 'password', CASE WHEN rolpassword IS NULL THEN 'none' "
    "WHEN rolpassword LIKE 'SCRAM-SHA-256$%%' THEN 'scram' WHEN rolpassword LIKE 'md5%%' THEN 'md5' "
    "ELSE 'plain' END) ORDER BY rolname), '[]'::json) FROM pg_authid WHERE rolname !~ '^pg_'), "
    "'databases', (SELECT json_agg(json_build_object('name', datname, 'allowconn', datallowconn, "
    "'public_connect', has_database_privilege('public', oid, 'CONNECT')) ORDER BY datname) FROM pg_database), "
    "'server_version', current_setting('server_version'))"
) % ", ".join("'%s'" % name for name in _audit.SETTINGS)
DATABASE_SQL = (
    "SELECT json_build_object('public_create', (SELECT has_schema_privilege('public', oid, 'CREATE') "
    "FROM pg_namespace WHERE nspname = 'public'), 'extensions', (SELECT coalesce(json_agg(extname ORDER BY extname), "
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
            "server_user": "postgres"}


def merge(ev: dict, answer: dict, per_db: dict, stored: dict) -> dict:
    """Evidence from the global answer, the per-database answers and the stored passwords."""
    settings = answer.get("settings") or {}
    databases = []
    for db in answer.get("databases") or []:
        extra = per_db.get(db["name"]) or {}
        databases.append(dict(db, public_create=extra.get("public_create"), extensions=extra.get("extensions") or []))
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


# --------------------------------------------------------------------------- native


class NativeReader:
    """SQL over the instance's Unix socket as postgres."""

    def __init__(self, port: int, name: str, socket_dir: str = SOCKET_DIR) -> None:
        self.port, self.name, self.socket_dir = port, name, socket_dir

    def query(self, text: str, database: str = "postgres"):
        try:
            conn = psycopg2.connect(host=self.socket_dir, port=self.port, user="postgres", dbname=database,
                                    connect_timeout=TIMEOUT, application_name="darevel.postgres audit")
        except psycopg2.Error as exc:
            raise DarevelError("instance '%s': cannot connect on port %s as postgres: %s; fix: start the instance "
                               "(make start APPS=%s)" % (self.name, self.port, str(exc).strip().splitlines()[0],
                                                         self.name))
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(text)
                value = cur.fetchone()[0]
        finally:
            conn.close()
        return json.loads(value) if isinstance(value, str) else value


def native_evidence(item: dict, params: dict, facts: Optional[dict]) -> dict:
    ev = base_evidence(item, params)
    if not facts or facts.get("status") != "started":
        raise DarevelError("instance '%s': %s; fix: start it (make start APPS=%s) and run the audit again" % (
            item["name"], "not running" if facts else "not found on this host", item["name"]))
    reader = NativeReader(facts["port"], item["name"])
    answer = reader.query(GLOBAL_SQL)
    per_db = {db["name"]: reader.query(DATABASE_SQL, db["name"]) for db in answer.get("databases") or []
              if db.get("allowconn")}
    merge(ev, answer, per_db, reader.query(PASSWORD_SQL) or {})
    files = {key: stat_file(path) for key, path in file_paths(ev["settings"]).items()}
    files["log_file"] = stat_file(facts.get("log_file"))
    ev["files"] = files
    return ev


# --------------------------------------------------------------------------- docker


class ContainerReader:
    """psql and stat inside the instance's container, as its bootstrap superuser over the local socket."""

    def __init__(self, container, user: str, name: str) -> None:
        self.container, self.user, self.name = container, user, name

    def _exec(self, argv: list[str], user: str = "postgres") -> str:
        rc, text = exec_text(self.container, argv, user)
        if rc != 0:
            raise DarevelError("instance '%s': container %s: %s failed (rc=%s): %s; fix: check the container with "
                               "`docker logs %s`" % (self.name, self.container.name, argv[0], rc,
                                                     text.strip()[-300:], self.container.name))
        return text

    def query(self, text: str, database: str = "postgres"):
        out = self._exec(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-U", self.user, "-d", database,
                          "-c", text])
        return json.loads(out.strip() or "null")

    def stat(self, paths: list[str]) -> dict:
        return _audit.parse_stat(exec_text(self.container, ["stat", "-c", "%a %U %G %n"] + paths, "root")[1])


def published(container) -> list[str]:
    """host address:port pairs the container's 5432 is published on ('' means every address)."""
    bindings = (container.attrs.get("HostConfig", {}).get("PortBindings") or {}).get("5432/tcp") or []
    return ["%s:%s" % (b.get("HostIp") or "0.0.0.0", b.get("HostPort")) for b in bindings]


def docker_evidence(item: dict, params: dict, engine) -> dict:
    from docker.errors import NotFound
    ev = base_evidence(item, params)
    try:
        container = engine.containers.get(item["container"])
    except NotFound:
        raise DarevelError("instance '%s': container %s does not exist; fix: run site.yml for it first" % (
            item["name"], item["container"]))
    if container.status != "running":
        raise DarevelError("instance '%s': container %s is %s; fix: start it (make start APPS=%s)" % (
            item["name"], container.name, container.status, item["name"]))
    env = dict(e.partition("=")[::2] for e in container.attrs.get("Config", {}).get("Env") or [])
    reader = ContainerReader(container, env.get("POSTGRES_USER") or "postgres", item["name"])
    answer = reader.query(GLOBAL_SQL)
    per_db = {db["name"]: reader.query(DATABASE_SQL, db["name"]) for db in answer.get("databases") or []
              if db.get("allowconn")}
    merge(ev, answer, per_db, reader.query(PASSWORD_SQL) or {})
    paths = {key: value for key, value in file_paths(ev["settings"]).items() if value}
    found = reader.stat(sorted(set(paths.values())))
    ev["files"] = {key: found.get(path) or {"path": path, "mode": None, "owner": None, "group": None,
                                            "error": "not found in the container"} for key, path in paths.items()}
    ev["published"] = published(container)
    return ev


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

    def _engine(self):
        from ansible_collections.darevel.postgres.plugins.module_utils._engine import HAS_DOCKER, client
        if not HAS_DOCKER:
            from ansible.module_utils.basic import missing_required_lib
            self.module.fail_json(msg=missing_required_lib("docker") + "; fix: install python3-docker")
        missing = [i["name"] for i in self.params["instances"] if not i.get("container")]
        if missing:
            self.module.fail_json(msg="instances %s: no container given; fix: pass each instance's container with "
                                      "runtime=docker" % ", ".join(missing))
        return client(self.params["docker_host"])

    def run(self) -> dict:
        from ansible_collections.darevel.postgres.plugins.module_utils._batch import run_all
        engine, found = None, {}
        try:
            if self.params["runtime"] == "docker":
                engine = self._engine()
            else:
                found = self._native_facts()
        except DarevelError as exc:
            self.module.fail_json(msg=exc.msg)

        def collect(item: dict) -> dict:
            if engine is not None:
                return docker_evidence(item, self.params, engine)
            return native_evidence(item, self.params, found.get(item["name"]))

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
