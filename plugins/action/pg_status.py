# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The status role in one task: the planned instances read live on the host (one run of
darevel.postgres.pg_instance_info, or none with O(read): the read pg_database's run made after its
work, as site.yml passes it), their rows, reports/<host>/status.json written on the control
node and the two tables as a message for ansible.builtin.debug: with that debug, the role runs two
tasks instead of five, and a task costs the control node 17 to 31 ms per host before it does
anything (docs/benchmarks.md)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.darevel.postgres.plugins.filter.catalogue import connect_table, status_rows, status_table, table_msg
from ansible_collections.darevel.postgres.plugins.module_utils._options import DOCKER_HOST_SPEC, LAYOUT_SPEC, RUNTIME_SPEC
from ansible_collections.darevel.postgres.plugins.plugin_utils._report import write

ARGUMENT_SPEC = dict({
    "plan": {"type": "list", "elements": "dict", "required": True},
    **LAYOUT_SPEC,
    "probe": {"type": "bool", "default": True},
    "backup_root": {"type": "path"},
    "env_dir": {"type": "path", "default": "/etc/darevel/postgres"},
    "report": {"type": "path"},
    "read": {"type": "dict"},
}, **DOCKER_HOST_SPEC, **RUNTIME_SPEC)


def info_args(args: dict) -> dict:
    """darevel.postgres.pg_instance_info's arguments for validated pg_status arguments: the planned
    instances, probed (or, without the probe, with the size of each data directory)."""
    plan = args["plan"]
    out = {"names": [i["name"] for i in plan], "layout": args["layout"], "runtime": args["runtime"],
           "probe": args["probe"], "size": not args["probe"], "databases": {i["name"]: i["database"] for i in plan}}
    for key in ("docker_host", "backup_root"):
        if args.get(key):
            out[key] = args[key]
    return out


PLAN_KEYS = ("name", "port", "database", "owner", "version")


def given_read(read: dict) -> dict:
    """O(read), the read another module made of the planned instances (pg_database's RV(status)):
    its instances, or a failure naming what went wrong."""
    instances = read.get("instances")
    if not isinstance(instances, list):
        return {"failed": True, "msg": "pg_status: read: no instances in %s; fix: pass pg_database's status result "
                                       "(its status option), or leave read out" % sorted(read)}
    if read.get("msg"):
        return {"failed": True, "msg": read["msg"], "instances": instances}
    return {"instances": instances}


def plan_problems(plan: list) -> list:
    """What a plan entry lacks, one line per entry: every entry needs PLAN_KEYS."""
    problems = []
    for index, entry in enumerate(plan):
        missing = [key for key in PLAN_KEYS if key not in entry]
        if missing:
            problems.append("plan entry %s (%s) lacks %s; fix: pass the preflight role's postgres_plan" % (
                index, entry.get("name", "no name"), ", ".join(missing)))
    return problems


def message(rows: list, result_format: str | None = None):
    """The status table, a blank line and who connects where, shaped as table_msg shapes a table."""
    return table_msg(status_table(rows) + [""] + connect_table(rows), result_format)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        problems = plan_problems(args["plan"])
        if problems:
            raise AnsibleActionFail("pg_status: " + "; ".join(problems))
        info = {"instances": []}
        read = args.get("read")
        source = "given" if read is not None else "pg_instance_info" if args["plan"] else "none"
        if read is not None:
            info = given_read(read)
            if info.get("failed"):
                result.update(info)
                return result
        elif args["plan"]:
            info = self._execute_module(module_name="darevel.postgres.pg_instance_info", module_args=info_args(args),
                                        task_vars=task_vars)
            if info.get("failed"):
                info.pop("invocation", None)
                result.update(info)
                return result
        rows = status_rows(args["plan"], info["instances"], args["env_dir"], args["runtime"])
        result.update(changed=False, instances=rows, msg=message(rows), read=source)
        for key in ("warnings", "deprecations"):
            if info.get(key):
                result[key] = info[key]
        if args.get("report"):
            result["report"] = write("pg_status", args["report"],
                                     {"host": task_vars.get("inventory_hostname"), "runtime": args["runtime"], "instances": rows},
                                     check_mode=self._task.check_mode)
        return result
