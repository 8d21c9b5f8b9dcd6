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
