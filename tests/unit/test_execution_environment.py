# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""execution-environment.yml (ansible-builder schema 3) stays in step with galaxy.yml and the pins."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
EE = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())


def test_schema_three_with_a_base_image_and_the_pinned_core():
    assert EE["version"] == 3
    assert EE["images"]["base_image"]["name"]
    pins = dict(line.split("==", 1) for line in (ROOT / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    assert EE["dependencies"]["ansible_core"]["package_pip"] == "ansible-core==" + pins["ansible-core"]


def test_every_collection_dependency_of_galaxy_yml_with_the_same_range():
    collections = {c["name"]: c.get("version") for c in EE["dependencies"]["galaxy"]["collections"]}
    for name, version in GALAXY["dependencies"].items():
        assert collections.get(name) == version, "%s: %r in execution-environment.yml, %r in galaxy.yml" % (
            name, collections.get(name), version)


def test_the_collection_itself_is_installed_from_its_built_archive():
    archive = "%s-%s-*.tar.gz" % (GALAXY["namespace"], GALAXY["name"])
    sources = [f["src"] for f in EE["additional_build_files"]]
    assert any(src.endswith("/" + archive) for src in sources), sources
    steps = " ".join(EE["additional_build_steps"]["append_final"])
    assert "ansible-galaxy collection install --no-deps" in steps and archive in steps
