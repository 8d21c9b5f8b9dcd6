# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rendering of the JSON reports under reports/<host>/ (stable output: sorted keys)."""

from __future__ import annotations

import json
from typing import Any


def render(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"
