# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who listens on which TCP port, read from /proc (Linux). Private to darevel.postgres."""

from __future__ import annotations

import os
from typing import Optional

_LISTEN = "0A"


def parse_proc_net(text: str) -> dict[int, set[str]]:
    """Map listening port -> socket inodes from the text of /proc/net/tcp or tcp6."""
    ports: dict[int, set[str]] = {}
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != _LISTEN:
            continue
        port = int(fields[1].rsplit(":", 1)[1], 16)
        ports.setdefault(port, set()).add(fields[9])
    return ports


def listening_ports(proc: str = "/proc") -> dict[int, set[str]]:
    ports: dict[int, set[str]] = {}
    for name in ("tcp", "tcp6"):
        try:
            with open(os.path.join(proc, "net", name)) as handle:
                text = handle.read()
        except OSError:
            continue
        for port, inodes in parse_proc_net(text).items():
            ports.setdefault(port, set()).update(inodes)
    return ports


def _read(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def socket_holders(inodes: set[str], proc: str = "/proc") -> list[dict]:
    """Processes that hold one of the socket inodes: pid, comm and command line."""
    wanted = {"socket:[%s]" % inode for inode in inodes}
    holders = []
    for pid in filter(str.isdigit, os.listdir(proc)):
        fd_dir = os.path.join(proc, pid, "fd")
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target in wanted:
                holders.append({"pid": int(pid), "comm": _read(os.path.join(proc, pid, "comm")),
                                "cmdline": _read(os.path.join(proc, pid, "cmdline"))})
                break
    return holders


def describe(holders: list[dict]) -> str:
    if not holders:
        return "a process the OS does not name (another network namespace or a container engine)"
    return ", ".join("%s (pid %d: %s)" % (h["comm"], h["pid"], h["cmdline"][:120]) for h in holders)


def holder_of(port: int, ports: Optional[dict[int, set[str]]] = None, proc: str = "/proc") -> Optional[list[dict]]:
    """None when nothing listens on the port, else the list of holders (possibly empty)."""
    ports = listening_ports(proc) if ports is None else ports
    if port not in ports:
        return None
    return socket_holders(ports[port], proc)
