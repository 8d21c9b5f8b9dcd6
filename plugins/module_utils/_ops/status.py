# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's instances read live, on either runtime: darevel.postgres.pg_instance_info's work, and
pg_database's after its own when its O(status) option asks (the status report of site.yml then needs
no module run of its own). Private to darevel.postgres."""

from __future__ import annotations

import functools

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.darevel.postgres.plugins.module_utils import _manifest, _status
from ansible_collections.darevel.postgres.plugins.module_utils._batch import run_all
from ansible_collections.darevel.postgres.plugins.module_utils._engine import HAS_DOCKER
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.module_utils._instance import InstanceManager, data_size
from ansible_collections.darevel.postgres.plugins.module_utils._preflight import is_own
from ansible_collections.darevel.postgres.plugins.module_utils._runtime import select_runtime

# What a read takes beside the runtime's options (runtime, docker_host, layout): pg_instance_info's
# options, and the suboptions of pg_database's `status`.
READ_SPEC = {
    "names": {"type": "list", "elements": "str"},
    "size": {"type": "bool", "default": True},
    "probe": {"type": "bool", "default": False},
    "databases": {"type": "dict", "default": {}},
    "log_lines": {"type": "int", "default": 0},
    "backup_root": {"type": "path"},
}


class _WithParams:
    """A module seen with other parameters: InstanceManager reads the layout and data root from
    `params` and runs commands through the module."""

    def __init__(self, module, params: dict) -> None:
        self._module = module
        self.params = params

    def __getattr__(self, name):
        return getattr(self._module, name)


def read(module, params: dict) -> tuple:
    """The instances of the host that `params` asks about (READ_SPEC, `runtime`, `docker_host`,
    `layout`, `workers`) and the problems met, one line each. Raises DarevelError when the host
    cannot be read at all."""
    if params["runtime"] == "docker":
        return _docker(params)
    manager = InstanceManager(_WithParams(module, params))
    found = manager.clusters()
    names = params.get("names")
    items = [dict(facts, unit=manager.cluster(version, name).unit, runtime="native")
             for (version, name), facts in sorted(found.items()) if names is None or name in names]
    return run_all(items, lambda facts: _native_job(params, facts), params.get("workers") or 6)


def _native_job(params: dict, facts: dict) -> dict:
    """Everything asked about one native instance; instances are read concurrently."""
    out = dict(facts, size_bytes=data_size(facts["data_dir"]) if params["size"] else None)
    if params["probe"]:
        rt = select_runtime("native", {"name": facts["name"], "port": facts["port"], "version": facts["version"]})
        out.update(_status.probe(rt, facts, (params.get("databases") or {}).get(facts["name"]),
                                 own=functools.partial(_own_holders, facts)))
    if params["log_lines"] > 0:
        out["log"] = _status.tail(facts.get("log_file"), params["log_lines"])
    if params.get("backup_root"):
        out["last_backup"] = _manifest.last_backup(params["backup_root"], facts["name"])
    return out


def _own_holders(facts: dict, holders: list) -> bool:
    return is_own(holders, facts)


def _docker(params: dict) -> tuple:
    if not HAS_DOCKER:
        raise DarevelError(missing_required_lib("docker"))
    # Imported here: the Docker SDK it loads is not needed on the native runtime.
    from ansible_collections.darevel.postgres.plugins.module_utils._docker import client, instances_info, published_ports
    engine = client(params.get("docker_host"))
    found = instances_info(engine)
    published = published_ports(engine) if params["probe"] else None
    names = params.get("names")
    items = [dict(facts, size_bytes=None, unit=None, runtime="docker") for _key, facts in sorted(found.items())
             if names is None or facts["name"] in names]

    def job(facts: dict) -> dict:
        out = dict(facts)
        if params.get("backup_root"):
            out["last_backup"] = _manifest.last_backup(params["backup_root"], facts["name"])
        if not params["probe"] and not params["log_lines"]:
            return out
        from docker.errors import DockerException
        from ansible_collections.darevel.postgres.plugins.module_utils._runtime.docker import DockerRuntime
        try:
            container = engine.containers.get(facts["container"])
            if params["probe"]:
                # The container just read from the engine, as a runtime: no second client, and a
                # stopped one is still told about (what holds its port).
                rt = DockerRuntime("instance '%s'" % facts["name"], container)
                out.update(_status.probe(rt, facts, (params.get("databases") or {}).get(facts["name"]), published))
            if params["log_lines"] > 0:
                text = container.logs(tail=params["log_lines"]).decode("utf-8", "replace")
                out["log"] = _status.tail_text(text, params["log_lines"])
        except DockerException as exc:
            raise DarevelError("instance '%s': container %s: %s; fix: check it with `docker inspect %s`" % (
                facts["name"], facts["container"], exc, facts["container"]))
        return out

    return run_all(items, job, params.get("workers") or 6)
