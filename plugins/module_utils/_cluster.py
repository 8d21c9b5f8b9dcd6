# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Native PostgreSQL instances on the Debian family (postgresql-common). Private to darevel.postgres.

Each instance is one cluster VERSION/NAME with its own `postgresql@VERSION-NAME` unit. Lifecycle
commands go to that unit (systemd as PID 1) or to `pg_ctlcluster --skip-systemctl-redirect`
(containers, build machines): never to the umbrella `postgresql` service.
"""

from __future__ import annotations

import os
import shutil
from typing import Optional

from ansible_collections.darevel.postgres.plugins.module_utils import _security
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.module_utils._runtime.base import SETTINGS_FILENAME, write_owned

SUPERUSER_MAP = "darevel_superuser"
STATES = ("present", "started", "stopped", "restarted", "absent")


def render_hba(rules: Optional[list] = None) -> str:
    """The instance's pg_hba from its rules (see _security.hba_rules); without rules the baseline:
    peer on the socket, SCRAM over TCP, never trust."""
    if rules is not None:
        return _security.render_hba(rules)
    return (
        "# Managed by darevel.postgres (pg_instance): local edits are replaced.\n"
        "# TYPE  DATABASE  USER      ADDRESS         METHOD\n"
        "local   all       postgres                  peer map=%s\n"
        "local   all       all                       peer\n"
        "host    all       all       127.0.0.1/32    scram-sha-256\n"
        "host    all       all       ::1/128         scram-sha-256\n" % SUPERUSER_MAP)


def render_ident() -> str:
    # root may act as the cluster superuser over the socket, so modules running as root reach
    # PostgreSQL without become; root can already switch to the postgres OS user anyway.
    return (
        "# Managed by darevel.postgres (pg_instance): local edits are replaced.\n"
        "# MAPNAME          SYSTEM-USERNAME  PG-USERNAME\n"
        "%s  root             postgres\n"
        "%s  postgres         postgres\n" % (SUPERUSER_MAP, SUPERUSER_MAP))


def log_directory(version: int, name: str) -> str:
    """The logging collector's directory of an instance (prod), which a purge removes too."""
    return _security.log_directory({"version": version, "name": name})


def parse_lsclusters(text: str) -> dict[tuple[int, str], dict]:
    """Parse `pg_lsclusters --no-header` into {(version, name): facts}."""
    clusters = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 6 or not fields[0].isdigit():
            continue
        version, name, port, status, owner, data_dir = fields[:6]
        clusters[(int(version), name)] = {
            "version": int(version), "name": name, "port": int(port) if port.isdigit() else None,
            "status": "started" if status.startswith("online") else "stopped",
            "owner": owner, "data_dir": data_dir,
            "log_file": fields[6] if len(fields) > 6 and fields[6] != "<unknown>" else None,
        }
    return clusters


def read_start_conf(path: str) -> str:
    """A cluster's start.conf (auto, manual or disabled); auto when there is none, as pg_ctlcluster reads it."""
    try:
        with open(path) as handle:
            lines = [ln.strip() for ln in handle if ln.strip() and not ln.lstrip().startswith("#")]
    except OSError:
        return "auto"
    return lines[0] if lines else "auto"


def plan(current: Optional[dict], state: str, port: int, purge: bool) -> list[str]:
    """Actions that bring one instance from `current` (None when absent) to the wanted state."""
    if state == "absent":
        if current is None:
            return []
        actions = ["stop"] if current["status"] == "started" else []
        return actions + (["drop"] if purge else ["disable"] if current.get("start_conf") != "manual" else [])
    actions: list[str] = []
    running = current is not None and current["status"] == "started"
    if current is None:
        actions.append("create")
    else:
        if current.get("start_conf") == "manual":
            actions.append("enable")
        if current["port"] != port:
            actions.append("set_port")
    actions.append("auth_files")
    if state == "started" and not running:
        actions.append("start")
    elif state == "stopped" and running:
        actions.append("stop")
    elif state == "restarted" or (running and state != "stopped" and "set_port" in actions):
        actions.append("restart")
    return actions


class DebianCluster:
    """One postgresql-common cluster; commands run through a Runner."""

    def __init__(self, runner, version: int, name: str, systemd: Optional[bool] = None) -> None:
        self.runner = runner
        self.version = version
        self.name = name
        self.systemd = os.path.isdir("/run/systemd/system") if systemd is None else systemd

    @property
    def config_dir(self) -> str:
        return "/etc/postgresql/%d/%s" % (self.version, self.name)

    @property
    def unit(self) -> str:
        return "postgresql@%d-%s" % (self.version, self.name)

    def start_conf(self) -> str:
        return read_start_conf(os.path.join(self.config_dir, "start.conf"))

    def write_start_conf(self, value: str) -> None:
        """start.conf says whether pg_ctlcluster and the systemd generator start the cluster at boot."""
        path = os.path.join(self.config_dir, "start.conf")
        content = "# Managed by darevel.postgres (pg_instance): auto, manual or disabled.\n%s\n" % value
        _write_as_owner(path, content, self.config_dir, 0o644)

    def check_installed(self) -> None:
        if not os.path.exists("/usr/lib/postgresql/%d/bin/postgres" % self.version):
            raise DarevelError("instance '%s': PostgreSQL %d is not installed on this host; fix: install "
                               "postgresql-%d (the darevel.postgres.instance role does) or set the "
                               "instance's version" % (self.name, self.version, self.version))

    def create_argv(self, port: int, locale: str, checksums: bool) -> list[str]:
        argv = ["pg_createcluster", str(self.version), self.name, "--port", str(port),
                "--start-conf", "auto", "--locale", locale, "--"]
        if checksums:
            argv.append("--data-checksums")
        return argv + ["--auth-local", "peer", "--auth-host", "scram-sha-256"]

    def control_argv(self, action: str) -> list[str]:
        if self.systemd:
            return ["systemctl", action, self.unit]
        mode = ["-m", "fast"] if action in ("stop", "restart") else []
        return ["pg_ctlcluster", "--skip-systemctl-redirect", str(self.version), self.name, action] + mode

    def argv_for(self, action: str, port: int, locale: str, checksums: bool) -> list[list[str]]:
        if action == "create":
            return [self.create_argv(port, locale, checksums)]
        if action == "set_port":
            return [["pg_conftool", str(self.version), self.name, "set", "port", str(port)]]
        if action in ("start", "stop", "restart", "reload"):
            return [self.control_argv(action)]
        if action == "drop":
            logs = log_directory(self.version, self.name)
            return [["pg_dropcluster", "--stop", str(self.version), self.name]] + (
                [["rm", "-rf", logs]] if os.path.isdir(logs) else [])
        if action in ("enable", "disable") and self.systemd:
            return [["systemctl", action, self.unit]]
        return []

    def perform(self, action: str, port: int, locale: str, checksums: bool, check_mode: bool) -> list[list[str]]:
        """Do one planned action; return the commands it ran (or would run)."""
        argvs = self.argv_for(action, port, locale, checksums)
        if not check_mode:
            if action == "drop" and os.path.exists(self.settings_path()):
                # pg_dropcluster keeps a configuration directory holding files it did not create,
                # and a later pg_createcluster of the same name then refuses to run.
                os.unlink(self.settings_path())
            if action in ("enable", "disable"):
                self.write_start_conf("auto" if action == "enable" else "manual")
            for argv in argvs:
                if argv[0] == "rm":  # the logging collector's directory (prod), after the cluster
                    shutil.rmtree(argv[-1], ignore_errors=True)
                    continue
                self.runner.run(argv, what="instance '%s': %s" % (self.name, action))
        return argvs

    def settings_path(self) -> str:
        return os.path.join(self.config_dir, "conf.d", SETTINGS_FILENAME)

    def write_settings(self, content: str) -> None:
        directory = os.path.dirname(self.settings_path())
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=0o755)
            stat = os.stat(self.config_dir)
            os.chown(directory, stat.st_uid, stat.st_gid)
        _write_as_owner(self.settings_path(), content, self.config_dir, 0o640)

    def write_auth_files(self, check_mode: bool, hba: Optional[list] = None, diff: Optional[dict] = None) -> bool:
        return write_auth_files(self.config_dir, lambda path, content: _write_as_owner(path, content, self.config_dir),
                                check_mode, hba, diff)

    def systemd_enabled(self) -> bool:
        if not self.systemd:
            return True
        rc, _out, _err = self.runner.run(["systemctl", "is-enabled", "--quiet", self.unit], check_rc=False)
        return rc == 0


def write_auth_files(directory: str, write, check_mode: bool, hba: Optional[list] = None,
                     diff: Optional[dict] = None) -> bool:
    """Write pg_hba.conf and pg_ident.conf in `directory` with `write(path, content)` when they
    differ; True when something changed (or would, in check mode). Each changed file's old and new
    text go into `diff` as {path: (before, after)} (no secrets in either)."""
    changed = False
    for filename, content in (("pg_hba.conf", render_hba(hba)), ("pg_ident.conf", render_ident())):
        path = os.path.join(directory, filename)
        current = ""
        try:
            with open(path) as handle:
                current = handle.read()
            if current == content:
                continue
        except OSError:
            pass
        changed = True
        if diff is not None:
            diff[path] = (current, content)
        if not check_mode:
            write(path, content)
    return changed


def _write_as_owner(path: str, content: str, directory: str, mode: int = 0o640) -> None:
    """Atomic write with the cluster owner's uid/gid (the owner of `directory`)."""
    write_owned(path, content, directory, mode)
