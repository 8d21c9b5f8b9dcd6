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


# --- the clock is not trusted -----------------------------------------------------------------

def numbered(backups: list[dict]) -> list[dict]:
    """Sequence numbers as the manifests record them: oldest first, 1, 2, ..."""
    return [dict(b, sequence=len(backups) - i) for i, b in enumerate(backups)]


def test_after_the_clock_steps_back_the_fresh_backup_is_the_newest():
    older = numbered(daily(10))  # written while the clock ran ahead
    fresh = dict(backup(START - timedelta(days=400)), sequence=11)  # the clock was then set back
    result = _retention.plan(older + [fresh], policy(keep_last=3), current=fresh["id"])
    assert result["keep"][0] == fresh["id"]
    assert result["keep"] == [fresh["id"], older[0]["id"], older[1]["id"]]
    assert fresh["id"] not in result["delete"]


def test_the_current_backup_survives_even_a_policy_that_keeps_nothing():
    older = numbered(daily(5))
    fresh = dict(backup(START - timedelta(days=400), verified=False), sequence=6)
    result = _retention.plan(older + [fresh], policy(), current=fresh["id"])
    assert "this run's backup" in result["reasons"][fresh["id"]]
    # ... and the newest verified one (by sequence) is kept as well.
    assert result["reasons"][older[0]["id"]] == ["newest verified"]
    assert sorted(result["keep"]) == sorted([fresh["id"], older[0]["id"]])


def test_the_newest_verified_is_chosen_by_sequence_not_by_time():
    future = dict(backup(START + timedelta(days=30)), sequence=1)
    fresh = dict(backup(START), sequence=2)
    result = _retention.plan([future, fresh], policy())
    assert result["keep"] == [fresh["id"]] and result["delete"] == [future["id"]]


def test_backups_from_before_sequence_numbers_sort_before_numbered_ones():
    old = daily(3)  # no sequence: ordered by time among themselves, as before
    new = dict(backup(START - timedelta(days=100)), sequence=1)
    result = _retention.plan(old + [new], policy(keep_last=2))
    assert result["keep"] == [new["id"], old[0]["id"]]


def test_list_backups_and_next_sequence_follow_the_manifests(tmp_path):
    from ansible_collections.darevel.postgres.plugins.module_utils import _manifest
    server = {"version": "15.10", "version_num": 150010}
    assert _manifest.next_sequence(str(tmp_path)) == 1
    for backup_id, sequence in (("20200101T000000Z", None), ("20301231T000000Z", 1), ("20261126T023000Z", 2)):
        path = tmp_path / backup_id
        path.mkdir()
        _manifest.write_json(str(path / "manifest.json"), _manifest.build(
            "mail", backup_id, "native", server, START, START, "gzip:6", [], [], sequence))
    listed = [b["id"] for b in _manifest.list_backups(str(tmp_path))]
    assert listed == ["20261126T023000Z", "20301231T000000Z", "20200101T000000Z"]
    assert _manifest.next_sequence(str(tmp_path)) == 3
    assert _manifest.last_backup(str(tmp_path.parent), tmp_path.name)["backup_id"] == "20261126T023000Z"
