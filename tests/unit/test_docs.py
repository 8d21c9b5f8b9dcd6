"""The documentation stays in step with the code: pages written by scripts/gen-docs.py are current,
and the playbooks and make targets the docs give exist."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference"
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if not p.name.startswith("_"))
LOOKUPS = sorted(p.stem for p in (ROOT / "plugins" / "lookup").glob("*.py") if not p.name.startswith("_"))
ROLES = sorted(p.parent.parent.name for p in (ROOT / "roles").glob("*/meta/argument_specs.yml"))


def test_reference_and_catalogue_are_current():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen-docs.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("kind, name", [("modules", m) for m in MODULES] + [("lookup", p) for p in LOOKUPS]
                         + [("roles", r) for r in ROLES])
def test_every_module_plugin_and_role_has_a_linked_page(kind, name):
    page = REFERENCE / kind / (name + ".md")
    assert page.is_file(), "%s has no page; run .venv/bin/python scripts/gen-docs.py" % name
    assert "(%s/%s.md)" % (kind, name) in (REFERENCE / "README.md").read_text()


@pytest.mark.parametrize("name", MODULES)
def test_module_page_names_its_module(name):
    assert (REFERENCE / "modules" / (name + ".md")).read_text().startswith(
        "# Module `darevel.postgres.%s`\n" % name)


def test_every_role_variable_is_documented():
    for role in ROLES:
        defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}
        page = (REFERENCE / "roles" / (role + ".md")).read_text()
        assert [v for v in defaults if "| `%s` |" % v not in page] == [], role


# --- the commands the documentation gives exist ---------------------------------------------------

DOCS = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
MAKE_TARGETS = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))


def commands(path: Path) -> list:
    """Code of one Markdown file: inline code spans and the lines of fenced blocks."""
    text = path.read_text()
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", text, re.M | re.S)
    outside = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.M | re.S)
    return fenced + re.findall(r"`([^`\n]+)`", outside)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_documented_playbooks_exist(path):
    named = {m for code in commands(path) for m in re.findall(r"playbooks/([a-z_]+)\.yml", code)}
    assert sorted(n for n in named if not (ROOT / "playbooks" / (n + ".yml")).is_file()) == []


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_documented_make_targets_exist(path):
    named = {m for code in commands(path) for m in re.findall(r"(?:^|[\s;&|(])make ([a-z][a-z-]*)", code, re.M)}
    assert sorted(named - MAKE_TARGETS) == []
