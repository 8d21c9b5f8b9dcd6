# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built collection works on its own: build the tarball, install it with a fresh virtualenv's
ansible-galaxy, and converge one instance with `ansible-playbook darevel.postgres.site` from a
directory outside the repository (so the repository's ansible.cfg and its symlink play no part).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import psycopg2
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
REPO_BIN = REPO / ".venv" / "bin"
NAME, PORT, DATABASE = "it_build", 25450, "it_build"
PINNED = ("ansible", "ansible-core", "psycopg2-binary")
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())


def pinned_requirements() -> list[str]:
    """The pins of PINNED from requirements.txt, e.g. ['ansible==12.3.0', ...]."""
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line.strip())
        if match:
            pins[match.group(1).lower()] = line.strip()
    missing = [p for p in PINNED if p not in pins]
    assert not missing, "requirements.txt does not pin %s" % missing
    return [pins[p] for p in PINNED]


def clean_env(**extra) -> dict:
    """The environment without anything pointing at the repository or its virtualenv."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ANSIBLE_") and k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(str(REPO)))
    env.update({"ANSIBLE_NOCOLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}, **extra)
    return env


def run(argv, cwd, env, timeout=600) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert proc.returncode == 0, "%s failed (rc=%d)\nstdout:\n%s\nstderr:\n%s" % (
        " ".join(map(str, argv)), proc.returncode, proc.stdout[-5000:], proc.stderr[-5000:])
    return proc


def drop_cluster() -> None:
    subprocess.run(["pg_dropcluster", "--stop", "15", NAME], capture_output=True, check=False)


@pytest.fixture(scope="module")
def work():
    drop_cluster()
    # Not tmp_path_factory: other pytest runs on this machine rotate its base directory away.
    root = Path(tempfile.mkdtemp(prefix="darevel-build-"))
    outside = root / "outside"
    outside.mkdir()
    assert not str(outside).startswith(str(REPO))
    try:
        yield root
    finally:
        drop_cluster()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def tarball(work) -> Path:
    dist = work / "dist"
    run([REPO_BIN / "ansible-galaxy", "collection", "build", "--output-path", dist, REPO], cwd=REPO,
        env=clean_env())
    built = sorted(dist.glob("darevel-postgres-*.tar.gz"))
    assert len(built) == 1, list(dist.iterdir())
    return built[0]


@pytest.fixture(scope="module")
def fresh_venv(work) -> Path:
    venv = work / "venv"
    run(["python3", "-m", "venv", venv], cwd=work, env=clean_env())
    started = time.monotonic()
    run([venv / "bin" / "pip", "install", "--quiet"] + pinned_requirements(), cwd=work, env=clean_env())
    elapsed = time.monotonic() - started
    print("\npip install %s into a fresh venv took %.1fs" % (" ".join(pinned_requirements()), elapsed))
    (work / "pip-install-seconds.txt").write_text("%.1f\n" % elapsed)
    return venv


@pytest.fixture(scope="module")
def installed(work, tarball, fresh_venv) -> Path:
    collections = work / "collections"
    # --offline: nothing is fetched from a Galaxy server. The dependencies in galaxy.yml are
    # satisfied by the collections that the `ansible` package put into the fresh venv's
    # site-packages, which ansible-galaxy sees.
    proc = run([fresh_venv / "bin" / "ansible-galaxy", "collection", "install", "--offline",
                "-p", collections, tarball], cwd=work / "outside", env=clean_env())
    print(proc.stdout)
    assert re.search(r"darevel\.postgres:\S+ was installed successfully", proc.stdout), proc.stdout
    for dependency in sorted(GALAXY["dependencies"]):
        assert re.search(r"'%s:\S+' is already installed" % re.escape(dependency), proc.stdout), proc.stdout
    return collections


def test_tarball_holds_the_collection_and_not_the_workspace(tarball):
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
        licence = tar.extractfile("LICENSE").read().decode() if "LICENSE" in names else ""
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    for wanted in ("MANIFEST.json", "LICENSE", "plugins/modules/pg_instance.py", "roles/instance/tasks/main.yml",
                   "playbooks/site.yml"):
        assert wanted in names, wanted
    for unwanted in (".venv", ".git", "ansible_collections", "reports", ".cache"):
        assert not any(n == unwanted or n.startswith(unwanted + "/") for n in names), unwanted
    # The licence galaxy.yml declares, in full, and the metadata that Galaxy shows.
    assert licence == (REPO / "LICENSE").read_text() and "Version 3, 29 June 2007" in licence
    info = manifest["collection_info"]
    assert info["license"] == ["GPL-3.0-or-later"] == GALAXY["license"]
    assert info["dependencies"] == GALAXY["dependencies"]


def test_installed_collection_converges_from_outside_the_repo(work, installed, fresh_venv):
    target = installed / "ansible_collections" / "darevel" / "postgres"
    assert (target / "MANIFEST.json").is_file()
    assert not (target / ".venv").exists()
    python = fresh_venv / "bin" / "python"
    inventory = work / "inventory.ini"
    inventory.write_text("[postgres]\nlocalhost ansible_connection=local ansible_python_interpreter=%s\n"
                         % python)
    extra = work / "vars.yml"
    extra.write_text(yaml.safe_dump({
        "postgres_instances": [{"name": NAME, "port": PORT, "database": DATABASE}],
        "postgres_runtime": "native", "postgres_credentials_dir": str(work / "credentials"),
        "postgres_env_dir": str(work / "env"),
        "postgres_reports_dir": str(work / "reports"),
    }))
    outside = work / "outside"
    assert not (outside / "ansible.cfg").exists()
    proc = run([fresh_venv / "bin" / "ansible-playbook", "-i", inventory, "-e", "@%s" % extra,
                "-v", "darevel.postgres.site"], cwd=outside,
               env=clean_env(ANSIBLE_COLLECTIONS_PATH=str(installed)))
    recap = re.search(r"localhost\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", proc.stdout)
    assert recap and int(recap.group(1)) > 0, proc.stdout[-3000:]
    # -v names the config file: not the repository's; and nothing ran from the repository.
    assert "No config file found" in proc.stdout, proc.stdout[:2000]
    assert str(REPO) not in proc.stdout + proc.stderr

    password = (work / "credentials" / "localhost" / ("%s.owner.password" % NAME)).read_text().strip()
    conn = psycopg2.connect(host="127.0.0.1", port=PORT, user="%s_owner" % DATABASE, password=password,
                            dbname=DATABASE, connect_timeout=10)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_user, current_database()")
            assert cur.fetchone() == ("%s_owner" % DATABASE, DATABASE)
    finally:
        conn.close()
    assert (work / "reports" / "localhost" / "status.json").is_file()
