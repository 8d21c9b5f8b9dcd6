# -*- coding: utf-8 -*-
"""Retention: the last N, daily and weekly generations, the newest verified backup, failed runs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.darevel.postgres.plugins.module_utils import _retention

START = datetime(2026, 11, 26, 2, 30, tzinfo=timezone.utc)  # a Thursday


def backup(moment: datetime, verified: bool = True) -> dict:
    backup_id = moment.strftime("%Y%m%dT%H%M%SZ")
    return {"id": backup_id, "time": _retention.parse_time(backup_id), "verified": verified}


def daily(days: int, per_day: int = 1) -> list[dict]:
    return [backup(START - timedelta(days=d, hours=h)) for d in range(days) for h in range(per_day)]


def policy(keep_last=0, daily=0, weekly=0) -> dict:
    return {"keep_last": keep_last, "daily": daily, "weekly": weekly}


def test_keep_last_keeps_the_newest_n():
    backups = daily(10)
    result = _retention.plan(backups, policy(keep_last=3))
    assert result["keep"] == [b["id"] for b in backups[:3]]
    assert sorted(result["delete"]) == sorted(b["id"] for b in backups[3:])


def test_daily_keeps_the_newest_of_each_day():
    backups = daily(5, per_day=3)
    result = _retention.plan(backups, policy(daily=2))
    assert result["keep"] == [backups[0]["id"], backups[3]["id"]]
    assert len(result["delete"]) == 13


def test_weekly_keeps_the_newest_of_each_iso_week():
    backups = daily(30)
    result = _retention.plan(backups, policy(weekly=3))
    kept_weeks = [_retention.parse_time(k).isocalendar()[:2] for k in result["keep"]]
    assert len(kept_weeks) == 3 and len(set(kept_weeks)) == 3
    # Each kept one is the newest of its week.
    for kept in result["keep"]:
        week = _retention.parse_time(kept).isocalendar()[:2]
        newest = max(b["time"] for b in backups if b["time"].isocalendar()[:2] == week)
        assert _retention.parse_time(kept) == newest


def test_generations_combine_and_reasons_say_why():
    backups = daily(40)
    result = _retention.plan(backups, _retention.DEFAULTS)
    # 7 last (= the 7 daily), plus up to 4 weekly, some overlapping.
    assert backups[0]["id"] in result["keep"]
    assert set(result["reasons"][backups[0]["id"]]) >= {"last 7", "newest verified"}
    assert 7 < len(result["keep"]) <= 11
    assert set(result["keep"]) | set(result["delete"]) == {b["id"] for b in backups}
    assert not set(result["keep"]) & set(result["delete"])


def test_the_newest_verified_backup_is_never_deleted():
    backups = [backup(START, verified=False), backup(START - timedelta(days=1), verified=False),
               backup(START - timedelta(days=2), verified=True), backup(START - timedelta(days=3))]
    result = _retention.plan(backups, policy(keep_last=1))
    assert backups[2]["id"] in result["keep"]
    assert result["reasons"][backups[2]["id"]] == ["newest verified"]
    assert result["delete"] == [backups[1]["id"], backups[3]["id"]]


def test_zero_everywhere_still_keeps_the_newest_verified():
    backups = daily(3)
    result = _retention.plan(backups, policy())
    assert result["keep"] == [backups[0]["id"]]


def test_a_failed_run_deletes_nothing():
    backups = daily(20)
    result = _retention.plan(backups, policy(keep_last=1), current_failed=True)
    assert result["delete"] == []
    assert len(result["keep"]) == 20


def test_undated_backups_are_kept_and_do_not_break_the_order():
    backups = daily(3) + [{"id": "odd", "time": None, "verified": True}]
    result = _retention.plan(backups, policy(keep_last=1))
    assert "odd" in result["keep"] and result["reasons"]["odd"] == ["unknown date"]


def test_same_second_suffixes_sort_after_their_base():
    first, second = backup(START), dict(backup(START), id=START.strftime("%Y%m%dT%H%M%SZ") + "-2")
    result = _retention.plan([first, second], policy(keep_last=1))
    assert result["keep"] == [second["id"]]


@pytest.mark.parametrize("given, problem", [
    ({"keep_last": -1}, "keep_last=-1"),
    ({"daily": "7"}, "daily='7'"),
    ({"weekly": True}, "weekly=True"),
    ({"monthly": 3}, "unknown key 'monthly'"),
])
def test_bad_policies_are_named_with_a_fix(given, problem):
    _full, problems = _retention.check_policy(given)
    assert len(problems) == 1 and problem in problems[0] and "fix:" in problems[0]


def test_policy_defaults_fill_in():
    full, problems = _retention.check_policy({"keep_last": 2, "daily": None})
    assert problems == [] and full == {"keep_last": 2, "daily": 7, "weekly": 4}


@pytest.mark.parametrize("backup_id, expected", [
    ("20261126T023000Z", datetime(2026, 11, 26, 2, 30, tzinfo=timezone.utc)),
    ("20261126T023000Z-3", datetime(2026, 11, 26, 2, 30, tzinfo=timezone.utc)),
    ("latest", None),
])
def test_parse_time(backup_id, expected):
    assert _retention.parse_time(backup_id) == expected
