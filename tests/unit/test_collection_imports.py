"""The conftest makes this collection and the venv's collections importable side by side."""

from __future__ import annotations

import importlib
import os

import pytest

from unit.conftest import REPO_ROOT


def test_this_collection_comes_from_this_checkout():
    module = importlib.import_module("ansible_collections.darevel.postgres.plugins.module_utils._catalogue")
    assert os.path.realpath(module.__file__).startswith(os.path.realpath(REPO_ROOT) + os.sep)


def test_installed_collections_still_importable():
    general = importlib.import_module("ansible_collections.community.general")
    assert not os.path.realpath(general.__path__[0]).startswith(os.path.realpath(REPO_ROOT) + os.sep + "ansible_collections")
    pytest.importorskip("ansible_collections.community.postgresql")
