# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restore a backup written by pg_backup (see the backup contract in docs/backups.md).

Private to darevel.postgres. Order of work for one instance: pick the backup (latest or by id),
check every file's size and sha256 against the manifest, check the target (existing databases need
an explicit confirmation), and only then touch a database: globals, then each database restored
into a fresh database, its per-table row counts compared with the manifest. A replaced database is
restored under a temporary name first and swapped in only once its counts match.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Optional

from ansible_collections.darevel.postgres.plugins.module_utils import _envfile
from ansible_collections.darevel.postgres.plugins.module_utils._manifest import (
    COUNTED_TABLES, MANIFEST, ROW_COUNT, order_key, sha256_file)
from ansible_collections.darevel.postgres.plugins.module_utils._batch import run_all
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.module_utils._runtime import select_runtime
from ansible_collections.darevel.postgres.plugins.module_utils._runtime.base import Runtime, Session
from ansible_collections.darevel.postgres.plugins.module_utils._runtime.native import NativeRuntime

BACKUP_ID = re.compile(r"^(\d{8}T\d{6}Z)(?:-(\d+))?\Z")
TEMP_SUFFIX = "_darevel_restore"
IDENT_MAX = 63
# The generic fix of a runtime's error, left out where a message gives its own.
SEE_THE_ERROR = "; fix: see the error"
# Every ordinary table (partitions included, partitioned parents not, extension tables left out:
# the manifest's definition), counted in one round trip: query_to_xml runs each count server-side,
# with format() quoting the names. The manifest's tables and counts, as (schema.table, rows) rows.
COUNT_SQL = "SELECT n.nspname || '.' || c.relname, %s %s" % (ROW_COUNT, COUNTED_TABLES)
CREATE_ROLE = re.compile(r'^CREATE ROLE ("(?:[^"]|"")+"|[^\s;]+);\s*\Z')
GRANTED_BY = re.compile(r'\s+GRANTED BY\s+("(?:[^"]|"")+"|[^\s;]+)\s*;\s*\Z')
ALTER_ROLE = re.compile(r'^ALTER ROLE ("(?:[^"]|"")+"|[^\s;]+) ')


# --------------------------------------------------------------------------- pure logic


def backup_key(backup_id: str) -> tuple:
    """Sort key of a backup id: its timestamp, then the -N suffix numerically (-10 after -9)."""
    match = BACKUP_ID.match(backup_id)
    if not match:
        return ("", 0)
    return (match.group(1), int(match.group(2) or 0))


def complete_backups(names: list[str], has_manifest) -> list[str]:
    """Backup ids among directory names: well-formed (no .partial work directory) and holding a
    manifest, oldest first."""
    return sorted((n for n in names if BACKUP_ID.match(n) and has_manifest(n)), key=backup_key)


def select_backup(available: list[str], wanted: Optional[str], instance: str, where: str, key=None) -> str:
    """The backup to restore: `wanted`, or for latest the newest by `key` (the manifests' sequence
    numbers, see sequence_order; the id's timestamp when none is given)."""
    if not available:
        raise DarevelError("instance '%s': no complete backup under %s; fix: run playbooks/backup.yml "
                           "(-e apps=%s) first, or point postgres_backup_root at the backups" % (instance, where, instance))
    if wanted in (None, "", "latest"):
        return max(available, key=key or backup_key)
    if wanted not in available:
        raise DarevelError("instance '%s': backup '%s' not found under %s; fix: use one of %s, or latest" % (
            instance, wanted, where, ", ".join(available[-10:])))
    return wanted


def sequence_order(instance_dir: str, available: list[str]):
    """Sort key over backup ids that no clock step can reorder: the sequence number each manifest
    records (_manifest.order_key); backups from before sequence numbers sort first, by id."""
    manifests = {}
    for backup_id in available:
        try:
            with open(os.path.join(instance_dir, backup_id, MANIFEST)) as handle:
                manifests[backup_id] = json.load(handle)
        except (OSError, ValueError):
            manifests[backup_id] = None
    return lambda backup_id: order_key({"id": "", "manifest": manifests.get(backup_id)}) + backup_key(backup_id)


def safe_path(path: str) -> bool:
    """A file name relative to the backup directory that stays inside it: '/'-separated plain names
    (no empty, '.' or '..' part, no backslash, no control character, not absolute)."""
    if not isinstance(path, str) or not path or "\\" in path or any(ord(c) < 32 or ord(c) == 127 for c in path):
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))


def env_file_problems(dsn: dict) -> list[str]:
    """What of target_dsn the rewritten env file could not hold (the one env-file rule, _envfile)."""
    fixes = {"DB_HOST": "target_dsn.host (-e target_host=...)", "POSTGRES_USER": "target_dsn.user",
             "POSTGRES_PASSWORD": "target_dsn.password (-e target_password=...)",
             "PGSSLMODE": "target_dsn.sslmode", "PGSSLROOTCERT": "target_dsn.sslrootcert"}
    problems = []
    for key, value in env_values(dsn, "postgres").items():
        message = _envfile.problem_message("target %s" % dsn_label(dsn), "the env file's %s" % key, value,
                                           "give %s another value" % fixes.get(key, key))
        if message:
            problems.append(message)
    return problems


def manifest_problems(manifest: dict, instance: str, backup_id: str) -> list[str]:
    """What makes a manifest unusable, each naming the backup and the fix."""
    where = "instance '%s': backup %s" % (instance, backup_id)
    if not isinstance(manifest, dict) or manifest.get("format") != 1:
        return ["%s: manifest format %r is not 1; fix: restore it with the collection version that wrote it" % (
            where, manifest.get("format") if isinstance(manifest, dict) else None)]
    problems = []
    files = manifest.get("files") or []
    listed = {f.get("path") for f in files}
    for entry in files:
        if not safe_path(str(entry.get("path", ""))) or not isinstance(entry.get("size"), int) or not entry.get("sha256"):
            problems.append("%s: manifest file entry %r is invalid; fix: use another backup" % (where, entry))
    for db in manifest.get("databases") or []:
        path = str(db.get("path", ""))
        covered = path in listed or any(str(p).startswith(path.rstrip("/") + "/") for p in listed)
        if db.get("format") not in ("custom", "directory") or not safe_path(path) or not covered:
            problems.append("%s: database %r has no checksummed file %r in the manifest; fix: use another "
                            "backup" % (where, db.get("name"), path))
    # The globals file runs as the superuser (CREATE ROLE ...): a plain name of the backup
    # directory that the manifest checksums like the dumps, or nothing.
    globals_entry = manifest.get("globals")
    gfile = globals_entry.get("file") if isinstance(globals_entry, dict) else globals_entry
    if gfile is not None and (not isinstance(gfile, str) or "/" in gfile or not safe_path(gfile)
                              or gfile not in listed):
        problems.append("%s: globals file %r is not a checksummed file of the backup directory (a plain name "
                        "listed in the manifest's files); fix: use another backup" % (where, gfile))
    if not manifest.get("databases"):
        problems.append("%s: the manifest lists no database; fix: use another backup" % where)
    return problems


def verify_files(backup_dir: str, manifest: dict, instance: str) -> list[str]:
    """Size, then sha256 of every file the manifest lists; every mismatch is reported."""
    problems = []
    root = os.path.realpath(backup_dir)
    for entry in manifest.get("files") or []:
        path = os.path.join(backup_dir, entry["path"])
        where = "instance '%s': backup file %s" % (instance, path)
        try:
            size = os.path.getsize(path)
        except OSError:
            problems.append("%s is missing; fix: use another backup (-e backup_id=...)" % where)
            continue
        if os.path.islink(path) or not os.path.isfile(path) or \
                not os.path.realpath(path).startswith(root + os.sep):
            problems.append("%s is not a regular file inside the backup directory (a link or another kind of "
                            "file); fix: use another backup (-e backup_id=...)" % where)
            continue
        if size != entry["size"]:
            problems.append("%s has %d bytes, the manifest says %d; fix: use another backup" % (where, size, entry["size"]))
        elif sha256_file(path) != entry["sha256"]:
            problems.append("%s does not match its sha256 in the manifest (corrupted); fix: use another backup "
                            "(-e backup_id=...)" % where)
    return problems


def selected_databases(manifest: dict, wanted: Optional[list], instance: str) -> tuple[list[dict], list[str]]:
    entries = {db["name"]: db for db in manifest.get("databases") or []}
    if not wanted:
        return list(entries.values()), []
    unknown = [name for name in wanted if name not in entries]
    problems = ["instance '%s': database '%s' is not in backup %s; fix: choose from %s" % (
        instance, name, manifest.get("backup_id"), ", ".join(sorted(entries))) for name in unknown]
    return [entries[name] for name in wanted if name in entries], problems


def target_names(sources: list[str], target_database: Optional[str], suffix: Optional[str],
                 instance: str) -> tuple[dict, list[str]]:
    """{source database: target database}; a single target name only for a single database."""
    if target_database and len(sources) > 1:
        return {}, ["instance '%s': target_database '%s' given for %d databases (%s); fix: restore one "
                    "database (databases=[...]) or use target_suffix" % (
                        instance, target_database, len(sources), ", ".join(sources))]
    names = {src: target_database or "%s%s" % (src, suffix or "") for src in sources}
    problems = ["instance '%s': target database name '%s' is longer than %d bytes; fix: choose a shorter "
                "target_database or target_suffix" % (instance, name, IDENT_MAX)
                for name in names.values() if len(name.encode()) > IDENT_MAX]
    return names, problems


def replace_problems(instance: str, where: str, existing: set, targets: list[str], confirmed: list[str]) -> list[str]:
    """An existing target database is replaced only when its name was confirmed."""
    return ["instance '%s': database '%s' already exists on %s and would be replaced; fix: restore under "
            "another name (target_database=... / -e target_database=...) or confirm with confirm_replace=[%s] "
            "(playbooks: -e confirm_replace=%s)" % (instance, db, where, db, db)
            for db in targets if db in existing and db not in (confirmed or [])]


def compare_counts(expected: dict, actual: dict) -> list[str]:
    """Differences between the manifest's row counts and the restored database's, one line each."""
    out = []
    for table in sorted(expected):
        if table not in actual:
            out.append("%s: missing (the backup has %d rows)" % (table, expected[table]))
        elif int(actual[table]) != int(expected[table]):
            out.append("%s: %d rows, the backup has %d" % (table, int(actual[table]), int(expected[table])))
    return out


def parse_toc(listing: str) -> dict:
    """Owner of the database from `pg_restore -l -C` (its DATABASE entry, listed only with -C), and the archive's encoding."""
    facts: dict = {"owner": None, "encoding": None}
    for line in listing.splitlines():
        if line.startswith(";") and "Encoding:" in line:
            facts["encoding"] = line.split("Encoding:", 1)[1].strip()
        parts = line.split()
        # 3385; 1262 16384 DATABASE - darevel_mail darevel_mail_owner
        if len(parts) >= 7 and parts[3] == "DATABASE" and parts[4] == "-":
            facts["owner"] = parts[-1]
    return facts


def unquote(ident: str) -> str:
    return ident[1:-1].replace('""', '"') if ident.startswith('"') else ident


def filter_globals(text: str, existing_roles: set) -> tuple[str, list[str], list[str]]:
    """globals.sql reduced to the roles the target lacks (their CREATE and ALTER ROLE lines) and the
    memberships that involve them; roles that exist keep their password and attributes; tablespaces
    are left out (their paths belong to the source host)."""
    kept, created, skipped = [], [], []
    for line in text.splitlines():
        create, alter = CREATE_ROLE.match(line), ALTER_ROLE.match(line)
        if create or alter:
            role = unquote((create or alter).group(1))
            if role in existing_roles:
                if create:
                    skipped.append(role)
                continue
            if create:
                created.append(role)
            kept.append(line)
        elif line.startswith("GRANT ") and set(unquote(t) for t in re.findall(r'"(?:[^"]|"")+"|[^\s,;]+', line)) & set(created):
            # The grantor of the source (often postgres) may not exist on the target.
            kept.append(GRANTED_BY.sub(";", line))
        elif line.startswith("SET ") or line.startswith("--") or not line.strip():
            kept.append(line)
    return "\n".join(kept) + "\n", created, skipped


def dsn_env(dsn: dict) -> dict:
    """libpq environment for an external server: the password never goes on a command line."""
    env = {"PGHOST": dsn["host"], "PGPORT": str(dsn.get("port") or 5432), "PGUSER": dsn["user"],
           "PGCONNECT_TIMEOUT": str(dsn.get("connect_timeout") or 10)}
    if dsn.get("password"):
        env["PGPASSWORD"] = dsn["password"]
    if dsn.get("sslmode"):
        env["PGSSLMODE"] = dsn["sslmode"]
    if dsn.get("sslrootcert"):
        env["PGSSLROOTCERT"] = dsn["sslrootcert"]
    return env


def dsn_label(dsn: dict) -> str:
    label = "%s@%s:%s" % (dsn["user"], dsn["host"], dsn.get("port") or 5432)
    return label + (" (sslmode=%s)" % dsn["sslmode"] if dsn.get("sslmode") else "")


def env_values(dsn: dict, database: str) -> dict:
    """The app's env file pointing at the external server (keys of roles/database, plus TLS)."""
    values = {"DB_HOST": dsn["host"], "DB_PORT": dsn.get("port") or 5432, "DB_NAME": database,
              "POSTGRES_USER": dsn["user"], "POSTGRES_PASSWORD": dsn.get("password") or ""}
    if dsn.get("sslmode"):
        values["PGSSLMODE"] = dsn["sslmode"]
    if dsn.get("sslrootcert"):
        values["PGSSLROOTCERT"] = dsn["sslrootcert"]
    return values


def temp_name(database: str) -> str:
    return database.encode()[:IDENT_MAX - len(TEMP_SUFFIX)].decode("utf-8", "ignore") + TEMP_SUFFIX


def row_counts(rows: list[tuple]) -> dict:
    """{schema.table: rows} from the (name, count) rows of COUNT_SQL (values are the server's text)."""
    return {table: int(count) for table, count in rows}


def cause(msg: str) -> str:
    """A runtime's error without its generic fix, for a message that gives its own."""
    return msg[:-len(SEE_THE_ERROR)] if msg.endswith(SEE_THE_ERROR) else msg


# --------------------------------------------------------------------------- the target


class HostClients(NativeRuntime):
    """An external server reached with this host's clients: the newest installed one that reads the
    archive, else the one on PATH."""

    def tool_path(self, name: str) -> str:
        try:
            return super().tool_path(name)
        except DarevelError:
            path = self.which(name)
            if not path:
                raise
            return path

    def session(self, database: str = "postgres") -> Session:
        try:
            return super().session(database)
        except DarevelError as exc:
            if "cannot connect on" not in exc.msg:
                raise
            # The runtime's fix is for an instance of this host: an external server needs its DSN checked.
            raise DarevelError("%s; fix: check target_dsn (host, port, user, password, sslmode, sslrootcert) and "
                               "that the server accepts connections from this host" % exc.msg.split("; fix:")[0])


class RestoreTarget:
    """Where a backup is restored, over a runtime: a native instance (its Unix socket, as postgres,
    with its own version's clients), an instance's container (the files copied in, the server's own
    clients, its POSTGRES_USER) or an external server (its DSN in the environment only, reached with
    the host's clients or those of the source's container). Rows are read through a session; the
    globals script and pg_restore run as client tools."""

    def __init__(self, runtime: Runtime, version: Optional[int] = None) -> None:
        self.runtime = runtime
        self.label = runtime.label
        self.version = version
        self._session: Optional[Session] = None

    def _sql(self) -> Session:
        # A docker session's psql stops at its first error: a new one serves what follows.
        if self._session is not None and not getattr(self._session, "open", True):
            self._session.close()
            self._session = None
        if self._session is None:
            self._session = self.runtime.session("postgres")
        return self._session

    def names(self, sql: str) -> set:
        """The first column of `sql`'s rows, in the postgres database."""
        return {row[0] for row in self._sql().rows(sql)}

    def execute(self, template: str, *idents: str) -> None:
        """`template` with its {} filled by the quoted `idents`, in the postgres database."""
        self._sql().execute(template, idents)

    def counts(self, database: str) -> dict:
        with self.runtime.session(database) as session:
            return row_counts(session.rows(COUNT_SQL))

    def script(self, text: str, database: str = "postgres") -> None:
        """Statements on psql's stdin, in one transaction: nothing of them shows in the process list."""
        self.runtime.tool("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-d", database, "-f", "-"],
                          "psql (globals)", stdin=text.encode("utf-8"))

    def stage(self, backup_dir: str, relpaths: list[str]) -> str:
        return self.runtime.stage(backup_dir, relpaths)

    def toc(self, path: str) -> str:
        return self.runtime.tool("pg_restore", ["-l", "-C", path], "pg_restore -l", connect=False)

    def restore(self, path: str, database: str, jobs: int, no_owner: bool) -> None:
        args = ["--exit-on-error", "-d", database]
        args += ["--no-owner", "--no-acl"] if no_owner else []
        args += ["-j", str(jobs)] if jobs > 1 else []
        self.runtime.tool("pg_restore", args + [path], "pg_restore into %s" % database)

    def cleanup(self) -> None:
        try:
            if self._session is not None:
                self._session.close()
                self._session = None
        finally:
            self.runtime.cleanup()


def external_in_container(docker_host: Optional[str], container: str, label: str, dsn: dict) -> Runtime:
    """The clients of `container` reaching the external server `dsn`: its password in PGPASSWORD,
    its root certificate copied in (0600, owned by postgres) and named by PGSSLROOTCERT."""
    env = dsn_env(dsn)
    rootcert = env.pop("PGSSLROOTCERT", None)
    from ansible_collections.darevel.postgres.plugins.module_utils._runtime.docker import DockerRuntime
    runtime = DockerRuntime.open(docker_host, container, label, env=env)
    if rootcert:
        try:
            try:
                with open(rootcert, "rb") as handle:
                    data = handle.read()
            except OSError as exc:
                raise DarevelError("%s: cannot read %s (%s); fix: give the CA certificate's path on the managed "
                                   "host (-e target_sslrootcert=...)" % (label, rootcert, exc.strerror))
            # The environment is read at each exec: every client started from here on checks it.
            runtime.env["PGSSLROOTCERT"] = runtime.private_file(data, "root.crt")
        except BaseException:
            runtime.cleanup()
            raise
    return runtime


# --------------------------------------------------------------------------- the job


class RestoreManager:
    def __init__(self, module) -> None:
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode

    def run(self) -> dict:
        keys = ["name", "version", "port", "container", "backup_id", "databases", "target_database",
                "target_suffix", "target_instance", "target_port", "target_version", "target_container"]
        if self.params.get("instances") is not None:
            items = [dict(item) for item in self.params["instances"]]
        else:
            items = [{k: self.params.get(k) for k in keys}]
        if self.params.get("env_file") and (len(items) != 1 or not self.params.get("target_dsn")):
            return {"results": [], "errors": ["env_file is rewritten only for one instance restored into target_dsn; "
                                              "fix: give target_dsn and a single instance"]}
        if self.params.get("env_file"):
            problems = env_file_problems(self.params["target_dsn"])
            if problems:  # before any database is touched
                return {"results": [], "errors": problems}
        # workers 0: as many instances at a time as the host has cores.
        results, errors = run_all(items, self.restore, self.params["workers"] or os.cpu_count() or 1)
        return {"results": results, "errors": errors}

    # ---- choosing and checking the backup (no database is touched here)

    def backup(self, item: dict) -> tuple[str, str, dict]:
        name = item["name"]
        instance_dir = os.path.join(self.params["backup_root"], name)
        try:
            names = os.listdir(instance_dir)
        except OSError:
            names = []
        available = complete_backups(names, lambda n: os.path.isfile(os.path.join(instance_dir, n, MANIFEST)))
        backup_id = select_backup(available, item.get("backup_id") or self.params.get("backup_id"), name, instance_dir,
                                  key=sequence_order(instance_dir, available))
        backup_dir = os.path.join(instance_dir, backup_id)
        try:
            with open(os.path.join(backup_dir, MANIFEST)) as handle:
                manifest = json.load(handle)
        except (OSError, ValueError) as exc:
            raise DarevelError("instance '%s': manifest of backup %s cannot be read: %s; fix: use another backup" % (
                name, backup_id, exc))
        return backup_id, backup_dir, manifest

    def target(self, item: dict, minimum: int) -> tuple[RestoreTarget, str]:
        """The target's runtime and how the messages and the report name it."""
        dsn = self.params.get("target_dsn")
        if dsn and item.get("container"):
            # Docker runtime: the source container's clients, of the archive's own version; the managed
            # host needs no PostgreSQL client, and the target must be reachable from the container.
            return RestoreTarget(external_in_container(self.params["docker_host"], item["container"],
                                                       "target %s" % dsn_label(dsn), dsn)), dsn_label(dsn)
        if dsn:
            # The host's newest client that reads the archive (any, when the manifest has no version).
            return RestoreTarget(HostClients("target %s" % dsn_label(dsn), env=dsn_env(dsn),
                                             minimum=minimum or 1)), dsn_label(dsn)
        tname = item.get("target_instance") or item["name"]
        same = tname == item["name"]
        container = item.get("target_container") or (item.get("container") if same else None)
        label = "instance '%s'" % tname
        if container:
            return RestoreTarget(select_runtime("docker", {"name": tname, "container": container},
                                                docker_host=self.params["docker_host"], label=label)), label
        port = item.get("target_port") or (item.get("port") if same else None)
        if not port:
            raise DarevelError("%s: no port for the target instance; fix: give target_port" % label)
        version = item.get("target_version") or (item.get("version") if same else None) or self.params["default_version"]
        # The instance's own version's clients (the newest that reads the archive when its version is unknown).
        runtime = select_runtime("native", {"name": tname, "port": port, "version": version},
                                 socket_dir=self.params["socket_dir"], label=label,
                                 minimum=None if version else (minimum or None))
        return RestoreTarget(runtime, version), label

    def restore(self, item: dict) -> dict:
        name = item["name"]
        backup_id, backup_dir, manifest = self.backup(item)
        problems = manifest_problems(manifest, name, backup_id)
        entries, more = selected_databases(manifest, item.get("databases"), name)
        problems += more
        names, more = target_names([e["name"] for e in entries], item.get("target_database"),
                                   item.get("target_suffix"), name)
        problems += more
        if not problems:
            problems += verify_files(backup_dir, manifest, name)
        if problems:
            raise DarevelError("instance '%s': backup %s refused, no database was touched:\n- %s" % (
                name, backup_id, "\n- ".join(problems)))
        major = int(manifest.get("server_version_num") or 0) // 10000
        target, where = self.target(item, major)
        try:
            if target.version and target.version < major:
                raise DarevelError("%s: PostgreSQL %s cannot restore backup %s of a PostgreSQL %s server; fix: "
                                   "restore into an instance of version %s or newer" % (
                                       where, target.version, backup_id, manifest.get("server_version"), major))
            existing = target.names("SELECT datname FROM pg_database")
            problems = replace_problems(name, where, existing, list(names.values()), self.params.get("confirm_replace"))
            if problems:
                raise DarevelError("\n".join(problems))
            result = {"name": name, "backup_id": backup_id, "path": backup_dir, "target": where,
                      "server_version": manifest.get("server_version"), "changed": True, "databases": []}
            sizes = file_sizes(manifest)
            if self.check_mode:
                result["databases"] = [self._row(e, names[e["name"]], sizes, None, None, existing, planned=True)
                                       for e in entries]
                result["globals"] = {"action": self._globals_mode()}
                return result
            relpaths = [f["path"] for f in manifest["files"]]
            base = target.stage(backup_dir, relpaths)
            result["globals"] = self._globals(target, backup_dir, manifest)
            for entry in entries:
                result["databases"].append(self._one(target, base, entry, names[entry["name"]], existing, sizes))
            if self.params.get("env_file"):
                result["env_file"] = self._env_file(list(names.values())[0])
            return result
        finally:
            target.cleanup()

    # ---- the database work

    def _globals_mode(self) -> str:
        mode = self.params.get("globals") or "auto"
        if mode == "auto":
            return "none" if self.params.get("target_dsn") else "missing"
        return mode

    def _no_owner(self) -> bool:
        value = self.params.get("no_owner")
        return bool(self.params.get("target_dsn")) if value is None else value

    def _globals(self, target: RestoreTarget, backup_dir: str, manifest: dict) -> dict:
        mode = self._globals_mode()
        gfile = (manifest.get("globals") or {}).get("file")
        if mode == "none" or not gfile:
            return {"action": "none", "created": [], "skipped": []}
        # manifest_problems and verify_files checked it: a plain name, listed, its sha256 matching.
        with open(os.path.join(backup_dir, gfile)) as handle:
            text = handle.read()
        kept, created, skipped = filter_globals(text, target.names("SELECT rolname FROM pg_roles"))
        if created:
            # One transaction: all the roles or none; the verifiers never go on a command line.
            target.script(kept)
        return {"action": "missing", "created": created, "skipped": skipped}

    def _one(self, target: RestoreTarget, base: str, entry: dict, dest: str, existing: set, sizes: dict) -> dict:
        started = time.monotonic()
        path = os.path.join(base, entry["path"])
        replacing = dest in existing
        work = temp_name(dest) if replacing else dest
        owner = None if self._no_owner() else parse_toc(target.toc(path))["owner"]
        if owner and owner not in target.names("SELECT rolname FROM pg_roles"):
            owner = None
        if replacing:
            target.execute("DROP DATABASE IF EXISTS {} WITH (FORCE)", work)
        if owner:
            target.execute("CREATE DATABASE {} TEMPLATE template0 OWNER {}", work, owner)
        else:
            target.execute("CREATE DATABASE {} TEMPLATE template0", work)
        try:
            target.restore(path, work, max(1, self.params.get("jobs") or 1), self._no_owner())
            counts = target.counts(work)
        except DarevelError as exc:
            target.execute("DROP DATABASE IF EXISTS {} WITH (FORCE)", work)
            raise DarevelError("%s; the partly restored database %s was dropped%s; fix: see the error above" % (
                cause(exc.msg), work, ", %s is unchanged" % dest if replacing else ""))
        differences = compare_counts(entry.get("row_counts") or {}, counts)
        if differences:
            target.execute("DROP DATABASE IF EXISTS {} WITH (FORCE)", work)
            raise DarevelError("%s: database %s restored from %s does not match the backup's row counts: %s; it was "
                               "dropped%s; fix: restore another backup (-e backup_id=...)" % (
                                   target.label, work, entry["name"], "; ".join(differences),
                                   ", %s is unchanged" % dest if replacing else ""))
        if replacing:
            target.execute("DROP DATABASE {} WITH (FORCE)", dest)
            target.execute("ALTER DATABASE {} RENAME TO {}", work, dest)
        if self.params.get("drop_after"):
            target.execute("DROP DATABASE {} WITH (FORCE)", dest)
        row = self._row(entry, dest, sizes, time.monotonic() - started, counts, existing)
        row.update(verified=True, dropped=bool(self.params.get("drop_after")))
        return row

    def _row(self, entry: dict, dest: str, sizes: dict, seconds, counts, existing: set, planned: bool = False) -> dict:
        expected = entry.get("row_counts") or {}
        return {"database": entry["name"], "target_database": dest, "format": entry.get("format"),
                "size_bytes": sizes.get(entry["name"], 0), "seconds": None if seconds is None else round(seconds, 3),
                "tables": len(expected), "rows": sum(int(v) for v in expected.values()),
                "replaced": dest in existing, "verified": None if planned else counts is not None,
                "extra_tables": sorted(set(counts or {}) - set(expected))}

    def _env_file(self, database: str) -> dict:
        path = self.params["env_file"]
        old = _envfile.read(path)
        content = _envfile.render(env_values(self.params["target_dsn"], database))
        if old == content:
            return {"path": path, "changed": False, "backup": None}
        saved = None
        if old and self.params.get("env_backup", True):
            saved = "%s.%s.bak" % (path, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
            _envfile.write(saved, old)
        _envfile.write(path, content)
        return {"path": path, "changed": True, "backup": saved}


def file_sizes(manifest: dict) -> dict:
    """Bytes of each database's dump (a directory-format dump is the sum of its files)."""
    out = {}
    for db in manifest.get("databases") or []:
        prefix = db["path"].rstrip("/") + "/"
        out[db["name"]] = sum(f["size"] for f in manifest.get("files") or []
                              if f["path"] == db["path"] or f["path"].startswith(prefix))
    return out
