# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The control node's CPU seconds per task of one ansible-playbook run (bench/fleet, TASK_CPU=FILE).

Ansible's linear strategy starts a task when every host has finished the one before, and reaps the
workers of a task before the next one starts, so the process's CPU (its own and its reaped
children's: the workers and the connection's processes) read at each task start, minus the reading
at the start before it, is the control node's cost of that task on every host. A task's figure
may take in a little of its neighbour's (a worker reaped late). Written as tab-separated lines:
CPU seconds, the JSON bytes of the first result to come back, the task's name.
"""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: task_cpu
type: aggregate
short_description: the control node's CPU seconds per task (bench/fleet)
description:
  - Writes the control node's CPU seconds per task to the file named by TASK_CPU.
"""


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_cpu"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._rows, self._task, self._since, self._bytes = [], None, _cpu(), {}

    def _close(self) -> None:
        now = _cpu()
        if self._task is not None:
            self._rows.append((now - self._since, self._bytes.get(self._task), self._task))
        self._since = now

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self._task = task.get_name()

    def v2_playbook_on_play_start(self, play):
        # A play's own set-up (its roles loaded, their argument specs) is its own row, not the last
        # task of the play before.
        self._close()
        self._task = "(start of play: %s)" % play.get_name()

    def v2_runner_on_ok(self, result):
        self._bytes.setdefault(result.task.get_name(), len(json.dumps(result.result, default=str)))

    def v2_playbook_on_stats(self, stats):
        self._close()
        self._rows.append((_cpu() - self._since, None, "(recap)"))
        with open(os.environ["TASK_CPU"], "w", encoding="utf-8") as out:
            for cpu, size, name in self._rows:
                out.write("%.2f\t%s\t%s\n" % (cpu, "-" if size is None else size, name))
