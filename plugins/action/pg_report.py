# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a JSON report on the control node directly, without running a module on any host."""

from __future__ import annotations

import os
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.darevel.postgres.plugins.module_utils._report import render


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("path", "data", "mode"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        for key in ("path", "data"):
            if key not in args:
                raise AnsibleActionFail("pg_report: %s is required" % key)
        path = os.path.expanduser(to_text(args["path"]))
        mode = int(str(args.get("mode", "0644")), 8)
        content = render(args["data"])
        try:
            with open(path) as handle:
                written = handle.read() != content
        except OSError:
            written = True
        if written and not self._task.check_mode:
            try:
                os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
                fd, tmp_path = tempfile.mkstemp(prefix=".report.", dir=os.path.dirname(path) or ".")
                with os.fdopen(fd, "w") as handle:
                    handle.write(content)
                os.chmod(tmp_path, mode)
                os.replace(tmp_path, path)
            except OSError as exc:
                raise AnsibleActionFail("pg_report: cannot write %s: %s; fix: make its directory writable "
                                        "or set postgres_reports_dir" % (path, exc))
        # A report on the control node is not a change to any managed host.
        result.update(changed=False, path=path, written=written and not self._task.check_mode)
        return result
