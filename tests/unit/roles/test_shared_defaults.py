"""A variable that several roles default (each role must run alone) has one default value."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import yaml

ROLES = Path(__file__).resolve().parents[3] / "roles"


def test_shared_variables_have_one_default():
    seen = defaultdict(dict)
    for defaults in sorted(ROLES.glob("*/defaults/main.yml")):
        for name, value in (yaml.safe_load(defaults.read_text()) or {}).items():
            seen[name][defaults.parts[-3]] = value
    shared = {name: by_role for name, by_role in seen.items() if len(by_role) > 1}
    assert shared, "no variable is shared between roles: this test checks nothing"
    for name, by_role in shared.items():
        assert len({repr(v) for v in by_role.values()}) == 1, "%s differs between roles: %s" % (name, by_role)
