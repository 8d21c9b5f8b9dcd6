# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible's own cost per task and host on the control node, without this collection (bench/fleet).

Three playbooks of built-in tasks over 1 and 8 bare containers (darevel-test/debian:bookworm running
`sleep`, reached over the community.docker.docker connection as the fleet benchmark's hosts are):
13 ansible.builtin.debug tasks (no connection), 4 ansible.builtin.ping tasks (one module run over
the connection each) and 4 ansible.builtin.slurp tasks of an 18 KB file (a module run whose result
is 24 KB, about the size of pg_instance's, against a ping's 0.1 KB). The control node's CPU of 8
hosts minus that of 1, over 7 hosts and the number of tasks, is the cost of one task on one more
host: the floor under site.yml's per-host cost.
    flock -o /tmp/darevel-heavy.lock .venv/bin/python bench/fleet/floor.py [ROUNDS]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IMAGE = "darevel-test/debian:bookworm"
PREFIX = "darevel-floor-"
PLAYS = {
    "debug": ("ansible.builtin.debug: {msg: hello}", 13),
    "ping": ("ansible.builtin.ping:", 4),
    "slurp": ("ansible.builtin.slurp: {src: /usr/share/common-licenses/GPL-2}", 4),
}


def docker(*args: str) -> None:
    subprocess.run(["docker", *args], check=True, capture_output=True, timeout=120)


def control_cpu(playbook: Path, hosts: list, scratch: Path) -> float:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_LOCAL_TEMP=str(scratch / "tmp"))
    before = os.times()
    subprocess.run([str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", ",".join(hosts) + ",",
                    "-c", "community.docker.docker", "-e", "ansible_python_interpreter=/usr/bin/python3",
                    str(playbook)], env=env, check=True, capture_output=True, timeout=600)
    after = os.times()
    return after.children_user + after.children_system - before.children_user - before.children_system


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    hosts = ["%s%d" % (PREFIX, n) for n in range(1, 9)]
    scratch = Path(tempfile.mkdtemp(prefix="darevel-floor-"))
    try:
        for host in hosts:
            docker("run", "-d", "--rm", "--network", "none", "--name", host, IMAGE, "sleep", "3600")
        print("| tasks | 1 host, CPU s | 8 hosts, CPU s | per task and host, ms |")
        print("|---|---|---|---|")
        for kind, (task, count) in PLAYS.items():
            playbook = scratch / ("%s.yml" % kind)
            playbook.write_text("- hosts: all\n  gather_facts: false\n  tasks:\n" + "    - %s\n" % task * count)
            one = statistics.median(control_cpu(playbook, hosts[:1], scratch) for _round in range(rounds))
            eight = statistics.median(control_cpu(playbook, hosts, scratch) for _round in range(rounds))
            action = task.split(":", maxsplit=1)[0]
            print("| %d x %s | %.2f | %.2f | %.0f |" % (count, action, one, eight, 1000 * (eight - one) / 7 / count))
    finally:
        for host in hosts:
            subprocess.run(["docker", "rm", "-f", host], capture_output=True, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
