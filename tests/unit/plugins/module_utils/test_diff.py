"""Unit tests for plugins/module_utils/_diff.py (what --diff shows)."""

from __future__ import annotations

from ansible_collections.darevel.postgres.plugins.module_utils import _diff, _envfile

OLD = "# header\nDB_HOST=localhost\nPOSTGRES_PASSWORD=old-secret\nDB_APP_PASSWORD=app-secret\n"
NEW = "# header\nDB_HOST=db.internal\nPOSTGRES_PASSWORD=new-secret\nDB_APP_PASSWORD=app-secret\n"


def test_entry_is_the_diff_protocol():
    assert _diff.entry("/etc/x.conf", "a\n", "b\n") == {"before_header": "/etc/x.conf", "after_header": "/etc/x.conf",
                                                        "before": "a\n", "after": "b\n"}


def test_fields_one_line_each():
    assert _diff.fields([("state", "started"), ("port", 5434)]) == "state: started\nport: 5434\n"


def test_env_file_secrets_are_masked_and_a_changed_one_says_so():
    before, after = _diff.masked_env(OLD, NEW, _envfile.SECRET_KEYS)
    for text in (before, after):
        assert "secret" not in text
    assert before.splitlines() == ["# header", "DB_HOST=localhost", "POSTGRES_PASSWORD=********",
                                   "DB_APP_PASSWORD=********"]
    assert after.splitlines() == ["# header", "DB_HOST=db.internal", "POSTGRES_PASSWORD=******** (changed)",
                                  "DB_APP_PASSWORD=********"]


def test_a_new_env_file_shows_no_change_marker_and_no_secret():
    before, after = _diff.masked_env("", NEW, _envfile.SECRET_KEYS)
    assert before == "" and "secret" not in after and "(changed)" not in after


def test_container_command_as_one_field_per_setting():
    assert _diff._command_fields(["postgres", "-c", "work_mem=4MB", "-c", "max_connections=100"]) == [
        ("command", "postgres"), ("setting max_connections", "100"), ("setting work_mem", "4MB")]


def test_container_secret_variables_by_name_only():
    assert _diff._is_secret("POSTGRES_PASSWORD") and _diff._is_secret("API_TOKEN")
    assert not _diff._is_secret("POSTGRES_USER")
