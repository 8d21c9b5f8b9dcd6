# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which backups to keep: the last N, plus the newest of each of the last D days and W ISO weeks.

Pure logic, private to darevel.postgres. Three rules win over the policy: the backup the current
run has just made and the newest verified backup are never deleted, and nothing is deleted when
the current run failed. "Newest" is the order of the sequence numbers the manifests record, not
of the wall clock: after the clock steps back, a fresh backup's id names an earlier time than
older backups, and sorting by time would make it the first to go.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

DEFAULTS = {"keep_last": 7, "daily": 7, "weekly": 4}


def check_policy(policy: Optional[dict]) -> tuple[dict, list[str]]:
    """The policy with defaults filled in, and the problems found (each with its fix)."""
    full = dict(DEFAULTS, **{k: v for k, v in (policy or {}).items() if v is not None})
    problems = []
    for key in sorted(full):
        value = full[key]
        if key not in DEFAULTS:
            problems.append("retention: unknown key '%s'; fix: use %s" % (key, ", ".join(sorted(DEFAULTS))))
        elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append("retention: %s=%r is not a whole number >= 0; fix: give a count such as %d" % (
                key, value, DEFAULTS[key]))
    return full, problems


def _newest_per(backups: list[dict], period, count: int) -> dict[str, str]:
    """The newest backup of each of the `count` most recent periods that have one: {id: reason}."""
    chosen: dict[str, str] = {}
    seen: list = []
    for backup in backups:
        key = period(backup["time"])
        if key in seen:
            continue
        if len(seen) >= count:
            break
        seen.append(key)
        chosen[backup["id"]] = key
    return chosen


def order_key(backup: dict) -> tuple:
    """Oldest first: numbered backups (their manifest's sequence) after those from before sequence
    numbers, which keep the old order by time."""
    sequence = backup.get("sequence")
    if isinstance(sequence, int) and not isinstance(sequence, bool):
        return (1, sequence, backup["id"])
    return (0, backup["time"], backup["id"])


def plan(backups: list[dict], policy: dict, current_failed: bool = False, current: Optional[str] = None) -> dict:
    """Decide over complete backups [{id, time: datetime, verified: bool, sequence: int or None}];
    `current`: the id of the backup this run has just written (never deleted).

    Returns {"keep": [ids, newest first], "delete": [ids], "reasons": {id: [why kept]}}.
    """
    ordered = sorted([b for b in backups if b.get("time") is not None], key=order_key, reverse=True)
    undated = [b for b in backups if b.get("time") is None]
    reasons: dict[str, list[str]] = {b["id"]: [] for b in ordered}
    reasons.update({b["id"]: ["unknown date"] for b in undated})
    for backup in ordered[:policy["keep_last"]]:
        reasons[backup["id"]].append("last %d" % policy["keep_last"])
    for backup_id, day in _newest_per(ordered, lambda t: t.strftime("%Y-%m-%d"), policy["daily"]).items():
        reasons[backup_id].append("daily %s" % day)
    weekly = _newest_per(ordered, lambda t: "%d-W%02d" % t.isocalendar()[:2], policy["weekly"])
    for backup_id, week in weekly.items():
        reasons[backup_id].append("weekly %s" % week)
    verified = [b for b in ordered if b.get("verified")]
    if verified:
        reasons[verified[0]["id"]].append("newest verified")
    if current in reasons:
        reasons[current].append("this run's backup")
    if current_failed:
        for backup in ordered:
            reasons[backup["id"]].append("current run failed")
    keep = [b["id"] for b in ordered if reasons[b["id"]]] + [b["id"] for b in undated]
    delete = [b["id"] for b in ordered if not reasons[b["id"]]]
    return {"keep": keep, "delete": delete, "reasons": {k: v for k, v in reasons.items() if v}}


def parse_time(backup_id: str) -> Optional[datetime]:
    """The UTC time a backup id names (YYYYMMDDTHHMMSSZ, maybe with -N); None when it names none."""
    try:
        return datetime.strptime(backup_id.split("-")[0], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
