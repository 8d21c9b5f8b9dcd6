# -*- coding: utf-8 -*-
"""Filters of playbooks/backup.yml."""

from __future__ import annotations

from ansible_collections.darevel.postgres.plugins.filter import backup

PLAN = [{"name": "mail", "version": 15, "port": 5437, "docker": {"name": "darevel-postgres-mail"}},
        {"name": "chat", "version": 15, "port": 5434, "docker": {"name": "darevel-postgres-chat"}}]


def test_items_per_runtime():
    assert backup.backup_items(PLAN) == [{"name": "mail", "version": 15, "port": 5437},
                                         {"name": "chat", "version": 15, "port": 5434}]
    assert backup.backup_items(PLAN, "docker")[0] == {"name": "mail", "container": "darevel-postgres-mail"}


def test_rows_and_table_name_the_failed_instance():
    result = {"instances": [
        {"name": "mail", "backup_id": "20261126T063000Z", "verified": True, "size_bytes": 3000,
         "databases": [{"name": "darevel_mail", "size_bytes": 2048, "duration_seconds": 1.25}]},
        {"name": "chat", "failed": True, "msg": "instance 'chat': cannot connect"}]}
    rows = backup.backup_rows(PLAN, result)
    assert [(r["instance"], r["database"], r["verified"]) for r in rows] == [
        ("mail", "darevel_mail", True), ("chat", None, False)]
    assert backup.backup_failed(rows) == ["chat"]
    table = backup.backup_table(rows)
    assert table[0].split() == ["instance", "database", "size", "duration", "verified", "backup"]
    assert table[2].split() == ["mail", "darevel_mail", "2.0", "KiB", "1.2", "s", "yes", "20261126T063000Z"]
    assert "FAILED" in table[3] and table[4] == "chat: instance 'chat': cannot connect"


def test_a_task_that_failed_before_any_instance_fails_them_all():
    rows = backup.backup_rows(PLAN, {"failed": True, "msg": "root 'x' must be absolute"})
    assert backup.backup_failed(rows) == ["chat", "mail"]
    assert rows[0]["msg"] == "root 'x' must be absolute"


def test_check_mode_rows_are_not_verified_yet():
    result = {"instances": [{"name": "mail", "verified": None, "databases": [{"name": "darevel_mail"}]}]}
    rows = backup.backup_rows(PLAN[:1], result)
    assert backup.backup_failed(rows) == [] and " - " in backup.backup_table(rows)[2] + " "
