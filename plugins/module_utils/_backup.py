# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verified backups of one instance: globals, every database in the snapshot its row counts come from,
written under a temporary name, fsynced, and renamed after the manifest. Private to darevel.postgres.

Layout and manifest: docs/backups.md. The module (pg_backup) and the scheduled backup installed on a
host (roles/backup, `cli`) both run `backup_instance`; this file needs no Ansible.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import sys
import time
from contextlib import contextmanager
from typing import Optional

from ansible_collections.darevel.postgres.plugins.module_utils import _manifest, _retention
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.module_utils._runtime import select_runtime
from ansible_collections.darevel.postgres.plugins.module_utils._runtime.base import SOCKET_DIR

FORMATS = {"custom": ("c", ".dump"), "directory": ("d", ".dir")}
COMPRESSION_RE = re.compile(r"^(none|gzip|lz4|zstd)(?::([0-9]{1,2}))?\Z")
LEVELS = {"gzip": (1, 9, 6), "lz4": (1, 12, None), "zstd": (1, 22, 3)}
COUNT_SQL = "SELECT n.nspname, c.relname, %s %s" % (_manifest.ROW_COUNT, _manifest.COUNTED_TABLES)
DATABASES_SQL = ("SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate "
                 "AND datname <> 'postgres' ORDER BY datname")
VERSION_SQL = "SELECT current_setting('server_version'), current_setting('server_version_num')"


# --------------------------------------------------------------------------- pure helpers


def compression(requested: str, version_num: int, instance: str = "?") -> tuple[str, list[str]]:
    """(manifest label, pg_dump arguments) for `auto`, `none`, `gzip[:N]`, `lz4[:N]` or `zstd[:N]`."""
    if requested == "auto":
        requested = "zstd:3" if version_num >= 160000 else "gzip:6"
    match = COMPRESSION_RE.match(str(requested))
    if not match:
        raise DarevelError("instance '%s': compression '%s' is not understood; fix: use auto, none, gzip[:1-9], "
                           "lz4[:1-12] or zstd[:1-22]" % (instance, requested))
    method, level = match.group(1), match.group(2)
    if method == "none":
        return "none", (["-Z", "0"] if version_num < 160000 else ["--compress=none"])
    low, high, default = LEVELS[method]
    if level is not None and not low <= int(level) <= high:
        raise DarevelError("instance '%s': compression '%s': level %s is out of range for %s; fix: use %d-%d" % (
            instance, requested, level, method, low, high))
    if method != "gzip" and version_num < 160000:
        raise DarevelError("instance '%s': compression '%s' needs PostgreSQL 16 or later, the server is %s; fix: "
                           "use gzip[:1-9] (or auto)" % (instance, requested, version_label(version_num)))
    level = level if level is not None else (str(default) if default else None)
    label = method + (":%s" % int(level) if level else "")
    if version_num < 160000:
        return label, ["-Z", str(int(level))]
    return label, ["--compress=%s" % label]


def version_label(version_num: int) -> str:
    return "%d.%d" % (version_num // 10000, version_num % 10000) if version_num >= 100000 else str(version_num)


def parse_counts(rows) -> dict[str, int]:
    return {"%s.%s" % (schema, table): int(count) for schema, table, count in rows}


def check_options(items: list[dict], options: dict) -> list[str]:
    """Every problem with the task's input, before anything is written."""
    found = []
    _policy, problems = _retention.check_policy(options.get("retention"))
    found += problems
    if options.get("format", "custom") not in FORMATS:
        found.append("format '%s' is not custom or directory; fix: choose one" % options.get("format"))
    if int(options.get("jobs") or 1) < 1:
        found.append("jobs=%s: fix: give 1 or more" % options.get("jobs"))
    if int(options.get("jobs") or 1) > 1 and options.get("format") != "directory":
        found.append("jobs=%s needs format=directory (pg_dump writes one custom archive with one job); fix: set "
                     "format: directory or jobs: 1" % options.get("jobs"))
    comp = str(options.get("compression") or "auto")
    if comp != "auto" and not COMPRESSION_RE.match(comp):
        found.append("compression '%s' is not understood; fix: use auto, none, gzip[:N], lz4[:N] or zstd[:N]" % comp)
    root = options.get("root") or ""
    if not os.path.isabs(root) or os.path.normpath(root) == "/":
        found.append("root '%s' must be an absolute directory other than /; fix: give a path such as %s" % (
            root, _manifest.DEFAULT_ROOT))
    for item in items:
        name = str(item.get("name") or "")
        if not re.match(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\Z", name):
            found.append("instance '%s': the name cannot be a backup directory name; fix: use letters, digits, "
                         "'_', '-' and '.'" % name)
        if options.get("runtime") == "native" and not item.get("port"):
            found.append("instance '%s': no port; fix: give the instance's port" % name)
        if options.get("runtime") == "docker" and not item.get("container"):
            found.append("instance '%s': no container; fix: give the instance's container name" % name)
    return found


def dir_size(path: str) -> int:
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(p, f)) for p, _d, files in os.walk(path) for f in files)


def describe_failure(instance: str, exc: Exception, root: str) -> str:
    text = exc.msg if isinstance(exc, DarevelError) else str(exc)
    no_space = (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "No space left on device" in text
    if no_space:
        return ("instance '%s': the backup target %s is full (No space left on device); nothing of this run was "
                "kept and no older backup was deleted; fix: free space there or set postgres_backup_root to a larger "
                "file system" % (instance, root))
    if isinstance(exc, DarevelError):
        return "%s; nothing of this run was kept and no older backup was deleted" % text
    return "instance '%s': %s; nothing of this run was kept and no older backup was deleted; fix: see the error" % (
        instance, text)


# --------------------------------------------------------------------------- files


def finalize(directory: str) -> list[dict]:
    """fsync every file (and directory) under `directory`, then hash them: the manifest's `files`."""
    for parent, dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(parent, name)
            os.chmod(path, _manifest.FILE_MODE)
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        for name in dirs:
            os.chmod(os.path.join(parent, name), _manifest.DIR_MODE)
        _manifest.fsync_dir(parent)
    return _manifest.file_entries(directory)


def ensure_dir(path: str) -> None:
    if not os.path.isdir(path):
        os.makedirs(path, mode=_manifest.DIR_MODE, exist_ok=True)
    os.chmod(path, _manifest.DIR_MODE)


@contextmanager
def instance_lock(directory: str, instance: str):
    fd = os.open(os.path.join(directory, _manifest.LOCK), os.O_RDWR | os.O_CREAT, _manifest.FILE_MODE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise DarevelError("instance '%s': another backup of this instance is running (%s is locked); fix: "
                               "wait for it to end" % (instance, os.path.join(directory, _manifest.LOCK)))
        yield
    finally:
        os.close(fd)


def leftovers(directory: str) -> list[str]:
    """Partial backups of killed runs and half-deleted old ones: safe to remove under the lock."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return sorted(n for n in names if _manifest.PARTIAL_RE.match(n) or n.endswith(".deleting"))


def remove_tree(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.unlink(path)


def delete_backup(directory: str, backup_id: str) -> None:
    """Rename first so a half-deleted backup never looks complete, then remove."""
    doomed = os.path.join(directory, ".%s.deleting" % backup_id)
    os.rename(os.path.join(directory, backup_id), doomed)
    remove_tree(doomed)


# --------------------------------------------------------------------------- the instance


class BackupTarget:
    """One instance as the backup sees it, over its runtime (_runtime): the SQL in a session, the
    tools where the runtime runs them (the host's of the instance's version natively, the
    container's own on docker), every result written on the host."""

    def __init__(self, name: str, rt) -> None:
        self.name, self.rt = name, rt
        self.runtime = rt.kind

    def server(self) -> dict:
        with self.rt.session("postgres") as session:
            version, num = session.one(VERSION_SQL)
            databases = [row[0] for row in session.rows(DATABASES_SQL)]
        return {"version": str(version).split()[0], "version_num": int(num), "databases": databases}

    @contextmanager
    def snapshot(self, dbname: str):
        """(exported snapshot, row counts in it); the transaction stays open while pg_dump uses it."""
        with self.rt.session(dbname) as session:
            session.begin_snapshot()
            snap = session.value("SELECT pg_export_snapshot()")
            counts = parse_counts(session.rows(COUNT_SQL))
            yield snap, counts

    def dump_globals(self, dest: str) -> None:
        self.rt.tool("pg_dumpall", ["--globals-only"], "pg_dumpall", dest=dest)

    def dump(self, dbname: str, snap: str, fmt: str, jobs: int, comp_args: list[str], dest: str) -> None:
        args = ["-F", FORMATS[fmt][0], "--snapshot", snap] + comp_args
        what = "pg_dump of database %s" % dbname
        if fmt == "custom" and self.rt.kind == "docker":
            # Streamed out of the container: no copy of the archive is kept inside it.
            self.rt.tool("pg_dump", args + ["--dbname", dbname], what, dest=dest)
            return
        if fmt == "directory" and jobs > 1:
            args += ["-j", str(jobs)]
        out = self.rt.output_path(dest)  # dest itself natively, a scratch path in a container
        try:
            self.rt.tool("pg_dump", args + ["-f", out, "--dbname", dbname], what)
            self.rt.collect(out, dest)
        except BaseException:
            try:
                self.rt.cleanup()
            except DarevelError:
                pass  # the dump's own error is the one to report
            raise
        self.rt.cleanup()  # the scratch copy goes database by database (nothing to do natively)

    def list_archive(self, path: str) -> Optional[str]:
        """pg_restore --list on the host: None when the archive reads, else the error. The host's
        pg_restore may be older than a container's server: not checked there (None)."""
        if self.rt.kind != "native":
            return None
        try:
            self.rt.tool_path("pg_restore")
        except DarevelError:
            return None
        try:
            self.rt.tool("pg_restore", ["--list", path], "pg_restore --list", connect=False)
        except DarevelError as exc:
            text = exc.msg[len(self.rt.label) + 2:] if exc.msg.startswith(self.rt.label + ": ") else exc.msg
            return text.rsplit("; fix:", 1)[0][-300:]
        return None

    def close(self) -> None:
        self.rt.cleanup()


# --------------------------------------------------------------------------- one instance


def make_target(item: dict, options: dict) -> BackupTarget:
    rt = select_runtime(options.get("runtime"), item, docker_host=options.get("docker_host"),
                        socket_dir=options.get("socket_dir") or SOCKET_DIR)
    return BackupTarget(item["name"], rt)


def archive_problem(path: str, fmt: str) -> Optional[str]:
    header = os.path.join(path, "toc.dat") if fmt == "directory" else path
    try:
        with open(header, "rb") as handle:
            magic = handle.read(5)
    except OSError as exc:
        return "%s cannot be read: %s" % (header, exc.strerror)
    return None if magic == b"PGDMP" else "%s is not a pg_dump archive" % header


def wanted_databases(item: dict, options: dict) -> list[str]:
    """The instance's own `databases`, else the task's, else none given (= every database)."""
    return list(item.get("databases") or options.get("databases") or [])


def write_backup(target, partial: str, options: dict) -> dict:
    """Dump globals and databases into `partial`, fsync, hash, write the manifest last."""
    started, begin_all = _manifest.utc_now(), time.monotonic()
    server = target.server()
    label, comp_args = compression(options.get("compression") or "auto", server["version_num"], target.name)
    fmt, jobs = options.get("format") or "custom", int(options.get("jobs") or 1)
    names = options.get("databases") or server["databases"]
    missing = sorted(set(names) - set(server["databases"]))
    if missing:
        raise DarevelError("instance '%s': database(s) %s do not exist; fix: name existing ones (%s)" % (
            target.name, ", ".join(missing), ", ".join(server["databases"]) or "none"))
    os.mkdir(partial, _manifest.DIR_MODE)
    target.dump_globals(os.path.join(partial, _manifest.GLOBALS))
    databases, timings = [], {}
    for dbname in names:
        begin = time.monotonic()
        rel = dbname + FORMATS[fmt][1]
        with target.snapshot(dbname) as (snap, counts):
            target.dump(dbname, snap, fmt, jobs, comp_args, os.path.join(partial, rel))
        timings[dbname] = round(time.monotonic() - begin, 3)
        databases.append({"name": dbname, "format": fmt, "path": rel, "row_counts": counts})
    files = finalize(partial)
    manifest = _manifest.build(target.name, options["backup_id"], target.runtime, server, started,
                               _manifest.utc_now(), label, databases, files, options.get("sequence"))
    _manifest.write_json(os.path.join(partial, _manifest.MANIFEST), manifest)
    timings["_total"] = round(time.monotonic() - begin_all, 3)
    return {"manifest": manifest, "timings": timings}


def verify(target, path: str, manifest: dict) -> list[str]:
    """After the rename: every file there with its size, each archive readable."""
    found = _manifest.problems(path, manifest, hashes=False)
    for database in manifest["databases"]:
        archive = os.path.join(path, database["path"])
        problem = archive_problem(archive, database["format"]) or target.list_archive(archive)
        if problem:
            found.append("%s: %s" % (database["path"], problem))
    return found


def report(manifest: dict, path: str, timings: dict, problems: list[str], retention: dict, removed: list[str]) -> dict:
    databases = [{"name": d["name"], "format": d["format"], "path": d["path"],
                  "size_bytes": dir_size(os.path.join(path, d["path"])), "duration_seconds": timings.get(d["name"]),
                  "tables": len(d["row_counts"]), "rows": sum(d["row_counts"].values())}
                 for d in manifest["databases"]]
    info = _manifest.summary(manifest)
    return {"name": manifest["instance"], "runtime": manifest["runtime"], "backup_id": manifest["backup_id"],
            "path": path, "server_version": manifest["server_version"], "compression": manifest["compression"],
            "started_at": manifest["started_at"], "finished_at": manifest["finished_at"],
            "duration_seconds": timings.get("_total", info["duration_seconds"]), "size_bytes": info["size_bytes"],
            "globals_size_bytes": dir_size(os.path.join(path, _manifest.GLOBALS)),
            "databases": databases, "verified": not problems, "problems": problems,
            "retention": retention, "removed_leftovers": removed, "changed": True}


def apply_retention(directory: str, policy: Optional[dict], check_mode: bool = False,
                    extra: Optional[dict] = None, current: Optional[str] = None) -> dict:
    """Plan over the complete backups (plus `extra`, a backup check mode would write) and delete;
    `current` (the backup this run wrote) and the newest verified one are never deleted."""
    full, _problems = _retention.check_policy(policy)
    backups = [{"id": b["id"], "time": _retention.parse_time(b["id"]), "verified": b["verified"],
                "sequence": _manifest.sequence_of(b["manifest"])} for b in _manifest.list_backups(directory)]
    if extra:
        backups.append(extra)
    decided = _retention.plan(backups, full, current=current or (extra or {}).get("id"))
    if not check_mode:
        for backup_id in decided["delete"]:
            delete_backup(directory, backup_id)
    return {"policy": full, "kept": decided["keep"], "deleted": decided["delete"], "reasons": decided["reasons"]}


def backup_instance(item: dict, options: dict, check_mode: bool = False) -> dict:
    """One instance: lock, clear leftovers, back up, verify, then retention (only after success)."""
    name, root = item["name"], options["root"]
    directory = _manifest.instance_dir(root, name)
    target = make_target(item, options)
    if check_mode:
        return plan_only(target, directory, dict(options, databases=wanted_databases(item, options)))
    ensure_dir(root)
    ensure_dir(directory)
    with instance_lock(directory, name):
        removed = leftovers(directory)
        for leftover in removed:
            remove_tree(os.path.join(directory, leftover))
        taken = {n.lstrip(".").split(".")[0] for n in os.listdir(directory)}
        backup_id = _manifest.new_backup_id(_manifest.utc_now(), taken)
        partial = os.path.join(directory, _manifest.partial_name(backup_id))
        try:
            written = write_backup(target, partial, dict(options, backup_id=backup_id,
                                                         sequence=_manifest.next_sequence(directory),
                                                         databases=wanted_databases(item, options)))
            final = os.path.join(directory, backup_id)
            os.rename(partial, final)
            _manifest.fsync_dir(directory)
        except (DarevelError, OSError) as exc:
            remove_tree(partial)
            msg = describe_failure(name, exc, root)
            record(directory, "failed", backup_id, msg)
            raise DarevelError(msg)
        finally:
            target.close()
        problems = verify(target, final, written["manifest"])
        if problems:
            msg = "instance '%s': backup %s did not verify: %s; no older backup was deleted; fix: check the disk " \
                  "under %s" % (name, backup_id, "; ".join(problems), root)
            record(directory, "failed", backup_id, msg)
            raise DarevelError(msg)
        retention = apply_retention(directory, options.get("retention"), current=backup_id) \
            if options.get("prune", True) else {}
        record(directory, "ok", backup_id, "")
    return report(written["manifest"], final, written["timings"], problems, retention, removed)


def plan_only(target, directory: str, options: dict) -> dict:
    """Check mode: what a run would do, nothing written."""
    server = target.server()
    label, _args = compression(options.get("compression") or "auto", server["version_num"], target.name)
    now = _manifest.utc_now()
    taken = set(os.listdir(directory)) if os.path.isdir(directory) else set()
    backup_id = _manifest.new_backup_id(now, taken)
    extra = {"id": backup_id, "time": _retention.parse_time(backup_id), "verified": True,
             "sequence": _manifest.next_sequence(directory)}
    retention = apply_retention(directory, options.get("retention"), True, extra) if options.get("prune", True) \
        else {}
    return {"name": target.name, "runtime": target.runtime, "backup_id": backup_id,
            "path": os.path.join(directory, backup_id), "server_version": server["version"], "compression": label,
            "databases": [{"name": d} for d in options.get("databases") or server["databases"]],
            "verified": None, "retention": retention, "removed_leftovers": leftovers(directory), "changed": True}


def record(directory: str, result: str, backup_id: str, msg: str) -> None:
    try:
        _manifest.write_json(os.path.join(directory, _manifest.LAST_RUN), {
            "result": result, "backup_id": backup_id, "at": _manifest.iso(_manifest.utc_now()), "msg": msg})
    except OSError:
        pass  # a full disk: the failure itself is what the caller reports


def run_batch(items: list[dict], options: dict, workers: int, check_mode: bool = False) -> dict:
    """Every instance concurrently (bounded by `workers`, 0 = the host's cores); one failure does
    not stop the others."""
    from ansible_collections.darevel.postgres.plugins.module_utils._batch import run_all
    problems = check_options(items, options)
    if problems:
        raise DarevelError("; ".join(problems))
    os.umask(0o077)
    workers = workers or os.cpu_count() or 1
    results, errors = run_all(items, lambda item: backup_instance(item, options, check_mode), workers)
    return {"results": results, "errors": errors}


def cli(argv: list[str]) -> int:
    """The scheduled backup (roles/backup): `darevel-postgres-backup CONFIG.json`; prints the result."""
    if len(argv) != 1:
        sys.stderr.write("usage: darevel-postgres-backup /etc/darevel/postgres/backup/INSTANCE.json\n")
        return 2
    with open(argv[0]) as handle:
        config = json.load(handle)
    try:
        outcome = run_batch([config["instance"]], config["options"], 1)
    except DarevelError as exc:
        sys.stderr.write(exc.msg + "\n")
        return 1
    sys.stdout.write(json.dumps(outcome["results"][0], indent=2, sort_keys=True, default=str) + "\n")
    for msg in outcome["errors"]:
        sys.stderr.write(msg + "\n")
    return 1 if outcome["errors"] else 0
