# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tuning planner: one host's memory and CPUs split across its instances (pure functions).

Public tuners size one PostgreSQL as if it owned the machine; six of them tuned that way commit
about six times the RAM. Here the host keeps an OS reserve, the rest (the budget) is split across
the instances by weight, and only then are pgtune-style formulas applied to each share. work_mem
takes what is left of the share, so each instance's committed memory fits its share.

Committed memory of an instance (the estimate the totals add up):
    shared_buffers + wal_buffers
    + (max_connections + max_parallel_workers) x (work_mem x sort/hash factor + backend overhead)
    + maintenance_work_mem (one manual VACUUM / CREATE INDEX)
    + autovacuum_max_workers x autovacuum_work_mem
effective_cache_size is a planner hint about the OS page cache, not an allocation: not counted.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError

KB, MIB, GIB = 1024, 1024 ** 2, 1024 ** 3
PROFILES = ("web", "oltp", "dw", "mixed", "desktop")
STORAGES = ("ssd", "hdd", "san")
DEFAULT_VERSION = 16

# A 1-2 GiB Debian host runs the kernel, systemd, sshd and journald in 300-500 MiB; bigger hosts
# need more page tables, slab and headroom above the kernel's reclaim watermarks, roughly 1/8 of
# RAM, which stops growing in proportion past 64 GiB (8 GiB is plenty for the OS itself).
RESERVE_MIN, RESERVE_FRACTION, RESERVE_MAX = 512 * MIB, 1 / 8, 8 * GIB
# PostgreSQL's out-of-the-box shared_buffers is 128MB: no share smaller than what initdb assumes.
MIN_SHARE = 128 * MIB
# Below 256kB even a small ORDER BY or hash join spills to temp files; a share that cannot give
# every connection this much is refused rather than planned.
WORK_MEM_FLOOR = 256 * KB
WORK_MEM_MIN = 64 * KB  # PostgreSQL's own lower bound for work_mem
# Private memory of one backend before it sorts anything (catalog, relation and plan caches):
# typically 1-2 MiB per connection as RSS minus shared memory; the low end is used.
BACKEND_OVERHEAD = 1 * MIB
HUGE_PAGES_FROM = 1 * GIB  # page tables cost shared_buffers/512 per backend; worth huge pages from here

MAX_CONNECTIONS = {"web": 200, "oltp": 300, "dw": 40, "mixed": 100, "desktop": 20}
# Work-memory nodes one query may hold at once (sorts, hashes); one of them is a hash, which
# may use hash_mem_multiplier x work_mem.
SORT_NODES = {"web": 1, "oltp": 1, "dw": 3, "mixed": 2, "desktop": 1}
SHARED_BUFFERS_FRACTION = {"desktop": 1 / 16}  # others 1/4
CACHE_FRACTION = {"desktop": 1 / 4}  # others 3/4
MAINTENANCE_FRACTION = {"dw": 1 / 8}  # others 1/16
MAINTENANCE_MAX = 2 * GIB  # index builds gain little past this
AUTOVACUUM_FRACTION = 1 / 64
AUTOVACUUM_MAX = 1 * GIB  # vacuum's dead-tuple store never used more than 1GB before PostgreSQL 17
WAL_SIZES = {"web": (1 * GIB, 4 * GIB), "oltp": (2 * GIB, 8 * GIB), "dw": (4 * GIB, 16 * GIB),
             "mixed": (1 * GIB, 4 * GIB), "desktop": (80 * MIB, 1 * GIB)}
RANDOM_PAGE_COST = {"ssd": "1.1", "san": "1.1", "hdd": "4"}
IO_CONCURRENCY = {"ssd": 200, "san": 300, "hdd": 2}

# context=postmaster in `postgres --describe-config` of PostgreSQL 15 and 17, plus the ones
# PostgreSQL 18 adds (io_*, autovacuum_worker_slots); autovacuum_max_workers is reloadable from 18.
POSTMASTER = frozenset((
    "archive_mode autovacuum_freeze_max_age autovacuum_multixact_freeze_max_age autovacuum_worker_slots "
    "bonjour bonjour_name cluster_name commit_timestamp_buffers data_directory data_sync_retry "
    "dynamic_shared_memory_type event_source external_pid_file hba_file hot_standby huge_page_size "
    "huge_pages ident_file io_max_combine_limit io_max_concurrency io_method jit_provider "
    "listen_addresses logging_collector max_connections max_files_per_process "
    "max_locks_per_transaction max_logical_replication_workers max_notify_queue_pages "
    "max_pred_locks_per_transaction max_prepared_transactions max_replication_slots max_wal_senders "
    "max_worker_processes min_dynamic_shared_memory multixact_member_buffers multixact_offset_buffers "
    "notify_buffers old_snapshot_threshold port recovery_target recovery_target_action "
    "recovery_target_inclusive recovery_target_lsn recovery_target_name recovery_target_time "
    "recovery_target_timeline recovery_target_xid reserved_connections serializable_buffers "
    "shared_buffers shared_memory_type shared_preload_libraries subtransaction_buffers "
    "superuser_reserved_connections track_activity_query_size track_commit_timestamp "
    "transaction_buffers unix_socket_directories unix_socket_group unix_socket_permissions "
    "wal_buffers wal_decode_buffer_size wal_level wal_log_hints").split())

# Memory settings and the unit PostgreSQL assumes for a bare number.
MEMORY_SETTINGS = {"shared_buffers": 8 * KB, "wal_buffers": 8 * KB, "effective_cache_size": 8 * KB,
                   "work_mem": KB, "maintenance_work_mem": KB, "autovacuum_work_mem": KB,
                   "min_wal_size": MIB, "max_wal_size": MIB}
NUMBER_SETTINGS = ("max_connections", "max_parallel_workers", "autovacuum_max_workers", "hash_mem_multiplier")
ORDER = ("max_connections", "shared_buffers", "effective_cache_size", "maintenance_work_mem",
         "autovacuum_work_mem", "work_mem", "wal_buffers", "min_wal_size", "max_wal_size",
         "checkpoint_completion_target", "random_page_cost", "effective_io_concurrency",
         "default_statistics_target", "max_worker_processes", "max_parallel_workers",
         "max_parallel_workers_per_gather", "max_parallel_maintenance_workers", "huge_pages")
UNITS = {"": None, "b": 1, "k": KB, "kb": KB, "m": MIB, "mb": MIB, "g": GIB, "gb": GIB,
         "t": 1024 * GIB, "tb": 1024 * GIB}
SIZE_RE = re.compile(r"\s*(-?[0-9]+(?:\.[0-9]+)?)\s*([a-z]*)\s*", re.IGNORECASE)


# --- units ---------------------------------------------------------------------------------------

def parse_memory(value: Any, base: int = KB, name: str = "value") -> int:
    """'512MB', '64kB', '1GB' or a bare number in the setting's base unit -> bytes (-1 stays -1)."""
    match = SIZE_RE.fullmatch(str(value))
    if isinstance(value, bool) or not match or match.group(2).lower() not in UNITS:
        raise DarevelError("%s %r is not a memory size; fix: write it like 512MB, 64kB or 1GB" % (name, value))
    number, unit = float(match.group(1)), UNITS[match.group(2).lower()]
    if number == -1:
        return -1
    return int(number * (unit or base))


def render_memory(size: int) -> str:
    """Bytes -> PostgreSQL's largest exact unit: 1073741824 -> '1GB', 4194304 -> '4MB'."""
    for unit, suffix in ((GIB, "GB"), (MIB, "MB")):
        if size >= unit and size % unit == 0:
            return "%d%s" % (size // unit, suffix)
    return "%dkB" % (size // KB)


def render_value(value: Any) -> str:
    """A pinned value as PostgreSQL reads it (booleans as on/off, like the container command)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _round_down(size: float, step: int) -> int:
    return int(size // step) * step


# --- inputs --------------------------------------------------------------------------------------

def os_reserve(memory: int) -> int:
    """Default memory kept for the OS: max(512 MiB, min(1/8 of RAM, 8 GiB))."""
    return max(RESERVE_MIN, min(int(memory * RESERVE_FRACTION), RESERVE_MAX))


def _choice(instance: dict, key: str, default: str, allowed: tuple[str, ...]) -> str:
    value = instance.get(key) or default
    if value not in allowed:
        raise DarevelError("instance '%s': %s %r is not one of %s; fix: use one of them" % (
            instance.get("name"), key, value, ", ".join(allowed)))
    return value


def _positive(instance: dict, key: str, default: Any) -> Any:
    value = instance.get(key)
    if value is None:
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = 0
    if isinstance(value, bool) or not math.isfinite(number) or number <= 0:
        raise DarevelError("instance '%s': %s %r must be a positive number; fix: write e.g. %s" % (
            instance.get("name"), key, value, default or 1))
    return number


def normalise(instance: dict, runtime: str = "native") -> dict:
    """One instance's tuning inputs with defaults; container limits only count on docker."""
    if not instance.get("name"):
        raise DarevelError("a tuning instance has no name; fix: pass catalogue entries with 'name'")
    limits = (instance.get("resources") or {}) if runtime == "docker" else {}
    return {
        "name": instance["name"],
        "profile": _choice(instance, "profile", "mixed", PROFILES),
        "storage": _choice(instance, "storage", "ssd", STORAGES),
        "weight": _positive(instance, "weight", 1.0),
        "max_connections": int(_positive(instance, "max_connections", 0)) or None,
        "version": int(instance.get("version") or DEFAULT_VERSION),
        "pinned": dict(instance.get("settings") or {}),
        "memory_limit": parse_memory(limits["memory"], 1, "resources.memory") if limits.get("memory") else None,
        "cpu_limit": float(limits["cpus"]) if limits.get("cpus") else None,
    }


# --- formulas ------------------------------------------------------------------------------------

def memory_settings(profile: str, share: int) -> dict[str, int]:
    """Shares of the instance's memory: 1/4 to shared_buffers (1/16 on a desktop), 3/4 assumed
    cached by the OS, 1/16 (dw 1/8) for one maintenance job, 1/64 per autovacuum worker."""
    shared = _round_down(share * SHARED_BUFFERS_FRACTION.get(profile, 1 / 4), MIB)
    return {
        "shared_buffers": shared,
        "effective_cache_size": _round_down(share * CACHE_FRACTION.get(profile, 3 / 4), MIB),
        "maintenance_work_mem": min(MAINTENANCE_MAX,
                                    _round_down(share * MAINTENANCE_FRACTION.get(profile, 1 / 16), MIB)),
        "autovacuum_work_mem": min(AUTOVACUUM_MAX, _round_down(share * AUTOVACUUM_FRACTION, MIB)),
        "wal_buffers": wal_buffers(shared),
    }


def wal_buffers(shared_buffers: int) -> int:
    """What wal_buffers=-1 picks, made explicit so it is counted: 1/32 of shared_buffers,
    64kB to one 16MB WAL segment, in 8kB pages."""
    return min(16 * MIB, max(64 * KB, _round_down(shared_buffers / 32, 8 * KB)))


def parallel_settings(profile: str, cpus: float) -> dict[str, int]:
    """Parallel query only from two whole CPUs of share: more workers than CPUs just compete
    with the host's other instances. The worker pool never drops below PostgreSQL's default of
    8 because extensions and logical replication draw from it too."""
    cores = max(1, int(cpus))
    per_gather = min(8 if profile == "dw" else 4, cores // 2)
    return {
        "max_worker_processes": max(8, cores),
        "max_parallel_workers": cores if cores >= 2 else 0,
        "max_parallel_workers_per_gather": per_gather,
        "max_parallel_maintenance_workers": min(4, cores // 2),
    }


def other_settings(profile: str, storage: str, max_connections: int | None) -> dict[str, Any]:
    """Settings that depend on the workload and the disks, not on the share."""
    min_wal, max_wal = WAL_SIZES[profile]
    return {
        "max_connections": max_connections or MAX_CONNECTIONS[profile],
        "min_wal_size": min_wal,
        "max_wal_size": max_wal,
        "checkpoint_completion_target": "0.9",  # 14+ default; 13 still defaults to 0.5
        "random_page_cost": RANDOM_PAGE_COST[storage],
        # Platforms without posix_fadvise (macOS before PostgreSQL 18) accept only 0; pin it there.
        "effective_io_concurrency": IO_CONCURRENCY[storage],
        "default_statistics_target": 500 if profile == "dw" else 100,
    }


def hidden_defaults(version: int) -> dict[str, Any]:
    """Server defaults the estimate needs but the plan does not set."""
    return {"autovacuum_max_workers": 3, "hash_mem_multiplier": 2.0 if version >= 15 else 1.0}


def work_mem_factor(profile: str, hash_mem_multiplier: float) -> float:
    """work_mem units one connection may hold: its sort nodes, one of them a hash."""
    return SORT_NODES[profile] - 1 + hash_mem_multiplier


def committed(values: dict[str, Any], factor: float) -> int:
    """The committed-memory estimate defined in the module docstring, in bytes."""
    processes = values["max_connections"] + values["max_parallel_workers"]
    autovacuum = values["autovacuum_work_mem"]
    if autovacuum == -1:
        autovacuum = values["maintenance_work_mem"]
    wal = values["wal_buffers"] if values["wal_buffers"] != -1 else wal_buffers(values["shared_buffers"])
    return int(values["shared_buffers"] + wal + processes * (values["work_mem"] * factor + BACKEND_OVERHEAD)
               + values["maintenance_work_mem"] + values["autovacuum_max_workers"] * autovacuum)


def work_mem(share: int, values: dict[str, Any], factor: float) -> int:
    """What is left of the share once everything else is counted, per connection and node
    (whole MB from 4MB up, so the plan reads easily)."""
    fixed = committed(dict(values, work_mem=0), factor)
    processes = values["max_connections"] + values["max_parallel_workers"]
    size = (share - fixed) / (processes * factor)
    return max(WORK_MEM_MIN, _round_down(size, MIB if size >= 4 * MIB else KB))


# --- one instance ----------------------------------------------------------------------------------

def parse_pinned(pinned: dict) -> dict[str, Any]:
    """Pinned settings the estimate needs, as numbers (memory in bytes)."""
    values: dict[str, Any] = {}
    for name, value in pinned.items():
        if name in MEMORY_SETTINGS:
            values[name] = parse_memory(value, MEMORY_SETTINGS[name], "settings.%s" % name)
        elif name in NUMBER_SETTINGS:
            try:
                values[name] = float(value) if name == "hash_mem_multiplier" else int(value)
            except (TypeError, ValueError) as exc:
                raise DarevelError("settings.%s %r is not a number; fix: write a plain number" % (
                    name, value)) from exc
    return values


def _values(inst: dict, share: int, cpus: float, floor: int = 0) -> dict[str, Any]:
    """Computed values with the pinned ones on top; work_mem sized last, from what remains."""
    values: dict[str, Any] = hidden_defaults(inst["version"])
    values.update(other_settings(inst["profile"], inst["storage"], inst["max_connections"]))
    values.update(memory_settings(inst["profile"], share))
    values.update(parallel_settings(inst["profile"], cpus))
    values.update(parse_pinned(inst["pinned"]))
    if "wal_buffers" not in inst["pinned"] and "shared_buffers" in inst["pinned"]:
        values["wal_buffers"] = wal_buffers(values["shared_buffers"])
    factor = work_mem_factor(inst["profile"], values["hash_mem_multiplier"])
    if "work_mem" not in inst["pinned"]:
        values["work_mem"] = max(floor, work_mem(share, values, factor))
    values["huge_pages"] = "try" if values["shared_buffers"] >= HUGE_PAGES_FROM else "off"
    values["committed"] = committed(values, factor)
    return values


def minimum_share(inst: dict, cpus: float) -> int:
    """The smallest share (MiB steps, at least MIN_SHARE) whose plan, with work_mem at its floor
    of 256kB, fits: the fixed parts scale with the share, connections and pins do not."""
    low, high = MIN_SHARE // MIB, 1024 * 1024  # up to 1 TiB
    while low < high:
        middle = (low + high) // 2
        if _values(inst, middle * MIB, cpus, WORK_MEM_FLOOR)["committed"] <= middle * MIB:
            high = middle
        else:
            low = middle + 1
    return low * MIB


def restart_settings(names: Any, version: int) -> list[str]:
    """The settings among names that only take effect after a restart (context=postmaster)."""
    return sorted(n for n in names if n in POSTMASTER or (n == "autovacuum_max_workers" and version < 18))


def render(values: dict[str, Any], pinned: dict) -> dict[str, str]:
    """The settings dict in PostgreSQL units; pinned values exactly as the user wrote them."""
    settings = {}
    for name in ORDER:
        value = values[name]
        settings[name] = render_memory(value) if name in MEMORY_SETTINGS else str(value)
    settings.update((name, render_value(value)) for name, value in pinned.items())
    return settings


def instance_plan(inst: dict, share: int, cpus: float, source: str) -> dict[str, Any]:
    """One instance's plan: its share, settings, estimate, minimum and restart-only settings."""
    values = _values(inst, share, cpus)
    settings = render(values, inst["pinned"])
    return {
        "share": {"memory": share, "cpus": round(cpus, 3), "source": source},
        "profile": inst["profile"],
        "weight": inst["weight"],
        "settings": settings,
        "pinned": sorted(inst["pinned"]),
        "committed": values["committed"],
        "minimum": minimum_share(inst, cpus),
        "fits": values["committed"] <= share,
        "restart": restart_settings(settings, inst["version"]),
    }


# --- the host ------------------------------------------------------------------------------------

def split(total: float, weights: list[float], step: float = MIB) -> list[float]:
    """total split in proportion to weights, each part rounded down to step."""
    whole = sum(weights)
    return [_round_down(total * weight / whole, step) if step else total * weight / whole for weight in weights]


def _memory_needed(budget: int, reserve: int | None) -> int:
    """Host memory whose budget (after the default or the given reserve) is at least budget."""
    if reserve is not None:
        return budget + reserve
    candidates = (budget + RESERVE_MIN, math.ceil(budget / (1 - RESERVE_FRACTION)), budget + RESERVE_MAX)
    return min(c for c in candidates if c - os_reserve(c) >= budget)


def _shares(insts: list[dict], budget: int, cpus: float) -> list[tuple[int, float, str]]:
    """(memory, cpus, source) per instance: container limits as they are, the rest by weight."""
    free = [i for i in insts if i["memory_limit"] is None]
    left = budget - sum(i["memory_limit"] for i in insts if i["memory_limit"] is not None)
    memory = iter(split(max(left, 0), [i["weight"] for i in free]) if free else [])
    cpu_parts = split(cpus, [i["weight"] for i in insts], 0)
    return [(i["memory_limit"] if i["memory_limit"] is not None else next(memory),
             i["cpu_limit"] or part, "container" if i["memory_limit"] is not None else "host")
            for i, part in zip(insts, cpu_parts)]


def _refuse(insts: list[dict], shares: list, budget: int, reserve: int | None, memory: int,
            other_weight: float = 0) -> None:
    """Raise one error naming every instance below its minimum and the host memory needed."""
    short = [(i, s, minimum_share(i, s[1])) for i, s in zip(insts, shares)]
    short = [(i, s, m) for i, s, m in short if s[0] < m]
    if not short:
        return
    free_weight = sum(i["weight"] for i in insts if i["memory_limit"] is None) + other_weight
    lines = [("instance '%s' needs at least %s but its container memory limit is %s; fix: raise its "
              "resources.memory to at least %s" % (i["name"], _mib(m), _mib(s[0]), _mib(m)))
             if s[2] == "container" else "instance '%s' needs at least %s but its share (weight %g of %g) "
             "is %s" % (i["name"], _mib(m), i["weight"], free_weight, _mib(s[0])) for i, s, m in short]
    wanted = max([m * free_weight / i["weight"] for i, _s, m in short if i["memory_limit"] is None] or [0])
    need = _memory_needed(math.ceil(wanted) + sum(i["memory_limit"] or 0 for i in insts), reserve)
    if wanted:
        lines.append("the host has %s (budget %s after the OS reserve) and needs at least %s; fix: give the "
                     "host at least %s, lower the OS reserve, lower max_connections, or enable fewer "
                     "instances on this host%s" % (
                         _mib(memory), _mib(budget), _mib(need), _mib(need),
                         "; %d other PostgreSQL server(s) on the host keep a share each (see the warning; "
                         "postgres_tuning_others: warn plans without them)" % other_weight if other_weight else ""))
    raise DarevelError("tuning refused, the memory budget is too small: " + "; ".join(lines),
                       minimum=need if wanted else memory, instances={i["name"]: m for i, _s, m in short})


def _mib(size: float) -> str:
    return "%d MiB" % math.ceil(size / MIB)


def _check_host(memory: int, cpus: float, reserve: int) -> None:
    finite = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                 for v in (memory, cpus, reserve))
    if not finite or memory <= 0 or cpus <= 0 or reserve < 0:
        raise DarevelError("host memory %r, CPUs %r and reserve %r must be positive (and finite); fix: "
                           "pass the facts ansible_memtotal_mb and ansible_processor_vcpus (or "
                           "postgres_tuning_memory_mb, postgres_tuning_cpus)" % (memory, cpus, reserve))
    if reserve >= memory:
        raise DarevelError("the OS reserve %s is not below the host's memory %s; fix: lower the reserve" % (
            _mib(reserve), _mib(memory)))


def _totals(memory: int, cpus: float, reserve: int, plans: dict[str, dict]) -> dict[str, Any]:
    committed_total = sum(p["committed"] for p in plans.values())
    return {"memory": memory, "cpus": cpus, "reserve": reserve, "budget": memory - reserve,
            "committed": committed_total, "fits": committed_total <= memory - reserve}


def plan(memory: int, cpus: float, instances: list[dict], reserve: int | None = None,
         runtime: str = "native", others: list[str] | None = None) -> dict[str, Any]:
    """The host's plan: {'host': totals, 'instances': {name: instance plan}}; refuses with the
    minimum host memory when a share is below what its instance needs. `others`: the PostgreSQL
    servers on the host outside the plan (another cluster, an older instance); each takes the
    share of an instance of weight 1, which the plan keeps for it (host totals list them)."""
    held = os_reserve(memory) if reserve is None else reserve
    _check_host(memory, cpus, held)
    insts = [normalise(i, runtime) for i in instances]
    placeholders = [{"name": name, "weight": 1.0, "memory_limit": None, "cpu_limit": None} for name in others or []]
    shares = _shares(insts + placeholders, memory - held, cpus)
    kept, shares = shares[len(insts):], shares[:len(insts)]
    _refuse(insts, shares, memory - held, reserve, memory, float(len(placeholders)))
    plans = {i["name"]: instance_plan(i, *share) for i, share in zip(insts, shares)}
    totals = _totals(memory, cpus, held, plans)
    if placeholders:
        totals["others"] = [{"name": p["name"], "memory": share[0]} for p, share in zip(placeholders, kept)]
        totals["committed"] += sum(share[0] for share in kept)
        totals["fits"] = totals["committed"] <= memory - held
    return {"host": totals, "instances": plans}


def standalone_plan(memory: int, cpus: float, instances: list[dict], reserve: int | None = None) -> dict[str, Any]:
    """What one-instance-per-machine tuning gives: every instance sized from the whole host (no
    reserve, all CPUs, as pgtune does), totalled against the same budget as plan()."""
    held = os_reserve(memory) if reserve is None else reserve
    _check_host(memory, cpus, held)
    plans = {i["name"]: instance_plan(i, memory, cpus, "host")
             for i in (normalise(entry) for entry in instances)}
    return {"host": _totals(memory, cpus, held, plans), "instances": plans}
