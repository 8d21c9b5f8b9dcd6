# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docker runtime's container for one instance, as pure data (private to darevel.postgres).

One function describes the container; the pg_container module creates it through the Docker API
and the compose files for people who use Docker directly are rendered from the same description,
so both bring up the same container.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

DEFAULT_SETTINGS = {"shared_buffers": "256MB", "max_connections": "100", "work_mem": "4MB"}
DEFAULT_RESOURCES = {"memory": "512M", "cpus": "0.5", "memory_reservation": "256M", "cpus_reservation": "0.25"}
LABEL = "com.darevel.postgres.instance"
VERSION_LABEL = "com.darevel.postgres.version"
HASH_LABEL = "com.darevel.postgres.config-hash"
STOP_TIMEOUT = 60  # seconds: Docker's default of 10 s can kill PostgreSQL before a clean shutdown


def data_mount(version: int) -> str:
    """The official image keeps data in /var/lib/postgresql/data up to 17; from 18 the volume
    is mounted at /var/lib/postgresql (data in a per-version directory under it)."""
    return "/var/lib/postgresql" if version >= 18 else "/var/lib/postgresql/data"


def command(settings: dict) -> list[str]:
    argv = ["postgres"]
    for name in sorted(settings):
        value = settings[name]
        if isinstance(value, bool):
            value = "on" if value else "off"
        argv += ["-c", "%s=%s" % (name, value)]
    return argv


def memory_bytes(size: Any) -> int:
    text = str(size).strip().upper().rstrip("B")
    factor = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in "KMG" else text
    return int(float(number) * factor)


def spec(instance: dict, image: str, bind_address: str = "127.0.0.1", settings: dict | None = None,
         resources: dict | None = None) -> dict:
    """Everything about the container except its secrets (the password comes separately)."""
    merged = dict(DEFAULT_SETTINGS if settings is None else settings)
    merged.update(instance.get("settings") or {})
    limits = dict(DEFAULT_RESOURCES if resources is None else resources)
    limits.update(instance.get("resources") or {})
    return {
        "name": instance["container"],
        "image": image,
        "volume": instance["volume"],
        "mount": data_mount(instance["version"]),
        "bind_address": bind_address,
        "port": instance["port"],
        "environment": {"POSTGRES_USER": instance["owner"], "POSTGRES_DB": instance["database"],
                        "POSTGRES_INITDB_ARGS": "--data-checksums"},
        "command": command(merged),
        "healthcheck": {"test": ["CMD", "pg_isready", "-h", "127.0.0.1", "-p", "5432",
                                 "-U", instance["owner"], "-d", instance["database"]],
                        "interval": "5s", "timeout": "5s", "retries": 12, "start_period": "20s"},
        "restart": "unless-stopped",
        "stop_timeout": STOP_TIMEOUT,
        "stop_signal": "SIGINT",
        "resources": limits,
        "labels": {LABEL: instance["name"], VERSION_LABEL: str(instance["version"])},
    }


def config_hash(container_spec: dict) -> str:
    """Changes when anything that needs a new container changes (the password is init-only)."""
    return hashlib.sha256(json.dumps(container_spec, sort_keys=True).encode()).hexdigest()[:16]
