# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A JSON report written on the control node (pg_report, pg_status): whole or not at all."""

from __future__ import annotations

import os
import tempfile

from ansible.errors import AnsibleActionFail

from ansible_collections.darevel.postgres.plugins.module_utils._report import render


def write(module: str, path: str, data, mode: str = "0644", check_mode: bool = False) -> dict:
    """Write `data` as JSON to `path` through a temporary file and a rename, unless its content is
    already that (or in check mode). Returns the path and whether the file's content changed."""
    path = os.path.expanduser(path)
    try:
        bits = int(str(mode), 8)
    except ValueError:
        bits = -1
    if not 0 <= bits <= 0o7777:
        raise AnsibleActionFail("%s: mode %r is not an octal file mode; fix: give one such as 0644" % (module, mode))
    content = render(data)
    try:
        with open(path, encoding="utf-8") as handle:
            written = handle.read() != content
    except OSError:
        written = True
    if written and not check_mode:
        directory = os.path.dirname(path) or "."
        tmp_path = None
        try:
            os.makedirs(directory, exist_ok=True)
            fd, tmp_path = tempfile.mkstemp(prefix=".report.", dir=directory)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(content)
            os.chmod(tmp_path, bits)
            os.replace(tmp_path, path)
            tmp_path = None
        except OSError as exc:
            if tmp_path is not None:
                try:
                    os.unlink(tmp_path)
                except OSError:
                    pass
            raise AnsibleActionFail("%s: cannot write %s: %s; fix: make its directory writable "
                                    "or set postgres_reports_dir" % (module, path, exc)) from exc
    return {"path": path, "written": written and not check_mode}
