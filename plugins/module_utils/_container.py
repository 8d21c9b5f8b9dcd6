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


def rendered(container_spec: dict) -> dict:
    """The description as the engine gets it: the plan keeps the server's settings as a dict
    (`settings`) until here, where they become the container's command (`postgres -c k=v`, one per
    setting, sorted). A description that holds its command already is returned as it is."""
    if "settings" not in container_spec:
        return container_spec
    out = {key: value for key, value in container_spec.items() if key != "settings"}
    out["command"] = command(container_spec["settings"])
    return out


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
        "settings": merged,
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
    """Changes when anything that needs a new container changes (the password is init-only). Taken
    over the rendered description, so a plan's settings and the command they become hash alike."""
    return hashlib.sha256(json.dumps(rendered(container_spec), sort_keys=True).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- images

# Layer states in the engine's pull progress; a layer already on the engine is never downloaded.
_LAYER_STATES = ("Pulling fs layer", "Waiting", "Downloading", "Verifying Checksum", "Download complete",
                 "Extracting", "Pull complete", "Already exists")


def registry_of(image: str) -> str:
    """The registry an image name points at (Docker Hub when its first part is no host name)."""
    first, slash, dummy = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def images_to_pull(items: list[dict], missing: set) -> list[dict]:
    """One entry per missing image, in the order the instances name them, with every instance
    that needs it: {'image', 'instances'}. A missing image is pulled once however many use it."""
    groups: dict[str, list[str]] = {}
    for item in items:
        image = item["spec"]["image"]
        if image in missing:
            groups.setdefault(image, []).append(item["name"])
    return [{"name": image, "image": image, "instances": names} for image, names in groups.items()]


def pull_summary(events) -> dict:
    """What a pull did, from the engine's progress events (decoded JSON lines): the layers, how
    many were downloaded and how many bytes, and the digest. Raises ValueError on an error event."""
    layers: dict[str, str] = {}
    sizes: dict[str, int] = {}
    digest = None
    for event in events:
        if event.get("error"):
            raise ValueError(event.get("error"))
        status, layer = event.get("status") or "", event.get("id")
        if status.startswith("Digest: "):
            digest = status[len("Digest: "):]
        elif layer and status in _LAYER_STATES:
            if layers.get(layer) != "Already exists":
                layers[layer] = status
            total = (event.get("progressDetail") or {}).get("total")
            if status == "Downloading" and isinstance(total, int):
                sizes[layer] = total
    return {"layers": len(layers), "downloaded": len([s for s in layers.values() if s != "Already exists"]),
            "present": len([s for s in layers.values() if s == "Already exists"]),
            "bytes": sum(sizes.values()), "digest": digest}


def size_text(count: int) -> str:
    value, unit = float(count), "B"
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            break
        value /= 1024
    return "%d B" % count if unit == "B" else "%.1f %s" % (value, unit)


def pull_line(entry: dict) -> str:
    """One line about one image for the output: what was (or would be) pulled, for whom, how much."""
    who = ", ".join(entry["instances"])
    if entry.get("status") == "would pull":
        return "would pull %s for %s (check mode: nothing pulled)" % (entry["image"], who)
    if not entry["downloaded"]:
        what = "%d layers, all already on the engine" % entry["layers"]
    else:
        what = "%d layers, %d downloaded (%s)" % (entry["layers"], entry["downloaded"], size_text(entry["bytes"]))
    return "pulled %s for %s: %s, in %.1f s" % (entry["image"], who, what, entry["seconds"])


def pull_problem_kind(error: str):
    """Why a pull cannot work, from the engine's error: 'auth', 'unknown', 'unreachable' or None."""
    text = error.lower()
    if any(word in text for word in ("unauthorized", "authentication required", "denied", "no basic auth",
                                     "forbidden")):
        return "auth"
    if any(word in text for word in ("manifest unknown", "not found", "does not exist", "no such image",
                                     "name unknown")):
        return "unknown"
    if any(word in text for word in ("connection refused", "no such host", "timeout", "timed out", "i/o",
                                     "unreachable", "dial tcp", "tls", "certificate", "http response to https")):
        return "unreachable"
    return None


def pull_problem(image: str, instances: list[str], error: str) -> str:
    """The message for an image the engine cannot pull: the instances, the image, why and the fix."""
    kind = pull_problem_kind(error)
    registry = registry_of(image)
    if kind == "auth":
        why = "the registry %s refuses access (or has no such repository)" % registry
        fix = ("check the image name; if the registry needs a login, run `docker login %s` on the managed host "
               "as the user the play runs as (or set DOCKER_CONFIG for it)" % registry)
    elif kind == "unknown":
        why = "the registry %s has no such image" % registry
        fix = ("check the name and tag in postgres_docker_image ({version} is the instance's major "
               "version), or push the image to %s" % registry)
    elif kind == "unreachable":
        why = "the engine cannot reach the registry %s" % registry
        fix = ("start the registry or make %s reachable from the Docker engine (for a registry without "
               "TLS outside 127.0.0.0/8, list it under insecure-registries in the engine's daemon.json), "
               "or point postgres_docker_image at a registry the engine reaches" % registry)
    else:
        why = "the pull failed"
        fix = "run `docker pull %s` on the managed host to see why, then converge again" % image
    return "%s %s: image %s cannot be pulled: %s (%s); no container was created or changed on this host; fix: %s" % (
        "instance" if len(instances) == 1 else "instances", ", ".join("'%s'" % n for n in instances),
        image, why, error.strip(), fix)
