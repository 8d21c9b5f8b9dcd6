"""The conftest makes this collection and the venv's collections importable side by side."""

from __future__ import annotations

import importlib
import os

from pathlib import Path

import pytest
import yaml

from unit.conftest import REPO_ROOT

GALAXY = yaml.safe_load((Path(REPO_ROOT) / "galaxy.yml").read_text())


def test_this_collection_comes_from_this_checkout():
    module = importlib.import_module("ansible_collections.darevel.postgres.plugins.module_utils._catalogue")
    assert os.path.realpath(module.__file__).startswith(os.path.realpath(REPO_ROOT) + os.sep)


@pytest.mark.parametrize("name", sorted(GALAXY["dependencies"]))
def test_the_collections_this_one_depends_on_are_importable_from_the_venv(name):
    """galaxy.yml's dependencies come with the pinned `ansible` package into the venv."""
    namespace, collection = name.split(".")
    module = importlib.import_module("ansible_collections.%s.%s" % (namespace, collection))
    assert not os.path.realpath(module.__path__[0]).startswith(
        os.path.realpath(REPO_ROOT) + os.sep + "ansible_collections")


def test_the_controller_side_plugins_load_neither_the_docker_sdk_nor_psycopg2():
    """Filters, lookups, actions and plugin_utils run on the control node in every task that uses
    them: importing the Docker SDK there (about 0.1 s each time a worker loads the plugin) cost
    about a second of the control node's CPU per host in a converge. Only modules need them."""
    import json
    import subprocess
    import sys
    root = Path(REPO_ROOT) / "plugins"
    names = sorted("ansible_collections.darevel.postgres.plugins.%s.%s" % (kind, path.stem)
                   for kind in ("filter", "lookup", "action", "plugin_utils")
                   for path in (root / kind).glob("*.py") if path.name != "__init__.py")
    assert len(names) > 10 and any(name.endswith("plugin_utils._lifecycle") for name in names)
    code = ("import importlib, json, sys\nfor name in %r:\n    importlib.import_module(name)\n"
            "print(json.dumps(sorted(m for m in ('docker', 'psycopg2') if m in sys.modules)))" % names)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False,
                          cwd=REPO_ROOT, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_a_module_run_on_the_native_runtime_does_not_import_the_docker_sdk():
    """Importing the SDK takes 0.1 to 0.15 s on the target, in each module run that loads it. Only
    pg_container (docker alone) loads it when imported; the others load it when they reach an
    engine, and the preflight asks a unix or plain tcp engine with the standard library first."""
    import json
    import subprocess
    import sys
    root = Path(REPO_ROOT) / "plugins" / "modules"
    names = sorted("ansible_collections.darevel.postgres.plugins.modules.%s" % path.stem
                   for path in root.glob("pg_*.py") if path.stem != "pg_container")
    assert len(names) >= 10
    code = ("import importlib, json, sys\nfor name in %r:\n    importlib.import_module(name)\n"
            "from ansible_collections.darevel.postgres.plugins.module_utils import _preflight\n"
            "host = 'unix:///nonexistent/darevel-unit.sock'\n"
            "found = _preflight.other_servers([], docker_host=host, registry_dir='/nonexistent', etc='/nonexistent')\n"
            "answers = _preflight.docker_answers(host)\n"
            "print(json.dumps([answers, sorted(m for m in ('docker',) if m in sys.modules)]))" % names)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False,
                          cwd=REPO_ROOT, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [False, []]
