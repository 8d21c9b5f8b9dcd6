# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The row-count query and comparison of pg_row_counts (what playbooks/move.yml checks on both
hosts). Against real servers: tests/integration/test_runtime.py and the move tests."""

from __future__ import annotations

import pytest

from ansible_collections.darevel.postgres.plugins.module_utils._ops import rows


def test_sql_counts_each_existing_table_in_one_json_object():
    sql = rows.count_sql({"public.messages": 3, 'we"ird.it\'s': 1})
    assert sql.startswith("SELECT coalesce(json_object_agg(v.k, ")
    assert "VALUES ('public.messages', 'public', 'messages'), ('we\"ird.it''s', 'we\"ird', 'it''s')" in sql
    assert "format('SELECT count(*) AS n FROM %I.%I', v.s, v.t)" in sql, "names quoted by the server"
    assert "WHERE to_regclass(format('%I.%I', v.s, v.t)) IS NOT NULL" in sql, "a table that is gone is missing"


def test_sql_without_tables_is_an_empty_object():
    assert rows.count_sql({}) == "SELECT '{}'::json"


@pytest.mark.parametrize("bad", [{"messages": 1}, {".x": 1}, {"x.": 1}, ["public.x"]])
def test_sql_refuses_what_is_not_schema_table(bad):
    with pytest.raises(ValueError):
        rows.count_sql(bad)


def test_diff_names_changed_missing_and_extra_tables():
    text = rows.differences({"public.a": 1, "public.b": 2, "public.c": 3}, {"public.a": 1, "public.b": 5, "public.d": 4})
    assert text == ("public.b: 2 in the backup, 5 here; public.c: 3 in the backup, missing here; "
                    "public.d: none in the backup, 4 here")
    assert rows.differences({"public.a": 1}, {"public.a": 1}) == "none"
