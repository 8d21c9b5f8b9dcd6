# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What --diff shows, in Ansible's diff protocol (private to darevel.postgres).

A module returns `diff` as a list of entries, one per file it writes (or would write) and one per
object it changes (an instance's state, a container), each with a header and the text before and
after: the default callback prints every entry as a unified diff. No secret is ever in an entry:
env files have their secret values masked, containers show their secret variables by name only.
"""

from __future__ import annotations

from typing import Iterable, Optional

MASK = "********"


def entry(header: str, before: str, after: str) -> dict:
    return {"before_header": header, "after_header": header, "before": before, "after": after}


def fields(pairs: Iterable[tuple[str, object]]) -> str:
    """`name: value` lines, one per field, for objects that are not files (an instance, a container)."""
    return "".join("%s: %s\n" % (name, value) for name, value in pairs)


def _secret_values(text: str, secret_keys: Iterable[str]) -> dict:
    keys = set(secret_keys)
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key in keys:
            values[key] = value
    return values


def masked_env(before: str, after: str, secret_keys: Iterable[str]) -> tuple[str, str]:
    """An env file's old and new text with the values of `secret_keys` replaced by a mask; a secret
    that changes says so after the mask, so the diff shows the change without either value."""
    secret_keys = tuple(secret_keys)
    old, new = _secret_values(before, secret_keys), _secret_values(after, secret_keys)

    def mask(text: str, other: Optional[dict]) -> str:
        out = []
        for line in text.splitlines(keepends=True):
            key, sep, value = line.rstrip("\n").partition("=")
            if sep and key in secret_keys:
                changed = other is not None and key in other and other[key] != value
                line = "%s=%s%s\n" % (key, MASK, " (changed)" if changed else "")
            out.append(line)
        return "".join(out)

    return mask(before, None), mask(after, old)


# --------------------------------------------------------------------------- containers

CONTAINER_SECRETS = ("POSTGRES_PASSWORD",)
SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN")


def _is_secret(key: str) -> bool:
    return key in CONTAINER_SECRETS or any(word in key.upper() for word in SECRET_WORDS)


def _bytes(count) -> str:
    if not count:
        return "none"
    for unit, size in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if count % size == 0:
            return "%d %s" % (count // size, unit)
    return "%d bytes" % count


def _seconds(nanoseconds) -> str:
    return "%gs" % ((nanoseconds or 0) / 1e9)


def _command_fields(argv) -> list:
    """The server command as `command` (the program and any other argument) and one `setting` per -c."""
    argv = list(argv or [])
    rest, settings = [], []
    index = 0
    while index < len(argv):
        if argv[index] == "-c" and index + 1 < len(argv) and "=" in argv[index + 1]:
            name, _sep, value = argv[index + 1].partition("=")
            settings.append(("setting %s" % name, value))
            index += 2
            continue
        rest.append(argv[index])
        index += 1
    return [("command", " ".join(rest) or "(the image's)")] + sorted(settings)


def _container_fields(image, port_binding, volume, env: dict, argv, memory, memory_reservation, nano_cpus,
                      cpu_shares, restart, health: dict, stop_signal, stop_timeout, labels: dict, state) -> str:
    pairs = [("image", image), ("port", port_binding), ("volume", volume)]
    pairs += [("env %s" % key, "(secret, not shown)" if _is_secret(key) else env[key]) for key in sorted(env)]
    pairs += _command_fields(argv)
    pairs += [("memory", _bytes(memory)), ("memory reservation", _bytes(memory_reservation)),
              ("cpus", "%g" % (nano_cpus / 1e9) if nano_cpus else "none"),
              ("cpu shares", cpu_shares or "none"), ("restart", restart or "no"),
              ("healthcheck", "%s (interval %s, timeout %s, retries %s, start period %s)" % (
                  " ".join(health.get("Test") or []) or "none", _seconds(health.get("Interval")),
                  _seconds(health.get("Timeout")), health.get("Retries"), _seconds(health.get("StartPeriod")))),
              ("stop", "%s, timeout %ss" % (stop_signal, stop_timeout))]
    pairs += [("label %s" % key, labels[key]) for key in sorted(labels)]
    pairs.append(("state", state))
    return fields(pairs)


def wanted_container(spec: dict, state: str) -> str:
    """The container the description asks for, as `field: value` lines (no secret value)."""
    # Imported here: _docker imports this module's callers' helpers, not the other way round.
    from ansible_collections.darevel.postgres.plugins.module_utils import _container
    from ansible_collections.darevel.postgres.plugins.module_utils._docker import NS, duration_ns

    limits, health = spec.get("resources") or {}, spec.get("healthcheck") or {}
    env = dict(spec.get("environment") or {})
    env.update({key: MASK for key in CONTAINER_SECRETS})
    return _container_fields(
        spec["image"], "%s:%s -> 5432/tcp" % (spec["bind_address"], spec["port"]),
        "%s -> %s" % (spec["volume"], spec["mount"]), env, spec.get("command"),
        _container.memory_bytes(limits["memory"]) if limits.get("memory") else 0,
        _container.memory_bytes(limits["memory_reservation"]) if limits.get("memory_reservation") else 0,
        int(float(limits["cpus"]) * NS) if limits.get("cpus") else 0,
        int(float(limits["cpus_reservation"]) * 1024) if limits.get("cpus_reservation") else 0,
        spec.get("restart"),
        {"Test": health.get("test"), "Interval": duration_ns(health["interval"]) if "interval" in health else 0,
         "Timeout": duration_ns(health["timeout"]) if "timeout" in health else 0, "Retries": health.get("retries"),
         "StartPeriod": duration_ns(health["start_period"]) if "start_period" in health else 0},
        spec.get("stop_signal"), spec.get("stop_timeout"),
        {k: v for k, v in (spec.get("labels") or {}).items() if k != _container.HASH_LABEL}, state)


def current_container(attrs: dict, spec: dict, state: str) -> str:
    """The container the engine holds (`docker inspect`), in the same lines as wanted_container:
    the environment reduced to the variables the description sets, the image's own left out."""
    from ansible_collections.darevel.postgres.plugins.module_utils import _container

    config, host = attrs.get("Config") or {}, attrs.get("HostConfig") or {}
    wanted_env = set(spec.get("environment") or {}) | set(CONTAINER_SECRETS)
    env = {}
    for item in config.get("Env") or []:
        key, _sep, value = item.partition("=")
        if key in wanted_env or key.startswith("POSTGRES_"):
            env[key] = value
    bindings = [("%s:%s -> %s" % (b.get("HostIp") or "0.0.0.0", b.get("HostPort"), port))
                for port, items in sorted((host.get("PortBindings") or {}).items()) for b in items or []]
    volumes = [bind.rsplit(":", 1)[0].replace(":", " -> ", 1) if bind.count(":") >= 2 else bind.replace(":", " -> ", 1)
               for bind in host.get("Binds") or []]
    labels = {k: v for k, v in (config.get("Labels") or {}).items()
              if k != _container.HASH_LABEL and (k in (spec.get("labels") or {}) or k.startswith("com.darevel."))}
    return _container_fields(
        config.get("Image"), ", ".join(bindings) or "none", ", ".join(volumes) or "none", env, config.get("Cmd"),
        host.get("Memory"), host.get("MemoryReservation"), host.get("NanoCpus"), host.get("CpuShares"),
        (host.get("RestartPolicy") or {}).get("Name"), config.get("Healthcheck") or {}, config.get("StopSignal"),
        config.get("StopTimeout"), labels, state)


def container_entries(name: str, attrs: Optional[dict], running: bool, spec: dict, state: str, actions: list,
                      volume: str, volume_before: bool, volume_after: bool) -> list:
    """The diff of one container and its volume: the fields that change (a recreated container
    lists its old and its new description; a kept one changes at most its state)."""
    after_state = "running" if state in ("started", "restarted") else "stopped"
    if state == "stopped" or (state == "present" and attrs is not None and not running and "create" not in actions):
        after_state = "stopped"
    if state == "present" and attrs is not None and running and "create" not in actions:
        after_state = "running"
    before = current_container(attrs, spec, "running" if running else "stopped") if attrs is not None else ""
    if state == "absent":
        after = ""
    elif attrs is not None and "create" not in actions:
        after = before.replace("state: %s\n" % ("running" if running else "stopped"), "state: %s\n" % after_state)
    else:
        after = wanted_container(spec, after_state)
    return [entry("container %s" % name, before, after),
            entry("volume %s" % volume, "volume %s\n" % volume if volume_before else "",
                  "volume %s\n" % volume if volume_after else "")]
