"""Unit tests for plugins/module_utils/_batch.py."""

from __future__ import annotations

import threading
import time

import pytest

from ansible_collections.darevel.postgres.plugins.module_utils import _batch
from ansible_collections.darevel.postgres.plugins.module_utils._errors import CommandError, DarevelError

ITEMS = [{"name": n, "delay": d} for n, d in (("infra", 0.03), ("chat", 0.0), ("slides", 0.02),
                                              ("suite", 0.0), ("mail", 0.01), ("sheet", 0.0))]


def job(item):
    time.sleep(item["delay"])
    if item["name"] == "slides":
        raise DarevelError("instance 'slides': it broke; fix: mend it")
    if item["name"] == "mail":
        raise CommandError("instance 'mail': pg_createcluster failed; fix: read the log")
    return {"name": item["name"], "changed": True}


@pytest.mark.parametrize("workers", [1, 3, 6, 50, 0])
def test_order_preserved_and_errors_collected(workers):
    results, errors = _batch.run_all(ITEMS, job, workers)
    assert [r["name"] for r in results] == [i["name"] for i in ITEMS]
    assert errors == ["instance 'slides': it broke; fix: mend it",
                      "instance 'mail': pg_createcluster failed; fix: read the log"]
    assert results[2] == {"name": "slides", "failed": True, "msg": errors[0]}
    assert results[4] == {"name": "mail", "failed": True, "msg": errors[1]}
    assert [r.get("changed") for r in results] == [True, True, None, True, None, True]


def test_empty():
    assert _batch.run_all([], job, 4) == ([], [])


def test_runs_concurrently():
    barrier = threading.Barrier(3, timeout=5)

    def wait_for_all(item):
        barrier.wait()  # deadlocks (BrokenBarrierError after 5 s) unless the three run at once
        return {"name": item["name"]}

    results, errors = _batch.run_all([{"name": n} for n in "abc"], wait_for_all, 3)
    assert errors == []
    assert results == [{"name": "a"}, {"name": "b"}, {"name": "c"}]


def test_other_exceptions_propagate():
    def crash(item):
        raise ValueError("programming error")

    with pytest.raises(ValueError):
        _batch.run_all([{"name": "a"}], crash, 2)
