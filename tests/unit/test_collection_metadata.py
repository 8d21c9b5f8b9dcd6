# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What galaxy.yml and meta/runtime.yml declare is what the collection holds, uses and is tested on:
the licence text, the collection dependencies, the ansible-core versions and version_added."""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml
from ansible.module_utils.compat.version import LooseVersion
from ansible.parsing.plugin_docs import read_docstring

ROOT = Path(__file__).resolve().parents[2]
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
RUNTIME = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
OWN = "%s.%s" % (GALAXY["namespace"], GALAXY["name"])
# The content that runs for a user of the installed collection (not tests/, molecule/, docs/).
CONTENT = ("roles", "playbooks", "plugins")
SUFFIXES = (".yml", ".yaml", ".j2", ".py")
# ansible-core's own names, and Python imports of ansible-core that look like collection names.
CORE = ("ansible.builtin", "ansible.legacy")
IMPORT = re.compile(r"^\s*(?:from|import)\s+ansible(?:\.|\s)")
FQCN = re.compile(r"(?<![\w.])([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.[a-z_][a-z0-9_]*")
COLLECTION_IMPORT = re.compile(r"ansible_collections\.([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)")


def content_files() -> list:
    return sorted(p for top in CONTENT for p in (ROOT / top).rglob("*")
                  if p.is_file() and p.suffix in SUFFIXES and "__pycache__" not in p.parts)


def installed_collections() -> set:
    """namespace.name of every collection the venv's ansible package holds (what could be used)."""
    import ansible_collections  # pylint: disable=import-outside-toplevel

    names = set()
    for base in ansible_collections.__path__:
        for manifest in Path(base).glob("*/*/MANIFEST.json"):
            names.add("%s.%s" % (manifest.parent.parent.name, manifest.parent.name))
    return names


def collections_used() -> dict:
    """{collection: [file, ...]} for every other collection the content names by FQCN."""
    known = installed_collections() | set(GALAXY["dependencies"])
    used: dict = {}
    for path in content_files():
        for line in path.read_text(encoding="utf-8").splitlines():
            if path.suffix == ".py" and IMPORT.match(line):
                continue
            for namespace, name in FQCN.findall(line) + COLLECTION_IMPORT.findall(line):
                collection = "%s.%s" % (namespace, name)
                if collection in known and collection != OWN and collection not in CORE:
                    used.setdefault(collection, set()).add(str(path.relative_to(ROOT)))
    return {k: sorted(v) for k, v in used.items()}


def test_the_licence_galaxy_yml_declares_is_the_licence_file():
    assert GALAXY["license"] == ["GPL-3.0-or-later"]
    text = (ROOT / "LICENSE").read_text()
    assert "GNU GENERAL PUBLIC LICENSE" in text and "Version 3, 29 June 2007" in text
    assert 'Public License "or any later version" applies to it' in text
    assert "LICENSE" not in GALAXY.get("build_ignore", [])


def test_dependencies_are_exactly_the_collections_the_content_uses():
    used = collections_used()
    assert used, "the FQCN scan found nothing: it no longer sees the content"
    assert sorted(GALAXY["dependencies"]) == sorted(used), (
        "galaxy.yml declares %s; the roles, playbooks and plugins use %s"
        % (sorted(GALAXY["dependencies"]), used))


def test_the_content_names_other_collections_only_by_fqcn():
    """The scan above sees every use only when no play or role imports short names."""
    offenders = []
    for path in content_files():
        if path.suffix in (".yml", ".yaml") and re.search(r"^\s*collections:", path.read_text(), re.M):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_scan_sees_a_collection_used_in_a_template_and_a_plugin():
    assert FQCN.findall("{{ x | community.general.to_ini }}") == [("community", "general")]
    assert COLLECTION_IMPORT.findall("from ansible_collections.community.crypto.plugins.module_utils import x") \
        == [("community", "crypto")]
    assert FQCN.findall("pg_backup.md ansible.builtin.copy") == [("ansible", "builtin")]


def test_execution_environment_installs_exactly_the_dependencies():
    ee = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    collections = {c["name"]: c.get("version") for c in ee["dependencies"]["galaxy"]["collections"]}
    assert collections == GALAXY["dependencies"]


def test_requires_ansible_is_the_tested_ansible_core():
    """CI runs the ansible-core that requirements.txt pins, nothing older: the declared minimum is
    its minor release."""
    pin = re.search(r"^ansible-core==(\d+)\.(\d+)\.\d+", (ROOT / "requirements.txt").read_text(), re.M)
    assert pin
    assert RUNTIME["requires_ansible"] == ">=%s.%s.0" % pin.groups()


def documented_version_added() -> list:
    """(where, version_added) of every plugin and its options, modules, filters and lookups."""
    found = []

    def walk(where, node):
        if isinstance(node, dict):
            if "version_added" in node and node["version_added"] != "historical":
                found.append((where, str(node["version_added"])))
            for key, value in node.items():
                walk("%s.%s" % (where, key), value)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk("%s[%d]" % (where, index), value)

    for path in sorted((ROOT / "plugins").rglob("*.py")):
        if "module_utils" in path.parts or "doc_fragments" in path.parts or path.name == "__init__.py":
            continue
        if "DOCUMENTATION" in path.read_text():
            docs = read_docstring(str(path))
            walk(str(path.relative_to(ROOT)), {"doc": docs["doc"] or {}, "return": docs["returndocs"] or {}})
    for path in sorted((ROOT / "plugins").rglob("*.yml")):
        walk(str(path.relative_to(ROOT)), yaml.safe_load(path.read_text()) or {})
    for path in sorted((ROOT / "roles").glob("*/meta/argument_specs.yml")):
        walk(str(path.relative_to(ROOT)), yaml.safe_load(path.read_text()) or {})
    return found


def test_no_version_added_after_the_collection_version():
    version = LooseVersion(str(GALAXY["version"]))
    found = documented_version_added()
    assert found, "no version_added found: the scan no longer reads the docs"
    later = ["%s: %s" % item for item in found if LooseVersion(item[1]) > version]
    assert later == [], "galaxy.yml's version is %s" % version


def test_playbooks_give_the_preflight_what_they_need_through_its_overrides_only():
    """A postgres_* variable set on the preflight's include (or on its play) is replaced by an extra
    var of the same name (-e, the highest precedence): each playbook says what it needs in
    postgres_preflight_overrides, which no inventory or command line sets."""
    import glob as _glob
    consumed = {"postgres_instances_enabled", "postgres_check_ports", "postgres_tuning", "postgres_tuning_others",
                "postgres_environment", "postgres_min_free_mb", "postgres_runtime", "postgres_install_packages"}
    found = []
    for path in sorted(_glob.glob(str(ROOT / "playbooks" / "*.yml"))):
        for play in yaml.safe_load(open(path)) or []:
            includes = [t for t in play.get("tasks") or [] if (t.get("ansible.builtin.include_role") or {})
                        .get("name") == "darevel.postgres.preflight"]
            includes += [r for r in play.get("roles") or [] if isinstance(r, dict) and
                         r.get("role", r.get("name")) == "darevel.postgres.preflight"]
            for task in includes:
                found += ["%s: %s on the include" % (os.path.basename(path), key)
                          for key in sorted(set(task.get("vars") or {}) & consumed)]
            if includes:
                found += ["%s: %s on the play" % (os.path.basename(path), key)
                          for key in sorted(set(play.get("vars") or {}) & consumed)]
    assert found == []
