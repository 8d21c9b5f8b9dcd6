# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An instance's application database, its owner role and the backend's env file.

Private to darevel.postgres. Connects as the cluster superuser over the Unix socket (root is
mapped to `postgres` by pg_instance's ident map); passwords travel as SCRAM verifiers only.
"""

from __future__ import annotations

import os
import re
import socket
import struct
import time
from typing import Optional

from ansible_collections.darevel.postgres.plugins.module_utils import _diff, _envfile, _scram, _security
from ansible_collections.darevel.postgres.plugins.module_utils._batch import run_all
from ansible_collections.darevel.postgres.plugins.module_utils._docker import put_file
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.module_utils._instance import batch_items

try:
    import psycopg2
    from psycopg2 import sql
    HAS_PSYCOPG2 = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_PSYCOPG2 = False

ITEM_KEYS = ["name", "version", "port", "database", "owner", "owner_password", "app_role", "app_password",
             "env_file", "env_host", "container", "enforce"]
SETTINGS_FILE = "/conf.d/50-darevel-settings.conf"
FIELD_SEPARATOR = "\x1f"  # psql's column separator: no SQL value we read contains it
APP_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
# One row: does the application role hold exactly what it needs in its database (checked in that
# database)? CONNECT, USAGE on public, the four data privileges on every table and the sequences,
# default privileges for what the owner creates, and no CONNECT for PUBLIC.
PRIVILEGES_OK = """SELECT has_database_privilege(%s, current_database(), 'CONNECT')
  AND NOT has_database_privilege('public', current_database(), 'CONNECT')
  AND has_schema_privilege(%s, 'public', 'USAGE')
  AND NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
                  AND NOT (has_table_privilege(%s, c.oid, 'SELECT') AND has_table_privilege(%s, c.oid, 'INSERT')
                           AND has_table_privilege(%s, c.oid, 'UPDATE') AND has_table_privilege(%s, c.oid, 'DELETE')))
  AND NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = 'public' AND c.relkind = 'S'
                  AND NOT (has_sequence_privilege(%s, c.oid, 'USAGE') AND has_sequence_privilege(%s, c.oid, 'SELECT')))
  AND (SELECT count(DISTINCT a.privilege_type) FROM pg_default_acl d, aclexplode(d.defaclacl) a
       WHERE d.defaclrole = (SELECT oid FROM pg_roles WHERE rolname = %s)
         AND d.defaclnamespace = 'public'::regnamespace
         AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = %s)
         AND ((d.defaclobjtype = 'r' AND a.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE'))
              OR (d.defaclobjtype = 'S' AND a.privilege_type = 'USAGE'))) = 5"""
GRANTS = [
    ("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC", ("database",)),
    ("GRANT CONNECT ON DATABASE {} TO {}", ("database", "app_role")),
    ("GRANT USAGE ON SCHEMA public TO {}", ("app_role",)),
    ("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}", ("app_role",)),
    ("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}", ("app_role",)),
    ("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}",
     ("owner", "app_role")),
    ("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {}",
     ("owner", "app_role")),
]
# The settings of pg_file_settings that win (read last), for the managed names.
WINNING = """SELECT f.name, f.sourcefile, f.sourceline FROM pg_file_settings f
WHERE f.name = ANY(%s) AND f.seqno = (SELECT max(g.seqno) FROM pg_file_settings g WHERE g.name = f.name)
ORDER BY f.name"""


def quote_ident(name: str) -> str:
    return '"%s"' % name.replace('"', '""')


def quote_literal(value: str) -> str:
    # standard_conforming_strings is on (the default since 9.1): only quotes need doubling.
    return "'%s'" % value.replace("'", "''")


class DriverSession:
    """SQL over psycopg2 on the instance's Unix socket, with driver parameters."""

    def __init__(self, conn) -> None:
        self.conn = conn

    def fetchone(self, template: str, idents: tuple = (), params: tuple = ()):
        with self.conn.cursor() as cur:
            cur.execute(sql.SQL(template).format(*map(sql.Identifier, idents)), params or None)
            return cur.fetchone()

    def execute(self, template: str, idents: tuple = (), params: tuple = ()) -> None:
        with self.conn.cursor() as cur:
            cur.execute(sql.SQL(template).format(*map(sql.Identifier, idents)), params or None)

    def close(self) -> None:
        self.conn.close()


class ContainerSession:
    """SQL through `psql` inside the instance's container (docker runtime), as its superuser over the
    container's local socket; works whatever the current password is, so rotation needs no old one."""

    def __init__(self, container, user: str, dbname: str = "postgres") -> None:
        self.container = container
        self.user = user
        self.dbname = dbname

    def _psql(self, text: str) -> str:
        # The statement goes through the exec's stdin, never on its command line: it may hold a
        # verifier, and every process's arguments are readable in the host's /proc.
        argv = ["psql", "-X", "-q", "-A", "-t", "-F", FIELD_SEPARATOR, "-v", "ON_ERROR_STOP=1", "-U", self.user,
                "-d", self.dbname, "-f", "-"]
        rc, output = exec_stdin(self.container, argv, text + "\n")
        if rc != 0:
            raise DarevelError("container %s: psql failed (rc=%s): %s; fix: check the container with `docker logs "
                               "%s`" % (self.container.name, rc, mask_verifiers(output.strip()[-500:]),
                                        self.container.name))
        return output

    @staticmethod
    def render(template: str, idents: tuple, params: tuple) -> str:
        text = template.format(*map(quote_ident, idents))
        return text % tuple(quote_literal(str(p)) for p in params) if params else text

    def fetchone(self, template: str, idents: tuple = (), params: tuple = ()):
        lines = [ln for ln in self._psql(self.render(template, idents, params)).splitlines() if ln != ""]
        return tuple(lines[0].split(FIELD_SEPARATOR)) if lines else None

    def execute(self, template: str, idents: tuple = (), params: tuple = ()) -> None:
        self._psql(self.render(template, idents, params))

    def close(self) -> None:
        pass

    def in_database(self, dbname: str) -> "ContainerSession":
        return ContainerSession(self.container, self.user, dbname)

    def read_file(self, path: str) -> str:
        rc, output = self.container.exec_run(["cat", path], user="postgres")
        return output.decode("utf-8", "replace") if rc == 0 else ""

    def write_file(self, path: str, content: str, like: str) -> None:
        """Write `path` in the container with the owner of `like` and mode 0600."""
        rc, output = self.container.exec_run(["stat", "-c", "%u:%g", like], user="postgres")
        uid, gid = (int(v) for v in output.decode().strip().split(":")) if rc == 0 else (999, 999)
        if not put_file(self.container, path, content.encode("utf-8"), uid, gid):
            raise DarevelError("container %s: cannot write %s; fix: check the container's volume" % (
                self.container.name, path))


VERIFIER = re.compile(r"SCRAM-SHA-256\$[^'\s]*")


def mask_verifiers(text: str) -> str:
    """psql's error text can quote the statement: its verifiers masked."""
    return VERIFIER.sub("SCRAM-SHA-256$********", text)


def exec_stdin(container, argv: list[str], data: str, user: str = "postgres") -> tuple[int, str]:
    """Run `argv` in the container with `data` on its stdin (then end of file), through the Docker
    API's attached exec socket; (exit code, stdout and stderr as text)."""
    api = container.client.api
    exec_id = api.exec_create(container.id, argv, stdin=True, stdout=True, stderr=True, tty=False, user=user)["Id"]
    sock = api.exec_start(exec_id, socket=True)._sock
    try:
        sock.settimeout(None)
        sock.sendall(data.encode("utf-8"))
        sock.shutdown(socket.SHUT_WR)
        output = b""
        while True:
            header = _read_exact(sock, 8)
            if len(header) < 8:
                break
            size = struct.unpack(">BxxxL", header)[1]
            output += _read_exact(sock, size)
    finally:
        sock.close()
    state = api.exec_inspect(exec_id)
    while state.get("Running"):  # the output has ended; the exit code follows a moment later
        time.sleep(0.02)
        state = api.exec_inspect(exec_id)
    code = state.get("ExitCode")
    return (-1 if code is None else code), output.decode("utf-8", "replace")


def _read_exact(sock, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


ENV_FIXES = {"DB_HOST": "set env_host (postgres_env_host) to a host name or address",
             "POSTGRES_PASSWORD": "give the owner another password (postgres_owner_passwords)",
             "DB_APP_PASSWORD": "give the application role another password (postgres_app_passwords)"}


def env_values(item: dict) -> dict:
    values = {
        "DB_HOST": item.get("env_host") or "localhost",
        "DB_PORT": item["port"],
        "DB_NAME": item["database"],
        "POSTGRES_USER": item["owner"],
        "POSTGRES_PASSWORD": item["owner_password"],
    }
    if item.get("app_role"):
        values.update({"DB_APP_USER": item["app_role"], "DB_APP_PASSWORD": item["app_password"]})
    return values


def is_true(value) -> bool:
    """A boolean from psycopg2 (True) or from psql's unaligned output ('t')."""
    return value is True or str(value) in ("t", "True")


def disable_line(path: str, line: int, check_mode: bool = False) -> tuple[str, str]:
    """Comment out one line of a configuration file, keeping its owner and mode (not in check
    mode); the file's text before and after, for the diff."""
    with open(path) as handle:
        before = handle.read()
    lines = before.split("\n")
    lines[line - 1] = "# %s  # disabled by darevel.postgres: it overrode a managed setting" % lines[line - 1]
    if check_mode:
        return before, "\n".join(lines)
    stat = os.stat(path)
    tmp = "%s.darevel-%d" % (path, os.getpid())
    with open(tmp, "w") as handle:
        handle.write("\n".join(lines))
    os.chown(tmp, stat.st_uid, stat.st_gid)
    os.chmod(tmp, stat.st_mode & 0o7777)
    os.replace(tmp, path)
    return before, "\n".join(lines)


def connect(socket_dir: str, port: int, name: str, connect_timeout: int = 10, dbname: str = "postgres"):
    try:
        conn = psycopg2.connect(host=socket_dir, port=port, user="postgres", dbname=dbname,
                                connect_timeout=connect_timeout, application_name="darevel.postgres")
    except psycopg2.Error as exc:
        raise DarevelError("instance '%s': cannot connect on port %s through %s as postgres: %s; fix: "
                           "start the instance (darevel.postgres.pg_instance state=started) and check "
                           "that its pg_hba.conf maps root to postgres" % (
                               name, port, socket_dir, str(exc).strip()))
    conn.autocommit = True
    return DriverSession(conn)


def container_session(name: str, container_name: str, user: str, dbname: str = "postgres",
                      docker_host: Optional[str] = None):
    """psql in the instance's container on the engine at `docker_host` (the module's docker_host)."""
    from ansible_collections.darevel.postgres.plugins.module_utils._engine import client
    try:
        from docker.errors import NotFound
    except ImportError:
        raise DarevelError("instance '%s': the Docker SDK for Python is missing; fix: install python3-docker" % name)
    try:
        return ContainerSession(client(docker_host).containers.get(container_name), user, dbname)
    except NotFound:
        raise DarevelError("instance '%s': container %s does not exist; fix: run the instance role (or "
                           "darevel.postgres.pg_container) first" % (name, container_name))


class DatabaseManager:
    def __init__(self, module) -> None:
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode

    def _session(self, item: dict, dbname: str = "postgres"):
        if item.get("container"):
            return container_session(item["name"], item["container"], item["owner"], dbname,
                                     self.params["docker_host"])
        return connect(self.params["socket_dir"], item["port"], item["name"], dbname=dbname)

    def converge(self, item: dict) -> dict:
        required = ("port", "database", "owner", "owner_password") + (("app_password",) if item.get("app_role") else ())
        for key in required:
            if not item.get(key):
                raise DarevelError("instance '%s': %s is required; fix: set it" % (item["name"], key))
        queries: list[str] = []
        file_diffs: dict = {}
        try:
            conn = self._session(item)
        except DarevelError:
            if not self.check_mode:
                raise
            conn = None  # check mode before the instance exists: everything would be created
        before = self._state(conn, item) if conn else {
            "owner": None, "database_owner": None, "password_ok": False, "app_role": None, "app_password_ok": False,
            "app_attributes_ok": False, "superuser_password": False}
        fixed: list[str] = []
        try:
            queries += self._role(conn, item, before)
            queries += self._database(conn, item, before)
            queries += self._app_role(conn, item, before)
            queries += self._superuser(conn, item, before)
            queries += self._privileges(item, before)
            if conn is not None and not item.get("container"):
                fixed, more = self._enforce(conn, item, file_diffs)
                queries += more
                if self.params.get("file_modes", True):
                    queries += self._file_modes(conn)
            if item.get("container") and conn is not None:
                queries += self._container_hba(conn, item, file_diffs)
        finally:
            if conn is not None:
                conn.close()
        env_changed, env_diff = self._env_file(item)
        after = {"owner": item["owner"], "database_owner": item["owner"], "password_ok": True,
                 "app_role": item.get("app_role"), "app_password_ok": bool(item.get("app_role")),
                 "app_attributes_ok": bool(item.get("app_role")), "superuser_password": False}
        before_shown = {k: v for k, v in before.items() if k != "privileges_ok"}
        return {
            "name": item["name"], "database": item["database"], "owner": item["owner"], "port": item["port"],
            "app_role": item.get("app_role"), "env_file": item.get("env_file"), "queries": queries,
            "settings_repaired": fixed,
            "changed": bool(queries) or env_changed,
            # The roles and the database as fields, then each file written (the env file with its
            # passwords masked, a container's pg_hba/pg_ident) as text for a unified diff.
            "diff": [_diff.entry("instance %s: roles and database" % item["name"],
                                 _diff.fields(sorted(before_shown.items())), _diff.fields(sorted(after.items())))]
            + ([_diff.entry(item["env_file"], env_diff[0], env_diff[1])] if item.get("env_file") else [])
            + [_diff.entry(path, old, new) for path, (old, new) in sorted(file_diffs.items())],
        }

    def _state(self, conn, item: dict) -> dict:
        role = conn.fetchone("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (), (item["owner"],))
        db = conn.fetchone("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (),
                           (item["database"],))
        state = {"owner": item["owner"] if role else None,
                 "password_ok": bool(role) and _scram.matches(item["owner_password"], role[0]),
                 "database_owner": db[0] if db else None,
                 "app_role": None, "app_password_ok": False, "app_attributes_ok": False, "superuser_password": False}
        if item.get("app_role"):
            app = conn.fetchone("SELECT rolpassword, NOT (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication "
                                "OR rolbypassrls) AND rolcanlogin FROM pg_authid WHERE rolname = %s", (),
                                (item["app_role"],))
            if app:
                state.update({"app_role": item["app_role"], "app_password_ok": _scram.matches(item["app_password"], app[0]),
                              "app_attributes_ok": is_true(app[1])})
        if not item.get("container"):
            sup = conn.fetchone("SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = 'postgres'")
            state["superuser_password"] = bool(sup) and is_true(sup[0])
        return state

    def _execute(self, conn, template: str, idents: tuple, shown: str, params: tuple = ()) -> list[str]:
        if not self.check_mode:
            conn.execute(template, idents, params)
        return [shown]

    def _role(self, conn, item: dict, before: dict) -> list[str]:
        owner = item["owner"]
        if before["owner"] is None:
            verb = "CREATE ROLE {} LOGIN PASSWORD %s"
        elif not before["password_ok"]:
            verb = "ALTER ROLE {} LOGIN PASSWORD %s"
        else:
            return []
        shown = verb.replace("{}", owner).replace("%s", "'SCRAM-SHA-256$********'")
        return self._execute(conn, verb, (owner,), shown, (_scram.verifier(item["owner_password"]),))

    def _app_role(self, conn, item: dict, before: dict) -> list[str]:
        """The application's role: logs in, holds no role attribute beyond LOGIN."""
        app = item.get("app_role")
        if not app:
            return []
        queries = []
        if before["app_role"] is None:
            verb = "CREATE ROLE {} %s PASSWORD %%s" % APP_ATTRIBUTES
        elif not before["app_password_ok"]:
            verb = "ALTER ROLE {} PASSWORD %s"
        else:
            verb = None
        if verb:
            shown = verb.replace("{}", app).replace("%s", "'SCRAM-SHA-256$********'")
            queries += self._execute(conn, verb, (app,), shown, (_scram.verifier(item["app_password"]),))
        if before["app_role"] is not None and not before["app_attributes_ok"]:
            verb = "ALTER ROLE {} %s" % APP_ATTRIBUTES
            queries += self._execute(conn, verb, (app,), verb.format(app))
        return queries

    def _superuser(self, conn, item: dict, before: dict) -> list[str]:
        """The superuser is peer-only: a password would only open a way in over TCP."""
        if not before.get("superuser_password"):
            return []
        verb = "ALTER ROLE {} PASSWORD NULL"
        return self._execute(conn, verb, ("postgres",), verb.format("postgres"))

    def _privileges(self, item: dict, before: dict) -> list[str]:
        app = item.get("app_role")
        if not app:
            return []
        if before["app_role"] is not None and before["database_owner"] is not None:
            conn = self._session(item, item["database"])
            try:
                row = conn.fetchone(PRIVILEGES_OK, (), (app,) * 8 + (item["owner"], app))
                if row and is_true(row[0]):
                    return []
                return self._grant(conn, item)
            finally:
                conn.close()
        if self.check_mode:
            return [template.format(*(item[k] for k in keys)) for template, keys in GRANTS]
        conn = self._session(item, item["database"])
        try:
            return self._grant(conn, item)
        finally:
            conn.close()

    def _grant(self, conn, item: dict) -> list[str]:
        queries = []
        for template, keys in GRANTS:
            idents = tuple(item[key] for key in keys)
            queries += self._execute(conn, template, idents, template.format(*idents))
        return queries

    def _enforce(self, conn, item: dict, file_diffs: dict | None = None) -> tuple[list[str], list[str]]:
        """Managed settings that another file or ALTER SYSTEM overrides are put back: the ALTER SYSTEM
        value is reset, another file's line is commented out (its text goes into `file_diffs`), then
        the instance reloads."""
        names = sorted(item.get("enforce") or [])
        if not names:
            return [], []
        rows = conn.conn.cursor()
        try:
            rows.execute(WINNING, (names,))
            found = rows.fetchall()
        finally:
            rows.close()
        fixed, queries = [], []
        for name, sourcefile, sourceline in found:
            if not sourcefile or sourcefile.endswith(SETTINGS_FILE):
                continue
            fixed.append(name)
            if sourcefile.endswith("postgresql.auto.conf"):
                queries += self._execute(conn, "ALTER SYSTEM RESET {}", (name,), "ALTER SYSTEM RESET %s" % name)
            else:
                queries.append("-- %s:%s: %s commented out" % (sourcefile, sourceline, name))
                old, new = disable_line(sourcefile, int(sourceline), self.check_mode)
                if file_diffs is not None:
                    file_diffs[sourcefile] = (file_diffs.get(sourcefile, (old, None))[0], new)
        if fixed:
            queries += self._execute(conn, "SELECT pg_reload_conf()", (), "SELECT pg_reload_conf()")
        return fixed, queries

    def _file_modes(self, conn) -> list[str]:
        """CIS file modes: the data directory 0700, configuration files 0640, the TLS key 0600 (0640
        when root owns it, as PostgreSQL allows). Only modes wider than these are narrowed."""
        paths = {}
        for setting in ("data_directory", "config_file", "hba_file", "ident_file", "ssl_key_file"):
            row = conn.fetchone("SELECT current_setting(%s, true)", (), (setting,))
            paths[setting] = row[0] if row and row[0] else None
        data_dir = paths["data_directory"]
        if not data_dir:
            return []
        wanted = {data_dir: 0o700}
        for setting in ("config_file", "hba_file", "ident_file"):
            if paths[setting]:
                wanted[paths[setting]] = 0o640
        if paths["config_file"]:
            settings_file = os.path.dirname(paths["config_file"]) + SETTINGS_FILE
            wanted[settings_file] = 0o640
        if paths["ssl_key_file"]:
            key = os.path.join(data_dir, paths["ssl_key_file"])
            try:
                wanted[key] = 0o600 if os.stat(key).st_uid == os.stat(data_dir).st_uid else 0o640
            except OSError:
                pass
        queries = []
        for path, mode in wanted.items():
            try:
                current = os.stat(path).st_mode & 0o7777
            except OSError:
                continue
            if current & ~mode:
                queries.append("-- chmod %04o %s (was %04o)" % (mode, path, current))
                if not self.check_mode:
                    os.chmod(path, mode)
        return queries

    def _container_hba(self, conn, item: dict, file_diffs: dict | None = None) -> list[str]:
        """The container's pg_hba: the image's `trust` lines replaced (peer on the socket for its
        superuser, SCRAM over TCP), then a reload. Each file rewritten goes into `file_diffs` as
        {'container NAME:path': (before, after)}."""
        files = {}
        for setting in ("hba_file", "ident_file"):
            row = conn.fetchone("SELECT current_setting(%s)", (), (setting,))
            files[setting] = row[0]
        wanted = {files["hba_file"]: _security.render_hba(_security.container_hba_rules()),
                  files["ident_file"]: _security.render_container_ident(item["owner"])}
        queries = []
        for path, content in wanted.items():
            current = conn.read_file(path)
            if current == content:
                continue
            if file_diffs is not None:
                file_diffs["container %s:%s" % (item["container"], path)] = (current, content)
            queries.append("-- %s rewritten" % path)
            if not self.check_mode:
                conn.write_file(path, content, files["hba_file"])
        if queries:
            queries += self._execute(conn, "SELECT pg_reload_conf()", (), "SELECT pg_reload_conf()")
        return queries

    def _database(self, conn, item: dict, before: dict) -> list[str]:
        db, owner = item["database"], item["owner"]
        if before["database_owner"] is None:
            verb = "CREATE DATABASE {} OWNER {}"
        elif before["database_owner"] != owner:
            verb = "ALTER DATABASE {} OWNER TO {}"
        else:
            return []
        return self._execute(conn, verb, (db, owner), verb.format(db, owner))

    def _env_file(self, item: dict) -> tuple[bool, tuple[str, str]]:
        path = item.get("env_file")
        if not path:
            return False, ("", "")
        content = _envfile.render(env_values(item))
        current = _envfile.read(path)
        shown = _diff.masked_env(current, content, _envfile.SECRET_KEYS)
        if _envfile.is_current(path, content):
            return False, shown
        if not self.check_mode:
            _envfile.write(path, content)
        return True, shown

    def run(self) -> dict:
        items = batch_items(self.params, ITEM_KEYS)
        # Refused before any instance is touched: what an env file cannot hold (see _envfile).
        problems = [message for item in items if item.get("env_file") for key, value in env_values(item).items()
                    for message in [_envfile.problem_message(
                        "instance '%s'" % item["name"], "the env file's %s" % key, value,
                        ENV_FIXES.get(key, "choose another value"))] if message]
        if problems:
            return {"results": [], "errors": problems}
        results, errors = run_all(items, self.converge, self.params["workers"])
        return {"results": results, "errors": errors}
