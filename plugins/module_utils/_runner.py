# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small command runner over AnsibleModule.run_command. Private to darevel.postgres."""

from __future__ import annotations

from ansible_collections.darevel.postgres.plugins.module_utils._errors import CommandError


class Runner:
    """Runs argv lists with a C locale; records what ran (or would run in check mode)."""

    def __init__(self, module) -> None:
        self.module = module

    def run(self, argv: list[str], check_rc: bool = True, what: str = "") -> tuple[int, str, str]:
        rc, out, err = self.module.run_command(argv, environ_update={"LC_ALL": "C"})
        if check_rc and rc != 0:
            raise CommandError("%s failed (rc=%d): %s; command: %s" % (
                what or argv[0], rc, (err or out).strip()[-2000:], " ".join(argv)))
        return rc, out, err
