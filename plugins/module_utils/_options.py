# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options every module (and the pg_lifecycle action) shares for reaching the runtime, with no
import beyond the standard library: the controller-side plugins read them without loading the
Docker SDK (doc fragments darevel.postgres.docker and darevel.postgres.docker.runtime)."""

from __future__ import annotations

# The engine's address; omitted: DOCKER_HOST in the module's environment, else the local socket.
DOCKER_HOST_SPEC = {"docker_host": {"type": "str"}}
# The runtime of the modules that serve both (doc fragment darevel.postgres.docker.runtime).
RUNTIME_SPEC = {"runtime": {"type": "str", "default": "native", "choices": ["native", "docker"]}}
# The native runtime's layout (auto: Debian's postgresql-common where it is installed, else generic).
LAYOUT_SPEC = {"layout": {"type": "str", "default": "auto", "choices": ["auto", "debian", "generic"]}}
# pg_preflight's `security`: read by its action plugin on the control node, never sent to the host.
PREFLIGHT_SECURITY_OPTIONS = {
    "environment": {"type": "str", "default": "dev"},
    "hba_allow_any": {"type": "bool", "default": False},
    "env_host": {"type": "str", "default": "localhost"},
    "host_vars": {"type": "dict", "default": {}},
    "tls_days": {"type": "dict", "default": {}},
    "tls": {"type": "bool", "default": False},
    "listen_addresses": {"type": "list", "elements": "str", "default": []},
    "tls_certificates": {"type": "dict", "default": {}},
    "tls_min_protocol": {"type": "str"},
}
