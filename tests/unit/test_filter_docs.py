# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every filter the collection publishes is documented (what `ansible-doc -t filter` shows), the
content calls no filter of this collection that is not one of them, and the roles' own helpers are
reached through the darevel.postgres.internal lookup."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible.errors import AnsibleLookupError

from ansible_collections.darevel.postgres.plugins.lookup import internal

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_DOC = str(Path(sys.executable).parent / "ansible-doc")
ENV = dict({k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")},
           ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
# Files whose Jinja calls this collection's filters: the collection's own content and Molecule's.
CONTENT = [p for top in ("roles", "playbooks", "molecule") for p in sorted((ROOT / top).rglob("*"))
           if p.is_file() and p.suffix in (".yml", ".yaml", ".j2")]
FILTER_USE = re.compile(r"\|\s*darevel\.postgres\.([a-z_][a-z0-9_]*)")


def ansible_doc(*args) -> str:
    proc = subprocess.run([ANSIBLE_DOC, *args], cwd=ROOT, env=ENV, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0 and not proc.stderr.strip(), "ansible-doc %s: rc=%d\n%s" % (
        " ".join(args), proc.returncode, proc.stderr)
    return proc.stdout


@pytest.fixture(scope="module")
def listed() -> dict:
    found = json.loads(ansible_doc("-t", "filter", "-l", "--json", "darevel.postgres"))
    assert found, "ansible-doc lists no filter of darevel.postgres"
    return found


def test_every_listed_filter_is_documented(listed):
    undocumented = sorted(name for name, summary in listed.items() if summary == "UNDOCUMENTED")
    assert undocumented == [], "document them in plugins/filter/<name>.yml, or make them helpers of " \
                               "the darevel.postgres.internal lookup"


def test_ansible_doc_shows_each_filter_with_examples_and_return(listed):
    docs = json.loads(ansible_doc("-t", "filter", "--json", *sorted(listed)))
    assert sorted(docs) == sorted(listed)
    for name, entry in docs.items():
        doc = entry["doc"]
        assert doc["name"] == name.rsplit(".", 1)[1], name
        assert doc["short_description"] and doc["description"] and doc["options"].get("_input"), name
        assert entry["examples"] and name in entry["examples"], name
        assert entry["return"].get("_value", {}).get("description"), name
        yaml.safe_load(entry["examples"])  # the examples are valid YAML


def test_the_content_calls_only_documented_filters_of_this_collection(listed):
    """A filter taken out of the public namespace leaves no caller behind."""
    missing = sorted({"%s: %s" % (p.relative_to(ROOT), name) for p in CONTENT
                      for name in FILTER_USE.findall(p.read_text(encoding="utf-8"))
                      if "darevel.postgres.%s" % name not in listed})
    assert missing == []


def test_no_internal_helper_is_a_filter(listed):
    assert sorted(set(internal.HELPERS) & {n.rsplit(".", 1)[1] for n in listed}) == []


def test_every_helper_of_the_internal_lookup_resolves_and_is_listed_in_its_docs():
    doc = yaml.safe_load(internal.DOCUMENTATION)
    text = " ".join(doc["description"])
    for name, module in internal.HELPERS.items():
        assert callable(internal.helper(name)), "%s is not a function of %s" % (name, module)
        assert "V(%s)" % name in text, name
    assert sorted(re.findall(r"V\((\w+)\)", text)) == sorted(internal.HELPERS)


def test_the_internal_lookup_returns_the_helpers_result_as_one_element():
    lookup = internal.LookupModule()
    plan = [{"name": "chat", "version": 15, "port": 5434, "settings": {"work_mem": "4MB"}}]
    assert lookup.run(["instance_items", plan], settings=False) == [
        [{"name": "chat", "version": 15, "port": 5434}]]
    assert lookup.run(["backup_failed", []]) == [[]]


def test_the_internal_lookup_refuses_an_unknown_helper_naming_the_known_ones():
    with pytest.raises(AnsibleLookupError, match="must name one of .*instance_items.*got 'status_table'"):
        internal.LookupModule().run(["status_table", []])


def test_the_internal_lookup_imports_only_the_module_of_the_helper_called():
    # Ansible loads the lookup in each worker (one per task and host): importing every filter module
    # there cost 45 ms per task and host. In a fresh interpreter per helper module, a call imports
    # what that module imports on its own, and nothing else.
    code = (
        "import importlib, json, sys\n"
        "from ansible_collections.darevel.postgres.plugins.lookup import internal\n"
        "loaded = lambda: sorted(m[len(internal.PACKAGE):] for m in sys.modules if m.startswith(internal.PACKAGE))\n"
        "before = loaded()\n"
        "internal.helper(sys.argv[1]) if sys.argv[2] == 'lookup' else importlib.import_module(internal.PACKAGE + sys.argv[1])\n"
        "print(json.dumps([before, loaded()]))\n")
    repo = Path(__file__).resolve().parents[2]

    def imported(*args):
        out = subprocess.run([sys.executable, "-c", code, *args], cwd=str(repo), env=dict(os.environ, PYTHONPATH=str(repo)),
                             capture_output=True, text=True, check=True).stdout
        return json.loads(out)

    helpers = {}
    for name, module in sorted(internal.HELPERS.items()):
        helpers.setdefault(module, name)
    for module, name in helpers.items():
        before, after = imported(name, "lookup")
        assert before == ["lookup", "lookup.internal"]
        alone = set(imported(module, "import")[1])
        assert set(after) == alone, (name, sorted(set(after) ^ alone))
    assert "filter.security" not in imported("instance_items", "lookup")[1]


def test_the_status_role_names_no_collection_filter():
    # Ansible resolves a collection filter by importing every filter file of the collection, in
    # each task's worker: the converge's roles reach the helpers through the lookup instead.
    for role in ("preflight", "instance", "database", "security", "status"):
        for path in (Path(__file__).resolve().parents[2] / "roles" / role / "tasks").glob("*.yml"):
            assert not re.search(r"\|\s*darevel\.postgres\.", path.read_text(encoding="utf-8")), path
