# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Integration fixtures: real ansible-playbook runs against real PostgreSQL 15 clusters.

Every cluster these tests create is named it_* and lives on a 254xx port; the session drops
leftover it_* clusters before it starts and every it_* cluster when it ends, also on failure.
The `main` cluster (5432) and the production ports 5433-5438 are never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"
PLAYBOOK = VENV_BIN / "ansible-playbook"
VERSION = 15
PREFIX = "it_"
# Ports these tests use; none of them may be held by anything but our own it_* clusters.
SITE_PORTS = list(range(25433, 25439))
TEST_PORTS = list(range(25440, 25450))
FORBIDDEN_PORTS = {5432} | set(range(5433, 5439))

SITE_CATALOGUE = [
    {"name": "it_infra", "port": 25433, "database": "it_keycloak"},
    {"name": "it_chat", "port": 25434, "database": "it_chat"},
    {"name": "it_slides", "port": 25435, "database": "it_slides"},
    {"name": "it_suite", "port": 25436, "database": "it_suite"},
    {"name": "it_mail", "port": 25437, "database": "it_mail"},
    {"name": "it_sheet", "port": 25438, "database": "it_sheet"},
]


# --------------------------------------------------------------------------- clusters


def need_docker(image: Optional[str] = None, builder: str = "tests/images/build-postgres.sh",
                compose: bool = False) -> None:
    """Skip a test that needs the Docker engine (and `image`, and docker-compose) when they are
    missing; fail instead when scripts/run-tests.sh ran it, since that provided them
    (DAREVEL_TESTS_NEED_DOCKER=1): `make test` never skips a docker test."""
    def missing(what: str) -> None:
        if os.environ.get("DAREVEL_TESTS_NEED_DOCKER") == "1":
            pytest.fail("%s, although scripts/run-tests.sh provides it" % what)
        pytest.skip(what)

    def answers(*argv: str) -> bool:
        return subprocess.run(["docker", *argv], capture_output=True, timeout=120, check=False).returncode == 0

    if shutil.which("docker") is None or not answers("info"):
        missing("no Docker engine answers (scripts/docker-engine.sh starts one)")
    if compose and shutil.which("docker-compose") is None:
        missing("docker-compose is missing (Debian package docker-compose, in the Makefile's TEST_OS_PACKAGES)")
    if image and not answers("image", "inspect", image):
        missing("%s is missing: %s builds it" % (image, builder))


def _docker_json(*argv: str):
    done = subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, "docker %s: %s" % (" ".join(argv), done.stderr)
    return json.loads(done.stdout)


def interface_gateway(network: dict) -> Optional[str]:
    """The IPv4 address of the network's Linux bridge (option com.docker.network.bridge.name; the
    engine's defaults are docker0 for `bridge` and br-<id[:12]> for the others), or None."""
    name = (network.get("Options") or {}).get("com.docker.network.bridge.name") or (
        "docker0" if network["Name"] == "bridge" else "br-%s" % network["Id"][:12])
    done = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", name], capture_output=True, text=True,
                          check=False)
    for line in done.stdout.splitlines() if done.returncode == 0 else []:
        words = line.split()
        if "inet" in words:
            return words[words.index("inet") + 1].split("/")[0]
    return None


def container_gateway(network: dict) -> Optional[str]:
    """The gateway a running container on the network was given, or None."""
    for container in network.get("Containers") or {}:
        networks = _docker_json("inspect", "--format", "{{json .NetworkSettings.Networks}}", container)
        gateway = (networks.get(network["Name"]) or {}).get("Gateway")
        if gateway:
            return gateway
    return None


def docker_gateway(name: str = "bridge") -> tuple[str, str]:
    """(gateway, subnet) of Docker network `name`, IPv4: the host's address on it, which its
    containers reach the host by. The IPAM config's Gateway when the engine reports one (a freshly
    started docker.io 20.10 reports only the Subnet of its default bridge), else the address of the
    network's bridge interface, else a running container's gateway."""
    network = _docker_json("network", "inspect", name)[0]
    configs = [c for c in (network.get("IPAM") or {}).get("Config") or [] if ":" not in c.get("Subnet", ":")]
    assert configs, "docker network %s has no IPv4 subnet: %s" % (name, network.get("IPAM"))
    gateway = configs[0].get("Gateway") or interface_gateway(network) or container_gateway(network)
    assert gateway, ("docker network %s: no Gateway in its IPAM config, no address on its bridge interface and "
                     "no running container to ask" % name)
    return gateway, configs[0]["Subnet"]


def managed_service(port: int, directory: Path, admin: str, password: str, address: str = "localhost") -> Path:
    """Make the running scratch cluster on `port` stand in for a managed PostgreSQL: an admin role
    with a password and CREATEDB, and TLS only with a self-signed certificate for `address` (a name
    or an IP). Returns the certificate, the clients' root for sslmode=verify-full."""
    cert, key = directory / "server.crt", directory / "server.key"
    kind = "DNS" if any(c.isalpha() for c in address) and ":" not in address else "IP"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=%s" % address, "-addext", "subjectAltName=%s:%s" % (kind, address), "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    data_dir = Path(psql(port, "SHOW data_directory"))
    for src in (cert, key):
        shutil.copy(src, data_dir / src.name)
        shutil.chown(data_dir / src.name, "postgres", "postgres")
        os.chmod(data_dir / src.name, 0o600)
    psql(port, "CREATE ROLE %s LOGIN CREATEDB PASSWORD '%s'" % (admin, password))
    for setting in ("ssl = on", "ssl_cert_file = 'server.crt'", "ssl_key_file = 'server.key'"):
        psql(port, "ALTER SYSTEM SET " + setting)
    psql(port, "SELECT pg_reload_conf()")
    return cert


def corrupt_copy(root: Path, backup_id: str, dump: str, corrupt: str = "29990101T000000Z") -> Path:
    """A copy of backup `backup_id` under `root` as the newest backup, `corrupt`, with one bit of its
    archive `dump` flipped (its manifest still lists the old sha256). Returns the copy's directory."""
    shutil.copytree(root / backup_id, root / corrupt)
    manifest = json.loads((root / corrupt / "manifest.json").read_text())
    manifest["backup_id"] = corrupt
    (root / corrupt / "manifest.json").write_text(json.dumps(manifest))
    archive = root / corrupt / dump
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    archive.write_bytes(bytes(data))
    return root / corrupt


def clusters() -> dict[str, dict]:
    """pg_lsclusters as {name: {version, port, status, data_dir, log_file}}."""
    # Other people's clusters may be half-created at this moment, which makes pg_lsclusters
    # complain (rc != 0) about them; retry, then parse what it printed.
    for _attempt in range(5):
        proc = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            break
        time.sleep(0.5)
    out = proc.stdout
    found = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 6:
            continue
        found[parts[1]] = {"version": int(parts[0]), "port": int(parts[2]), "status": parts[3],
                           "data_dir": parts[5], "log_file": parts[6] if len(parts) > 6 else None}
        if found[parts[1]]["log_file"] and "%" in found[parts[1]]["log_file"]:
            # The logging collector (prod): pg_lsclusters shows its pattern; the server names its file.
            try:
                with open(os.path.join(parts[5], "current_logfiles")) as handle:
                    found[parts[1]]["log_file"] = handle.readline().split(" ", 1)[1].strip()
            except (OSError, IndexError):
                pass
    return found


def it_clusters() -> dict[str, dict]:
    return {name: facts for name, facts in clusters().items() if name.startswith(PREFIX)}


def drop_cluster(name: str, version: int = VERSION) -> None:
    assert name.startswith(PREFIX), "refusing to drop %s: not a test cluster" % name
    subprocess.run(["pg_dropcluster", "--stop", str(version), name], capture_output=True, text=True, check=False)
    # A cluster dropped while absent-without-purge leaves nothing behind; make sure of it.
    for path in ("/etc/postgresql/%d/%s" % (version, name), "/var/lib/postgresql/%d/%s" % (version, name),
                 "/var/log/postgresql/%d-%s" % (version, name)):
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)


def drop_all_it_clusters() -> None:
    for name, facts in it_clusters().items():
        drop_cluster(name, facts["version"])


def is_online(name: str) -> bool:
    return clusters().get(name, {}).get("status", "").startswith("online")


def listening_ports() -> set[int]:
    out = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True, check=False).stdout
    ports = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[3].rsplit(":", 1)[-1].isdigit():
            ports.add(int(parts[3].rsplit(":", 1)[-1]))
    return ports


def psql(port: int, sql: str, dbname: str = "postgres") -> str:
    """Run SQL as the postgres OS user over the Unix socket; return the unaligned output."""
    result = subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-X", "-h", "/var/run/postgresql",
                             "-p", str(port), "-d", dbname, "-v", "ON_ERROR_STOP=1", "-Atc", sql],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, "psql on %d failed: %s" % (port, result.stderr)
    return result.stdout.strip()


def postmaster_pid(data_dir: str) -> Optional[int]:
    try:
        with open(os.path.join(data_dir, "postmaster.pid")) as handle:
            return int(handle.readline().strip())
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------- ansible-playbook


@dataclass
class PlaybookRun:
    argv: list[str]
    rc: int
    stdout: str
    stderr: str
    data: Optional[dict] = None
    results: list[dict] = field(default_factory=list)

    @property
    def stats(self) -> dict:
        assert self.data is not None, "no JSON output:\n%s\n%s" % (self.stdout[-3000:], self.stderr[-3000:])
        return self.data["stats"]["localhost"]

    @property
    def changed(self) -> int:
        return self.stats["changed"]

    @property
    def failures(self) -> int:
        return self.stats["failures"] + self.stats.get("unreachable", 0)

    def task(self, name: str) -> dict:
        """The localhost result of the last task whose name contains `name`."""
        matches = [r for r in self.results if name in r["_task"]]
        assert matches, "no task %r in %s" % (name, [r["_task"] for r in self.results])
        return matches[-1]

    def table(self, name: str) -> list[str]:
        """The lines of the table the debug task `name` printed (its msg: a list of lines under the
        json result format, one text under yaml)."""
        msg = self.task(name)["msg"]
        return msg.splitlines() if isinstance(msg, str) else list(msg)

    def tables(self, name: str) -> list[list[str]]:
        """The tables the debug task `name` printed one after the other, a blank line between them."""
        out: list[list[str]] = [[]]
        for line in self.table(name):
            if line.strip():
                out[-1].append(line)
            elif out[-1]:
                out.append([])
        return [table for table in out if table]

    def failed_results(self) -> list[dict]:
        return [r for r in self.results if r.get("failed")]

    def explain(self) -> str:
        return "argv: %s\nrc: %d\nstdout (tail):\n%s\nstderr (tail):\n%s" % (
            " ".join(self.argv), self.rc, self.stdout[-6000:], self.stderr[-3000:])


def _parse_json(stdout: str) -> Optional[dict]:
    start = stdout.find("{")
    if start < 0:
        return None
    try:
        return json.loads(stdout[start:])
    except json.JSONDecodeError:
        return None


def _flatten(data: Optional[dict]) -> list[dict]:
    out = []
    for play in (data or {}).get("plays", []):
        for task in play.get("tasks", []):
            result = task.get("hosts", {}).get("localhost")
            if result is not None:
                out.append(dict(result, _task=task["task"]["name"]))
    return out


class Ansible:
    """Runs the venv's ansible-playbook from the repository root with the repository's ansible.cfg."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.count = 0

    def env(self, callback: str) -> dict:
        env = dict(os.environ)
        env.update({
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_STDOUT_CALLBACK": callback,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_LOCAL_TEMP": str(self.scratch / "ansible-tmp"),
            "PATH": "%s:%s" % (VENV_BIN, env.get("PATH", "")),
            "PYTHONDONTWRITEBYTECODE": "1",
        })
        env.pop("ANSIBLE_COLLECTIONS_PATH", None)
        return env

    def write_vars(self, data: dict) -> Path:
        self.count += 1
        path = self.scratch / "vars" / ("vars-%03d.yml" % self.count)
        path.parent.mkdir(exist_ok=True)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def write_playbook(self, tasks: list[dict], name: str = "scratch") -> Path:
        self.count += 1
        play = [{"name": name, "hosts": "postgres", "gather_facts": False, "tasks": tasks}]
        path = self.scratch / "playbooks" / ("%s-%03d.yml" % (name, self.count))
        path.parent.mkdir(exist_ok=True)
        path.write_text(yaml.safe_dump(play, sort_keys=False))
        return path

    def run(self, playbook, extra_vars: Optional[dict] = None, check: bool = False, diff: bool = False,
            verbose: int = 0, args: Optional[list[str]] = None, callback: str = "json",
            timeout: int = 300) -> PlaybookRun:
        # The host runs many clusters of other test modules (and the seed's, and Debian's main) at
        # once: the tuning budget plans as if they were not there, unless a test says otherwise
        # (test_tuning counts them). An -e given later wins.
        argv = [str(PLAYBOOK), str(playbook), "-e", "postgres_tuning_others=ignore"]
        if extra_vars is not None:
            argv += ["-e", "@%s" % self.write_vars(extra_vars)]
        if check:
            argv.append("--check")
        if diff:
            argv.append("--diff")
        if verbose:
            argv.append("-" + "v" * verbose)
        argv += args or []
        proc = subprocess.run(argv, cwd=REPO, env=self.env(callback), capture_output=True, text=True,
                              timeout=timeout, check=False)
        data = _parse_json(proc.stdout) if callback == "json" else None
        return PlaybookRun(argv, proc.returncode, proc.stdout, proc.stderr, data, _flatten(data))

    def module(self, module: str, params: dict, **kwargs) -> PlaybookRun:
        """One task calling a darevel.postgres module."""
        task = {"name": "darevel.postgres.%s under test" % module, "darevel.postgres.%s" % module: params}
        return self.run(self.write_playbook([task], name=module), **kwargs)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def scratch():
    """Scratch directories; leftover it_* clusters are dropped first, and every it_* cluster at the end."""
    drop_all_it_clusters()
    busy = (set(SITE_PORTS) | set(TEST_PORTS)) & listening_ports()
    if busy:
        pytest.exit("ports %s are held by something else; free them before running the integration tests"
                    % sorted(busy), returncode=3)
    root = Path(tempfile.mkdtemp(prefix="darevel-it-"))
    for sub in ("credentials", "env", "reports", "ansible-tmp"):
        (root / sub).mkdir(mode=0o700)
    try:
        yield root
    finally:
        drop_all_it_clusters()
        shutil.rmtree(root, ignore_errors=True)
        leftover = it_clusters()
        assert not leftover, "it_* clusters survived the cleanup: %s" % sorted(leftover)


@pytest.fixture(scope="session")
def ansible(scratch):
    return Ansible(scratch)


@pytest.fixture(autouse=True)
def _production_untouched():
    """Every test: the main cluster and the production ports keep the state they had."""
    def production():
        return {n: (f["port"], f["status"]) for n, f in clusters().items()
                if n == "main" or f["port"] in FORBIDDEN_PORTS}
    before = production()
    yield
    after = production()
    assert after == before, "a non-test cluster changed: %s -> %s" % (before, after)
