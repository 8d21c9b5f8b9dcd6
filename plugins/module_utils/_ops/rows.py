# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Row counts of an instance's tables, read live and compared with a backup's manifest; and the
relations of each database, so that a database a container made at its first start is told apart
from one holding data. Private to darevel.postgres; the same on both runtimes."""

from __future__ import annotations

import json

from ansible_collections.darevel.postgres.plugins.module_utils._runtime.base import quote_literal

# Every database a client can use, except the maintenance database.
DATABASES_SQL = ("SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate AND datname <> 'postgres' "
                 "ORDER BY datname")
RELATIONS_SQL = ("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                 "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'")


def count_sql(row_counts: dict) -> str:
    """One SELECT answering a JSON object {"schema.table": rows} for every table a manifest counted
    (its "row_counts" keys, "schema.table") that exists; a table that is gone is left out, so the
    comparison names it missing. {} for a database without tables."""
    if not isinstance(row_counts, dict):
        raise ValueError("expected the manifest's row_counts mapping, got %r" % (row_counts,))
    values = []
    for key in sorted(row_counts):
        schema, dot, table = str(key).partition(".")
        if not dot or not schema or not table:
            raise ValueError("%r is not schema.table" % (key,))
        values.append("(%s, %s, %s)" % (quote_literal(key), quote_literal(schema), quote_literal(table)))
    if not values:
        return "SELECT '{}'::json"
    return ("SELECT coalesce(json_object_agg(v.k, (xpath('/row/n/text()', query_to_xml(format("
            "'SELECT count(*) AS n FROM %%I.%%I', v.s, v.t), false, true, '')))[1]::text::bigint), '{}'::json) "
            "FROM (VALUES %s) AS v(k, s, t) WHERE to_regclass(format('%%I.%%I', v.s, v.t)) IS NOT NULL"
            % ", ".join(values))


def differences(expected: dict, actual: dict) -> str:
    """The tables whose counts differ, as text: "public.messages: 1200 in the backup, 1201 here"."""
    lines = []
    for key in sorted(set(expected) | set(actual)):
        want, got = expected.get(key), actual.get(key)
        if want != got:
            lines.append("%s: %s in the backup, %s here" % (
                key, "none" if want is None else want, "missing" if got is None else got))
    return "; ".join(lines) or "none"


def compare(runtime, databases: list[dict]) -> list[dict]:
    """Each database of a manifest ({name, row_counts}) counted live: its counts, whether they match
    and the differences as text. A table that is gone, or a database, fails with its error."""
    out = []
    for entry in databases:
        expected = {str(k): int(v) for k, v in (entry.get("row_counts") or {}).items()}
        with runtime.session(entry["name"]) as session:
            actual = {str(k): int(v) for k, v in json.loads(session.value(count_sql(expected)) or "{}").items()}
        out.append({"name": entry["name"], "counts": actual, "matches": actual == expected,
                    "differences": differences(expected, actual)})
    return out


def relations(runtime) -> dict:
    """{database: number of relations outside the system schemas} for every database but postgres."""
    with runtime.session() as session:
        names = [row[0] for row in session.rows(DATABASES_SQL)]
    found = {}
    for name in names:
        with runtime.session(name) as session:
            found[name] = int(session.value(RELATIONS_SQL))
    return found
