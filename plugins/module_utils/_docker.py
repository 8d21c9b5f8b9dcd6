# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docker runtime: one container and one named volume per instance, through the Docker API.

Private to darevel.postgres. A container is recreated only when its description (see _container)
changes, detected through a hash label, so a recreated container keeps its volume and a change to
one instance recreates only that instance's container.
"""

from __future__ import annotations

import io
import os
import tarfile
import time
from typing import Optional

from ansible_collections.darevel.postgres.plugins.module_utils import _container, _credentials, _diff, _security
from ansible_collections.darevel.postgres.plugins.module_utils._batch import run_all
# HAS_DOCKER and client are the one SDK flag and the one client factory, re-exported for pg_container.
from ansible_collections.darevel.postgres.plugins.module_utils._engine import HAS_DOCKER, client  # noqa: F401 pylint: disable=unused-import
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.module_utils._runtime.docker import DockerRuntime

try:
    import docker
    from docker.errors import DockerException, NotFound
except ImportError:  # pragma: no cover - the SDK is missing or broken: pg_container reports it
    HAS_DOCKER = False

NS = 1_000_000_000


def duration_ns(text) -> int:
    """'5s', '2m', '500ms' or a number of seconds, in nanoseconds as the Docker API wants."""
    text = str(text).strip()
    for suffix, factor in (("ms", NS // 1000), ("s", NS), ("m", 60 * NS), ("h", 3600 * NS)):
        if text.endswith(suffix) and text[:-len(suffix)].replace(".", "", 1).isdigit():
            return int(float(text[:-len(suffix)]) * factor)
    return int(float(text) * NS)


def create_kwargs(api, spec: dict, password: str) -> dict:
    """Arguments of APIClient.create_container for one instance's description."""
    limits = spec["resources"]
    host_config = api.create_host_config(
        port_bindings={5432: (spec["bind_address"], spec["port"])},
        binds={spec["volume"]: {"bind": spec["mount"], "mode": "rw"}},
        restart_policy={"Name": spec["restart"]},
        mem_limit=_container.memory_bytes(limits["memory"]) if limits.get("memory") else None,
        mem_reservation=_container.memory_bytes(limits["memory_reservation"])
        if limits.get("memory_reservation") else None,
        nano_cpus=int(float(limits["cpus"]) * NS) if limits.get("cpus") else None,
        # Plain containers have no CPU reservation; a CPU weight gives the same priority under load.
        cpu_shares=int(float(limits["cpus_reservation"]) * 1024) if limits.get("cpus_reservation") else None,
    )
    health = spec["healthcheck"]
    labels = dict(spec["labels"], **{_container.HASH_LABEL: _container.config_hash(spec)})
    return {
        "image": spec["image"], "name": spec["name"], "command": spec["command"],
        "environment": dict(spec["environment"], POSTGRES_PASSWORD=password),
        "ports": [5432], "host_config": host_config, "labels": labels,
        "healthcheck": {"test": health["test"], "interval": duration_ns(health["interval"]),
                        "timeout": duration_ns(health["timeout"]), "retries": health["retries"],
                        "start_period": duration_ns(health["start_period"])},
        "stop_signal": spec["stop_signal"], "stop_timeout": spec["stop_timeout"],
    }


def plan(current: Optional[dict], state: str, wanted_hash: str, volume_exists: bool, purge: bool) -> list[str]:
    """Actions for one instance; `current` is None or {'hash', 'running'}."""
    if state == "absent":
        actions = ["remove"] if current else []
        return actions + (["remove_volume"] if purge and volume_exists else [])
    actions = [] if volume_exists else ["create_volume"]
    if current is None:
        actions.append("create")
    elif current["hash"] != wanted_hash:
        actions += ["remove", "create"]
    running = current is not None and current["running"] and "create" not in actions
    if state == "started" and not running:
        actions.append("start")
    elif state == "restarted":
        actions.append("start" if "create" in actions or not running else "restart")
    elif state == "stopped" and current is not None and current["running"] and "create" not in actions:
        actions.append("stop")
    return actions


class ContainerManager:
    def __init__(self, module) -> None:
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode
        self.docker = client(self.params["docker_host"])

    def _current(self, name: str) -> tuple[Optional[object], Optional[dict]]:
        try:
            container = self.docker.containers.get(name)
        except NotFound:
            return None, None
        labels = container.attrs.get("Config", {}).get("Labels") or {}
        return container, {"hash": labels.get(_container.HASH_LABEL), "running": container.status == "running"}

    def _volume_exists(self, name: str) -> bool:
        try:
            self.docker.volumes.get(name)
            return True
        except NotFound:
            return False

    def ownership_problem(self, item: dict) -> Optional[str]:
        """Why this instance must not touch the container or volume its entry names: a container of
        that name that darevel.postgres did not create for this instance (another project's, or
        another instance's), or, for a purge, a volume that is neither labelled for the instance nor
        mounted by the instance's own container. None: both are the instance's (or absent)."""
        spec, name = item["spec"], item["name"]
        container = self._current(spec["name"])[0]
        labels = (container.attrs.get("Config", {}).get("Labels") or {}) if container is not None else {}
        if container is not None and labels.get(_container.LABEL) != name:
            return ("instance '%s': container %s exists but is not the instance's (its label %s is %r, not %r); "
                    "nothing was changed; fix: give the entry another container name, or remove that container "
                    "yourself once you know what it holds" % (
                        name, spec["name"], _container.LABEL, labels.get(_container.LABEL), name))
        if self.params["state"] != "absent" or not self.params["purge"]:
            return None
        try:
            volume = self.docker.volumes.get(spec["volume"])
        except NotFound:
            return None
        mounted = container is not None and any(
            m.get("Type") == "volume" and m.get("Name") == spec["volume"] for m in container.attrs.get("Mounts") or [])
        if (volume.attrs.get("Labels") or {}).get(_container.LABEL) == name or mounted:
            return None
        return ("instance '%s': volume %s is not deleted: it has no label %s=%s and no container of the instance "
                "mounts it, so it may hold another project's data; nothing was purged; fix: look at what it holds "
                "(docker volume inspect %s), then remove it yourself, or correct the entry's volume" % (
                    name, spec["volume"], _container.LABEL, name, spec["volume"]))

    def converge(self, item: dict) -> dict:
        spec, state = item["spec"], self.params["state"]
        container, current = self._current(spec["name"])
        attrs = container.attrs if container is not None else None  # what --diff compares, before any change
        volume_exists = self._volume_exists(spec["volume"])
        actions = plan(current, state, _container.config_hash(spec), volume_exists, self.params["purge"])
        if not self.check_mode:
            container = self._apply(item, container, actions)
        health = None
        if not self.check_mode and state in ("started", "restarted") and self.params["wait"]:
            health = self._wait_healthy(item["name"], spec["name"])
        status = "absent" if state == "absent" else ("started" if state in ("started", "restarted") or (
            current and current["running"] and state == "present" and "create" not in actions) else "stopped")
        # The authentication files once the server answers: after the health check, or in a
        # container that runs and is kept (check mode reads them; a new container has the image's).
        # A restart keeps the files: check mode reads them beforehand.
        ready = health is not None or (current and current["running"] and "create" not in actions and
                                       not set(actions) & {"stop", "remove"} and
                                       (self.check_mode or "restart" not in actions))
        auth_diff = self._auth_files(item, spec) if ready and status == "started" else []
        if auth_diff and "auth_files" not in actions:
            actions = actions + ["auth_files"]
        return {"name": item["name"], "version": item.get("version"), "port": spec["port"],
                "container": spec["name"], "volume": spec["volume"], "image": spec["image"],
                "status": status, "health": health, "actions": actions, "changed": bool(actions),
                "data_dir": "%s:%s" % (spec["volume"], spec["mount"]) if state != "absent" else None,
                "diff": _diff.container_entries(
                    spec["name"], attrs, bool(current and current["running"]), spec, state, actions, spec["volume"],
                    volume_exists, not (state == "absent" and self.params["purge"]) and
                    (volume_exists or state != "absent")) + auth_diff}

    def _auth_files(self, item: dict, spec: dict) -> list[dict]:
        """The container's pg_hba.conf and pg_ident.conf as the collection writes them, the docker
        counterpart of pg_instance's: the image's `trust` lines replaced (peer on the socket for its
        superuser, SCRAM over TCP), then a reload. One diff entry per file rewritten (or that would be)."""
        label = "instance '%s'" % item["name"]
        try:
            runtime = DockerRuntime(label, self.docker.containers.get(spec["name"]),
                                    user=spec["environment"]["POSTGRES_USER"])
        except DockerException as exc:
            raise DarevelError("%s: container %s: cannot read its pg_hba.conf: %s; fix: see `docker logs %s`" % (
                label, spec["name"], exc, spec["name"]))
        entries = []
        try:
            with runtime.session() as conn:
                files = {name: conn.value("SELECT current_setting(%s)", (), (name,)) for name in ("hba_file", "ident_file")}
                wanted = {files["hba_file"]: _security.render_hba(_security.container_hba_rules()),
                          files["ident_file"]: _security.render_container_ident(spec["environment"]["POSTGRES_USER"])}
                for path, content in wanted.items():
                    current = runtime.read_file(path) or ""  # an unreadable file is rewritten
                    if current == content:
                        continue
                    entries.append(_diff.entry("container %s:%s" % (spec["name"], path), current, content))
                    if not self.check_mode:
                        runtime.write_file(path, content, files["hba_file"])
                if entries and not self.check_mode:
                    conn.execute("SELECT pg_reload_conf()")
        finally:
            runtime.cleanup()
        return entries

    def _apply(self, item: dict, container, actions: list[str]):
        spec = item["spec"]
        try:
            for action in actions:
                if action == "create_volume":
                    self.docker.volumes.create(name=spec["volume"], labels=spec["labels"])
                elif action == "remove":
                    container.stop(timeout=spec["stop_timeout"])
                    container.remove()
                    container = None
                elif action == "remove_volume":
                    self.docker.volumes.get(spec["volume"]).remove()
                elif action == "create":
                    # Without a given password the container starts with a random one that nobody
                    # keeps: pg_database then sets the owner's real password as a SCRAM verifier, so
                    # `docker inspect` never shows a password that works.
                    password = item.get("password") or _credentials.generate(32)
                    created = self.docker.api.create_container(**create_kwargs(self.docker.api, spec, password))
                    container = self.docker.containers.get(created["Id"])
                elif action == "start":
                    container.start()
                elif action == "restart":
                    container.restart(timeout=spec["stop_timeout"])
                elif action == "stop":
                    container.stop(timeout=spec["stop_timeout"])
        except DockerException as exc:
            raise DarevelError("instance '%s': container %s: %s failed: %s; fix: see `docker logs %s` and "
                               "`docker inspect %s`" % (item["name"], spec["name"], action, exc,
                                                        spec["name"], spec["name"]))
        return container

    def _wait_healthy(self, name: str, container_name: str) -> str:
        deadline = time.monotonic() + self.params["wait_timeout"]
        while True:
            container = self.docker.containers.get(container_name)
            state = container.attrs.get("State", {})
            health = (state.get("Health") or {}).get("Status")
            if health == "healthy" or (health is None and state.get("Running")):
                return health or "running"
            if not state.get("Running") or time.monotonic() > deadline:
                logs = container.logs(tail=20).decode("utf-8", "replace").strip()
                raise DarevelError("instance '%s': container %s is %s (health: %s) after %ds; last log lines:\n%s\n"
                                   "fix: read the log above; a port or volume problem shows there" % (
                                       name, container_name, state.get("Status"), health,
                                       self.params["wait_timeout"], logs))
            time.sleep(0.5)

    def ownership_problems(self) -> list[str]:
        """ownership_problem() of every instance: checked before any pull or change, so that one
        container or volume that is not the instance's stops the whole run."""
        return [p for p in (self.ownership_problem(item) for item in self.params["instances"]) if p]

    def run(self) -> dict:
        results, errors = run_all(self.params["instances"], self.converge, self.params["workers"])
        return {"results": results, "errors": errors}


def exec_text(container, argv: list[str], user: str = "postgres", environment: Optional[dict] = None):
    """Run `argv` in the container; (exit code, output decoded as text)."""
    options = {"user": user, "environment": environment} if environment else {"user": user}
    rc, output = container.exec_run(argv, **options)
    return rc, output.decode("utf-8", "replace") if isinstance(output, bytes) else str(output)


def put_file(container, path: str, data: bytes, uid: int = 0, gid: int = 0) -> bool:
    """Write `data` to `path` in the container (its directory must exist), mode 0600, owned by
    uid:gid; False when the engine refuses it."""
    info = tarfile.TarInfo(os.path.basename(path))
    info.size, info.mode, info.uid, info.gid, info.mtime = len(data), 0o600, uid, gid, int(time.time())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.addfile(info, io.BytesIO(data))
    return bool(container.put_archive(os.path.dirname(path), buffer.getvalue()))


def published_ports(docker_client) -> dict[int, str]:
    """Host port -> name of the container that publishes it (running containers only)."""
    found = {}
    for container in docker_client.containers.list():
        ports = container.attrs.get("NetworkSettings", {}).get("Ports") or {}
        for bindings in ports.values():
            for binding in bindings or []:
                if str(binding.get("HostPort", "")).isdigit():
                    found[int(binding["HostPort"])] = container.name
    return found


def instances_info(docker_client) -> dict[tuple[int, str, str], dict]:
    """Every container of the collection on the engine, as {(version, name, container): facts}; an
    engine shared by several hosts' catalogues may hold more than one container of an instance."""
    found = {}
    for container in docker_client.containers.list(all=True, filters={"label": _container.LABEL}):
        labels = container.attrs.get("Config", {}).get("Labels") or {}
        version = int(labels.get(_container.VERSION_LABEL, "0") or 0)
        name = labels[_container.LABEL]
        state = container.attrs.get("State", {})
        ports = (container.attrs.get("NetworkSettings", {}).get("Ports") or {}).get("5432/tcp") or []
        if not ports:  # a stopped container publishes nothing; its configuration still says where
            ports = (container.attrs.get("HostConfig", {}).get("PortBindings") or {}).get("5432/tcp") or []
        mounts = container.attrs.get("Mounts") or []
        found[(version, name, container.name)] = {
            "version": version, "name": name, "container": container.name,
            "status": "started" if state.get("Running") else "stopped",
            "health": (state.get("Health") or {}).get("Status"),
            "port": int(ports[0]["HostPort"]) if ports and str(ports[0].get("HostPort", "")).isdigit() else None,
            "image": container.attrs.get("Config", {}).get("Image"),
            "volume": mounts[0].get("Name") if mounts else None,
            "data_dir": "%s:%s" % (mounts[0].get("Name"), mounts[0].get("Destination")) if mounts else None,
            "started_at": state.get("StartedAt"), "log_file": None, "layout": "docker",
        }
    return found


# --------------------------------------------------------------------------- images

PULL_TIMEOUT = 900  # seconds without a word from the engine during a pull (a large layer unpacking)


def engine_error(exc) -> str:
    """The engine's own words for a failed request, without the SDK's URL around them."""
    return str(getattr(exc, "explanation", None) or exc)


def image_present(docker_client, image: str) -> bool:
    try:
        docker_client.images.get(image)
        return True
    except NotFound:
        return False


def pull_check(docker_client, image: str) -> Optional[str]:
    """Whether the engine could pull `image`, asked of its registry without pulling anything (the
    registry's manifest, with the engine's credentials): None when it could, else the engine's error."""
    try:
        docker_client.api.inspect_distribution(image)
        return None
    except DockerException as exc:
        return engine_error(exc)


def pull(docker_host: Optional[str], image: str) -> dict:
    """Pull `image` onto the engine at `docker_host` (the client factory's address), following the
    engine's progress; returns its summary (_container.pull_summary) with the seconds it took.
    Raises DarevelError with the engine's error when the pull fails."""
    started = time.monotonic()
    repository, tag = docker.utils.parse_repository_tag(image)
    engine = client(docker_host, timeout=PULL_TIMEOUT)
    try:
        events = engine.api.pull(repository, tag=tag or "latest", stream=True, decode=True)
        summary = _container.pull_summary(events)
        # The engine reports only the layers it handled; the image knows them all.
        layers = len(engine.images.get(image).attrs.get("RootFS", {}).get("Layers") or [])
    except (DockerException, OSError, ValueError) as exc:  # OSError: the connection broke or timed out
        raise DarevelError(engine_error(exc))
    finally:
        engine.close()
    layers = max(layers, summary["layers"])
    return dict(summary, layers=layers, present=layers - summary["downloaded"],
                seconds=round(time.monotonic() - started, 1))
