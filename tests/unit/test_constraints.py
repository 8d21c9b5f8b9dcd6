# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""constraints.txt holds every package of the virtualenv at the version CI tested: requirements.txt's
pins at the same versions, each package once, and scripts/bootstrap.sh installs with it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[a-z,]+\])?==([0-9][0-9A-Za-z.+-]*)$")


def pins(name: str) -> dict:
    found = {}
    for line in (ROOT / name).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = PIN.match(line.strip())
        assert match, "%s: %r is not NAME==VERSION" % (name, line)
        key = re.sub(r"[-_.]+", "-", match.group(1)).lower()
        assert key not in found, "%s names %s twice" % (name, key)
        found[key] = match.group(3)
    return found


def test_every_requirement_is_constrained_at_its_pinned_version():
    required, constrained = pins("requirements.txt"), pins("constraints.txt")
    assert required and len(constrained) > len(required)
    assert {name: constrained.get(name) for name in required} == required


def test_the_virtualenv_is_installed_with_the_constraints():
    script = (ROOT / "scripts" / "bootstrap.sh").read_text()
    assert "-r requirements.txt -c constraints.txt" in script
    assert "cat requirements.txt constraints.txt | sha256sum" in script
