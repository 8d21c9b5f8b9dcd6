# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of darevel.postgres.pg_lifecycle: the planned instances turned into the one
call of the runtime's own lifecycle module (pg_instance on native, pg_container on docker).

This is the only place where stopping, restarting or removing an instance differs by
runtime; the roles and playbooks name the state and the runtime in use, never a module per runtime.
"""

from __future__ import annotations

from ansible_collections.darevel.postgres.plugins.module_utils._options import DOCKER_HOST_SPEC, LAYOUT_SPEC, RUNTIME_SPEC

STATES = ["stopped", "restarted", "absent"]

ARGUMENT_SPEC = dict({
    "instances": {"type": "list", "elements": "dict", "required": True},
    "state": {"type": "str", "required": True, "choices": STATES},
    "purge": {"type": "bool", "default": False},
    **LAYOUT_SPEC,
    "data_root": {"type": "path"},
    "workers": {"type": "int"},
}, **DOCKER_HOST_SPEC, **RUNTIME_SPEC)

MODULES = {"native": "darevel.postgres.pg_instance", "docker": "darevel.postgres.pg_container"}


def instance_items(plan: list, settings: bool = True, reload=None) -> list:
    """Arguments of darevel.postgres.pg_instance for each planned instance; settings=False leaves
    the settings file alone (a plain restart), and with it the managed settings it keeps effective
    (`enforce`); `reload` names the instances to reload when they run (their certificate was renewed)."""
    reload = set(reload or [])
    return [dict({"name": i["name"], "version": i["version"], "port": i["port"]},
                 **({"settings": i["settings"]} if settings and i.get("settings") is not None else {}),
                 **({"enforce": i["enforce"]} if settings and i.get("enforce") else {}),
                 **({"hba": i["hba"]} if i.get("hba") is not None else {}),
                 **({"reload": True} if i["name"] in reload else {}))
            for i in plan]


def container_items(plan: list) -> list:
    """Arguments of darevel.postgres.pg_container (no password: pg_database sets it afterwards)."""
    return [{"name": i["name"], "version": i["version"], "spec": i["docker"]} for i in plan]


def module_call(args: dict) -> tuple[str, dict]:
    """The module and its arguments for validated pg_lifecycle arguments. The settings file is left
    as it is on every state: applying settings is the converge's work (site.yml, tune.yml)."""
    runtime, plan = args["runtime"], args["instances"]
    common = {"state": args["state"]}
    if args["workers"] is not None:
        common["workers"] = args["workers"]
    if args["state"] == "absent":
        common["purge"] = args["purge"]
    if runtime == "docker":
        return MODULES[runtime], dict(common, instances=container_items(plan),
                                      **({"docker_host": args["docker_host"]} if args["docker_host"] else {}))
    native = dict(common, instances=instance_items(plan, settings=False), layout=args["layout"])
    if args["data_root"]:
        native["data_root"] = args["data_root"]
    return MODULES[runtime], native


def removed(runtime: str, instance: dict, data_dir: str | None = None) -> list:
    """What purging a planned instance removes, as the purge report names it: the container and its
    volume, or the cluster and its data directory (`data_dir`, as pg_instance_info found it)."""
    if runtime == "docker":
        return ["container %s" % instance["docker"]["name"], "volume %s" % instance["docker"]["volume"]]
    return ["cluster %s/%s" % (instance["version"], instance["name"]),
            data_dir or "/var/lib/postgresql/%s/%s" % (instance["version"], instance["name"])]
