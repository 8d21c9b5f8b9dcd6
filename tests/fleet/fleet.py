# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A simulated fleet: Debian systemd containers as hosts, reached over the docker connection.

Used by the fleet tests (tests/fleet/) and the fleet benchmark (bench/fleet/run.sh). Every
container is named darevel-fleet-*; each boots systemd as PID 1, unprivileged (the flags of
.config/molecule/config.yml), with no network (the docker connection needs none, and moving an
instance goes through the control node), and runs the native runtime inside.

The hosts start from darevel-test/fleet:bookworm-<hash>: the Molecule image with the PostgreSQL
server packages installed by the collection's own package tasks (tests/fleet/image.yml), built
once and reused while its recipe is unchanged.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterable, Optional

import yaml

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"
PLAYBOOK = VENV_BIN / "ansible-playbook"
PREFIX = "darevel-fleet-"
BASE_IMAGE = os.environ.get("DAREVEL_FLEET_BASE_IMAGE", "darevel-test/debian:bookworm")
IMAGE_REPO = "darevel-test/fleet"
VERSION = 15
IMAGE_RECIPE = [REPO / "tests" / "fleet" / "image.yml", REPO / "roles" / "instance" / "tasks" / "packages.yml"]
# systemd as PID 1 without --privileged (see .config/molecule/config.yml).
SYSTEMD_FLAGS = ["--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--tmpfs", "/run",
                 "--tmpfs", "/run/lock", "--stop-signal", "SIGRTMIN+3"]

# The six seed instances; the fleet hosts run subsets of them.
INSTANCES = ["infra", "chat", "slides", "suite", "mail", "sheet"]


def docker(*args: str, check: bool = True, timeout: int = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError("docker %s failed (rc %d): %s" % (" ".join(args), proc.returncode, proc.stderr.strip()))
    return proc


def ansible_env(scratch: Path) -> dict:
    env = dict(os.environ)
    env.update({
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_LOCAL_TEMP": str(scratch / "ansible-tmp"),
        "ANSIBLE_HOST_KEY_CHECKING": "0",
        "PATH": "%s:%s" % (VENV_BIN, env.get("PATH", "")),
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)
    env.pop("ANSIBLE_STDOUT_CALLBACK", None)
    return env


# --------------------------------------------------------------------------- image


def image_tag() -> str:
    base_id = docker("image", "inspect", "-f", "{{.Id}}", BASE_IMAGE).stdout.strip()
    digest = hashlib.sha256()
    for path in IMAGE_RECIPE:
        digest.update(path.read_bytes())
    digest.update(("base=%s\nversion=%d\n" % (base_id, VERSION)).encode())
    return "%s:bookworm-%s" % (IMAGE_REPO, digest.hexdigest()[:12])


def ensure_image(log=print) -> str:
    """The fleet image's tag, built first when missing (about a minute: apt inside a container)."""
    tag = image_tag()
    if docker("image", "inspect", tag, check=False).returncode == 0:
        return tag
    name = PREFIX + "image-build"
    docker("rm", "-f", name, check=False)
    scratch = Path(tempfile.mkdtemp(prefix="darevel-fleet-image-"))
    try:
        log("fleet image: building %s from %s" % (tag, BASE_IMAGE))
        # This container alone has the default network: apt needs the image's package sources.
        docker("run", "-d", "--name", name, "--hostname", name, *SYSTEMD_FLAGS, BASE_IMAGE, "/lib/systemd/systemd")
        wait_booted([name])
        proc = subprocess.run(
            [str(PLAYBOOK), "-i", name + ",", "-c", "community.docker.docker",
             "-e", "ansible_python_interpreter=/usr/bin/python3", "-e", "fleet_postgres_version=%d" % VERSION,
             str(REPO / "tests" / "fleet" / "image.yml")],
            cwd=REPO, env=ansible_env(scratch), capture_output=True, text=True, timeout=900, check=False)
        if proc.returncode != 0:
            raise RuntimeError("fleet image: package install failed:\n%s\n%s" % (proc.stdout[-4000:], proc.stderr[-2000:]))
        docker("exec", name, "sh", "-c", "apt-get clean && rm -rf /var/lib/apt/lists/*")
        docker("commit", "-c", 'CMD ["/lib/systemd/systemd"]', name, tag)
        # Earlier recipes' images are of no use any more (kept if a container still uses one).
        for ref in docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", IMAGE_REPO).stdout.split():
            if ref != tag:
                docker("rmi", ref, check=False)
        return tag
    finally:
        docker("rm", "-f", name, check=False)
        subprocess.run(["rm", "-rf", str(scratch)], check=False)


# --------------------------------------------------------------------------- hosts


def fleet_containers() -> list[str]:
    out = docker("ps", "-a", "--filter", "name=^" + PREFIX, "--format", "{{.Names}}").stdout
    return sorted(n for n in out.split() if n.startswith(PREFIX))


def remove_all() -> None:
    """Remove every darevel-fleet-* container (and with it its data: nothing is kept)."""
    names = fleet_containers()
    if names:
        docker("rm", "-f", "-v", *names, check=False, timeout=120)


def wait_booted(names: Iterable[str], timeout: float = 120) -> None:
    """Until systemd in each container has finished booting (running, or degraded)."""
    pending = list(names)
    deadline = time.monotonic() + timeout
    while pending:
        still = []
        for name in pending:
            proc = docker("exec", name, "systemctl", "is-system-running", check=False)
            if proc.stdout.strip() not in ("running", "degraded"):
                still.append(name)
        pending = still
        if pending:
            if time.monotonic() > deadline:
                raise RuntimeError("systemd did not finish booting in %s" % ", ".join(pending))
            time.sleep(0.5)


def start_hosts(names: list[str], image: str, network: str = "none") -> None:
    """Boot the hosts; `network` "bridge" gives one the image's package sources (apt)."""
    for name in names:
        assert name.startswith(PREFIX), name
        # Each host's data directories on a file system of its own (memory-backed), as each server
        # has its own disk: on the container's copy-on-write layer, or on one disk shared by every
        # simulated host, initdb's file creation costs several times the CPU (ext4 inode allocation
        # of the shared disk, measured with perf) and one host's slows the others'.
        docker("run", "-d", "--name", name, "--hostname", name, "--network", network, *SYSTEMD_FLAGS,
               "--tmpfs", "/var/lib/postgresql:rw,mode=0755,size=1g", image, "/lib/systemd/systemd")
    wait_booted(names)


def cpu_seconds(names: Iterable[str]) -> Optional[float]:
    """CPU time the containers have used so far (cgroup v1 cpuacct or v2 cpu.stat); None when
    the engine's cgroups are not where this looks."""
    total = 0.0
    for name in names:
        cid = docker("inspect", "-f", "{{.Id}}", name).stdout.strip()
        for path, scale in ((Path("/sys/fs/cgroup/cpuacct/docker") / cid / "cpuacct.usage", 1e-9),
                            (Path("/sys/fs/cgroup/system.slice") / ("docker-%s.scope" % cid) / "cpu.stat", 1e-6),
                            (Path("/sys/fs/cgroup/docker") / cid / "cpu.stat", 1e-6)):
            if path.is_file():
                text = path.read_text()
                value = text.split("usage_usec", 1)[1].split()[0] if "usage_usec" in text else text.strip()
                total += int(value) * scale
                break
        else:
            return None
    return total


def placement(count: int, per_host: int = 2) -> dict[str, list[str]]:
    """darevel-fleet-1..count, each with `per_host` of the six instances, round robin."""
    hosts = {}
    for index in range(count):
        hosts["%s%d" % (PREFIX, index + 1)] = [INSTANCES[(index * per_host + k) % len(INSTANCES)]
                                               for k in range(per_host)]
    return hosts


def write_inventory(directory: Path, hosts: dict[str, list[str]], extra: Optional[dict] = None) -> Path:
    """An inventory of the fleet: the postgres group, each host's instances, scratch dirs."""
    directory.mkdir(parents=True, exist_ok=True)
    group_vars = {
        "ansible_connection": "community.docker.docker",
        "ansible_python_interpreter": "/usr/bin/python3",
        "postgres_runtime": "native",
        "postgres_version": VERSION,
        # The containers see the machine's memory and CPUs; plan each host for a small server.
        "postgres_tuning_memory_mb": 2048,
        "postgres_tuning_cpus": 1,
        "postgres_min_free_mb": 0,
        "postgres_credentials_dir": str(directory / "credentials"),
        "postgres_reports_dir": str(directory / "reports"),
        "postgres_backup_fetch_dir": str(directory / "backups"),
    }
    group_vars.update(extra or {})
    inventory = {"postgres": {"hosts": {name: {"postgres_instances_enabled": list(apps)}
                                        for name, apps in hosts.items()},
                              "vars": group_vars}}
    path = directory / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


def psql(host: str, port: int, sql: str, dbname: str = "postgres") -> str:
    """SQL as postgres over the host's Unix socket, inside the container; unaligned output."""
    proc = docker("exec", "-u", "postgres", host, "psql", "-X", "-p", str(port), "-d", dbname,
                  "-v", "ON_ERROR_STOP=1", "-Atc", sql, check=False, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError("psql on %s:%d failed: %s" % (host, port, proc.stderr.strip()))
    return proc.stdout.strip()


def run_playbook(inventory: Path, playbook: str, *args: str, scratch: Path, timeout: int = 900,
                 on_line=None) -> subprocess.CompletedProcess:
    """ansible-playbook from the repository root, the default callback; on_line sees each line."""
    argv = [str(PLAYBOOK), "-i", str(inventory), str(REPO / "playbooks" / playbook), *args]
    proc = subprocess.Popen(argv, cwd=REPO, env=ansible_env(scratch), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if on_line is not None:
            on_line(line)
        if time.monotonic() > deadline:
            proc.kill()
            break
    rc = proc.wait()
    return subprocess.CompletedProcess(argv, rc, "".join(lines), "")


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP as {host: {ok, changed, unreachable, failed, ...}}."""
    stats = {}
    in_recap = False
    for line in output.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
            stats = {}
            continue
        if in_recap and ":" in line and "=" in line:
            host, rest = line.split(":", 1)
            counts = {}
            for field in rest.split():
                key, value = (field.split("=", 1) + [""])[:2]
                if value.isdigit():
                    counts[key] = int(value)
            stats[host.strip()] = counts
    return stats
