# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An instance's application database, its owner role and the backend's env file.

Private to darevel.postgres. Reaches the instance through the runtime layer (`_runtime`): a native
cluster as its superuser over the Unix socket (root is mapped to `postgres` by pg_instance's ident
map), a container through psql inside it as the image's superuser. Passwords travel as SCRAM
verifiers only.
"""

from __future__ import annotations

import os

from ansible_collections.darevel.postgres.plugins.module_utils import _diff, _envfile, _scram, _security
from ansible_collections.darevel.postgres.plugins.module_utils._batch import run_all
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.module_utils._instance import batch_items
from ansible_collections.darevel.postgres.plugins.module_utils._runtime.base import is_true
from ansible_collections.darevel.postgres.plugins.module_utils._runtime import select_runtime

ITEM_KEYS = ["name", "version", "port", "database", "owner", "owner_password", "app_role", "app_password",
             "env_file", "env_host", "container", "env_sslmode", "env_sslrootcert", "lock_public_schema",
             "connection_limit"]
# Does PUBLIC hold a privilege on schema public (CIS 4.10)? Checked in each database.
# A database without a schema public answers no row.
PUBLIC_SCHEMA_OPEN = ("SELECT has_schema_privilege('public', oid, 'USAGE') OR has_schema_privilege('public', oid, "
                      "'CREATE') FROM pg_namespace WHERE nspname = 'public'")
OWNER_SCHEMA_OK = ("SELECT has_schema_privilege(%s, oid, 'USAGE') AND has_schema_privilege(%s, oid, 'CREATE') "
                   "FROM pg_namespace WHERE nspname = 'public'")
CONNECTABLE = "SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname"
UNLIMITED_LOGINS = "SELECT rolname FROM pg_roles WHERE rolcanlogin AND rolconnlimit < 0 AND rolname !~ '^pg_' ORDER BY 1"
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
    if item.get("env_sslmode"):
        values["PGSSLMODE"] = item["env_sslmode"]
    if item.get("env_sslrootcert"):
        values["PGSSLROOTCERT"] = item["env_sslrootcert"]
    return values


class DatabaseManager:
    def __init__(self, module) -> None:
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode

    def _runtime(self, item: dict):
        """The item's runtime: its container (psql there as the owner, the image's superuser) or
        its native cluster (as postgres over the socket). Opening a container checks that it runs."""
        docker = bool(item.get("container"))
        target = {"name": item["name"], "container": item["container"], "user": item["owner"]} if docker else item
        return select_runtime("docker" if docker else "native", target,
                              docker_host=self.params["docker_host"], socket_dir=self.params["socket_dir"])

    def _session(self, item: dict, dbname: str = "postgres"):
        return self._runtime(item).session(dbname)

    def converge(self, item: dict) -> dict:
        required = ("port", "database", "owner", "owner_password") + (("app_password",) if item.get("app_role") else ())
        for key in required:
            if not item.get(key):
                raise DarevelError("instance '%s': %s is required; fix: set it" % (item["name"], key))
        queries: list[str] = []
        runtime = conn = None
        try:
            runtime = self._runtime(item)
            conn = runtime.session()
        except DarevelError:
            if not self.check_mode:
                raise
            conn = None  # check mode before the instance exists: everything would be created
        before = self._state(conn, item) if conn else {
            "owner": None, "database_owner": None, "password_ok": False, "app_role": None, "app_password_ok": False,
            "app_attributes_ok": False, "superuser_password": False}
        try:
            queries += self._role(conn, item, before)
            queries += self._database(conn, item, before)
            queries += self._app_role(conn, item, before)
            queries += self._superuser(conn, item, before)
            queries += self._privileges(runtime, item, before)
            queries += self._public_schema(runtime, conn, item, before)
            queries += self._connection_limits(conn, item)
        finally:
            if conn is not None:
                conn.close()
            if runtime is not None:
                runtime.cleanup()
        env_changed, env_diff = self._env_file(item)
        after = {"owner": item["owner"], "database_owner": item["owner"], "password_ok": True,
                 "app_role": item.get("app_role"), "app_password_ok": bool(item.get("app_role")),
                 "app_attributes_ok": bool(item.get("app_role")), "superuser_password": False}
        before_shown = {k: v for k, v in before.items() if k != "privileges_ok"}
        return {
            "name": item["name"], "database": item["database"], "owner": item["owner"], "port": item["port"],
            "app_role": item.get("app_role"), "env_file": item.get("env_file"), "queries": queries,
            "changed": bool(queries) or env_changed,
            # The roles and the database as fields, then the env file (its passwords masked) as text
            # for a unified diff.
            "diff": [_diff.entry("instance %s: roles and database" % item["name"],
                                 _diff.fields(sorted(before_shown.items())), _diff.fields(sorted(after.items())))]
            + ([_diff.entry(item["env_file"], env_diff[0], env_diff[1])] if item.get("env_file") else [])
        }

    def _state(self, conn, item: dict) -> dict:
        role = conn.one("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (), (item["owner"],))
        db = conn.one("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (), (item["database"],))
        state = {"owner": item["owner"] if role else None,
                 "password_ok": bool(role) and _scram.matches(item["owner_password"], role[0]),
                 "database_owner": db[0] if db else None,
                 "app_role": None, "app_password_ok": False, "app_attributes_ok": False, "superuser_password": False}
        if item.get("app_role"):
            app = conn.one("SELECT rolpassword, NOT (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication "
                           "OR rolbypassrls) AND rolcanlogin FROM pg_authid WHERE rolname = %s", (), (item["app_role"],))
            if app:
                state.update({"app_role": item["app_role"], "app_password_ok": _scram.matches(item["app_password"], app[0]),
                              "app_attributes_ok": is_true(app[1])})
        if not item.get("container"):
            state["superuser_password"] = is_true(conn.value(
                "SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = 'postgres'"))
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

    def _privileges(self, runtime, item: dict, before: dict) -> list[str]:
        """Checked and granted in the application's database: another session of the same runtime."""
        app = item.get("app_role")
        if not app:
            return []
        if before["app_role"] is not None and before["database_owner"] is not None:
            with runtime.session(item["database"]) as conn:
                if is_true(conn.value(PRIVILEGES_OK, (), (app,) * 8 + (item["owner"], app))):
                    return []
                return self._grant(conn, item)
        if self.check_mode:
            return [template.format(*(item[k] for k in keys)) for template, keys in GRANTS]
        with runtime.session(item["database"]) as conn:
            return self._grant(conn, item)

    def _connection_limits(self, conn, item: dict) -> list[str]:
        """Each login role the instance manages holds at most connection_limit connections (CIS 5.5),
        and every other login role without a limit gets the same one (PostgreSQL does not apply it to
        a superuser, whom superuser_reserved_connections serves; the limit is there to be seen)."""
        limit = item.get("connection_limit")
        if not limit:
            return []
        managed = [item["owner"]] + ([item["app_role"]] if item.get("app_role") else [])
        others = [row[0] for row in conn.rows(UNLIMITED_LOGINS)] if conn is not None else []
        queries = []
        for role in managed + [r for r in others if r not in managed]:
            current = conn.value("SELECT rolconnlimit FROM pg_roles WHERE rolname = %s", (), (role,)) \
                if conn is not None else None
            if current is not None and int(current) == int(limit):
                continue
            verb = "ALTER ROLE {} CONNECTION LIMIT %d" % int(limit)
            if conn is None:
                queries.append(verb.format(role))
                continue
            queries += self._execute(conn, verb, (role,), verb.format(role))
        return queries

    def _public_schema(self, runtime, conn, item: dict, before: dict) -> list[str]:
        """On prod, PUBLIC holds nothing on schema public in any database (template1 included, so a
        new database starts so); the owner keeps USAGE and CREATE there explicitly (PostgreSQL
        before 15 gives them through PUBLIC only), the application role its USAGE (_privileges)."""
        if not item.get("lock_public_schema"):
            return []
        revoke, grant = "REVOKE ALL ON SCHEMA public FROM PUBLIC", "GRANT USAGE, CREATE ON SCHEMA public TO {}"
        if conn is None or (self.check_mode and before["database_owner"] is None):
            # check mode before the database exists: what its creation would be followed by
            return ["-- %s: %s" % (item["database"], revoke),
                    "-- %s: %s" % (item["database"], grant.format(item["owner"]))]
        queries = []
        for database in [row[0] for row in conn.rows(CONNECTABLE)]:
            with runtime.session(database) as session:
                if is_true(session.value(PUBLIC_SCHEMA_OPEN)):
                    queries += ["-- %s: %s" % (database, revoke)]
                    if not self.check_mode:
                        session.execute(revoke)
                owner_ok = session.value(OWNER_SCHEMA_OK, (), (item["owner"], item["owner"]))
                if database == item["database"] and owner_ok is not None and not is_true(owner_ok):
                    queries += ["-- %s: %s" % (database, grant.format(item["owner"]))]
                    if not self.check_mode:
                        session.execute(grant, (item["owner"],))
        return queries

    def _grant(self, conn, item: dict) -> list[str]:
        queries = []
        for template, keys in GRANTS:
            idents = tuple(item[key] for key in keys)
            queries += self._execute(conn, template, idents, template.format(*idents))
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
            return {"results": [], "errors": problems, "host": []}
        results, errors = run_all(items, self.converge, self.params["workers"])
        host, problems = self._config_dirs() if self.params.get("file_modes", True) else ([], [])
        return {"results": results, "errors": errors + problems, "host": host}

    def _config_dirs(self) -> tuple[list[dict], list[str]]:
        """The collection's configuration directories that exist (the env files' and the TLS
        files' parents, CONFIG_DIRS) back to 0755 root:root: a dev converge of earlier versions
        created /etc/darevel/postgres 0700, where the postgres user cannot reach its TLS files.
        One change per directory, as {'path', 'before', 'after'}, and a problem per directory that
        could not be changed; nothing is created."""
        changes, problems = [], []
        for path in _security.CONFIG_DIRS:
            try:
                st = os.stat(path)
            except OSError:
                continue
            mode = st.st_mode & 0o7777
            if mode == 0o755 and st.st_uid == 0 and st.st_gid == 0:
                continue
            change = {"path": path, "before": "mode %04o, uid %d, gid %d" % (mode, st.st_uid, st.st_gid),
                      "after": "mode 0755, uid 0, gid 0"}
            if not self.check_mode:
                try:
                    os.chown(path, 0, 0)
                    os.chmod(path, 0o755)
                except OSError as exc:
                    problems.append("host: %s is mode %04o, uid %d, gid %d and cannot be set to 0755 root:root: %s; "
                                    "fix: run as root (become: true), or chmod 0755 and chown root:root it by hand"
                                    % (path, mode, st.st_uid, st.st_gid, exc.strerror or exc))
                    continue
            changes.append(change)
        return changes, problems
