# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An instance's settings file in its conf.d directory (private to darevel.postgres).

A file rather than ALTER SYSTEM: it is written atomically without a connection (so check mode
and diff need no running server and a new instance starts with its settings already in place),
it can be read and diffed like any configuration file, and the whole dict is one write.
Settings changed by ALTER SYSTEM still win over it (postgresql.auto.conf is read last).
"""

from __future__ import annotations

import re

from ansible_collections.darevel.postgres.plugins.module_utils import _validate
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.module_utils._tuning import restart_settings

_LINE_RE = re.compile(r"\s*([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)?)\s*=\s*'((?:[^'\\]|''|\\.)*)'\s*")


def render(settings: dict) -> str:
    """The file: one `name = 'value'` line per setting, quoted by postgresql.conf's rules. A name
    that is no parameter name, a directive (include ...) or a value with a control character is
    refused here too, so that nothing but the given settings can reach the file."""
    problems = _validate.settings_problems(settings)
    if problems:
        raise DarevelError("; ".join(problems))
    lines = ["# Managed by darevel.postgres (pg_instance): the instance's settings; edits are replaced."]
    for name in sorted(settings):
        lines.append("%s = %s" % (name, _validate.quote_setting(settings[name])))
    return "\n".join(lines) + "\n"


def parse(text: str) -> dict:
    found = {}
    for line in text.splitlines():
        match = _LINE_RE.fullmatch(line)
        if match:
            found[match.group(1)] = _validate.unquote_setting(match.group(2))
    return found


def changes(old_text: str, settings: dict, version: int) -> tuple[list[str], list[str]]:
    """(names whose value changes, of those the ones that only a restart applies)."""
    old, new = parse(old_text), parse(render(settings))
    changed = sorted(name for name in set(old) | set(new) if old.get(name) != new.get(name))
    return changed, restart_settings(changed, version)
