# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An instance's application database, its owner role and the backend's env file.

Private to darevel.postgres. Connects as the cluster superuser over the Unix socket (root is
mapped to `postgres` by pg_instance's ident map); passwords travel as SCRAM verifiers only.
"""

from __future__ import annotations

from ansible_collections.darevel.postgres.plugins.module_utils import _envfile, _scram
from ansible_collections.darevel.postgres.plugins.module_utils._batch import run_all
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.module_utils._instance import batch_items

try:
    import psycopg2
    from psycopg2 import sql
    HAS_PSYCOPG2 = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_PSYCOPG2 = False

ITEM_KEYS = ["name", "version", "port", "database", "owner", "owner_password", "env_file", "env_host", "container"]


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

    def __init__(self, container, user: str) -> None:
        self.container = container
        self.user = user

    def _psql(self, text: str) -> str:
        argv = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-U", self.user, "-d", "postgres", "-c", text]
        rc, output = self.container.exec_run(argv, user="postgres")
        output = output.decode("utf-8", "replace") if isinstance(output, bytes) else str(output)
        if rc != 0:
            raise DarevelError("container %s: psql failed (rc=%s): %s; fix: check the container with `docker logs "
                               "%s`" % (self.container.name, rc, output.strip()[-500:], self.container.name))
        return output

    @staticmethod
    def render(template: str, idents: tuple, params: tuple) -> str:
        text = template.format(*map(quote_ident, idents))
        return text % tuple(quote_literal(str(p)) for p in params) if params else text

    def fetchone(self, template: str, idents: tuple = (), params: tuple = ()):
        lines = [ln for ln in self._psql(self.render(template, idents, params)).splitlines() if ln != ""]
        return (lines[0],) if lines else None

    def execute(self, template: str, idents: tuple = (), params: tuple = ()) -> None:
        self._psql(self.render(template, idents, params))

    def close(self) -> None:
        pass


def env_values(item: dict) -> dict:
    return {
        "DB_HOST": item.get("env_host") or "localhost",
        "DB_PORT": item["port"],
        "DB_NAME": item["database"],
        "POSTGRES_USER": item["owner"],
        "POSTGRES_PASSWORD": item["owner_password"],
    }


def connect(socket_dir: str, port: int, name: str, connect_timeout: int = 10):
    try:
        conn = psycopg2.connect(host=socket_dir, port=port, user="postgres", dbname="postgres",
                                connect_timeout=connect_timeout, application_name="darevel.postgres")
    except psycopg2.Error as exc:
        raise DarevelError("instance '%s': cannot connect on port %s through %s as postgres: %s; fix: "
                           "start the instance (darevel.postgres.pg_instance state=started) and check "
                           "that its pg_hba.conf maps root to postgres" % (
                               name, port, socket_dir, str(exc).strip()))
    conn.autocommit = True
    return DriverSession(conn)


def container_session(name: str, container_name: str, user: str):
    from ansible_collections.darevel.postgres.plugins.module_utils._docker import client
    try:
        from docker.errors import NotFound
    except ImportError:
        raise DarevelError("instance '%s': the Docker SDK for Python is missing; fix: install python3-docker" % name)
    try:
        return ContainerSession(client(None).containers.get(container_name), user)
    except NotFound:
        raise DarevelError("instance '%s': container %s does not exist; fix: run the instance role (or "
                           "darevel.postgres.pg_container) first" % (name, container_name))


class DatabaseManager:
    def __init__(self, module) -> None:
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode

    def converge(self, item: dict) -> dict:
        for key in ("port", "database", "owner", "owner_password"):
            if not item.get(key):
                raise DarevelError("instance '%s': %s is required; fix: set it" % (item["name"], key))
        queries: list[str] = []
        try:
            if item.get("container"):
                conn = container_session(item["name"], item["container"], item["owner"])
            else:
                conn = connect(self.params["socket_dir"], item["port"], item["name"])
        except DarevelError:
            if not self.check_mode:
                raise
            conn = None  # check mode before the instance exists: everything would be created
        before = self._state(conn, item) if conn else {"owner": None, "database_owner": None, "password_ok": False}
        try:
            queries += self._role(conn, item, before)
            queries += self._database(conn, item, before)
        finally:
            if conn is not None:
                conn.close()
        env_changed, env_diff = self._env_file(item)
        after = {"owner": item["owner"], "database_owner": item["owner"], "password_ok": True}
        return {
            "name": item["name"], "database": item["database"], "owner": item["owner"], "port": item["port"],
            "env_file": item.get("env_file"), "queries": queries,
            "changed": bool(queries) or env_changed,
            "diff": {"before": dict(before, env_file=env_diff[0]), "after": dict(after, env_file=env_diff[1]),
                     "before_header": "instance %s" % item["name"], "after_header": "instance %s" % item["name"]},
        }

    def _state(self, conn, item: dict) -> dict:
        role = conn.fetchone("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (), (item["owner"],))
        db = conn.fetchone("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (),
                           (item["database"],))
        return {"owner": item["owner"] if role else None,
                "password_ok": bool(role) and _scram.matches(item["owner_password"], role[0]),
                "database_owner": db[0] if db else None}

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
        if _envfile.is_current(path, content):
            return False, (_envfile.masked(current), _envfile.masked(content))
        if not self.check_mode:
            _envfile.write(path, content)
        return True, (_envfile.masked(current), _envfile.masked(content))

    def run(self) -> dict:
        items = batch_items(self.params, ITEM_KEYS)
        results, errors = run_all(items, self.converge, self.params["workers"])
        return {"results": results, "errors": errors}
