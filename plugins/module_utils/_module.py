# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How batch modules report: one result per instance, or the single result at the top level."""

from __future__ import annotations

from ansible_collections.darevel.postgres.plugins.module_utils import _diff


def exit_batch(module, outcome: dict) -> None:
    results, errors = outcome["results"], outcome["errors"]
    # Changes made once for the host rather than per instance: {'path', 'before', 'after'} each.
    host = outcome.get("host") or []
    changed = any(r.get("changed") for r in results) or bool(host)
    # Ansible's diff protocol as a list: one entry per file or object, each with its header and text
    # before and after, which the default callback prints as unified diffs (see _diff).
    diff = [_diff.entry(change["path"], change["before"] + "\n", change["after"] + "\n") for change in host]
    for result in results:
        entries = result.pop("diff", None) or []
        diff += entries if isinstance(entries, list) else [entries]
    if module.params.get("instances") is None:
        result = dict(results[0]) if results else {}
        result.pop("failed", None)
        result.pop("msg", None)
        payload = dict(result, changed=changed, diff=diff)
    else:
        payload = {"changed": changed, "instances": results, "diff": diff}
    if "host" in outcome:
        payload["host_changes"] = [change["path"] for change in host]
    if "status" in outcome:
        payload["status"] = outcome["status"]
    if errors:
        module.fail_json(msg="; ".join(errors), **payload)
    module.exit_json(**payload)
