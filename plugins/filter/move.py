# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for playbooks/move.yml (counting a backup's tables on a live server and comparing) and
playbooks/purge.yml (its table)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.darevel.postgres.plugins.filter.catalogue import aligned

PURGE_COLUMNS = ("instance", "runtime", "was", "result", "removed", "kept")


def _ident(name: str) -> str:
    return '"%s"' % name.replace('"', '""')


def _literal(text: str) -> str:
    return "'%s'" % text.replace("'", "''")


def row_count_sql(row_counts: dict) -> str:
    """One SELECT returning a JSON object {"schema.table": rows} for every table a backup's
    manifest counted (its "row_counts" keys, "schema.table"); {} for a database without tables."""
    if not isinstance(row_counts, dict):
        raise AnsibleFilterError("row_count_sql: expected the manifest's row_counts mapping, got %r" % (row_counts,))
    parts = []
    for key in sorted(row_counts):
        schema, dot, table = str(key).partition(".")
        if not dot or not schema or not table:
            raise AnsibleFilterError("row_count_sql: %r is not schema.table" % (key,))
        parts.append("SELECT %s AS t, count(*) AS n FROM %s.%s" % (_literal(key), _ident(schema), _ident(table)))
    if not parts:
        return "SELECT '{}'::json"
    return "SELECT coalesce(json_object_agg(t, n), '{}'::json) FROM (%s) AS counts" % " UNION ALL ".join(parts)


def row_count_diff(expected: dict, actual: dict) -> str:
    """The tables whose counts differ, as text: "public.messages: 1200 in the backup, 1201 here"."""
    lines = []
    for key in sorted(set(expected) | set(actual)):
        want, got = expected.get(key), actual.get(key)
        if want != got:
            lines.append("%s: %s in the backup, %s here" % (
                key, "none" if want is None else want, "missing" if got is None else got))
    return "; ".join(lines) or "none"


def purge_table(rows: list) -> list:
    """instance, runtime, status before, result, what was removed and what is kept; one line per
    list item."""
    cells = [[str(r["instance"]), str(r.get("runtime") or "-"), str(r.get("status") or "-"),
              str(r.get("result") or "-"), ", ".join(r.get("removed") or []) or "-",
              ", ".join(r.get("kept") or []) or "-"] for r in rows]
    return aligned([list(PURGE_COLUMNS)] + cells)


class FilterModule:
    def filters(self):
        # The tables are this file's public filters; the other functions are the roles' helpers,
        # reached through the darevel.postgres.internal lookup (not a public interface).
        return {
            "purge_table": purge_table,
        }
