# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for restore.yml, restore_drill.yml and migrate.yml: rows, per-instance results, table."""

from __future__ import annotations

from ansible_collections.darevel.postgres.plugins.filter.catalogue import _size, aligned
from ansible_collections.darevel.postgres.plugins.filter.move import BOOLEAN, UNSET, role_inputs

COLUMNS = ("instance", "backup", "database", "restored as", "target", "size", "duration", "verified")


def restore_items(plan: list, backups=None, suffix: str = "_drill") -> list:
    """pg_restore `instances` for a drill: each planned instance restored into itself, every database
    under <name><suffix>, in its container on the docker runtime. With `backups` (a pg_backup result; empty: none was taken), each restores
    the backup just taken;
    an instance whose backup failed is left out (backup_failures reports it)."""
    taken = {r.get("name"): r for r in (backups or {}).get("instances") or []}
    items = []
    for inst in plan:
        item = {"name": inst["name"], "version": inst["version"], "port": inst["port"], "target_suffix": suffix}
        if inst.get("in_container"):  # the plan names it on the docker runtime only
            item["container"] = inst["in_container"]
        if backups:
            done = taken.get(inst["name"]) or {}
            if done.get("failed") or not done.get("backup_id"):
                continue
            item["backup_id"] = done["backup_id"]
        items.append(item)
    return items


VERBS = {"restore": "restored", "migrate": "migrated", "restore_drill": "drilled"}
RESTORE_INPUTS = {"app": "postgres_restore_app", "target_app": "postgres_restore_target_app",
                  "target_host": "postgres_restore_target.host", "target_user": "postgres_restore_target.user",
                  "target_port": "postgres_restore_target.port", "fresh_backup": "postgres_restore_fresh_backup",
                  "restore_jobs": "postgres_restore_jobs"}


def _integer(value, low: int, high: int):
    """`value` as an int within [low, high], else None (a bool is not a number here)."""
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if low <= number <= high else None


def restore_request(verb: str, plan: list, app=None, target_app=None, target=None, fresh_backup=True,
                    jobs=1) -> list:
    """Every problem of a restore.yml, migrate.yml or restore_drill.yml request, on the control node
    before anything is restored: the instance (a name of this host's plan), the target (another
    planned instance, or an external server with its host and user; migrate: the external server
    only), its port, fresh_backup (a boolean) and the pg_restore jobs (a whole number). Each message
    names the value and the extra var that fixes it; an empty list lets the request through."""
    names = [i["name"] for i in plan]
    known = ", ".join(names) or "(none planned on this host)"
    # A drill restores into scratch databases of the instances themselves: it has no target.
    target = (target or {}) if verb != "restore_drill" else {}
    external = target.get("host") not in UNSET
    problems = []
    if verb in ("restore", "migrate"):
        if app in UNSET:
            problems.append("app: (none); fix: -e app=NAME, the instance whose backup to use, one of %s" % known)
        elif app not in names:
            problems.append("app: %r is not an instance of this host's plan; fix: -e app=NAME, one of %s" % (app, known))
    if verb == "restore" and not external and target_app not in UNSET and target_app not in names:
        problems.append("target_app: %r is not an instance of this host's plan; fix: -e target_app=NAME, one of %s, "
                        "or an external server with -e target_host=HOST -e target_user=USER" % (target_app, known))
    if verb == "migrate" and not external:
        problems.append("target_host: (none); fix: -e target_host=HOST -e target_user=USER -e target_password=..., "
                        "the external server to migrate to")
    if external and target.get("user") in UNSET:
        problems.append("target_user: (none) for target_host %s; fix: -e target_user=USER" % target["host"])
    if external and target.get("port") not in UNSET and _integer(target["port"], 1, 65535) is None:
        problems.append("target_port: %r is not a port; fix: -e target_port=N, 1 to 65535" % (target["port"],))
    if verb in ("migrate", "restore_drill") and not isinstance(fresh_backup, bool) \
            and str(fresh_backup).strip().lower() not in BOOLEAN:
        problems.append("fresh_backup: %r is not true or false; fix: -e fresh_backup=false to use the latest "
                        "backup, or leave it out to take one now" % (fresh_backup,))
    if verb in ("restore", "migrate") and _integer(jobs, 1, 4096) is None:
        problems.append("restore_jobs: %r is not a number of parallel jobs; fix: -e restore_jobs=N, 1 to 4096" % (jobs,))
    return ["nothing was %s: %s" % (VERBS[verb], problem) for problem in role_inputs(problems, RESTORE_INPUTS)]


def backup_failures(plan: list, backups) -> list:
    """Report rows for the planned instances the drill could not back up."""
    if not backups:
        return []
    taken = {r.get("name"): r for r in (backups or {}).get("instances") or []}
    rows = []
    for inst in plan:
        done = taken.get(inst["name"]) or {}
        if done.get("failed") or not done.get("backup_id"):
            error = done.get("msg") or (backups or {}).get("msg") or "no backup was taken"
            rows.append({"instance": inst["name"], "backup_id": None, "target": None, "database": None,
                         "target_database": None, "size_bytes": None, "seconds": None, "verified": False,
                         "error": "backup failed: %s" % error})
    return rows


def restore_rows(result: dict) -> list:
    """One row per restored database of a pg_restore result (single or `instances`); an instance that
    failed before restoring anything gets one row carrying its error."""
    items = result.get("instances")
    if items is None:
        items = [dict(result, failed=bool(result.get("failed")), msg=result.get("msg"))]
    rows = []
    for item in items:
        base = {"instance": item.get("name"), "backup_id": item.get("backup_id"), "target": item.get("target")}
        for db in item.get("databases") or []:
            rows.append(dict(base, database=db["database"], target_database=db["target_database"],
                             size_bytes=db.get("size_bytes"), seconds=db.get("seconds"),
                             verified=db.get("verified"), error=None))
        if item.get("failed"):
            rows.append(dict(base, database=None, target_database=None, size_bytes=None, seconds=None,
                             verified=False, error=item.get("msg")))
    return rows


def restore_instances(rows: list) -> list:
    """Pass or fail per instance: failed when one of its databases was not verified (None, in check
    mode, is not a failure)."""
    out: dict = {}
    for row in rows:
        entry = out.setdefault(row["instance"], {"instance": row["instance"], "backup_id": row.get("backup_id"),
                                                 "databases": 0, "result": "passed", "error": None})
        if row.get("database"):
            entry["databases"] += 1
        if row.get("verified") is False:
            entry["result"] = "failed"
            entry["error"] = row.get("error") or entry["error"]
    return list(out.values())


def _duration(seconds) -> str:
    return "-" if seconds is None else "%.1fs" % float(seconds)


def _verified(value) -> str:
    # None: check mode, nothing was restored to verify.
    return "-" if value is None else ("yes" if value else "NO")


def restore_table(rows: list) -> list:
    """instance, backup, database, restored as, target, size, duration, verified; errors below.
    One line per list item."""
    body = [[str(r.get("instance") or "-"), str(r.get("backup_id") or "-"), str(r.get("database") or "-"),
             str(r.get("target_database") or "-"), str(r.get("target") or "-"), _size(r.get("size_bytes")),
             _duration(r.get("seconds")), _verified(r.get("verified"))] for r in rows]
    lines = aligned([list(COLUMNS)] + body)
    lines += ["%s: %s" % (r["instance"], r["error"]) for r in rows if r.get("error")]
    return lines


class FilterModule:
    def filters(self):
        # The tables are this file's public filters; the other functions are the roles' helpers,
        # reached through the darevel.postgres.internal lookup (not a public interface).
        return {
            "restore_table": restore_table,
        }
