# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exceptions raised by the collection's module_utils (private to darevel.postgres)."""

from __future__ import annotations


class DarevelError(Exception):
    """A problem the user can fix; the message names the instance, the value and the fix."""

    def __init__(self, msg: str, **details) -> None:
        super().__init__(msg)
        self.msg = msg
        self.details = details


class CommandError(DarevelError):
    """An external command failed."""


def preflight_message(problems: list) -> str:
    """pg_preflight's failure: every problem it found, one line each (the module's and, after it,
    the action plugin's own)."""
    return "Preflight found %d problem(s), nothing was changed:\n- %s" % (len(problems), "\n- ".join(problems))
