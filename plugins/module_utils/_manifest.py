# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup layout and manifest.json shared by pg_backup and pg_restore (docs/backups.md).

Private to darevel.postgres; standard library only, so the scheduled backup on a host can use it
without Ansible.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import datetime, timezone
from typing import Optional

FORMAT = 1
MANIFEST = "manifest.json"
GLOBALS = "globals.sql"
LAST_RUN = "last_run.json"
LOCK = ".lock"
DEFAULT_ROOT = "/var/backups/darevel-postgres"
ID_RE = re.compile(r"^[0-9]{8}T[0-9]{6}Z(-[0-9]+)?\Z")
PARTIAL_RE = re.compile(r"^\.[0-9]{8}T[0-9]{6}Z(-[0-9]+)?\.partial\Z")
DIR_MODE = 0o700
FILE_MODE = 0o600

# The tables a backup counts into its manifest and a restore counts again to compare: ordinary
# tables outside the system schemas that belong to no extension (an extension's tables are the
# extension's to fill), each counted exactly in the session's snapshot.
COUNTED_TABLES = (
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname !~ '^pg_(toast|temp_)' AND NOT EXISTS (SELECT 1 FROM pg_depend d "
    "WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') "
    "ORDER BY n.nspname, c.relname")
ROW_COUNT = ("(xpath('/row/c/text()', query_to_xml(format("
             "'SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: Optional[str]) -> Optional[datetime]:
    try:
        return datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def new_backup_id(moment: datetime, taken) -> str:
    """UTC YYYYMMDDTHHMMSSZ, with -2, -3 ... when the name (or its partial twin) is taken."""
    base = moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = "%s-%d" % (base, number)
    return candidate


def partial_name(backup_id: str) -> str:
    return ".%s.partial" % backup_id


def instance_dir(root: str, instance: str) -> str:
    return os.path.join(root, instance)


def sha256_file(path: str, block: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(block), b""):
            digest.update(chunk)
    return digest.hexdigest()


def relative_files(directory: str) -> list[str]:
    """Every regular file under `directory` except the manifest, as sorted relative paths."""
    found = []
    for parent, _dirs, files in os.walk(directory):
        for name in files:
            rel = os.path.relpath(os.path.join(parent, name), directory)
            if rel != MANIFEST:
                found.append(rel)
    return sorted(found)


def file_entries(directory: str) -> list[dict]:
    entries = []
    for rel in relative_files(directory):
        path = os.path.join(directory, rel)
        entries.append({"path": rel, "sha256": sha256_file(path), "size": os.path.getsize(path)})
    return entries


def build(instance: str, backup_id: str, runtime: str, server: dict, started: datetime, finished: datetime,
          compression: str, databases: list[dict], files: list[dict], sequence: Optional[int] = None) -> dict:
    """manifest.json's content (format 1). `sequence`: the backup's place among the instance's
    backups (see next_sequence); manifests written before it have none."""
    manifest = {
        "format": FORMAT, "instance": instance, "backup_id": backup_id, "runtime": runtime,
        "server_version": server["version"], "server_version_num": server["version_num"],
        "started_at": iso(started), "finished_at": iso(finished), "compression": compression,
        "globals": {"file": GLOBALS}, "databases": databases, "files": files,
    }
    if sequence is not None:
        manifest["sequence"] = sequence
    return manifest


def sequence_of(manifest: Optional[dict]) -> Optional[int]:
    value = (manifest or {}).get("sequence")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def order_key(backup: dict) -> tuple:
    """Sort key of a listed backup, oldest first, that no clock step can reorder: the sequence
    number its manifest records; a backup from before sequence numbers (none recorded) sorts
    before every numbered one, by its id (the time it was taken) as before."""
    sequence = sequence_of(backup.get("manifest")) if "manifest" in backup else backup.get("sequence")
    return (1, sequence, backup["id"]) if sequence is not None else (0, 0, backup["id"])


def next_sequence(directory: str) -> int:
    """One more than the highest sequence number among the instance's complete backups (1 for the
    first): monotonic whatever the wall clock does, because retention never deletes the newest."""
    return max([sequence_of(b["manifest"]) or 0 for b in list_backups(directory)] + [0]) + 1


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json(path: str, data, mode: int = FILE_MODE) -> None:
    """Write JSON under a temporary name in the same directory, fsync, rename, fsync the directory."""
    tmp = "%s.tmp" % path
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    fsync_dir(os.path.dirname(path) or ".")


def load(backup_dir: str) -> dict:
    """The manifest of a backup directory; ValueError when missing or not format 1."""
    path = os.path.join(backup_dir, MANIFEST)
    try:
        with open(path) as handle:
            data = json.load(handle)
    except OSError as exc:
        raise ValueError("%s cannot be read: %s" % (path, exc.strerror))
    except ValueError as exc:
        raise ValueError("%s is not valid JSON: %s" % (path, exc))
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("%s has format %r; this collection reads format %d" % (
            path, data.get("format") if isinstance(data, dict) else None, FORMAT))
    return data


def problems(backup_dir: str, manifest: dict, hashes: bool = True) -> list[str]:
    """What does not match the manifest: missing files, other sizes, other sha256 (when `hashes`)."""
    found = []
    for entry in manifest.get("files", []):
        path = os.path.join(backup_dir, entry["path"])
        try:
            size = os.path.getsize(path)
        except OSError:
            found.append("%s is missing" % entry["path"])
            continue
        if size != entry["size"]:
            found.append("%s has %d bytes, the manifest says %d" % (entry["path"], size, entry["size"]))
        elif hashes and sha256_file(path) != entry["sha256"]:
            found.append("%s does not match its sha256 in the manifest" % entry["path"])
    return found


def list_backups(directory: str) -> list[dict]:
    """Complete backups of one instance, newest first (by order_key, not by the clock):
    [{id, path, manifest or None, verified}]. `verified`: the manifest loads and every file it
    names is there with its size."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    out = []
    for name in sorted(names, reverse=True):
        path = os.path.join(directory, name)
        if not ID_RE.match(name) or not os.path.isdir(path):
            continue
        try:
            manifest: Optional[dict] = load(path)
        except ValueError:
            manifest = None
        out.append({"id": name, "path": path, "manifest": manifest,
                    "verified": manifest is not None and not problems(path, manifest, hashes=False)})
    return sorted(out, key=order_key, reverse=True)


def read_last_run(directory: str) -> Optional[dict]:
    try:
        with open(os.path.join(directory, LAST_RUN)) as handle:
            data = json.load(handle)
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def summary(manifest: dict) -> dict:
    sizes = sum(int(f.get("size", 0)) for f in manifest.get("files", []))
    started, finished = parse_iso(manifest.get("started_at")), parse_iso(manifest.get("finished_at"))
    return {"backup_id": manifest.get("backup_id"), "finished_at": manifest.get("finished_at"),
            "size_bytes": sizes, "databases": [d.get("name") for d in manifest.get("databases", [])],
            "duration_seconds": (finished - started).total_seconds() if started and finished else None}


def last_backup(root: str, instance: str, now: Optional[datetime] = None) -> dict:
    """For the status report: the newest complete backup of an instance, its age, and the result of
    the latest run. Reads only small files (manifests), never the dumps."""
    directory = instance_dir(root, instance)
    now = now or utc_now()
    newest = next((b for b in list_backups(directory) if b["manifest"] is not None), None)
    last_run = read_last_run(directory)
    out = {"backup_id": None, "finished_at": None, "age_seconds": None, "size_bytes": None,
           "result": (last_run or {}).get("result"), "msg": (last_run or {}).get("msg") or None}
    if newest:
        info = summary(newest["manifest"])
        finished = parse_iso(info["finished_at"])
        out.update(backup_id=info["backup_id"], finished_at=info["finished_at"], size_bytes=info["size_bytes"],
                   age_seconds=int((now - finished).total_seconds()) if finished else None)
    return out
