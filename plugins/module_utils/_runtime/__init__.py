# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where an instance runs, behind one interface. Private to darevel.postgres.

`base` holds the interface (a SQL session, the client tools, files in and out) and the pure code;
`native` implements it for the host's clusters (both layouts: the tools and the socket are the
same), `docker` for the containers of the docker runtime. Every feature that runs SQL or a client
tool in an instance takes a runtime from `select` and is written once. Needs no Ansible: the
scheduled backup runs it on its own.
"""

from __future__ import annotations

from typing import Optional

from ansible_collections.darevel.postgres.plugins.module_utils._runtime.base import SOCKET_DIR, Runtime


def select_runtime(kind: Optional[str], item: dict, docker_host: Optional[str] = None,
                   socket_dir: str = SOCKET_DIR, label: Optional[str] = None, env: Optional[dict] = None,
                   minimum: Optional[int] = None) -> Runtime:
    """The runtime of one catalogue item: `kind` docker (its `container` on the engine at
    `docker_host`) or native (its `port` and `version` on this host's socket). The one place a
    module turns its runtime, docker_host and socket options into a way to reach an instance."""
    label = label or "instance '%s'" % item.get("name", "?")
    if kind == "docker":
        from ansible_collections.darevel.postgres.plugins.module_utils._runtime.docker import DockerRuntime
        return DockerRuntime.open(docker_host, item["container"], label, item.get("user"), env)
    from ansible_collections.darevel.postgres.plugins.module_utils._runtime.native import NativeRuntime
    return NativeRuntime(label, item.get("port"), item.get("version"), socket_dir or SOCKET_DIR,
                         item.get("user") or "postgres", env, minimum)
