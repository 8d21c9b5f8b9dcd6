# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parts of _database: the env file's values, commenting out an overriding line, psql's booleans."""

from __future__ import annotations

import os

from ansible_collections.darevel.postgres.plugins.module_utils import _database, _envfile

ITEM = {"name": "chat", "port": 5434, "database": "darevel_chat", "owner": "darevel_chat_owner",
        "owner_password": "o" * 20, "env_host": "127.0.0.1"}


def test_env_values_keep_the_existing_keys_and_add_the_application_role():
    assert list(_database.env_values(ITEM)) == ["DB_HOST", "DB_PORT", "DB_NAME", "POSTGRES_USER", "POSTGRES_PASSWORD"]
    values = _database.env_values(dict(ITEM, app_role="darevel_chat_app", app_password="a" * 20))
    assert values["DB_APP_USER"] == "darevel_chat_app" and values["DB_APP_PASSWORD"] == "a" * 20
    masked = _envfile.masked(_envfile.render(values))
    assert "a" * 20 not in masked and "o" * 20 not in masked


def test_disable_line_keeps_mode_and_other_lines(tmp_path):
    path = tmp_path / "postgresql.conf"
    path.write_text("include_dir = 'conf.d'\nssl = off\nport = 5434\n")
    os.chmod(path, 0o640)
    _database.disable_line(str(path), 2)
    assert path.read_text().splitlines() == [
        "include_dir = 'conf.d'", "# ssl = off  # disabled by darevel.postgres: it overrode a managed setting",
        "port = 5434"]
    assert os.stat(path).st_mode & 0o7777 == 0o640


def test_is_true():
    assert _database.is_true(True) and _database.is_true("t")
    assert not _database.is_true(False) and not _database.is_true("f") and not _database.is_true(None)


def test_container_render_quotes_identifiers_and_literals():
    text = _database.ContainerSession.render("ALTER ROLE {} PASSWORD %s", ('a"b',), ("it's",))
    assert text == "ALTER ROLE \"a\"\"b\" PASSWORD 'it''s'"
