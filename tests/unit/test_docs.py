"""The documentation stays in step with the code: pages written by scripts/gen-docs.py are current,
the playbooks and make targets the docs give exist, and the links between the pages resolve."""

import os
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


# --- the links between the pages resolve ----------------------------------------------------------

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCED = re.compile(r"^```.*?^```", re.M | re.S)


def prose(path: Path) -> str:
    """A Markdown file without its fenced blocks and inline code spans (where no link is one)."""
    return re.sub(r"`[^`\n]*`", "", FENCED.sub("", path.read_text()))


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors(path: Path) -> set:
    """Every anchor of a Markdown file: its headings' (repeated ones numbered) and its <a id>s."""
    found, seen = set(), {}
    text = FENCED.sub("", path.read_text())
    for heading in re.findall(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", text, re.M):
        base = slug(heading)
        found.add(base if base not in seen else "%s-%d" % (base, seen[base]))
        seen[base] = seen.get(base, 0) + 1
    return found | set(re.findall(r"<a\s+(?:id|name)=\"([^\"]+)\"", text))


def broken_links(path: Path) -> list:
    broken = []
    for target in LINK.findall(prose(path)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...: not checked here
            continue
        name, _hash, anchor = target.partition("#")
        dest = (path.parent / name).resolve() if name else path
        if not dest.exists():
            broken.append("%s (no such file)" % target)
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append("%s (no such heading in %s)" % (target, os.path.relpath(dest, ROOT)))
    return broken


def test_slug_is_githubs():
    assert slug("AWX / Ansible Automation Platform") == "awx--ansible-automation-platform"
    assert slug("Tuning (bench/tuning)") == "tuning-benchtuning"
    assert slug("Placement: which host runs which instance") == "placement-which-host-runs-which-instance"
    assert slug("The `docker` runtime's pull_tests") == "the-docker-runtimes-pull_tests"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(path):
    """Every relative link of the README and of the pages under docs/ names a file that exists and,
    with a #fragment into a Markdown file, one of that file's headings."""
    assert broken_links(path) == []


def test_what_is_inside_names_every_module_plugin_role_playbook_and_filter():
    """docs/architecture.md's "What is inside" lists all of the collection's content."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("\n## What is inside\n", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([a-z_]+)`", section))
    content = {
        "modules": MODULES, "lookups": LOOKUPS,
        "action plugins": sorted(p.stem for p in (ROOT / "plugins" / "action").glob("*.py") if not p.name.startswith("_")),
        "roles": sorted(p.name for p in (ROOT / "roles").iterdir() if p.is_dir()),
        "playbooks": sorted(p.stem for p in (ROOT / "playbooks").glob("*.yml")),
        "public filters": sorted(p.stem for p in (ROOT / "plugins" / "filter").glob("*.yml")),
    }
    assert {kind: [n for n in names if n not in named] for kind, names in content.items()} == {
        kind: [] for kind in content}
