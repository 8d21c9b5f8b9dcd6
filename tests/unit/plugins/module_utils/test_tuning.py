"""Unit tests for plugins/module_utils/_tuning.py."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from ansible_collections.darevel.postgres.plugins.module_utils import _tuning
from ansible_collections.darevel.postgres.plugins.module_utils._catalogue import SEED
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError

KB, MIB, GIB = 1024, 1024 ** 2, 1024 ** 3
SIX = [{"name": entry["name"]} for entry in SEED]


def _inst(**kwargs) -> dict:
    return _tuning.normalise(dict({"name": "chat"}, **kwargs))


# --- units -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, base, expected", [
    ("512MB", KB, 512 * MIB), ("1GB", KB, GIB), ("64kB", KB, 64 * KB), ("4 mb", KB, 4 * MIB),
    ("1.5GB", KB, 1536 * MIB), ("1TB", KB, 1024 * GIB), (4096, KB, 4 * MIB), ("16384", 8 * KB, 128 * MIB),
    ("-1", KB, -1), (-1, 8 * KB, -1), ("512M", 1, 512 * MIB), ("2g", 1, 2 * GIB), ("100", MIB, 100 * MIB),
])
def test_parse_memory(value, base, expected):
    assert _tuning.parse_memory(value, base) == expected


@pytest.mark.parametrize("value", ["lots", "12XB", "", None, True, "1 2MB"])
def test_parse_memory_refuses_nonsense(value):
    with pytest.raises(DarevelError, match="fix: write it like 512MB"):
        _tuning.parse_memory(value, KB, "settings.work_mem")


@pytest.mark.parametrize("size, text", [
    (GIB, "1GB"), (4 * MIB, "4MB"), (2389 * MIB, "2389MB"), (4768 * KB, "4768kB"), (64 * KB, "64kB"),
    (16 * GIB, "16GB"), (1536 * MIB, "1536MB"),
])
def test_render_memory_both_ways(size, text):
    assert _tuning.render_memory(size) == text
    assert _tuning.parse_memory(text) == size


@pytest.mark.parametrize("value, text", [(True, "on"), (False, "off"), (100, "100"), ("0.9", "0.9")])
def test_render_value(value, text):
    assert _tuning.render_value(value) == text


# --- inputs --------------------------------------------------------------------------------------

@pytest.mark.parametrize("memory, reserve", [
    (1 * GIB, 512 * MIB), (4 * GIB, 512 * MIB), (8 * GIB, 1 * GIB), (64 * GIB, 8 * GIB), (256 * GIB, 8 * GIB),
])
def test_os_reserve(memory, reserve):
    assert _tuning.os_reserve(memory) == reserve


def test_normalise_defaults():
    inst = _inst()
    assert (inst["profile"], inst["storage"], inst["weight"], inst["max_connections"]) == ("mixed", "ssd", 1.0, None)
    assert inst["version"] == _tuning.DEFAULT_VERSION and inst["pinned"] == {}
    assert inst["memory_limit"] is None and inst["cpu_limit"] is None


@pytest.mark.parametrize("key, value, match", [
    ("profile", "batch", "profile 'batch' is not one of web, oltp"),
    ("storage", "tape", "storage 'tape' is not one of ssd"),
    ("weight", 0, "weight 0 must be a positive number"),
    ("weight", "heavy", "weight 'heavy' must be a positive number"),
    ("max_connections", -5, "max_connections -5 must be a positive number"),
])
def test_normalise_refuses(key, value, match):
    with pytest.raises(DarevelError, match="instance 'chat': " + match):
        _inst(**{key: value})


def test_normalise_needs_a_name():
    with pytest.raises(DarevelError, match="no name"):
        _tuning.normalise({"profile": "web"})


@pytest.mark.parametrize("runtime, memory, cpus", [("docker", 512 * MIB, 0.5), ("native", None, None)])
def test_container_limits_only_on_docker(runtime, memory, cpus):
    inst = _tuning.normalise({"name": "chat", "resources": {"memory": "512M", "cpus": "0.5"}}, runtime)
    assert (inst["memory_limit"], inst["cpu_limit"]) == (memory, cpus)


# --- formulas ------------------------------------------------------------------------------------

@pytest.mark.parametrize("profile, share, shared, cache, maintenance, autovacuum", [
    ("mixed", 4 * GIB, 1 * GIB, 3 * GIB, 256 * MIB, 64 * MIB),
    ("web", 1 * GIB, 256 * MIB, 768 * MIB, 64 * MIB, 16 * MIB),
    ("dw", 8 * GIB, 2 * GIB, 6 * GIB, 1 * GIB, 128 * MIB),
    ("desktop", 4 * GIB, 256 * MIB, 1 * GIB, 256 * MIB, 64 * MIB),
    ("oltp", 64 * GIB, 16 * GIB, 48 * GIB, 2 * GIB, 1 * GIB),  # both caps
    ("mixed", 600 * MIB, 150 * MIB, 450 * MIB, 37 * MIB, 9 * MIB),  # rounded down to MiB
])
def test_memory_settings(profile, share, shared, cache, maintenance, autovacuum):
    values = _tuning.memory_settings(profile, share)
    assert (values["shared_buffers"], values["effective_cache_size"]) == (shared, cache)
    assert (values["maintenance_work_mem"], values["autovacuum_work_mem"]) == (maintenance, autovacuum)


@pytest.mark.parametrize("shared, wal", [
    (1 * MIB, 64 * KB), (128 * MIB, 4 * MIB), (149 * MIB, 4768 * KB), (512 * MIB, 16 * MIB), (16 * GIB, 16 * MIB),
])
def test_wal_buffers(shared, wal):
    assert _tuning.wal_buffers(shared) == wal
    assert wal % (8 * KB) == 0


@pytest.mark.parametrize("profile, cpus, expected", [
    ("mixed", 0.333, (8, 0, 0, 0)),
    ("mixed", 1.9, (8, 0, 0, 0)),
    ("mixed", 2.667, (8, 2, 1, 1)),
    ("oltp", 4, (8, 4, 2, 2)),
    ("mixed", 16, (16, 16, 4, 4)),
    ("dw", 16, (16, 16, 8, 4)),
    ("dw", 64, (64, 64, 8, 4)),
])
def test_parallel_settings(profile, cpus, expected):
    values = _tuning.parallel_settings(profile, cpus)
    assert tuple(values[k] for k in ("max_worker_processes", "max_parallel_workers",
                                     "max_parallel_workers_per_gather", "max_parallel_maintenance_workers")) == expected


@pytest.mark.parametrize("profile, storage, connections, expected", [
    ("mixed", "ssd", None, {"max_connections": 100, "random_page_cost": "1.1", "effective_io_concurrency": 200,
                            "default_statistics_target": 100, "min_wal_size": GIB, "max_wal_size": 4 * GIB}),
    ("web", "hdd", None, {"max_connections": 200, "random_page_cost": "4", "effective_io_concurrency": 2}),
    ("oltp", "san", None, {"max_connections": 300, "random_page_cost": "1.1", "effective_io_concurrency": 300,
                           "min_wal_size": 2 * GIB, "max_wal_size": 8 * GIB}),
    ("dw", "ssd", None, {"max_connections": 40, "default_statistics_target": 500, "max_wal_size": 16 * GIB}),
    ("desktop", "ssd", 7, {"max_connections": 7, "min_wal_size": 80 * MIB, "max_wal_size": GIB}),
])
def test_other_settings(profile, storage, connections, expected):
    values = _tuning.other_settings(profile, storage, connections)
    assert {k: values[k] for k in expected} == expected
    assert values["checkpoint_completion_target"] == "0.9"


@pytest.mark.parametrize("profile, multiplier, factor", [
    ("web", 2.0, 2.0), ("oltp", 1.0, 1.0), ("mixed", 2.0, 3.0), ("mixed", 1.0, 2.0), ("dw", 2.0, 4.0),
])
def test_work_mem_factor(profile, multiplier, factor):
    assert _tuning.work_mem_factor(profile, multiplier) == factor


@pytest.mark.parametrize("version, multiplier", [(13, 1.0), (14, 1.0), (15, 2.0), (18, 2.0)])
def test_hash_mem_multiplier_default_by_version(version, multiplier):
    assert _tuning.hidden_defaults(version)["hash_mem_multiplier"] == multiplier


BASE = {"shared_buffers": 100 * MIB, "wal_buffers": 3 * MIB, "max_connections": 10, "max_parallel_workers": 2,
        "work_mem": 4 * MIB, "maintenance_work_mem": 20 * MIB, "autovacuum_work_mem": 5 * MIB,
        "autovacuum_max_workers": 3}


@pytest.mark.parametrize("changes, expected", [
    ({}, 100 + 3 + 12 * (4 * 2 + 1) + 20 + 3 * 5),
    ({"autovacuum_work_mem": -1}, 100 + 3 + 12 * 9 + 20 + 3 * 20),  # falls back to maintenance_work_mem
    ({"wal_buffers": -1}, 100 + 3.125 + 12 * 9 + 20 + 15),  # auto: shared_buffers / 32
    ({"max_parallel_workers": 0, "work_mem": 0}, 100 + 3 + 10 * 1 + 20 + 15),
])
def test_committed(changes, expected):
    assert _tuning.committed(dict(BASE, **changes), 2.0) == int(expected * MIB)


@pytest.mark.parametrize("share", [300 * MIB, 600 * MIB, 2 * GIB, 10 * GIB])
def test_work_mem_takes_what_is_left(share):
    values = dict(BASE, work_mem=0, shared_buffers=share // 4)
    size = _tuning.work_mem(share, values, 3.0)
    assert _tuning.committed(dict(values, work_mem=size), 3.0) <= share
    step = MIB if size >= 4 * MIB else KB
    assert _tuning.committed(dict(values, work_mem=size + step), 3.0) > share


def test_work_mem_never_below_postgres_minimum():
    assert _tuning.work_mem(10 * MIB, dict(BASE), 3.0) == 64 * KB


@pytest.mark.parametrize("version, names, expected", [
    (16, ["work_mem", "shared_buffers", "huge_pages"], ["huge_pages", "shared_buffers"]),
    (16, ["autovacuum_max_workers", "max_connections"], ["autovacuum_max_workers", "max_connections"]),
    (18, ["autovacuum_max_workers", "max_connections"], ["max_connections"]),
    (16, ["random_page_cost", "max_parallel_workers", "effective_cache_size"], []),
    (17, ["wal_buffers", "max_worker_processes", "shared_preload_libraries"],
     ["max_worker_processes", "shared_preload_libraries", "wal_buffers"]),
])
def test_restart_settings(version, names, expected):
    assert _tuning.restart_settings(names, version) == expected


# --- one instance ----------------------------------------------------------------------------------

def test_instance_plan_renders_every_setting_in_postgres_units():
    result = _tuning.instance_plan(_inst(), 4 * GIB, 4, "host")
    assert list(result["settings"]) == list(_tuning.ORDER)
    assert all(isinstance(v, str) for v in result["settings"].values())
    assert result["settings"]["shared_buffers"] == "1GB" and result["settings"]["max_connections"] == "100"
    assert result["settings"]["huge_pages"] == "try"
    assert result["restart"] == ["huge_pages", "max_connections", "max_worker_processes", "shared_buffers",
                                 "wal_buffers"]
    assert result["fits"] and result["committed"] <= 4 * GIB


@pytest.mark.parametrize("share, huge", [(512 * MIB, "off"), (3 * GIB, "off"), (4 * GIB, "try")])
def test_huge_pages_from_1gb_of_shared_buffers(share, huge):
    assert _tuning.instance_plan(_inst(), share, 2, "host")["settings"]["huge_pages"] == huge


def test_pinned_settings_win_and_are_counted():
    pinned = {"shared_buffers": "512MB", "max_connections": 50, "jit": False, "work_mem": "2MB"}
    result = _tuning.instance_plan(_inst(settings=pinned), 1 * GIB, 1, "host")
    settings = result["settings"]
    assert (settings["shared_buffers"], settings["max_connections"], settings["jit"]) == ("512MB", "50", "off")
    assert settings["work_mem"] == "2MB" and settings["wal_buffers"] == "16MB"  # follows the pinned 512MB
    assert result["pinned"] == ["jit", "max_connections", "shared_buffers", "work_mem"]
    expected = 512 + 16 + 50 * (2 * 3 + 1) + 64 + 3 * 16
    assert result["committed"] == expected * MIB


def test_pinned_shared_buffers_leaves_less_work_mem():
    free = _tuning.instance_plan(_inst(), 1 * GIB, 1, "host")
    pinned = _tuning.instance_plan(_inst(settings={"shared_buffers": "512MB"}), 1 * GIB, 1, "host")
    assert _tuning.parse_memory(pinned["settings"]["work_mem"]) < _tuning.parse_memory(free["settings"]["work_mem"])
    assert pinned["fits"] and pinned["committed"] <= 1 * GIB


def test_pinned_value_that_is_not_a_size():
    with pytest.raises(DarevelError, match="settings.work_mem 'plenty' is not a memory size"):
        _tuning.instance_plan(_inst(settings={"work_mem": "plenty"}), 1 * GIB, 1, "host")


@pytest.mark.parametrize("kwargs, low, high", [
    ({}, 250 * MIB, 300 * MIB),  # 100 connections
    ({"profile": "desktop"}, 128 * MIB, 128 * MIB),  # the flat minimum
    ({"profile": "oltp"}, 600 * MIB, 800 * MIB),  # 300 connections
    ({"max_connections": 20}, 128 * MIB, 128 * MIB),
    ({"settings": {"shared_buffers": "1GB"}}, 1300 * MIB, 1400 * MIB),
])
def test_minimum_share(kwargs, low, high):
    minimum = _tuning.minimum_share(_inst(**kwargs), 1)
    assert low <= minimum <= high and minimum % MIB == 0
    assert _tuning.instance_plan(_inst(**kwargs), minimum, 1, "host")["fits"]


# --- the host ------------------------------------------------------------------------------------

@pytest.mark.parametrize("total, weights, parts", [
    (600 * MIB, [1, 1, 1], [200 * MIB] * 3),
    (600 * MIB, [1, 2, 3], [100 * MIB, 200 * MIB, 300 * MIB]),
    (100 * MIB, [1, 1, 1], [33 * MIB] * 3),  # rounded down: never more than the total
    (3 * GIB, [0.5, 0.5], [1536 * MIB] * 2),
])
def test_split(total, weights, parts):
    assert _tuning.split(total, weights) == parts


def test_split_cpus_unrounded():
    assert _tuning.split(2, [1, 3], 0) == [0.5, 1.5]


def test_plan_splits_by_weight():
    result = _tuning.plan(8 * GIB, 4, [{"name": "a", "weight": 3}, {"name": "b"}])
    a, b = result["instances"]["a"], result["instances"]["b"]
    assert (a["share"]["memory"], b["share"]["memory"]) == (5376 * MIB, 1792 * MIB)
    assert (a["share"]["cpus"], b["share"]["cpus"]) == (3, 1)
    assert a["settings"]["shared_buffers"] == "1344MB" and b["settings"]["shared_buffers"] == "448MB"
    assert a["settings"]["max_parallel_workers"] == "3" and b["settings"]["max_parallel_workers"] == "0"


def test_other_servers_on_the_host_keep_a_share_each():
    # Two catalogue instances on a host that also runs six other clusters: 1/8 of the budget each,
    # not half of the host; the six shares are kept and listed in the host totals.
    others = ["15/main (native, port 5432)"] + ["15/old%d (native, port %d)" % (n, 5500 + n) for n in range(5)]
    result = _tuning.plan(8 * GIB, 4, [{"name": "a"}, {"name": "b"}], others=others)
    budget = 8 * GIB - _tuning.os_reserve(8 * GIB)
    assert result["instances"]["a"]["share"]["memory"] == budget // 8 // MIB * MIB
    assert [o["name"] for o in result["host"]["others"]] == others
    assert all(o["memory"] == result["instances"]["a"]["share"]["memory"] for o in result["host"]["others"])
    assert result["host"]["fits"] and result["host"]["committed"] <= budget
    assert result["instances"]["a"]["share"]["cpus"] == 0.5
    alone = _tuning.plan(8 * GIB, 4, [{"name": "a"}, {"name": "b"}])
    assert alone["instances"]["a"]["share"]["memory"] == budget // 2 // MIB * MIB and "others" not in alone["host"]


def test_a_budget_too_small_with_the_others_counts_them_in_the_refusal():
    with pytest.raises(DarevelError) as info:
        _tuning.plan(1 * GIB, 2, [{"name": "a"}], others=["x", "y", "z"])
    assert "its share (weight 1 of 4)" in info.value.msg


def test_plan_reserve_is_configurable():
    result = _tuning.plan(4 * GIB, 2, [{"name": "a"}], reserve=1 * GIB)
    assert result["host"]["reserve"] == GIB and result["host"]["budget"] == 3 * GIB
    assert result["instances"]["a"]["share"]["memory"] == 3 * GIB


def test_container_limits_used_instead_of_host_memory():
    instances = [{"name": "a", "resources": {"memory": "512M", "cpus": "0.5"}}, {"name": "b"}, {"name": "c"}]
    result = _tuning.plan(4 * GIB, 2, instances, runtime="docker")
    a, b = result["instances"]["a"], result["instances"]["b"]
    assert a["share"] == {"memory": 512 * MIB, "cpus": 0.5, "source": "container"}
    assert a["settings"]["shared_buffers"] == "128MB" and a["committed"] <= 512 * MIB
    assert b["share"]["memory"] == (3584 - 512) // 2 * MIB and b["share"]["source"] == "host"
    assert result["host"]["fits"]
    native = _tuning.plan(4 * GIB, 2, instances)
    assert native["instances"]["a"]["share"]["memory"] == 3584 // 3 * MIB


def test_refusal_names_the_minimum_and_the_fix():
    with pytest.raises(DarevelError) as info:
        _tuning.plan(1 * GIB, 2, SIX)
    message = info.value.msg
    assert "instance 'chat' needs at least 275 MiB but its share (weight 1 of 6) is 85 MiB" in message
    assert "needs at least 2162 MiB; fix: give the host at least 2162 MiB" in message
    assert info.value.details["minimum"] == 2162 * MIB
    assert _tuning.plan(2162 * MIB, 2, SIX)["host"]["fits"]
    with pytest.raises(DarevelError):
        _tuning.plan(2161 * MIB, 2, SIX)


def test_refusal_of_one_light_instance():
    instances = [{"name": "big", "weight": 20}, {"name": "small", "weight": 1}]
    with pytest.raises(DarevelError, match=r"'small' needs at least 275 MiB but its share \(weight 1 of 21\)"):
        _tuning.plan(4 * GIB, 2, instances)


def test_refusal_of_a_small_container():
    instances = [{"name": "a", "resources": {"memory": "256M", "cpus": "1"}}]
    with pytest.raises(DarevelError, match="raise its resources.memory to at least 275 MiB") as info:
        _tuning.plan(4 * GIB, 2, instances, runtime="docker")
    assert "the host has" not in info.value.msg


@pytest.mark.parametrize("memory, cpus, reserve, match", [
    (4 * GIB, 2, 4 * GIB, "lower the reserve"), (0, 2, None, "must be positive"), (4 * GIB, 0, None, "positive"),
])
def test_bad_host(memory, cpus, reserve, match):
    with pytest.raises(DarevelError, match=match):
        _tuning.plan(memory, cpus, SIX, reserve)


CASES = [
    # (memory, cpus, instances): property-style; every plan that is not refused fits its budget
    (2 * GIB, 1, [{"name": "a"}]),
    (3 * GIB, 2, SIX),
    (4 * GIB, 2, SIX),
    (6 * GIB, 3, [{"name": "a", "profile": "oltp"}, {"name": "b", "profile": "web", "weight": 2}]),
    (8 * GIB, 4, [{"name": n, "profile": p} for n, p in zip("abcde", _tuning.PROFILES)]),
    (16 * GIB, 8, [{"name": "a", "profile": "dw", "weight": 4}, {"name": "b", "storage": "hdd"},
                   {"name": "c", "max_connections": 500, "weight": 2}]),
    (32 * GIB, 8, [{"name": "a", "settings": {"shared_buffers": "8GB"}}, {"name": "b"}]),
    (64 * GIB, 16, SIX),
    (64 * GIB, 16, [{"name": "n%d" % i, "weight": 1 + i % 3, "version": 13 + i % 6} for i in range(12)]),
    (128 * GIB, 32, [{"name": "a", "profile": "dw"}]),
    (256 * GIB, 64, [{"name": "a", "profile": "oltp", "weight": 0.5}, {"name": "b", "profile": "dw"}]),
    (1536 * MIB, 1, [{"name": "a", "profile": "desktop"}, {"name": "b", "profile": "desktop"}]),
    (24 * GIB, 6, [{"name": "a", "settings": {"work_mem": "64MB", "max_connections": "20"}}, {"name": "b"}]),
]


@pytest.mark.parametrize("memory, cpus, instances", CASES)
def test_totals_fit_the_budget(memory, cpus, instances):
    result = _tuning.plan(memory, cpus, instances)
    host = result["host"]
    assert host["budget"] == memory - host["reserve"]
    assert host["committed"] == sum(p["committed"] for p in result["instances"].values())
    assert host["fits"] and host["committed"] <= host["budget"]
    assert sum(p["share"]["memory"] for p in result["instances"].values()) <= host["budget"]
    for item in result["instances"].values():
        assert item["fits"] and item["committed"] <= item["share"]["memory"]
        assert _tuning.parse_memory(item["settings"]["work_mem"]) >= _tuning.WORK_MEM_FLOOR


@pytest.mark.parametrize("memory, cpus", [(4 * GIB, 2), (64 * GIB, 16)])
def test_seed_plans_fit_and_standalone_overcommits(memory, cpus):
    ours = _tuning.plan(memory, cpus, SIX)
    alone = _tuning.standalone_plan(memory, cpus, SIX)
    assert list(ours["instances"]) == [e["name"] for e in SEED]
    assert ours["host"]["fits"] and ours["host"]["committed"] <= ours["host"]["budget"]
    assert not alone["host"]["fits"]
    assert alone["host"]["committed"] > 5 * alone["host"]["budget"]
    assert alone["host"]["budget"] == ours["host"]["budget"]
    for item in alone["instances"].values():
        assert item["share"]["memory"] == memory and item["share"]["cpus"] == cpus


def test_seed_plan_on_4gib_host():
    result = _tuning.plan(4 * GIB, 2, SIX)
    chat = result["instances"]["chat"]
    assert result["host"]["reserve"] == 512 * MIB and chat["share"]["memory"] == 597 * MIB
    assert {k: chat["settings"][k] for k in ("shared_buffers", "work_mem", "max_connections", "huge_pages",
                                             "max_parallel_workers_per_gather")} == {
        "shared_buffers": "149MB", "work_mem": "953kB", "max_connections": "100", "huge_pages": "off",
        "max_parallel_workers_per_gather": "0"}


def test_seed_plan_on_64gib_host():
    result = _tuning.plan(64 * GIB, 16, SIX)
    chat = result["instances"]["chat"]
    assert result["host"]["reserve"] == 8 * GIB and chat["share"]["memory"] == 9557 * MIB
    assert {k: chat["settings"][k] for k in ("shared_buffers", "work_mem", "huge_pages", "max_parallel_workers")} == {
        "shared_buffers": "2389MB", "work_mem": "19MB", "huge_pages": "try", "max_parallel_workers": "2"}


def test_docs_show_the_current_plans():
    root = pathlib.Path(__file__).resolve().parents[4]
    result = subprocess.run([sys.executable, str(root / "scripts" / "tuning-plan.py")],
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() in (root / "docs" / "tuning.md").read_text(), \
        "docs/tuning.md is out of date; paste the output of .venv/bin/python scripts/tuning-plan.py"
