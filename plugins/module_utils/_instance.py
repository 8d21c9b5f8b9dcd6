# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Converge native instances, concurrently. Private to darevel.postgres."""

from __future__ import annotations

import os
import threading
from typing import Optional

from ansible_collections.darevel.postgres.plugins.module_utils._batch import run_all
from ansible_collections.darevel.postgres.plugins.module_utils._cluster import DebianCluster, parse_lsclusters, plan
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.module_utils._runtime.base import SOCKET_DIR
from ansible_collections.darevel.postgres.plugins.module_utils._generic import GenericCluster, registered
from ansible_collections.darevel.postgres.plugins.module_utils._runner import Runner
from ansible_collections.darevel.postgres.plugins.module_utils import _diff, _ports, _settings, _status
from ansible_collections.darevel.postgres.plugins.module_utils._ops import config as _config
from ansible_collections.darevel.postgres.plugins.module_utils._preflight import is_own

LIFECYCLE = ("start", "stop", "restart", "reload", "drop")
DATA_ROOT = "/var/lib/postgresql"


def existing(module, runner, layout: str) -> dict:
    """Instances of the layout on the host: {(version, name): facts}. `log_file` is the file the
    server writes now (the logging collector's on prod), `service_log` the service's stderr file,
    which keeps what a failed start printed."""
    if layout == "generic":
        found = registered()
    elif not module.get_bin_path("pg_lsclusters"):
        # A host where PostgreSQL is not installed yet (check mode before the packages).
        return {}
    else:
        _rc, out, _err = runner.run(["pg_lsclusters", "--no-header"], what="pg_lsclusters")
        found = {key: dict(facts, layout="debian") for key, facts in parse_lsclusters(out).items()}
    for (version, name), facts in found.items():
        stderr = facts.get("log_file")
        if not stderr or "%" in stderr:  # pg_lsclusters names the collector's pattern then
            stderr = "/var/log/postgresql/postgresql-%d-%s.log" % (version, name)
        facts["service_log"] = stderr
        facts["log_file"] = _status.current_log(facts.get("data_dir"), facts.get("log_file"))
    return found


def instance_spec() -> dict:
    """Options every per-instance module shares (also the element spec of `instances`)."""
    return {
        "name": {"type": "str", "required": True},
        "version": {"type": "int"},
        "port": {"type": "int"},
    }


def batch_argument_spec(extra: dict, element_extra: Optional[dict] = None) -> dict:
    """Single-instance options at the top level, or a list of them under `instances`."""
    single = instance_spec()
    single["name"] = dict(single["name"], required=False)
    elements = dict(instance_spec(), **(element_extra or {}))
    spec = dict(single, **(element_extra or {}))
    spec["instances"] = {"type": "list", "elements": "dict", "options": elements}
    spec["default_version"] = {"type": "int", "default": 15}
    spec["workers"] = {"type": "int", "default": 6}
    spec.update(extra)
    return spec


def batch_items(params: dict, keys: list[str]) -> list[dict]:
    """The list of per-instance dicts, whichever form the task used."""
    items = params["instances"] if params.get("instances") is not None else [{k: params.get(k) for k in keys}]
    out = []
    for item in items:
        item = dict(item)
        if item.get("version") is None:
            item["version"] = params["default_version"]
        out.append(item)
    return out


class InstanceManager:
    """Brings each native instance to the wanted state; one job per instance."""

    def __init__(self, module) -> None:
        self.module = module
        self.runner = Runner(module)
        self.params = module.params
        self.check_mode = module.check_mode
        self._clusters: Optional[dict] = None
        self._clusters_lock = threading.Lock()

    @property
    def layout(self) -> str:
        layout = self.params.get("layout") or "auto"
        if layout == "auto":
            layout = "debian" if self.module.get_bin_path("pg_createcluster") else "generic"
        return layout

    def clusters(self) -> dict:
        """The host's instances, read once per module run: the jobs of all instances ask at the
        same time, and each pg_lsclusters is a Perl run of its own (six at once took 0.2 s)."""
        with self._clusters_lock:
            if self._clusters is None:
                self._clusters = existing(self.module, self.runner, self.layout)
            return self._clusters

    def cluster(self, version: int, name: str):
        if self.layout == "generic":
            return GenericCluster(self.runner, version, name, data_root=self.params.get("data_root") or DATA_ROOT)
        return DebianCluster(self.runner, version, name)

    def prepare(self, item: dict) -> dict:
        """Phase 1: plan, then create and configure (no process is started or stopped yet)."""
        name, version, port = item["name"], item["version"], item.get("port")
        state, purge = self.params["state"], self.params["purge"]
        cluster = self.cluster(version, name)
        current = self.clusters().get((version, name))
        if state != "absent":
            if not self.check_mode:
                cluster.check_installed()
            if port is None:
                port = current["port"] if current else None
            if port is None:
                raise DarevelError("instance '%s': no port given for a new instance; fix: set port" % name)
        if current is not None:
            current = dict(current, start_conf=cluster.start_conf(), enabled=cluster.systemd_enabled())
        actions = plan(current, state, port, purge)
        if current is None and state != "absent" and cluster.systemd:
            actions.insert(1, "enable")
        elif current is not None and state != "absent" and not current["enabled"] and "enable" not in actions:
            actions.insert(0, "enable")
        job = {"name": name, "cluster": cluster, "item": item, "current": current, "port": port, "actions": actions,
               "commands": [], "changed": False, "settings_changed": [], "restart_required": [], "file_diffs": {},
               "queries": [], "settings_repaired": []}
        if state != "absent" and item.get("settings") is not None:
            self._plan_settings(job, state)
        running = current is not None and current["status"] == "started"
        if item.get("reload") and running and state in ("present", "started") and "reload" not in actions:
            actions.append("reload")  # finish() drops it when the instance (re)starts anyway
        if "drop" in actions and hasattr(cluster, "drop_problem"):
            problem = cluster.drop_problem(running_ok="stop" in actions)
            if problem:  # phase 1: before anything of any instance is removed
                raise DarevelError(problem)
        self._execute(job, [a for a in actions if a not in LIFECYCLE])
        return job

    def _plan_settings(self, job: dict, state: str) -> None:
        """Write the settings file in phase 1; a running instance then reloads, or restarts when a
        changed setting only takes effect at start, and only that instance."""
        cluster, actions = job["cluster"], job["actions"]
        path = cluster.settings_path()
        try:
            with open(path) as handle:
                old = handle.read()
        except OSError:
            old = ""
        settings = job["item"]["settings"]
        if old == _settings.render(settings):
            return
        changed, restart = _settings.changes(old, settings, cluster.version)
        job["settings_changed"], job["restart_required"] = changed, restart
        job["file_diffs"][path] = (old, _settings.render(settings))
        lifecycle = [a for a in actions if a in LIFECYCLE]
        actions.insert(len(actions) - len(lifecycle), "settings")
        running = job["current"] is not None and job["current"]["status"] == "started"
        if running and state in ("present", "started") and not lifecycle and changed:
            actions.append("restart" if restart else "reload")

    def finish(self, job: dict) -> dict:
        """Phase 2: start, stop, restart, reload, drop."""
        lifecycle = []
        for action in job["actions"]:
            if action in LIFECYCLE and action not in lifecycle:
                lifecycle.append(action)
        if "reload" in lifecycle and set(lifecycle) & {"restart", "start", "stop"}:
            lifecycle.remove("reload")  # a (re)start reads the new files anyway
        self._execute(job, lifecycle)
        self._keep(job)
        return self._result(job)

    def _keep(self, job: dict) -> None:
        """Over a session of the running instance: its managed settings (`enforce`) put back where
        another file or ALTER SYSTEM overrides them, a restart when one of them applies only then,
        and with `file_modes` the modes of its data directory and configuration files narrowed."""
        names = job["item"].get("enforce") or []
        if not names and not self.params.get("file_modes"):
            return
        current, state = job["current"], self.params["state"]
        was_running = current is not None and current["status"] == "started"
        if state not in ("started", "restarted") and not (state == "present" and was_running):
            return
        if self.check_mode and not was_running:
            return  # nothing runs yet to be read: check mode starts nothing
        cluster = job["cluster"]
        # The native runtime itself, not select_runtime: this module runs native instances only and
        # reaches no Docker engine. Check mode moves no port: the instance still listens on its own.
        from ansible_collections.darevel.postgres.plugins.module_utils._runtime.native import NativeRuntime
        port = current["port"] if self.check_mode and current.get("port") else job["port"]
        runtime = NativeRuntime("instance '%s'" % cluster.name, port, cluster.version, SOCKET_DIR)
        try:
            with runtime.session() as conn:
                fixed, queries, restart = _config.enforce(conn, names, self.check_mode, job["file_diffs"])
                if self.params.get("file_modes"):
                    queries += _config.file_modes(conn, self.check_mode)
        except DarevelError as exc:
            if not self.check_mode:
                raise
            # Check mode before what makes the instance readable (psycopg2 that the converge
            # installs, pg_ident.conf's root mapping that this run would write): said, not failed.
            self.module.warn("%s; its overridden settings and file modes were not checked" % exc.msg)
            return
        finally:
            runtime.cleanup()
        if not queries:
            return
        job["changed"] = True
        job["queries"] += queries
        job["settings_repaired"] = fixed
        if restart:
            # Even when this run (re)started the instance already: the value put back is read at
            # the next start. (restart_required stays the settings file's, as tune.yml shows it.)
            job["actions"].append("restart")
            self._execute(job, ["restart"])

    def _execute(self, job: dict, actions: list[str]) -> None:
        cluster, current, port = job["cluster"], job["current"], job["port"]
        for action in actions:
            if action == "settings":
                job["changed"] = True
                if not self.check_mode:
                    cluster.write_settings(_settings.render(job["item"]["settings"]))
                continue
            if action == "auth_files":
                if cluster.write_auth_files(self.check_mode, job["item"].get("hba"), job["file_diffs"]):
                    job["changed"] = True
                    running = current is not None and current["status"] == "started"
                    if running and not set(job["actions"]) & {"restart", "stop"}:
                        job["actions"].append("reload")
                continue
            job["changed"] = True
            try:
                job["commands"] += self._run(cluster, action, port)
            except DarevelError as exc:
                if action not in ("start", "restart") or self.check_mode:
                    raise
                raise DarevelError(exc.msg + start_failure(service_log(cluster, current), port, job["item"]))

    def _run(self, cluster, action: str, port: int) -> list[list[str]]:
        return cluster.perform(action, port, self.params["locale"], self.params["data_checksums"], self.check_mode)

    def _result(self, job: dict) -> dict:
        cluster, current, port, actions = job["cluster"], job["current"], job["port"], job["actions"]
        commands, changed = job["commands"], job["changed"]
        state = self.params["state"]
        before = "absent" if current is None else current["status"]
        if state == "absent":
            after = "absent" if "drop" in actions or current is None else "stopped"
        elif state in ("started", "restarted"):
            after = "started"
        elif state == "stopped":
            after = "stopped"
        else:
            after = "stopped" if current is None else before
        facts = (current or {})
        data_dir = facts.get("data_dir") or getattr(cluster, "data_dir", None) or \
            "%s/%d/%s" % (DATA_ROOT, cluster.version, cluster.name)
        return {
            "name": cluster.name, "version": cluster.version, "port": port,
            "status": after, "changed": changed, "actions": actions,
            "commands": [" ".join(argv) for argv in commands],
            "data_dir": data_dir if after != "absent" else None,
            "config_dir": cluster.config_dir, "socket_dir": SOCKET_DIR, "unit": cluster.unit,
            "log_file": log_file(cluster, facts),
            "layout": self.layout,
            "settings_changed": job["settings_changed"], "restart_required": job["restart_required"],
            "settings_repaired": job["settings_repaired"], "queries": job["queries"],
            # One entry for the instance's state and port, one per file written (or that would be):
            # the settings file, pg_hba.conf, pg_ident.conf, each as text for a unified diff.
            "diff": [_diff.entry("instance %s" % cluster.name,
                                 _diff.fields([("state", before), ("port", facts.get("port"))]),
                                 _diff.fields([("state", after), ("port", port if after != "absent" else None)]))]
            + [_diff.entry(path, old, new) for path, (old, new) in sorted(job["file_diffs"].items())],
        }

    def run(self) -> dict:
        items = batch_items(self.params, ["name", "version", "port", "settings", "hba", "reload", "enforce"])
        # Two phases: while postgresql-common creates a cluster, its half-written configuration
        # makes pg_ctlcluster fail for *other* clusters ("Invalid data directory for cluster"),
        # so every creation finishes before any instance starts.
        jobs, errors = run_all(items, self.prepare, self.params["workers"])
        if errors and self.params["state"] == "absent" and self.params["purge"]:
            # One instance whose data cannot be verified purges none of them.
            return {"results": [job for job in jobs if "cluster" not in job],
                    "errors": errors + ["nothing was purged"]}
        ready = [job for job in jobs if "cluster" in job]
        results, more = run_all(ready, self.finish, self.params["workers"])
        by_name = {r["name"]: r for r in results}
        ordered = [by_name.get(job["name"], job) if "cluster" in job else job for job in jobs]
        return {"results": ordered, "errors": errors + more}


def log_file(cluster, facts: Optional[dict]) -> str:
    """The instance's server log: pg_lsclusters' answer, the generic layout's file, or Debian's default."""
    return (facts or {}).get("log_file") or getattr(cluster, "log_file", None) or \
        "/var/log/postgresql/postgresql-%d-%s.log" % (cluster.version, cluster.name)


def service_log(cluster, facts: Optional[dict]) -> str:
    """The service's stderr file: what the server printed before its logging collector started."""
    return (facts or {}).get("service_log") or getattr(cluster, "log_file", None) or \
        "/var/log/postgresql/postgresql-%d-%s.log" % (cluster.version, cluster.name)


def start_failure(path: str, port: int, item: dict, lines: int = 15) -> str:
    """What to add to a failed start's message: the likely cause and the log's last lines."""
    last = _status.tail(path, lines)
    holder = None
    cause = _status.log_cause(last, port)
    if cause and cause.startswith("port "):
        instance = {"name": item["name"], "version": item["version"], "port": port}
        holders = _ports.holder_of(port)
        if holders is not None and not is_own(holders, instance):
            holder = _ports.describe(holders)
        cause = _status.log_cause(last, port, holder)
    text = "\nlikely cause: %s" % (cause or "not recognised; read the log lines below")
    return text + "\nlast lines of %s:\n%s" % (path, "\n".join(last) if last else "(empty or unreadable)")


def data_size(path: str) -> int:
    """Bytes under a data directory (what `du -sb` would say, without following links)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for filename in files:
            try:
                total += os.lstat(os.path.join(root, filename)).st_size
            except OSError:
                pass
    return total
