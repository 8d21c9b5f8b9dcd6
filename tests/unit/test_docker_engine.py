"""Every step of the docker runtime talks to the engine the inventory names (postgres_docker_host).

- Docker clients are made in one place, module_utils/_engine.client, from a module's docker_host.
- Every module whose code can reach that factory declares the shared option (docker_argument_spec,
  doc fragment darevel.postgres.docker). Which modules can reach it is worked out from the source:
  a new module, or a new code path of an old one, that gets to the factory without the option fails.
- Every task of the roles, playbooks and Molecule scenarios that calls such a module passes
  postgres_docker_host to it, and every docker command line of the roles and playbooks names it.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from unit.conftest import REPO_ROOT

from ansible_collections.darevel.postgres.plugins.module_utils import _engine

REPO = Path(REPO_ROOT)
PLUGINS = REPO / "plugins"
UTILS_PREFIX = "ansible_collections.darevel.postgres.plugins.module_utils"
FACTORY = ("_engine", "client")
# pg_preflight takes the engine with the docker runtime's other settings, as docker.host.
NESTED = {"pg_preflight": ("docker", "host")}


# --------------------------------------------------------------------------- which code reaches Docker


class Source:
    """One Python file: its top-level functions and classes (a class is one unit), what each refers
    to, and where its imported names come from."""

    def __init__(self, path: Path) -> None:
        self.tree = ast.parse(path.read_text())
        self.units = {node.name: node for node in self.tree.body
                      if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        self.names: dict[str, tuple[str, str]] = {}    # local name -> (module_utils file, name)
        self.modules: dict[str, str] = {}              # local name -> module_utils file
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    local = alias.asname or alias.name
                    if node.module == UTILS_PREFIX:
                        self.modules[local] = alias.name
                    elif node.module.startswith(UTILS_PREFIX + "."):
                        self.names[local] = (node.module[len(UTILS_PREFIX) + 1:], alias.name)

    def refs(self, node) -> set[tuple[str, str]]:
        """(file, name) pairs a unit refers to; the file '' is this one."""
        out = set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                if sub.id in self.names:
                    out.add(self.names[sub.id])
                elif sub.id in self.units:
                    out.add(("", sub.id))
            elif isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and sub.value.id in self.modules:
                out.add((self.modules[sub.value.id], sub.attr))
        return out


def _sources() -> dict[str, Source]:
    """Every module_utils file by its dotted name under module_utils (`_engine`, `_runtime.docker`;
    a package's __init__ by the package's name)."""
    out = {}
    root = PLUGINS / "module_utils"
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts:
            out[".".join(parts)] = Source(path)
    return out


UTILS = _sources()


def resolve(target_file: str, name: str) -> tuple[str, str]:
    """Follow a name that a module_utils file only imports (re-exports) to where it is defined."""
    while target_file in UTILS and name not in UTILS[target_file].units and name in UTILS[target_file].names:
        target_file, name = UTILS[target_file].names[name]
    return target_file, name


def reaches_factory(source: Source, node, here: str, seen: set) -> bool:
    for target_file, name in source.refs(node):
        target_file, name = resolve(target_file or here, name)
        if (target_file, name) == FACTORY:
            return True
        key = (target_file, name)
        if key in seen or target_file not in UTILS:
            continue
        seen.add(key)
        target = UTILS[target_file]
        if name in target.units and reaches_factory(target, target.units[name], target_file, seen):
            return True
    return False


def module_reaches_docker(path: Path) -> bool:
    source = Source(path)
    return reaches_factory(source, source.tree, "", set())


MODULES = sorted(path.stem for path in (PLUGINS / "modules").glob("*.py"))
DOCKER_MODULES = [name for name in MODULES if module_reaches_docker(PLUGINS / "modules" / ("%s.py" % name))]


def _action_runs_docker_module(path: Path) -> bool:
    """An action plugin that runs a module talking to Docker, itself or through the plugin_utils
    file it imports, talks to Docker too."""
    text = path.read_text()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "ansible_collections.darevel.postgres.plugins.plugin_utils."):
            text += (PLUGINS / "plugin_utils" / ("%s.py" % node.module.rsplit(".", 1)[1])).read_text()
    return any("darevel.postgres.%s" % module in text for module in DOCKER_MODULES)


DOCKER_ACTIONS = sorted(path.stem for path in (PLUGINS / "action").glob("*.py") if _action_runs_docker_module(path))


def test_an_action_that_runs_a_docker_module_takes_the_shared_options():
    """pg_lifecycle runs pg_container on the docker runtime: its documentation has the shared engine
    and runtime options, and so does the spec it validates."""
    assert {"pg_lifecycle", "pg_status", "pg_preflight"} <= set(DOCKER_ACTIONS) and "pg_report" not in DOCKER_ACTIONS
    for action in DOCKER_ACTIONS:
        if action in NESTED:
            # The module's own action (its control-node half) passes the module's options through.
            outer, inner = NESTED[action]
            assert documentation(action)["options"][outer]["suboptions"][inner]["type"] == "str", action
            continue
        assert {"darevel.postgres.docker", "darevel.postgres.docker.runtime"} <= set(fragments(action)), action
        doc = documentation(action)["options"]
        assert doc["docker_host"]["type"] == _engine.DOCKER_HOST_SPEC["docker_host"]["type"]
        assert doc["runtime"]["choices"] == _engine.RUNTIME_SPEC["runtime"]["choices"]


def test_the_analysis_finds_the_modules_that_talk_to_docker():
    """A guard for the analysis itself: the container module and the database step are found, a
    module that only writes a report on the control node is not."""
    assert {"pg_container", "pg_database", "pg_backup", "pg_restore", "pg_audit", "pg_instance_info"} <= set(
        DOCKER_MODULES)
    assert "pg_report" not in DOCKER_MODULES


def test_docker_clients_are_made_only_by_the_factory():
    makers = re.compile(r"\b(DockerClient|APIClient|from_env)\s*\(|\bdocker\.client\b")
    found = []
    for path in sorted(PLUGINS.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if makers.search(line) and path.name != "_engine.py":
                found.append("%s:%d: %s" % (path.relative_to(REPO), number, line.strip()))
    assert not found, "make clients with _engine.client(docker_host):\n" + "\n".join(found)


def test_no_call_of_the_factory_drops_the_engine():
    """client() is always given the engine the module was told, never a literal None or nothing."""
    bad = []
    for path in sorted(PLUGINS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "client":
                first = node.args[0] if node.args else None
                if first is None or (isinstance(first, ast.Constant) and not first.value):
                    bad.append("%s:%d" % (path.relative_to(REPO), node.lineno))
    assert not bad, bad


@functools.lru_cache(maxsize=None)
def declared(module: str) -> dict:
    """The module's parameters with their defaults, from a real run of it with an unknown parameter
    (validation fails before the module does anything, and lists every declared parameter)."""
    proc = subprocess.run([sys.executable, "-m", "ansible_collections.darevel.postgres.plugins.modules." + module],
                          input=json.dumps({"ANSIBLE_MODULE_ARGS": {"zz_not_an_option": 1}}), capture_output=True,
                          text=True, timeout=60, check=False, cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    out = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert out.get("failed"), out
    return out["invocation"]["module_args"]


@functools.lru_cache(maxsize=None)
def documentation(module: str) -> dict:
    """The module's documentation as ansible-doc shows it: its own options plus its fragments'."""
    from ansible.plugins.loader import fragment_loader
    from ansible.utils.plugin_docs import get_docstring
    doc = get_docstring(str(PLUGINS / "modules" / ("%s.py" % module)), fragment_loader,
                        collection_name="darevel.postgres")[0]
    assert doc, "%s: no documentation" % module
    return doc


def fragments(module: str) -> list:
    """The doc fragments the module's DOCUMENTATION names."""
    for node in ast.parse((PLUGINS / "modules" / ("%s.py" % module)).read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "DOCUMENTATION":
            return yaml.safe_load(node.value.value).get("extends_documentation_fragment") or []
    return []


@pytest.mark.parametrize("module", DOCKER_MODULES)
def test_every_module_that_reaches_docker_declares_the_shared_engine_option(module):
    doc = documentation(module)
    if module in NESTED:
        parent, child = NESTED[module]
        assert doc["options"][parent]["suboptions"][child]["type"] == "str"
        return
    source = (PLUGINS / "modules" / ("%s.py" % module)).read_text()
    assert "docker_argument_spec(" in source, "%s: build the argument spec with _engine.docker_argument_spec" % module
    assert "docker_host" in declared(module), "%s: no docker_host option" % module
    assert "darevel.postgres.docker" in fragments(module), module
    assert doc["options"]["docker_host"]["type"] == _engine.DOCKER_HOST_SPEC["docker_host"]["type"]


@pytest.mark.parametrize("module", [m for m in DOCKER_MODULES if m not in NESTED])
def test_the_shared_runtime_option_is_the_one_spec(module):
    """Modules that have a runtime option take the shared one (spec and documentation)."""
    params = declared(module)
    if "runtime" not in params:
        return
    assert params["runtime"] == _engine.RUNTIME_SPEC["runtime"]["default"]
    assert "darevel.postgres.docker.runtime" in fragments(module)
    assert documentation(module)["options"]["runtime"]["choices"] == _engine.RUNTIME_SPEC["runtime"]["choices"]


def test_the_spec_helper_adds_the_option_and_leaves_the_given_spec_alone():
    given = {"name": {"type": "str"}}
    spec = _engine.docker_argument_spec(given, runtime=True)
    assert spec == dict(given, **_engine.DOCKER_HOST_SPEC, **_engine.RUNTIME_SPEC)
    assert given == {"name": {"type": "str"}}
    spec["docker_host"]["type"] = "raw"
    assert _engine.DOCKER_HOST_SPEC["docker_host"]["type"] == "str"


def test_without_an_address_the_factory_names_the_engine_it_tried(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/darevel-unit.sock")
    assert _engine.describe(None) == "unix:///nonexistent/darevel-unit.sock (DOCKER_HOST)"
    assert _engine.describe("tcp://10.0.0.1:2375") == "tcp://10.0.0.1:2375"
    if _engine.HAS_DOCKER:
        with pytest.raises(_engine.DarevelError, match=r"at unix:///nonexistent/darevel-unit.sock \(DOCKER_HOST\)"):
            _engine.client(None, timeout=2)
        with pytest.raises(_engine.DarevelError, match=r"at unix:///nonexistent/other.sock: "):
            _engine.client("unix:///nonexistent/other.sock", timeout=2)


def test_the_docker_modules_take_the_engine_factory_s_sdk_flag():
    from ansible_collections.darevel.postgres.plugins.module_utils import _docker
    from ansible_collections.darevel.postgres.plugins.module_utils._runtime import docker as runtime_docker
    # The SDK imports here, so each module's flag is _engine's (a failed import would set its own False).
    assert _engine.HAS_DOCKER is True and _docker.HAS_DOCKER is True and runtime_docker.HAS_DOCKER is True
    assert _docker.client is _engine.client and runtime_docker.client is _engine.client


# --------------------------------------------------------------------------- the roles and playbooks


def yaml_files() -> list[Path]:
    return sorted(list((REPO / "roles").glob("*/tasks/*.yml")) + list((REPO / "playbooks").glob("*.yml"))
                  + list((REPO / "molecule").glob("*/*.yml")) + list((REPO / "molecule").glob("*/tasks/*.yml")))


def walk(node, where: str):
    """Every mapping in a YAML document, with a label of where it is."""
    if isinstance(node, dict):
        yield node, where
        for key, value in node.items():
            yield from walk(value, "%s/%s" % (where, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            label = value.get("name", index) if isinstance(value, dict) else index
            yield from walk(value, "%s[%s]" % (where, label))


def module_calls() -> list[tuple[str, str, dict]]:
    calls = []
    for path in yaml_files():
        for mapping, where in walk(yaml.safe_load(path.read_text()), str(path.relative_to(REPO))):
            for module in DOCKER_MODULES + DOCKER_ACTIONS:
                if "darevel.postgres.%s" % module in mapping:
                    calls.append((module, where, mapping["darevel.postgres.%s" % module] or {}))
    return calls


def test_the_scan_sees_the_tasks():
    assert {"pg_database", "pg_container", "pg_backup", "pg_restore", "pg_audit", "pg_instance_info",
            "pg_preflight", "pg_lifecycle"} <= {module for module, _where, _args in module_calls()}


def test_every_task_passes_the_inventorys_engine():
    missing = []
    for module, where, args in module_calls():
        value = args
        for key in NESTED.get(module, ("docker_host",)):
            value = value.get(key, {}) if isinstance(value, dict) else {}
        if "postgres_docker_host" not in str(value):
            missing.append("%s: %s without docker_host: \"{{ postgres_docker_host | default('', true) or omit }}\""
                           % (where, module))
    assert not missing, "\n".join(missing)


DOCKER_CLI = re.compile(r"\[\s*['\"]docker['\"]|^\s*docker\s|[;&|]\s*docker\s")


def test_every_docker_command_line_names_the_engine():
    """A docker CLI call (in an argv, a command or a variable that builds one) gets -H or DOCKER_HOST."""
    missing = []
    for path in sorted(list((REPO / "roles").glob("*/tasks/*.yml")) + list((REPO / "playbooks").glob("*.yml"))):
        for mapping, where in walk(yaml.safe_load(path.read_text()), str(path.relative_to(REPO))):
            environment = str(mapping.get("environment", ""))
            for key, value in mapping.items():
                text = " ".join(map(str, value)) if isinstance(value, list) and key == "argv" else value
                if key != "name" and isinstance(text, str) and DOCKER_CLI.search(text) and \
                        "postgres_docker_host" not in text and "postgres_docker_host" not in environment:
                    missing.append("%s/%s" % (where, key))
    assert not missing, "docker without the engine (-H or environment DOCKER_HOST):\n" + "\n".join(missing)
