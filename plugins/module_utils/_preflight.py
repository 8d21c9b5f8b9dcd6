# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight on the target: the catalogue, the ports it needs, the disk. Private to darevel.postgres."""

from __future__ import annotations

import glob
import os
import re

from ansible_collections.darevel.postgres.plugins.module_utils import _catalogue, _container, _ports

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


def own_markers(instance: dict) -> set[str]:
    """Paths that appear in the command line of this instance's own postmaster."""
    version, name = instance["version"], instance["name"]
    return {"/etc/postgresql/%d/%s/postgresql.conf" % (version, name),
            "%s/%d/%s" % (DATA_ROOT, version, name)}


def is_own(holders: list[dict], instance: dict) -> bool:
    markers = own_markers(instance)
    for holder in holders:
        tokens = set(re.split(r"[\s=]+", holder.get("cmdline", "")))
        if holder.get("comm", "").startswith("postgres") and tokens & markers:
            return True
    return False


def port_problems(instances: list[dict], ports=None, proc: str = "/proc") -> list[str]:
    ports = _ports.listening_ports(proc) if ports is None else ports
    problems = []
    for instance in instances:
        holders = _ports.holder_of(instance["port"], ports, proc)
        if holders is None or is_own(holders, instance):
            continue
        problems.append("instance '%s': port %d is already in use by %s; fix: stop that process "
                        "(or its container) or give the instance another port in the catalogue" % (
                            instance["name"], instance["port"], _ports.describe(holders)))
    return problems


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


def run(params: dict) -> dict:
    instances, problems = _catalogue.validate(params["instances"], params["enabled"], params["default_version"])
    if params.get("only") not in (None, "", []):
        only = _catalogue.enabled_names(params["only"], instances)
        known = [i["name"] for i in instances]
        problems += ["apps: %r is not an instance enabled on this host; fix: use one of %s" % (
            name, ", ".join(known)) for name in only if name not in known]
        instances = [i for i in instances if i["name"] in only]
    if not problems and params["check_ports"]:
        problems += port_problems(instances)
    if not problems:
        problems += disk_problems(instances, params["min_free_mb"])
    docker = params.get("docker") or {}
    for instance in instances:
        instance["docker"] = _container.spec(
            instance, str(docker.get("image") or "postgres:{version}").format(version=instance["version"]),
            docker.get("bind_address") or "127.0.0.1", docker.get("settings"), docker.get("resources"))
    return {"instances": instances, "problems": problems, "installed_versions": installed_versions(),
            "versions_needed": sorted({i["version"] for i in instances})}
