# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for developer machines: the files of roles/dev_files, Windows' excluded TCP port ranges."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

from ansible_collections.darevel.postgres.plugins.module_utils import _container, _validate

# A line of `netsh interface ipv4 show excludedportrange protocol=tcp`: start, end, and a `*`
# for administered exclusions (added with `netsh ... add excludedportrange`, not by Hyper-V/WinNAT).
_RANGE = re.compile(r"^\s*(\d+)\s+(\d+)\s*(\*)?\s*\Z")

CRLF = "\r\n"
LF = "\n"


def project(instance: dict) -> str:
    """The compose project of an instance: compose would otherwise name every apps/*/backend `backend`."""
    return "darevel-%s" % instance["name"]


def _dirname(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def dev_files(plan: list, container_host: str = "host.docker.internal", local_host: str = "localhost") -> list:
    """Every file roles/dev_files writes, relative to postgres_dev_dir, in a stable order.

    Each item: src (template), path ('/'-separated), mode, newline, secret (holds a password),
    instance (the planned instance or None), db_host (env files only).
    """
    files = []
    for inst in plan:
        if inst.get("docker"):  # the compose file holds the container's command, as pg_container runs it
            inst = dict(inst, docker=_container.rendered(inst["docker"]))
        problem = _validate.relative_path(inst["compose_file"])
        if problem:  # preflight refuses it first; checked again where the path is used
            raise AnsibleFilterError("instance '%s': compose_file %s" % (inst["name"], problem))
        base = _dirname(inst["compose_file"])
        prefix = base + "/" if base else ""
        files.append(_item("compose.yml.j2", inst["compose_file"], "0644", LF, inst))
        files.append(_item("env.j2", prefix + ".env", "0600", LF, inst, secret=True, db_host=container_host))
        files.append(_item("env.j2", prefix + "host.env", "0600", LF, inst, secret=True, db_host=local_host))
        files.append(_item("start-app.bat.j2", "start-%s.bat" % inst["name"], "0644", CRLF, inst))
        files.append(_item("start-app.sh.j2", "start-%s.sh" % inst["name"], "0755", LF, inst))
    for script in ("start-all", "stop-all"):
        files.append(_item("%s.bat.j2" % script, "%s.bat" % script, "0644", CRLF, None))
        files.append(_item("%s.sh.j2" % script, "%s.sh" % script, "0755", LF, None))
    return files


def _item(src: str, path: str, mode: str, newline: str, instance, secret: bool = False, db_host=None) -> dict:
    return {"src": src, "path": path, "mode": mode, "newline": newline, "secret": secret,
            "instance": instance, "db_host": db_host}


def dev_dirs(files: list) -> list:
    """The directories (relative, '/'-separated) the files need, parents first."""
    dirs = set()
    for item in files:
        parts = item["path"].split("/")[:-1]
        dirs.update("/".join(parts[:n]) for n in range(1, len(parts) + 1))
    return sorted(dirs, key=lambda d: (d.count("/"), d))


def compose_argv(instance: dict, root: str, sep: str = "/") -> dict:
    """Paths of an instance's compose and env files under `root`, with the platform's separator."""
    compose = instance["compose_file"].replace("/", sep)
    base = _dirname(instance["compose_file"]).replace("/", sep)
    env = (base + sep if base else "") + ".env"
    root = root.rstrip("/\\")
    return {"project": project(instance), "compose_file": root + sep + compose, "env_file": root + sep + env}


def excluded_port_ranges(netsh_stdout: str) -> list:
    """The ranges printed by `netsh interface ipv4 show excludedportrange protocol=tcp`."""
    ranges = []
    for line in (netsh_stdout or "").splitlines():
        match = _RANGE.match(line)
        if match:
            ranges.append({"start": int(match.group(1)), "end": int(match.group(2)),
                           "administered": match.group(3) is not None})
    return ranges


def excluded_port_conflicts(netsh_stdout: str, plan: list, administered: bool = False) -> list:
    """Planned instances whose port lies inside an excluded range.

    Ranges marked administered (`*`) are reservations someone made on purpose with `netsh int ipv4 add
    excludedportrange`, which is also the documented fix; they are skipped unless `administered` is true.
    """
    conflicts = []
    for inst in plan:
        for rng in excluded_port_ranges(netsh_stdout):
            if rng["administered"] and not administered:
                continue
            if rng["start"] <= inst["port"] <= rng["end"]:
                conflicts.append({"instance": inst["name"], "port": inst["port"], "start": rng["start"],
                                  "end": rng["end"], "administered": rng["administered"]})
    return conflicts


def port_runs(ports: list) -> list:
    """Contiguous runs of ports as (start, count), for `netsh ... startport=S numberofports=N`."""
    runs = []
    for port in sorted(set(ports)):
        if runs and runs[-1][0] + runs[-1][1] == port:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((port, 1))
    return runs


def excluded_port_message(conflicts: list) -> str:
    """The failure message for excluded_port_conflicts(): what collides, and the two fixes."""
    if not conflicts:
        return ""
    lines = ["%d catalogue port(s) lie inside TCP ranges Windows has excluded (reserved by Hyper-V/WinNAT "
             "for WSL 2 and Docker Desktop); nothing can listen there, so Docker reports the port as in use "
             "although no process holds it:" % len(conflicts)]
    for c in conflicts:
        lines.append("- instance '%s': port %d is inside the excluded range %d-%d" % (
            c["instance"], c["port"], c["start"], c["end"]))
    reserve = ["netsh int ipv4 add excludedportrange protocol=tcp startport=%d numberofports=%d" % run
               for run in port_runs([c["port"] for c in conflicts])]
    lines += [
        "Fix, either:",
        "1. give these instances ports outside every excluded range (their `port` in postgres_instances), or",
        "2. in an elevated prompt, free the ranges and reserve the ports for yourself before WinNAT takes "
        "them again: `net stop winnat`, then " + ", ".join("`%s`" % r for r in reserve)
        + ", then `net start winnat` (stopping winnat briefly cuts container and WSL 2 networking; restart "
        "Docker Desktop afterwards). The reservation shows as an administered exclusion (`*`), which this "
        "check accepts.",
        "If the ranges come back after every reboot, `netsh int ipv4 show dynamicport tcp` probably starts "
        "below 49152: `netsh int ipv4 set dynamic tcp start=49152 num=16384` restores Windows' default "
        "dynamic range above the catalogue's ports.",
    ]
    return "\n".join(lines)


class FilterModule:
    def filters(self):
        # The roles' helpers of this file are reached through the darevel.postgres.internal
        # lookup (not a public interface); this file has no public filter.
        return {}
