# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The native runtime: a cluster of this host (Debian or generic layout: same socket, same tools),
or an external server reached with this host's clients. Private to darevel.postgres.

SQL goes through psycopg2 on the Unix socket as `postgres` (root is mapped to it by the ident map
pg_instance installs), with every value returned as the server's text, as psql prints it; the
client tools are the instance's own version's, run with subprocess (no Ansible needed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Optional

from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.module_utils._runtime.base import (
    APPLICATION, SOCKET_DIR, Runtime, Session, bin_dir, mask_verifiers, newest_client, render, tail, write_owned)

try:
    import psycopg2
    import psycopg2.extensions
    HAS_PSYCOPG2 = True
except ImportError:  # pragma: no cover - reported when a session is opened
    HAS_PSYCOPG2 = False

TIMEOUT = 10
# libpq environment -> psycopg2 keyword, for an external server given as environment.
ENV_KEYWORDS = {"PGHOST": "host", "PGPORT": "port", "PGUSER": "user", "PGPASSWORD": "password",
                "PGSSLMODE": "sslmode", "PGSSLROOTCERT": "sslrootcert", "PGCONNECT_TIMEOUT": "connect_timeout"}


def _text(value, _cursor):
    return value


def as_text(conn) -> None:
    """Every type psycopg2 would convert comes back as the server's text on this connection."""
    oids = tuple(psycopg2.extensions.string_types)
    psycopg2.extensions.register_type(psycopg2.extensions.new_type(oids, "DAREVEL_TEXT", _text), conn)


class DriverSession(Session):
    def __init__(self, conn, label: str) -> None:
        self.conn = conn
        self.label = label

    def rows(self, text: str, idents: tuple = (), params: tuple = ()) -> list[tuple]:
        try:
            with self.conn.cursor() as cur:
                cur.execute(render(text, idents, params))
                return [tuple(row) for row in cur.fetchall()] if cur.description else []
        except psycopg2.Error as exc:
            raise DarevelError("%s: SQL failed: %s; fix: see the error" % (
                self.label, mask_verifiers(str(exc).strip()) or exc.__class__.__name__))

    def begin_snapshot(self) -> None:
        """A read-only repeatable-read transaction, kept until close (the backup's snapshot)."""
        self.conn.autocommit = False
        self.conn.set_session(isolation_level="REPEATABLE READ", readonly=True)

    def close(self) -> None:
        """Never raises: a connection the server has closed is simply gone (the error that closed it
        is the one reported)."""
        try:
            if not self.conn.closed and not self.conn.autocommit:
                self.conn.rollback()
        except psycopg2.Error:
            pass
        finally:
            self.conn.close()


class NativeRuntime(Runtime):
    """An instance of this host over its Unix socket, or (with `env`) an external server."""

    kind = "native"

    def __init__(self, label: str, port: Optional[int] = None, version: Optional[int] = None,
                 socket_dir: str = SOCKET_DIR, user: str = "postgres", env: Optional[dict] = None,
                 minimum: Optional[int] = None, application: str = APPLICATION, which=shutil.which) -> None:
        super().__init__(label)
        self.port, self.version, self.socket_dir, self.user = port, version, socket_dir, user
        self.env = dict(env or {})
        self.minimum = minimum
        self.application = application
        self.which = which

    # ---------------------------------------------------------------- SQL

    def connect_kwargs(self, database: str) -> dict:
        if self.env:
            kwargs = {ENV_KEYWORDS[k]: v for k, v in self.env.items() if k in ENV_KEYWORDS}
            kwargs.setdefault("connect_timeout", TIMEOUT)
        else:
            kwargs = {"host": self.socket_dir, "port": self.port, "user": self.user, "connect_timeout": TIMEOUT}
        return dict(kwargs, dbname=database, application_name=self.application)

    def where(self) -> str:
        if self.env:
            return "%s:%s" % (self.env.get("PGHOST"), self.env.get("PGPORT") or 5432)
        return "port %s through %s" % (self.port, self.socket_dir)

    def session(self, database: str = "postgres") -> DriverSession:
        if not HAS_PSYCOPG2:
            raise DarevelError("%s: psycopg2 is missing on the host; fix: install python3-psycopg2" % self.label)
        try:
            conn = psycopg2.connect(**self.connect_kwargs(database))
        except psycopg2.Error as exc:
            first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
            raise DarevelError("%s: cannot connect on %s as %s: %s; fix: start the instance (playbooks/start.yml "
                               "-e apps=...) and check that its pg_hba.conf maps root to postgres" % (
                                   self.label, self.where(), self.env.get("PGUSER") or self.user, first))
        conn.autocommit = True
        as_text(conn)
        return DriverSession(conn, self.label)

    # ---------------------------------------------------------------- tools

    def tool_path(self, name: str) -> str:
        if self.version:
            found = bin_dir(self.version, name)
            path = os.path.join(found, name) if found else None
        elif self.minimum:
            path = newest_client(name, self.minimum) or None
        else:
            path = self.which(name)
        if not path:
            raise DarevelError("%s: no %s client of version %s on the host; fix: install the PostgreSQL %s client "
                               "packages" % (self.label, name, self.version or ("%s or newer" % self.minimum if
                                                                                self.minimum else "any"),
                                             self.version or self.minimum or ""))
        return path

    def conn_args(self) -> list[str]:
        if self.env:
            return ["--no-password"]
        return ["-h", self.socket_dir, "-p", str(self.port), "-U", self.user, "--no-password"]

    def tool(self, name: str, args: list[str], what: str, stdin: Optional[bytes] = None,
             dest: Optional[str] = None, connect: bool = True) -> str:
        argv = [self.tool_path(name)] + (self.conn_args() if connect else []) + list(args)
        return self._run(argv, what, stdin, dest)

    def command(self, argv: list[str], what: str, user: str = "postgres") -> str:
        return self._run(argv, what)

    def _run(self, argv: list[str], what: str, stdin: Optional[bytes] = None, dest: Optional[str] = None) -> str:
        env = dict(os.environ, LC_ALL="C", PGAPPNAME=self.application, **self.env)
        out = open(dest, "wb") if dest else subprocess.PIPE
        try:
            proc = subprocess.run(argv, input=stdin if stdin is not None else b"", stdout=out,
                                  stderr=subprocess.PIPE, env=env, check=False)
            if dest:
                out.flush()
                os.fsync(out.fileno())
        finally:
            if dest:
                out.close()
        if proc.returncode != 0:
            raise DarevelError("%s: %s failed (rc=%d%s): %s; fix: see the error" % (
                self.label, what, proc.returncode, ", killed by signal %d" % -proc.returncode
                if proc.returncode < 0 else "", mask_verifiers(tail(proc.stderr)) or "no message"))
        return "" if dest else proc.stdout.decode("utf-8", "replace")

    def read_file(self, path: str) -> Optional[str]:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError:
            return None

    def write_file(self, path: str, content: str, like: str, mode: int = 0o600) -> None:
        write_owned(path, content, like, mode)

    def private_file(self, data: bytes, name: str) -> str:
        """The statements are given on stdin natively: nothing to write."""
        raise DarevelError("%s: private_file is for the docker runtime" % self.label)
