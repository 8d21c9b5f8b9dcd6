"""Unit tests for plugins/module_utils/_report.py."""

from __future__ import annotations

import json
import pathlib

import pytest

from ansible_collections.darevel.postgres.plugins.module_utils import _report


def test_sorted_keys_and_trailing_newline():
    text = _report.render({"b": 1, "a": {"z": [3, 2], "y": None}})
    assert text == '{\n  "a": {\n    "y": null,\n    "z": [\n      3,\n      2\n    ]\n  },\n  "b": 1\n}\n'


@pytest.mark.parametrize("data", [{}, [], {"chat": {"port": 5434}}, "x"])
def test_round_trip(data):
    text = _report.render(data)
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert json.loads(text) == data


def test_stable_regardless_of_insertion_order():
    assert _report.render({"x": 1, "a": 2}) == _report.render({"a": 2, "x": 1})


def test_non_json_values_as_strings():
    assert json.loads(_report.render({"path": pathlib.PurePosixPath("/etc/darevel")})) == {"path": "/etc/darevel"}
