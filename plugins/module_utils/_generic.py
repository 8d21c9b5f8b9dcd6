# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Native instances on systemd distributions without postgresql-common. Private to darevel.postgres.

Each instance is an initdb data directory plus the collection's own templated unit
`darevel-postgresql@VERSION-NAME.service`, which reads its binaries, data directory and port from
a registry file /etc/darevel/postgres/instances/VERSION-NAME.conf. Without systemd as PID 1 the
same instance is driven with pg_ctl as the postgres user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
import threading
from typing import Optional

from ansible_collections.darevel.postgres.plugins.module_utils._cluster import log_directory, write_auth_files
from ansible_collections.darevel.postgres.plugins.module_utils._runtime.base import BIN_CANDIDATES, SETTINGS_FILENAME, SOCKET_DIR, bin_dir
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError

REGISTRY_DIR = "/etc/darevel/postgres/instances"
UNIT_PATH = "/etc/systemd/system/darevel-postgresql@.service"
MANAGED_CONF = "conf.d/00-darevel.conf"
INCLUDE_LINE = "include_dir = 'conf.d'\t# added by darevel.postgres\n"


def render_unit() -> str:
    return """# Managed by darevel.postgres: one PostgreSQL instance per VERSION-NAME.
[Unit]
Description=PostgreSQL instance %i (darevel.postgres)
Documentation=man:postgres(1)
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
User=postgres
Group=postgres
EnvironmentFile=/etc/darevel/postgres/instances/%i.conf
# sh execs postgres, so the notifying process stays the unit's main process.
ExecStart=/bin/sh -c 'exec "$PGBIN/postgres" -D "$PGDATA"'
ExecReload=/bin/kill -HUP $MAINPID
KillMode=mixed
KillSignal=SIGINT
TimeoutStartSec=300
TimeoutStopSec=120
OOMScoreAdjust=-900
Restart=on-failure
RuntimeDirectory=postgresql
RuntimeDirectoryMode=2775
RuntimeDirectoryPreserve=yes

[Install]
WantedBy=multi-user.target
"""


def render_conf(port: int) -> str:
    return ("# Managed by darevel.postgres (pg_instance): local edits are replaced.\n"
            "port = %d\n"
            "listen_addresses = 'localhost'\n"
            "unix_socket_directories = '%s'\n" % (port, SOCKET_DIR))


def render_registry(bin_dir: str, data_dir: str, port: int, start: str) -> str:
    return ("# Managed by darevel.postgres (pg_instance).\nPGBIN=%s\nPGDATA=%s\nPGPORT=%d\nSTART=%s\n"
            % (bin_dir, data_dir, port, start))


def parse_registry(text: str) -> dict:
    values = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def pid_running(data_dir: str) -> bool:
    try:
        with open(os.path.join(data_dir, "postmaster.pid")) as handle:
            pid = int(handle.readline().strip())
        os.kill(pid, 0)
        return True
    except (OSError, ValueError):
        return False


def registered(registry_dir: str = REGISTRY_DIR) -> dict[tuple[int, str], dict]:
    """Every instance of this layout on the host, as {(version, name): facts}."""
    found = {}
    try:
        names = sorted(os.listdir(registry_dir))
    except OSError:
        return found
    for filename in names:
        stem, dot, ext = filename.rpartition(".")
        version, dash, name = stem.partition("-")
        if ext != "conf" or not dot or not dash or not version.isdigit():
            continue
        with open(os.path.join(registry_dir, filename)) as handle:
            values = parse_registry(handle.read())
        data_dir = values.get("PGDATA", "")
        port = values.get("PGPORT", "")
        found[(int(version), name)] = {
            "version": int(version), "name": name, "port": int(port) if port.isdigit() else None,
            "status": "started" if pid_running(data_dir) else "stopped", "owner": "postgres",
            "data_dir": data_dir, "log_file": "/var/log/postgresql/darevel-%s-%s.log" % (version, name), "start_conf": values.get("START", "auto"),
            "layout": "generic",
        }
    return found


def registered_data_dir(registry: str) -> Optional[str]:
    """PGDATA of a registry entry, when the entry exists and names an absolute, normalised path."""
    try:
        with open(registry) as handle:
            path = parse_registry(handle.read()).get("PGDATA", "")
    except OSError:
        return None
    return path if path and os.path.isabs(path) and os.path.normpath(path) == path else None


def drop_problem(data_dir: str, version: int, postgres_uid: Optional[int], running_ok: bool = False) -> Optional[str]:
    """Why `data_dir` must not be deleted as an instance's data directory (None: it may, or it is
    already gone): a real directory, not a link and not a system path, that holds PG_VERSION of
    the instance's major version, is owned by the postgres user and has no server running
    (`running_ok`: the drop stops it first)."""
    if not os.path.lexists(data_dir):
        return None
    if not os.path.isabs(data_dir) or os.path.normpath(data_dir) != data_dir or data_dir.count("/") < 2:
        return "%s is not a normalised absolute path below a top-level directory" % data_dir
    if os.path.islink(data_dir) or not os.path.isdir(data_dir):
        return "%s is not a directory (a link or another kind of file)" % data_dir
    try:
        with open(os.path.join(data_dir, "PG_VERSION")) as handle:
            found = handle.read().strip()
    except OSError:
        return "%s holds no PG_VERSION file: it is not a PostgreSQL data directory" % data_dir
    if found != str(version):
        return "%s holds PostgreSQL %s data, not %d" % (data_dir, found or "(empty PG_VERSION)", version)
    if postgres_uid is not None and os.lstat(data_dir).st_uid != postgres_uid:
        return "%s is not owned by the postgres user" % data_dir
    if not running_ok and pid_running(data_dir):
        return "a server still runs on %s" % data_dir
    return None


# Instances are created concurrently (one thread each) and share the unit file and its reload.
_UNIT_LOCK = threading.Lock()


def _write(path: str, content: str, mode: int, uid: int = 0, gid: int = 0) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chown(tmp, uid, gid)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class GenericCluster:
    """One instance of the generic layout; same interface as DebianCluster."""

    def __init__(self, runner, version: int, name: str, systemd: Optional[bool] = None,
                 data_root: str = "/var/lib/postgresql", registry_dir: str = REGISTRY_DIR) -> None:
        self.runner = runner
        self.version = version
        self.name = name
        self.systemd = os.path.isdir("/run/systemd/system") if systemd is None else systemd
        self.registry = os.path.join(registry_dir, "%d-%s.conf" % (version, name))
        # An instance that exists keeps the data directory its registry entry names, whatever data
        # root this run was given (every verb, not only the converge, finds the real one); the data
        # root places new instances only.
        self.data_dir = registered_data_dir(self.registry) or os.path.join(data_root, str(version), name)

    @property
    def config_dir(self) -> str:
        return self.data_dir

    @property
    def unit(self) -> str:
        return "darevel-postgresql@%d-%s" % (self.version, self.name)

    @property
    def log_file(self) -> str:
        return "/var/log/postgresql/darevel-%d-%s.log" % (self.version, self.name)

    @property
    def bin_dir(self) -> str:
        return bin_dir(self.version, "postgres") or BIN_CANDIDATES[0].format(v=self.version)

    def start_conf(self) -> str:
        try:
            with open(self.registry) as handle:
                return parse_registry(handle.read()).get("START", "auto")
        except OSError:
            return "auto"

    def check_installed(self) -> None:
        if not os.path.exists(os.path.join(self.bin_dir, "postgres")):
            raise DarevelError("instance '%s': PostgreSQL %d server binaries are not in %s; fix: install "
                               "the server package of version %d" % (
                                   self.name, self.version, " or ".join(BIN_CANDIDATES).format(v=self.version),
                                   self.version))

    def _as_postgres(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] + argv

    def control_argv(self, action: str) -> list[str]:
        if self.systemd:
            return ["systemctl", action, self.unit]
        pg_ctl = os.path.join(self.bin_dir, "pg_ctl")
        if action == "reload":
            return self._as_postgres([pg_ctl, "-D", self.data_dir, "reload"])
        mode = ["-m", "fast"] if action in ("stop", "restart") else []
        return self._as_postgres([pg_ctl, "-D", self.data_dir, "-l", self.log_file, "-w", action] + mode)

    def initdb_argv(self, locale: str, checksums: bool) -> list[str]:
        argv = [os.path.join(self.bin_dir, "initdb"), "-D", self.data_dir, "-U", "postgres", "--locale", locale,
                "--auth-local", "peer", "--auth-host", "scram-sha-256"]
        return self._as_postgres(argv + (["--data-checksums"] if checksums else []))

    def perform(self, action: str, port: int, locale: str, checksums: bool, check_mode: bool) -> list[list[str]]:
        """Do one planned action; return the commands it ran (or would run)."""
        steps = {
            "create": lambda: self._create(port, locale, checksums, check_mode),
            "set_port": lambda: self._configure(port, check_mode),
            "enable": lambda: self._set_start("auto", "enable", port, check_mode),
            "disable": lambda: self._set_start("manual", "disable", port, check_mode),
            "drop": lambda: self._drop(check_mode),
        }
        if action in steps:
            return steps[action]()
        argv = self.control_argv(action)
        if not check_mode:
            if not self.systemd and action in ("start", "restart"):
                self._prepare_dirs()
            self.runner.run(argv, what="instance '%s': %s" % (self.name, action))
        return [argv]

    def _postgres_ids(self) -> tuple[int, int]:
        try:
            entry = pwd.getpwnam("postgres")
        except KeyError:
            raise DarevelError("instance '%s': there is no 'postgres' OS user; fix: install the PostgreSQL "
                               "server package, which creates it" % self.name)
        return entry.pw_uid, entry.pw_gid

    def _prepare_dirs(self) -> None:
        uid, gid = self._postgres_ids()
        for path, mode in ((os.path.dirname(self.data_dir), 0o755), (SOCKET_DIR, 0o2775),
                           (os.path.dirname(self.log_file), 0o755)):
            if not os.path.isdir(path):
                os.makedirs(path, mode=mode, exist_ok=True)  # another instance's thread may win the race
                os.chown(path, uid, gid)

    def _create(self, port: int, locale: str, checksums: bool, check_mode: bool) -> list[list[str]]:
        argv = self.initdb_argv(locale, checksums)
        if check_mode:
            return [argv]
        self._prepare_dirs()
        if not os.path.exists(os.path.join(self.data_dir, "PG_VERSION")):
            self.runner.run(argv, what="instance '%s': initdb" % self.name)
        commands = [argv] + self._configure(port, check_mode)
        if self.systemd:
            commands += self._install_unit()
        return commands

    def _configure(self, port: int, check_mode: bool) -> list[list[str]]:
        """The managed conf.d file (port, listening, socket) and the registry entry."""
        if check_mode:
            return []
        uid, gid = self._postgres_ids()
        conf_dir = os.path.join(self.data_dir, "conf.d")
        if not os.path.isdir(conf_dir):
            os.makedirs(conf_dir, mode=0o700)
            os.chown(conf_dir, uid, gid)
        main_conf = os.path.join(self.data_dir, "postgresql.conf")
        with open(main_conf) as handle:
            text = handle.read()
        if INCLUDE_LINE not in text:
            _write(main_conf, text + INCLUDE_LINE, 0o600, uid, gid)
        _write(os.path.join(self.data_dir, MANAGED_CONF), render_conf(port), 0o600, uid, gid)
        os.makedirs(os.path.dirname(self.registry), mode=0o755, exist_ok=True)
        _write(self.registry, render_registry(self.bin_dir, self.data_dir, port, self.start_conf()), 0o644)
        return []

    def _install_unit(self) -> list[list[str]]:
        with _UNIT_LOCK:
            try:
                with open(UNIT_PATH) as handle:
                    if handle.read() == render_unit():
                        return []
            except OSError:
                pass
            _write(UNIT_PATH, render_unit(), 0o644)
            argv = ["systemctl", "daemon-reload"]
            self.runner.run(argv, what="systemctl daemon-reload")
            return [argv]

    def _set_start(self, start: str, verb: str, port: int, check_mode: bool) -> list[list[str]]:
        commands = [["systemctl", verb, self.unit]] if self.systemd else []
        if check_mode:
            return commands
        if os.path.exists(self.registry):
            with open(self.registry) as handle:
                values = parse_registry(handle.read())
            _write(self.registry, render_registry(values.get("PGBIN", self.bin_dir), self.data_dir,
                                                  int(values.get("PGPORT", port) or port), start), 0o644)
        for argv in commands:
            self.runner.run(argv, what="instance '%s': %s" % (self.name, verb))
        return commands

    def drop_problem(self, running_ok: bool = False) -> Optional[str]:
        """Why the data directory must not be deleted (checked for every instance of a purge before
        any of them is touched, and again just before the deletion); None when it may."""
        try:
            uid: Optional[int] = pwd.getpwnam("postgres").pw_uid
        except KeyError:
            uid = None
        problem = drop_problem(self.data_dir, self.version, uid, running_ok)
        if problem is None:
            return None
        return ("instance '%s': its data directory is not deleted: %s; fix: check the path (PGDATA in %s), "
                "then remove what belongs to the instance by hand, or correct the entry" % (
                    self.name, problem, self.registry))

    def _drop(self, check_mode: bool) -> list[list[str]]:
        problem = self.drop_problem(running_ok=check_mode)  # in check mode the stop before it did not run
        if problem:
            raise DarevelError(problem)
        logs = log_directory(self.version, self.name)
        commands = [["rm", "-rf", self.data_dir], ["rm", "-f", self.registry]] + (
            [["rm", "-rf", logs]] if os.path.isdir(logs) else [])
        if self.systemd:
            commands.insert(0, ["systemctl", "disable", self.unit])
        if check_mode:
            return commands
        if self.systemd:
            self.runner.run(commands[0], check_rc=False)
        shutil.rmtree(self.data_dir, ignore_errors=True)
        if os.path.exists(self.registry):
            os.unlink(self.registry)
        shutil.rmtree(logs, ignore_errors=True)
        return commands

    def settings_path(self) -> str:
        return os.path.join(self.data_dir, "conf.d", SETTINGS_FILENAME)

    def write_settings(self, content: str) -> None:
        uid, gid = self._postgres_ids()
        _write(self.settings_path(), content, 0o600, uid, gid)

    def write_auth_files(self, check_mode: bool, hba: Optional[list] = None, diff: Optional[dict] = None) -> bool:
        def write(path: str, content: str) -> None:
            uid, gid = self._postgres_ids()
            _write(path, content, 0o600, uid, gid)
        return write_auth_files(self.data_dir, write, check_mode, hba, diff)

    def systemd_enabled(self) -> bool:
        if not self.systemd:
            return True
        rc, _out, _err = self.runner.run(["systemctl", "is-enabled", "--quiet", self.unit], check_rc=False)
        return rc == 0
