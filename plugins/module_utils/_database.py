# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An instance's application database, its owner role and the backend's env file.

Private to darevel.postgres. Connects as the cluster superuser over the Unix socket (root is
mapped to `postgres` by pg_instance's ident map); passwords travel as SCRAM verifiers only.
"""

from __future__ import annotations

from typing import Optional

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

ITEM_KEYS = ["name", "version", "port", "database", "owner", "owner_password", "env_file", "env_host"]


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
    return conn


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
        with conn.cursor() as cur:
            cur.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (item["owner"],))
            role = cur.fetchone()
            cur.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (item["database"],))
            db = cur.fetchone()
        return {"owner": item["owner"] if role else None,
                "password_ok": bool(role) and _scram.matches(item["owner_password"], role[0]),
                "database_owner": db[0] if db else None}

    def _execute(self, conn, statement, shown: str, params: Optional[tuple] = None) -> list[str]:
        if not self.check_mode:
            with conn.cursor() as cur:
                cur.execute(statement, params)
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
        statement = sql.SQL(verb).format(sql.Identifier(owner)) if HAS_PSYCOPG2 else None
        return self._execute(conn, statement, shown, (_scram.verifier(item["owner_password"]),))

    def _database(self, conn, item: dict, before: dict) -> list[str]:
        db, owner = item["database"], item["owner"]
        if before["database_owner"] is None:
            verb = "CREATE DATABASE {} OWNER {}"
        elif before["database_owner"] != owner:
            verb = "ALTER DATABASE {} OWNER TO {}"
        else:
            return []
        statement = sql.SQL(verb).format(sql.Identifier(db), sql.Identifier(owner))
        return self._execute(conn, statement, verb.format(db, owner))

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
