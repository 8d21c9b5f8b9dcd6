# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet converge benchmark: one site.yml run over 1, 2, 4, 8 simulated hosts (bench/fleet/run.sh).

Each host is a darevel-fleet-* systemd container of tests/fleet/fleet.py with two of the six
instances (the same work per host, so a fleet that runs fully in parallel takes as long as one
host). Per fleet size and round: boot the containers (not timed), a cold site.yml (timed), a
no-op rerun (timed, must report changed=0), remove the containers. Prints a Markdown table of
the medians; the last column compares with one host (target for 8 hosts: <= 2.00).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "fleet"))

import fleet  # noqa: E402


def task_cpu(label: str) -> dict:
    """With TASK_CPU_PREFIX=PREFIX, the environment that has callback/task_cpu.py write this run's CPU
    seconds per task to PREFIX-<label>.tsv; nothing otherwise."""
    prefix = os.environ.get("TASK_CPU_PREFIX")
    if not prefix:
        return {}
    return {"ANSIBLE_CALLBACK_PLUGINS": str(Path(__file__).resolve().parent / "callback"),
            "ANSIBLE_CALLBACKS_ENABLED": "task_cpu", "TASK_CPU": "%s-%s.tsv" % (prefix, label)}


def converge(inventory: Path, scratch: Path, expect_unchanged: bool, hosts: list, label: str = "run") -> tuple:
    """Wall seconds, and CPU seconds used by the control node and the hosts (None if unknown)."""
    saved = dict(os.environ)
    os.environ.update(task_cpu(label))
    hosts_before, control_before = fleet.cpu_seconds(hosts), os.times()
    start = time.monotonic()
    try:
        run = fleet.run_playbook(inventory, "site.yml", scratch=scratch)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    took = time.monotonic() - start
    control_after, hosts_after = os.times(), fleet.cpu_seconds(hosts)
    control = (control_after.children_user + control_after.children_system
               - control_before.children_user - control_before.children_system)
    cpu = (control, None if hosts_before is None or hosts_after is None else hosts_after - hosts_before)
    stats = fleet.recap(run.stdout)
    if run.returncode != 0 or any(s.get("failed") or s.get("unreachable") for s in stats.values()):
        sys.stderr.write(run.stdout[-5000:])
        raise SystemExit("site.yml failed (rc %d)" % run.returncode)
    if expect_unchanged and any(s.get("changed") for s in stats.values()):
        raise SystemExit("the rerun changed something: %s" % stats)
    return took, cpu


def main() -> int:
    sizes = [int(n) for n in (sys.argv[1] if len(sys.argv) > 1 else "1,2,4,8").split(",")]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    image = fleet.ensure_image(log=lambda m: print(m, file=sys.stderr))
    results = {}
    try:
        for size in sizes:
            colds, noops, cpus = [], [], []
            for round_ in range(rounds):
                fleet.remove_all()
                scratch = Path(tempfile.mkdtemp(prefix="darevel-fleet-bench-"))
                try:
                    hosts = fleet.placement(size)
                    fleet.start_hosts(list(hosts), image)
                    inventory = fleet.write_inventory(scratch / "inventory", hosts)
                    cold, cpu = converge(inventory, scratch, False, list(hosts), "%d-hosts-%d-cold" % (size, round_ + 1))
                    colds.append(cold)
                    cpus.append(cpu)
                    noops.append(converge(inventory, scratch, True, list(hosts), "%d-hosts-%d-noop" % (size, round_ + 1))[0])
                finally:
                    fleet.remove_all()
                    shutil.rmtree(scratch, ignore_errors=True)
                print("%d host(s), round %d: cold %.1f s (CPU: control node %.1f s, hosts %s s), no-op %.1f s" % (
                    size, round_ + 1, colds[-1], cpus[-1][0], cpus[-1][1], noops[-1]), file=sys.stderr)
            known = [c[1] for c in cpus if c[1] is not None]
            results[size] = (statistics.median(colds), statistics.median(noops),
                             statistics.median(c[0] for c in cpus), statistics.median(known) if known else None)
    finally:
        fleet.remove_all()
    base_cold, base_noop = results[sizes[0]][:2]
    cores = os.cpu_count() or 1
    print("| hosts | instances | cold site.yml, s | x %d host | no-op rerun, s | x %d host "
          "| cold run CPU, control node, s | cold run CPU, hosts, s | all CPU / %d cores, s |" % (sizes[0], sizes[0], cores))
    print("|---|---|---|---|---|---|---|---|---|")
    for size in sizes:
        cold, noop, control, hosts_cpu = results[size]
        print("| %d | %d | %.1f | %.2f | %.1f | %.2f | %.1f | %s | %s |" % (
            size, 2 * size, cold, cold / base_cold, noop, noop / base_noop, control,
            "-" if hosts_cpu is None else "%.1f" % hosts_cpu,
            "-" if hosts_cpu is None else "%.1f" % ((control + hosts_cpu) / cores)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
