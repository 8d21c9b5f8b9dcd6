"""Print the tuning plans of docs/tuning.md as Markdown tables (plugins/module_utils/_tuning.py).

    .venv/bin/python scripts/tuning-plan.py     the seed's six instances on 4 GiB/2 CPU and 64 GiB/16 CPU
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from ansible_collections.darevel.postgres.plugins.module_utils import _tuning  # noqa: E402
from ansible_collections.darevel.postgres.plugins.module_utils._catalogue import SEED  # noqa: E402

MIB, GIB = 1024 ** 2, 1024 ** 3
HOSTS = ((4 * GIB, 2), (64 * GIB, 16))


def mib(size: int) -> str:
    return "%d MiB" % (size // MIB)


def settings_table(result: dict) -> list[str]:
    """One row per setting, one column per instance (six instances fit a page this way)."""
    names = list(result["instances"])
    plans = result["instances"]
    lines = ["| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    lines.append("| share: memory | " + " | ".join(mib(plans[n]["share"]["memory"]) for n in names) + " |")
    lines.append("| share: CPUs | " + " | ".join("%g" % plans[n]["share"]["cpus"] for n in names) + " |")
    for setting in _tuning.ORDER:
        mark = " (restart)" if setting in _tuning.POSTMASTER else ""
        lines.append("| `%s`%s | " % (setting, mark) + " | ".join(plans[n]["settings"][setting] for n in names)
                     + " |")
    lines.append("| committed | " + " | ".join(mib(plans[n]["committed"]) for n in names) + " |")
    lines.append("| minimum share | " + " | ".join(mib(plans[n]["minimum"]) for n in names) + " |")
    return lines


def totals_table(ours: dict, alone: dict) -> list[str]:
    host = ours["host"]
    lines = ["| plan | host memory | OS reserve | budget | committed | committed / budget | fits |",
             "|---|---|---|---|---|---|---|"]
    for label, result in (("this planner", ours), ("standalone (each instance owns the host)", alone)):
        total = result["host"]
        lines.append("| %s | %s | %s | %s | %s | %.2f | %s |" % (
            label, mib(host["memory"]), mib(total["reserve"]), mib(total["budget"]), mib(total["committed"]),
            total["committed"] / total["budget"], "yes" if total["fits"] else "**no**"))
    return lines


def main() -> int:
    instances = [{"name": entry["name"]} for entry in SEED]
    for memory, cpus in HOSTS:
        ours = _tuning.plan(memory, cpus, instances)
        alone = _tuning.standalone_plan(memory, cpus, instances)
        print("### %d GiB, %d CPUs: the seed's six instances (`mixed`, weight 1, PostgreSQL %d)\n" % (
            memory // GIB, cpus, _tuning.DEFAULT_VERSION))
        print("\n".join(settings_table(ours)) + "\n")
        print("Standalone, every instance: " + ", ".join(
            "`%s=%s`" % (k, alone["instances"]["chat"]["settings"][k])
            for k in ("shared_buffers", "effective_cache_size", "maintenance_work_mem", "work_mem",
                      "max_parallel_workers")) + "; committed %s each.\n" % mib(alone["instances"]["chat"]["committed"]))
        print("\n".join(totals_table(ours, alone)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
