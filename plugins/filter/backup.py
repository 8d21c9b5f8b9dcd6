# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of playbooks/backup.yml: the plan as pg_backup items, its result as report rows and a table."""

from __future__ import annotations

from ansible_collections.darevel.postgres.plugins.filter.catalogue import _size, aligned

BACKUP_COLUMNS = ("instance", "database", "size", "duration", "verified", "backup")


def backup_items(plan: list, runtime: str = "native") -> list:
    """Arguments of darevel.postgres.pg_backup for each planned instance."""
    if runtime == "docker":
        return [{"name": i["name"], "container": i["docker"]["name"]} for i in plan]
    return [{"name": i["name"], "version": i["version"], "port": i["port"]} for i in plan]


def _verified(value) -> str:
    return "-" if value is None else ("yes" if value else "NO")


def backup_rows(plan: list, result: dict) -> list:
    """One row per instance and database; an instance that failed gets one row with its error. A
    task that failed before any instance ran (bad input) fails every planned instance with its message."""
    found = {r.get("name"): r for r in (result or {}).get("instances") or []}
    rows = []
    for inst in plan:
        res = found.get(inst["name"]) or {"failed": True, "msg": (result or {}).get("msg") or "not backed up"}
        if res.get("failed"):
            rows.append({"instance": inst["name"], "database": None, "size_bytes": None, "duration_seconds": None,
                         "verified": False, "backup_id": None, "failed": True, "msg": res.get("msg")})
            continue
        for database in res.get("databases") or [{"name": None}]:
            rows.append({"instance": inst["name"], "database": database.get("name"),
                         "size_bytes": database.get("size_bytes", res.get("size_bytes")),
                         "duration_seconds": database.get("duration_seconds", res.get("duration_seconds")),
                         "verified": res.get("verified"), "backup_id": res.get("backup_id"),
                         "path": res.get("path"), "failed": False, "msg": None})
    return rows


def backup_failed(rows: list) -> list:
    """Names of the instances that were not backed up."""
    return sorted({r["instance"] for r in rows if r.get("failed") or r.get("verified") is False})


def _duration(seconds) -> str:
    return "-" if seconds is None else "%.1f s" % float(seconds)


def backup_table(rows: list) -> list:
    """instance, database, size, duration, verified, backup id; the errors, one line each, below.
    One line per list item."""
    cells = [[str(r["instance"]), str(r.get("database") or "-"), _size(r.get("size_bytes")),
              _duration(r.get("duration_seconds")), "FAILED" if r.get("failed") else _verified(r.get("verified")),
              str(r.get("backup_id") or "-")] for r in rows]
    lines = aligned([list(BACKUP_COLUMNS)] + cells)
    lines += ["%s: %s" % (r["instance"], r["msg"]) for r in rows if r.get("msg")]
    return lines


class FilterModule:
    def filters(self):
        # The tables are this file's public filters; the other functions are the roles' helpers,
        # reached through the darevel.postgres.internal lookup (not a public interface).
        return {
            "backup_table": backup_table,
        }
