# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight on the target: the catalogue, the ports it needs, the disk. Private to darevel.postgres."""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
from typing import Optional

from ansible_collections.darevel.postgres.plugins.module_utils import _catalogue, _container, _generic, _ports, _tuning
from ansible_collections.darevel.postgres.plugins.module_utils._cluster import parse_lsclusters, read_start_conf
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError

DATA_ROOT = "/var/lib/postgresql"


def installed_versions(root: str = "/usr/lib/postgresql", pgdg_root: str = "/usr") -> list[int]:
    """Major versions with server binaries: Debian's layout, or the PGDG RPM layout /usr/pgsql-N."""
    found = set()
    for path in glob.glob(os.path.join(root, "*", "bin", "postgres")):
        version = path[len(root):].strip("/").split("/")[0]
        if version.isdigit():
            found.add(int(version))
    for path in glob.glob(os.path.join(pgdg_root, "pgsql-*", "bin", "postgres")):
        version = path[len(pgdg_root):].strip("/").split("/")[0][len("pgsql-"):]
        if version.isdigit():
            found.add(int(version))
    return sorted(found)


def registered_dir(instance: dict, registry_dir: Optional[str] = None) -> Optional[str]:
    """The data directory of the instance's generic-layout registry entry, wherever its data root."""
    return _generic.registered_data_dir(os.path.join(registry_dir or _generic.REGISTRY_DIR, "%d-%s.conf" % (
        int(instance["version"]), instance["name"])))


def own_markers(instance: dict) -> set[str]:
    """Paths that appear in the command line of this instance's own postmaster: Debian's
    configuration file and default data directory, and the generic layout's registered one."""
    version, name = instance["version"], instance["name"]
    markers = {"/etc/postgresql/%d/%s/postgresql.conf" % (version, name), "%s/%d/%s" % (DATA_ROOT, version, name)}
    registered = registered_dir(instance)
    return markers | {registered} if registered else markers


def running_on_port(instance: dict, data_root: str = DATA_ROOT) -> bool:
    """The instance's own postmaster.pid says it runs and listens on its port. This holds even
    where root cannot read other users' /proc/PID/fd (a container without CAP_SYS_PTRACE)."""
    data_dir = registered_dir(instance) or os.path.join(data_root, str(instance["version"]), instance["name"])
    path = os.path.join(data_dir, "postmaster.pid")
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()
        os.kill(int(lines[0]), 0)
        return len(lines) > 3 and lines[3].strip() == str(instance["port"])
    except (OSError, ValueError, IndexError):
        return False


def is_own(holders: list[dict], instance: dict) -> bool:
    if not holders and running_on_port(instance):
        return True
    markers = own_markers(instance)
    for holder in holders:
        tokens = set(re.split(r"[\s=]+", holder.get("cmdline", "")))
        if holder.get("comm", "").startswith("postgres") and tokens & markers:
            return True
    return False


def port_problems(instances: list[dict], ports=None, proc: str = "/proc", runtime: str = "native",
                  published: Optional[dict] = None) -> list[str]:
    """Ports held by something other than the instance itself. On the docker runtime a port
    published by the instance's own container is its own; `published` maps host port -> container."""
    ports = _ports.listening_ports(proc) if ports is None else ports
    published = published or {}
    problems = []
    for instance in instances:
        holders = _ports.holder_of(instance["port"], ports, proc)
        if holders is None:
            continue
        owner = published.get(instance["port"])
        if runtime == "docker" and owner == instance["docker"]["name"]:
            continue
        if runtime == "native" and is_own(holders, instance):
            continue
        who = "container %s (published through %s)" % (owner, _ports.describe(holders)) if owner \
            else _ports.describe(holders)
        problems.append("instance '%s': port %d is already in use by %s; fix: stop that process "
                        "(or its container) or give the instance another port in the catalogue" % (
                            instance["name"], instance["port"], who))
    return problems


def has_library(name: str) -> bool:
    """Whether the Python running this module (the one Ansible uses on the target) imports `name`."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def ping_without_sdk(docker_host: Optional[str], timeout: float = 5) -> Optional[bool]:
    """GET /_ping on the engine's unix or tcp (plain HTTP) address with the standard library: for a
    target that does not have the Docker SDK yet, and so that a host without an engine does not
    import the SDK (0.1 to 0.15 s) to learn it. None for an address it does not speak (ssh://,
    TLS), which only the SDK can tell."""
    address = docker_host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        if address.startswith("unix://"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(address[len("unix://"):])
        elif address.startswith("tcp://") and not os.environ.get("DOCKER_TLS_VERIFY") \
                and not os.environ.get("DOCKER_CERT_PATH"):  # the SDK turns TLS on from a cert path alone
            host, sep, port = address[len("tcp://"):].rstrip("/").rpartition(":")
            if not sep or not port.isdigit() or not host:
                return None  # no port (the SDK's default) or not host:port: the SDK tells
            sock = socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
        else:
            return None
        with sock:
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return sock.recv(64).split(b"\r\n", 1)[0].split()[1:2] == [b"200"]
    except (OSError, ValueError, IndexError):
        return False


def docker_answers(docker_host: Optional[str]) -> bool:
    answer = ping_without_sdk(docker_host)
    if answer is not None or not has_library("docker"):
        return bool(answer)
    try:
        from ansible_collections.darevel.postgres.plugins.module_utils._docker import client
        return bool(client(docker_host, timeout=5).ping())
    except Exception:  # pylint: disable=broad-except  # any failure means: no usable engine
        return False


def docker_published(docker_host: Optional[str]) -> dict:
    if not has_library("docker"):
        # Read again once the instance role has installed the SDK: pg_container names a port
        # another container publishes when it fails to start.
        return {}
    from ansible_collections.darevel.postgres.plugins.module_utils._docker import client, published_ports
    return published_ports(client(docker_host))


# The Python libraries each runtime's modules import on the target, with Debian's package.
LIBRARIES = {
    "native": [("psycopg2", "python3-psycopg2")],
    "docker": [("docker", "python3-docker")],
}


def system_python(executable: str = sys.executable, prefix: str = sys.prefix,
                  base_prefix: str = getattr(sys, "base_prefix", sys.prefix)) -> bool:
    """Whether the distribution's python3-* packages are importable by this interpreter: it is
    /usr/bin/python3 (or the file it links to) and not a virtualenv."""
    if prefix != base_prefix:
        return False
    try:
        return os.path.realpath(executable) == os.path.realpath("/usr/bin/python3")
    except OSError:
        return False


def python_libraries(runtime: str, mode: str, executable: str = sys.executable,
                     has=has_library, apt: Optional[bool] = None, system: Optional[bool] = None):
    """(missing Debian packages the instance role installs, problems) for the runtime's libraries.

    mode `install`: the converge installs what is missing; only a target where that cannot work
    is a problem (apt installs for /usr/bin/python3 alone). mode `require`: a verb that installs
    nothing needs the libraries already there. mode `ignore`: not checked."""
    missing = [(module, package) for module, package in LIBRARIES.get(runtime, []) if not has(module)]
    if mode == "ignore" or not missing:
        return [], []
    apt = os.path.exists("/usr/bin/apt-get") if apt is None else apt
    system = system_python(executable) if system is None else system
    modules = " and ".join(module for module, _package in missing)
    packages = " ".join(package for _module, package in missing)
    what = "host: the Python that Ansible uses on this host (%s) cannot import %s, which the %s runtime " \
           "needs" % (executable, modules, runtime)
    if mode == "install" and apt and system:
        return [package for _module, package in missing], []
    if mode == "install" and not system:
        return [], ["%s, and the %s package%s would not reach this interpreter; fix: install %s into its "
                    "environment (%s -m pip install %s) or set ansible_python_interpreter=/usr/bin/python3" % (
                        what, packages, "s" if len(missing) > 1 else "", modules, executable,
                        " ".join("psycopg2-binary" if m == "psycopg2" else m for m, _p in missing))]
    if mode == "install":
        return [], ["%s; fix: install it with the distribution's package manager (the Debian packages are "
                    "%s), or set postgres_install_packages: true on a Debian host" % (what, packages)]
    fix = ("apt-get install %s, or run playbooks/site.yml, which installs it" % packages) if apt and system else \
        ("%s -m pip install %s" % (executable, " ".join("psycopg2-binary" if m == "psycopg2" else m
                                                        for m, _p in missing)))
    return [], ["%s; fix: %s" % (what, fix)]


def disk_problems(instances: list[dict], min_free_mb: int, path: str = DATA_ROOT) -> list[str]:
    if not instances or min_free_mb <= 0:
        return []
    probe = path
    while not os.path.exists(probe):
        probe = os.path.dirname(probe) or "/"
    stat = os.statvfs(probe)
    free_mb = stat.f_bavail * stat.f_frsize // (1024 * 1024)
    if free_mb >= min_free_mb:
        return []
    return ["host: %s has %d MiB free, below postgres_min_free_mb=%d for %d instance(s); fix: free disk "
            "space or lower postgres_min_free_mb" % (probe, free_mb, min_free_mb, len(instances))]


def native_exists(instances: list[dict]) -> bool:
    """Whether any planned instance already exists as a native cluster (either layout)."""
    for i in instances:
        if os.path.exists("/etc/postgresql/%d/%s/postgresql.conf" % (i["version"], i["name"])) or \
                os.path.exists("/etc/darevel/postgres/instances/%d-%s.conf" % (i["version"], i["name"])):
            return True
    return False


def resolve_runtime(wanted: str, docker_host: Optional[str], instances: list[dict]) -> str:
    """auto: native when the host already runs planned instances natively (a server that also has
    Docker keeps its services), else docker when an engine answers, else native."""
    if wanted in ("native", "docker"):
        return wanted
    if native_exists(instances):
        return "native"
    return "docker" if docker_answers(docker_host) else "native"


def host_memory(meminfo: str = "/proc/meminfo") -> int:
    with open(meminfo) as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    raise DarevelError("host: no MemTotal in %s; fix: set postgres_tuning_memory_mb" % meminfo)


def host_cpus() -> float:
    try:
        return float(len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return float(os.cpu_count() or 1)


def other_servers(instances: list[dict], docker_host: Optional[str] = None, registry_dir: str = _generic.REGISTRY_DIR,
                  etc: str = "/etc/postgresql") -> list[str]:
    """The PostgreSQL servers on the host that are not the plan's instances and come back at boot,
    so that they take memory for good: a cluster of Debian's layout or of the generic one whose
    start.conf or START is auto (running or not), and a running container that exposes 5432/tcp or
    belongs to another instance, with the restart policy always or unless-stopped. A server
    started by hand for a while (a manual cluster, a `docker run` without restart policy) does not
    count, so that it does not change every instance's plan."""
    planned = {(int(i["version"]), i["name"]) for i in instances}
    names = {i["name"] for i in instances}
    found = []
    tool = shutil.which("pg_lsclusters")
    if tool:
        try:
            text = subprocess.run([tool, "--no-header"], capture_output=True, text=True, timeout=60,
                                  check=False).stdout
        except (OSError, subprocess.SubprocessError):
            text = ""
        for (version, name), facts in sorted(parse_lsclusters(text).items()):
            running = facts["status"] == "started"
            start = read_start_conf(os.path.join(etc, str(version), name, "start.conf"))
            if (version, name) not in planned and start == "auto":
                state = "running" if running else "starts at boot"
                found.append("cluster %d/%s (port %s, %s)" % (version, name, facts["port"], state))
    for (version, name), facts in sorted(_generic.registered(registry_dir).items()):
        running = facts["status"] == "started"
        if (version, name) not in planned and facts.get("start_conf", "auto") == "auto":
            found.append("cluster %d/%s (generic layout, port %s, %s)" % (
                version, name, facts["port"], "running" if running else "starts at boot"))
    if ping_without_sdk(docker_host, timeout=2) is not False and has_library("docker"):
        containers = {i.get("container") for i in instances}
        try:
            from ansible_collections.darevel.postgres.plugins.module_utils._docker import client
            running = client(docker_host, timeout=5).containers.list()
        except Exception:  # pylint: disable=broad-except  # no engine: no containers to count
            running = []
        for container in running:
            config = container.attrs.get("Config", {}) or {}
            labels = config.get("Labels") or {}
            policy = ((container.attrs.get("HostConfig", {}) or {}).get("RestartPolicy") or {}).get("Name")
            if container.name in containers or labels.get(_container.LABEL) in names:
                continue
            if (_container.LABEL in labels or "5432/tcp" in (config.get("ExposedPorts") or {})) and \
                    policy in ("always", "unless-stopped"):
                found.append("container %s (%s, running, restart %s)" % (container.name, config.get("Image"), policy))
    return found


def tune(instances: list[dict], tuning: dict, runtime: str, others: Optional[list[str]] = None) -> dict:
    """Plan the settings of every instance on the host from one shared budget; each instance's
    settings become the plan's (its pinned ones included). Raises DarevelError when it cannot fit."""
    memory = int(tuning.get("memory_mb") or 0) * 1024 * 1024 or host_memory()
    cpus = float(tuning.get("cpus") or 0) or host_cpus()
    reserve = int(tuning.get("reserve_mb") or 0) * 1024 * 1024 or None
    host_plan = _tuning.plan(memory, cpus, instances, reserve, runtime, others)
    for instance in instances:
        planned = host_plan["instances"][instance["name"]]
        instance["settings"] = planned["settings"]
        instance["tuning"] = {"share": planned["share"], "committed": planned["committed"],
                              "restart": planned["restart"], "profile": planned["profile"]}
    return host_plan


def only_these(instances: list[dict], only) -> tuple[list[dict], list[str]]:
    """The instances named by `apps` (-e apps=slides,mail), and a problem per unknown name."""
    if only in (None, "", []):
        return instances, []
    wanted = _catalogue.enabled_names(only, instances)
    known = [i["name"] for i in instances]
    problems = ["apps: %r is not an instance enabled on this host; fix: use one of %s" % (
        name, ", ".join(known)) for name in wanted if name not in known]
    return [i for i in instances if i["name"] in wanted], problems


def run(params: dict) -> dict:
    instances, problems = _catalogue.validate(params["instances"], params["enabled"], params["default_version"])
    docker = params.get("docker") or {}
    problems += _catalogue.docker_problems(docker.get("settings"), docker.get("resources"))
    runtime = resolve_runtime(params.get("runtime") or "auto", docker.get("host"), instances)
    host_plan, warnings = None, []
    tuning = params.get("tuning") or {}
    if not problems and tuning.get("enabled"):
        # Every instance enabled on the host shares the budget, also when `apps` names only some;
        # so do the other PostgreSQL servers on the host (postgres_tuning_others).
        mode = tuning.get("others") or "share"
        others = other_servers(instances, docker.get("host")) if mode != "ignore" else []
        if others:
            warnings.append("%d other PostgreSQL server(s) on this host: %s; %s" % (
                len(others), ", ".join(others),
                "each keeps the share of an instance of weight 1 of the memory budget (set "
                "postgres_tuning_others: ignore to plan as if they were not there)" if mode == "share" else
                "the plan does not count them (postgres_tuning_others: warn), so together the servers may "
                "commit more than the host has; set it to share to keep a share for each"))
        try:
            host_plan = tune(instances, tuning, runtime, others if mode == "share" else None)
        except DarevelError as exc:
            problems.append("host: %s" % exc.msg)
    for instance in instances:
        instance["docker"] = _container.spec(
            instance, str(docker.get("image") or "postgres:{version}").format(version=instance["version"]),
            docker.get("bind_address") or "127.0.0.1", docker.get("settings"), docker.get("resources"))
        # The modules that reach an instance take `container` on the docker runtime only, so the
        # plan names it there (`in_container`) and the roles pass it as it is, without a branch of
        # their own. (`container`, the catalogue's key, names the container on either runtime.)
        if runtime == "docker":
            instance["in_container"] = instance["docker"]["name"]
    instances, unknown = only_these(instances, params.get("only"))
    problems += unknown
    if runtime == "docker" and not docker_answers(docker.get("host")):
        problems.append("host: postgres_runtime is docker but no Docker engine answers%s; fix: start Docker "
                        "(Docker Desktop, or dockerd) or set postgres_runtime to native" % (
                            " at %s" % docker["host"] if docker.get("host") else ""))
    libraries_missing, library_problems = python_libraries(runtime, params.get("python_libraries") or "install")
    problems += library_problems
    if not problems and params["check_ports"]:
        published = docker_published(docker.get("host")) if runtime == "docker" else {}
        problems += port_problems(instances, runtime=runtime, published=published)
    if not problems and runtime == "native":
        problems += disk_problems(instances, params["min_free_mb"])
    # Found on the control node (passwords, client networks): reported with the rest, in one message.
    problems += list(params.get("problems") or [])
    return {"runtime": runtime, "python_has_docker": has_library("docker"), "warnings": warnings,
            "python_has_psycopg2": has_library("psycopg2"), "python": sys.executable,
            "python_libraries_missing": libraries_missing,
            "tuning": host_plan, "instances": instances, "problems": problems,
            "installed_versions": installed_versions(),
            "versions_needed": sorted({i["version"] for i in instances})}
