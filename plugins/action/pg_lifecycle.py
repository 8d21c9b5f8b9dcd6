# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stop, restart or remove the planned instances on the runtime in use, through that
runtime's own lifecycle module."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.darevel.postgres.plugins.plugin_utils._lifecycle import ARGUMENT_SPEC, module_call


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        module, module_args = module_call(args)
        result.update(runtime=args["runtime"], module=module)
        if not args["instances"]:
            result.update(changed=False, instances=[])
            return result
        result.update(self._execute_module(module_name=module, module_args=module_args, task_vars=task_vars))
        result.pop("invocation", None)
        return result
