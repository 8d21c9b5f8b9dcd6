# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the security audit: the module's arguments from the plan, and the per-host table."""

from __future__ import annotations

from ansible_collections.darevel.postgres.plugins.filter.catalogue import aligned

STATUS_CELLS = {"pass": "pass", "fail": "FAIL", "not_applicable": "n/a", "not_audited": "not audited",
                "not_configured": "not configured"}


def audit_items(plan: list, runtime: str = "native") -> list:
    """Arguments of darevel.postgres.pg_audit for each planned instance. The addresses an instance
    may listen on are those the plan gives it (its settings' listen_addresses)."""
    items = []
    for inst in plan:
        item = {"name": inst["name"], "version": inst["version"], "database": inst["database"],
                "owner": inst["owner"]}
        if inst.get("app_role"):
            item["app_role"] = inst["app_role"]
        listen = (inst.get("settings") or {}).get("listen_addresses") or inst.get("listen_addresses")
        if listen:
            item["listen_addresses"] = [a.strip() for a in listen.split(",")] if isinstance(listen, str) else list(listen)
        if inst.get("extensions"):
            item["extensions"] = list(inst["extensions"])
        if inst.get("loopback_tls") is False:
            item["loopback_tls"] = False
        if runtime == "docker":
            item["container"] = (inst.get("docker") or {}).get("name") or inst.get("container")
        items.append(item)
    return items


def audit_table(instances: list) -> list:
    """One row per control, one column per instance; then each failure with its evidence and fix.
    One line per list item."""
    if not instances:
        return ["no instance to audit"]
    first = instances[0]["controls"]
    rows = [["id", "CIS", "severity", "control"] + [i["name"] for i in instances]]
    for index, item in enumerate(first):
        title = item["title"] if len(item["title"]) <= 60 else item["title"][:57] + "..."
        rows.append([item["id"], item["cis"], item["severity"], title]
                    + [STATUS_CELLS.get(i["controls"][index]["status"], "?") for i in instances])
    lines = aligned(rows)
    totals = ["%s: not audited" % i["name"] if i.get("error") else "%s: %d pass, %d fail, %d n/a%s" % (
        i["name"], i["summary"]["pass"], i["summary"]["fail"], i["summary"]["not_applicable"],
        ", %d not configured" % i["summary"]["not_configured"] if i["summary"].get("not_configured") else "")
        for i in instances]
    lines += ["", "; ".join(totals)]
    for inst in instances:
        if inst.get("error"):
            first_control = inst["controls"][0] if inst["controls"] else {"evidence": inst["error"], "fix": "-"}
            lines.append("%s: %s; fix: %s" % (inst["name"], first_control["evidence"], first_control["fix"]))
            continue
        for item in inst["controls"]:
            if item["status"] == "fail":
                lines.append("%s %s (%s): %s; fix: %s" % (inst["name"], item["id"], item["severity"],
                                                          item["evidence"], item["fix"]))
    return lines


class FilterModule:
    def filters(self):
        # The tables are this file's public filters; the other functions are the roles' helpers,
        # reached through the darevel.postgres.internal lookup (not a public interface).
        return {
            "audit_table": audit_table,
        }
