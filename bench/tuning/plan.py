"""Settings, memory estimates and the report of bench/tuning/run.sh (plugins/module_utils/_tuning.py).

    plan.py conf CONFIG DIR MEMORY_MB CPUS VERSION   write DIR/<name>.conf for the seed's six instances
                                                     (CONFIG: defaults, standalone, ours); print one
                                                     line "<name> <committed bytes>" per instance
    plan.py estimate < lines                         "<name> setting=value ..." (live values) ->
                                                     "<name> <committed bytes>" by the same estimate
    plan.py budget MEMORY_MB                         the budget in bytes: MEMORY_MB less the OS reserve
    plan.py report WORK MEMORY_MB CPUS VERSION LIMIT the Markdown tables from WORK/*.tsv (LIMIT: the
                                                     servers' cgroup memory limit in bytes, 0 for none)
"""

from __future__ import annotations

import math
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from ansible_collections.darevel.postgres.plugins.module_utils import _tuning  # noqa: E402
from ansible_collections.darevel.postgres.plugins.module_utils._catalogue import SEED  # noqa: E402

MIB = 1024 ** 2
PROFILE = "mixed"  # the seed's instances have no profile: the planner's default
CONFIGS = ("defaults", "standalone", "ours")
LABELS = {"defaults": "(a) PostgreSQL defaults",
          "standalone": "(b) pgtune-style, each instance as if it owned the host",
          "ours": "(c) our plan, six instances share the host"}


def instances(version: int) -> list[dict]:
    return [{"name": entry["name"], "version": version} for entry in SEED]


def planned(config: str, memory_mb: int, cpus: float, version: int) -> dict:
    if config == "ours":
        return _tuning.plan(memory_mb * MIB, cpus, instances(version))
    if config == "standalone":
        return _tuning.standalone_plan(memory_mb * MIB, cpus, instances(version))
    raise ValueError(config)


def conf(config: str, directory: str, memory_mb: int, cpus: float, version: int) -> None:
    header = "# bench/tuning: configuration %s (%d MiB, %g CPUs planned)\n" % (LABELS[config], memory_mb, cpus)
    result = planned(config, memory_mb, cpus, version) if config != "defaults" else None
    for entry in SEED:
        name = entry["name"]
        lines = [header]
        if result:
            plan = result["instances"][name]
            lines += ["%s = '%s'\n" % (key, value) for key, value in plan["settings"].items()]
            print(name, plan["committed"])
        with open(os.path.join(directory, name + ".conf"), "w", encoding="utf-8") as handle:
            handle.writelines(lines)


def committed_of(values: dict) -> int:
    """The planner's committed-memory estimate of a running server's settings."""
    numbers = _tuning.parse_pinned(values)
    factor = _tuning.work_mem_factor(PROFILE, numbers["hash_mem_multiplier"])
    return _tuning.committed(numbers, factor)


def estimate() -> None:
    for line in sys.stdin:
        fields = line.split()
        if not fields:
            continue
        values = dict(field.split("=", 1) for field in fields[1:])
        print(fields[0], committed_of(values))


def machine_mib() -> int:
    with open("/proc/meminfo", encoding="ascii") as handle:
        return int(handle.readline().split()[1]) // 1024


def read_tsv(path: str) -> list[list[str]]:
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return [line.rstrip("\n").split("\t") for line in handle if line.strip()]


def budget_of(memory_mb: int) -> int:
    return memory_mb * MIB - _tuning.os_reserve(memory_mb * MIB)


def report(work: str, memory_mb: int, cpus: float, version: int, limit: int = 0) -> None:
    """runs.tsv: config round instance tps latency_ms (tps 'failed' when it did not start);
    rounds.tsv: config round pss_mib interval_min interval_max cgroup_peak_mib oom_kills;
    hits.tsv: config round shared_buffers_hit_percent (of the measured run, all instances);
    committed.tsv: config instance bytes
    (the estimate of the live settings); planned.tsv: config instance bytes (the planner's)."""
    names = [entry["name"] for entry in SEED]
    runs = read_tsv(os.path.join(work, "runs.tsv"))
    rounds = read_tsv(os.path.join(work, "rounds.tsv"))
    hits = read_tsv(os.path.join(work, "hits.tsv"))
    live = {(c, i): int(b) for c, i, b in read_tsv(os.path.join(work, "committed.tsv"))}
    plans = {(c, i): int(b) for c, i, b in read_tsv(os.path.join(work, "planned.tsv"))}
    budget = budget_of(memory_mb)
    median = statistics.median
    out = []
    intro = "Both planners plan for a host of %d MiB and %g CPUs (budget %d MiB after the OS reserve of %d MiB); " % (
        memory_mb, cpus, budget // MIB, _tuning.os_reserve(memory_mb * MIB) // MIB)
    if limit:
        intro += ("the six servers ran in one memory cgroup limited to %d MiB, so their shared memory, private "
                  "memory and page cache all had to fit the budget (the machine has %d MiB)." % (
                      limit // MIB, machine_mib()))
    else:
        intro += ("no memory limit: the machine itself has %d MiB, so the data set stays in its page cache and "
                  "only what does not fit its real memory fails." % machine_mib())
    out.append(intro)
    out.append("")
    out.append("| configuration | host TPS (median) | host TPS, rounds min-max | mean latency ms | "
               "per-instance TPS min-max | started | committed MiB vs budget MiB | fits? | "
               "measured PSS MiB | cgroup peak MiB | OOM kills | shared_buffers hits % | 5 s intervals, % of mean |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    host_tps = {}
    per_instance: dict[tuple[str, str], tuple[float, float]] = {}
    failed_notes = []
    for config in CONFIGS:
        rows = [r for r in runs if r[0] == config]
        if not rows:
            continue
        round_ids = sorted({r[1] for r in rows}, key=int)
        sums, lats, started = [], [], []
        for rnd in round_ids:
            ok = [r for r in rows if r[1] == rnd and r[3] != "failed"]
            sums.append(sum(float(r[3]) for r in ok))
            lats.append(statistics.mean(float(r[4]) for r in ok) if ok else float("nan"))
            started.append(len(ok))
            down = [r for r in rows if r[1] == rnd and r[3] == "failed"]
            for reason in sorted({r[5] if len(r) > 5 else "failed" for r in down}):
                failed_notes.append("%s, round %s: %s %s" % (
                    LABELS[config], rnd, ", ".join(r[2] for r in down if (r[5] if len(r) > 5 else "failed") == reason),
                    reason))
        for name in names:
            ok = [r for r in rows if r[2] == name and r[3] != "failed"]
            if ok:
                per_instance[(config, name)] = (median(float(r[3]) for r in ok), median(float(r[4]) for r in ok))
        host_tps[config] = median(sums)
        inst = [per_instance[(config, n)][0] for n in names if (config, n) in per_instance]
        total_live = sum(live.get((config, n), 0) for n in names)
        total_plan = sum(plans.get((config, n), 0) for n in names) if config != "defaults" else total_live
        committed = total_plan
        extra = [r for r in rounds if r[0] == config]
        pss = [float(r[2]) for r in extra if r[2] not in ("", "0")]
        steady = [(float(r[3]), float(r[4])) for r in extra if r[3] != "-"]
        peaks = [float(r[5]) for r in extra if len(r) > 5 and r[5] != "-"]
        ooms = sum(int(r[6]) for r in extra if len(r) > 6)
        hit = [float(r[2]) for r in hits if r[0] == config and r[2] != "-"]
        lat_ok = [x for x in lats if not math.isnan(x)]
        out.append("| %s | %.0f | %.0f-%.0f | %s | %s | %s | %d vs %d | %s | %s | %s | %s | %s | %s |" % (
            LABELS[config], host_tps[config], min(sums), max(sums),
            "%.2f" % median(lat_ok) if lat_ok else "-",
            "%.0f-%.0f" % (min(inst), max(inst)) if inst else "-",
            "%d/6" % min(started) if min(started) < 6 else "6/6",
            committed // MIB, budget // MIB, "yes" if committed <= budget else "**no** (%.2fx)" % (committed / budget),
            "%.0f" % median(pss) if pss else "-",
            "%.0f" % max(peaks) if peaks else "-", ooms if limit else "-",
            "%.1f" % median(hit) if hit else "-",
            "%.0f-%.0f" % (min(s[0] for s in steady), max(s[1] for s in steady)) if steady else "-"))
        checked = [n for n in names if (config, n) in live]
        if config != "defaults" and any(live[(config, n)] != plans.get((config, n)) for n in checked):
            failed_notes.append("%s: the live settings do not give the planner's estimate (not applied as planned?)"
                                % LABELS[config])
    out.append("")
    out.append("Per instance (median over rounds): TPS / average latency ms")
    out.append("")
    out.append("| configuration | " + " | ".join(names) + " |")
    out.append("|---|" + "---|" * len(names))
    for config in CONFIGS:
        if config not in host_tps:
            continue
        cells = []
        for name in names:
            if (config, name) in per_instance:
                tps, lat = per_instance[(config, name)]
                cells.append("%.0f / %.2f" % (tps, lat))
            else:
                cells.append("did not start")
        out.append("| %s | " % LABELS[config] + " | ".join(cells) + " |")
    out.append("")
    out.append("Committed per instance (the planner's estimate; for (a) the same estimate of the live "
               "default values, profile `mixed`): " + "; ".join(
                   "%s %d MiB" % (config, live.get((config, names[0]), plans.get((config, names[0]), 0)) // MIB)
                   for config in CONFIGS if config in host_tps) + ".")
    out.append("")
    out.append("Committed is the planner's worst case (every connection holding work_mem x %g at once, plus "
               "shared memory and maintenance); measured PSS is what the six clusters' processes held near the "
               "end of a run (pgbench holds a few connections per instance, far fewer than max_connections)."
               % _tuning.work_mem_factor(PROFILE, 2.0))
    if "standalone" in host_tps:
        alone = planned("standalone", memory_mb, cpus, version)["instances"]
        shared = sum(_tuning.parse_memory(p["settings"]["shared_buffers"], 8192) for p in alone.values())
        notes = [n for n in failed_notes if n.startswith(LABELS["standalone"])]
        if notes:
            why = "some instances did not start (above)"
        elif limit:
            why = ("all six started and ran because Linux gives shared memory pages only as they are first "
                   "used and pgbench used about the data set's size of each instance's shared_buffers; a "
                   "data set that grows towards them would take the six past the limit")
        else:
            why = "all six started here only because this machine has more memory than the host planned for"
        failed_notes.append("%s: shared_buffers alone total %d MiB on a host planned with %d MiB; %s. Nothing "
                            "was capped." % (LABELS["standalone"], shared // MIB, memory_mb, why))
    if failed_notes:
        out.append("")
        out.extend("- " + note for note in failed_notes)
    if "defaults" in host_tps and "ours" in host_tps and host_tps["defaults"]:
        ratio = host_tps["ours"] / host_tps["defaults"]
        out.append("")
        out.append("**(c) vs (a): %.2fx the host TPS; target >= 1.20x: %s.**" % (
            ratio, "met" if ratio >= 1.2 else "NOT met"))
    print("\n".join(out))


def main(argv: list[str]) -> int:
    if len(argv) == 6 and argv[0] == "conf" and argv[1] in CONFIGS:
        conf(argv[1], argv[2], int(argv[3]), float(argv[4]), int(argv[5]))
    elif len(argv) == 1 and argv[0] == "estimate":
        estimate()
    elif len(argv) == 2 and argv[0] == "budget":
        print(budget_of(int(argv[1])))
    elif len(argv) in (5, 6) and argv[0] == "report":
        report(argv[1], int(argv[2]), float(argv[3]), int(argv[4]), int(argv[5]) if len(argv) == 6 else 0)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except _tuning.DarevelError as exc:
        print("bench/tuning: %s" % exc, file=sys.stderr)
        sys.exit(1)
