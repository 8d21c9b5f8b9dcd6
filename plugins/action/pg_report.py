# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a JSON report on the control node directly, without running a module on any host."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.darevel.postgres.plugins.plugin_utils._report import write


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("path", "data", "mode"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        for key in ("path", "data"):
            if key not in args:
                raise AnsibleActionFail("pg_report: %s is required" % key)
        # A report on the control node is not a change to any managed host.
        result.update(write("pg_report", to_text(args["path"]), args["data"], args.get("mode", "0644"), self._task.check_mode),
                      changed=False)
        return result
