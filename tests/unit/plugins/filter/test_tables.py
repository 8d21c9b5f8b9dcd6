"""The tables as Ansible's stock default callback prints them, in both result formats.

Every *_table filter returns its lines as a list, so `ansible.builtin.debug: msg:` prints one table
row per output line with the columns lined up, under the default callback's json result format
(the default, what a user of the installed collection without this repository's ansible.cfg gets)
and its yaml one (this repository's ansible.cfg).
"""

from __future__ import annotations

import copy

import pytest

from ansible_collections.darevel.postgres.plugins.filter import audit, backup, catalogue, move, restore
from ansible_collections.darevel.postgres.plugins.module_utils import _audit, _catalogue

PLAN, _PROBLEMS = _catalogue.validate(copy.deepcopy(_catalogue.SEED), ["chat", "mail"], 15)
MIB = 1024 * 1024
LIVE = [
    {"name": "chat", "version": 15, "status": "started", "accepting": True, "server_version": "15.14",
     "uptime_seconds": 93784, "connections": 3, "max_connections": 100, "database_size_bytes": 7864320,
     "pending_restart": ["shared_buffers"], "health": "healthy",
     "last_backup": {"age_seconds": 7260, "result": "failed"}},
    {"name": "mail", "version": 15, "status": "stopped", "accepting": False,
     "problem": "down, and port 5437 is held by python3 (pid 7: python3 -m http.server)",
     "last_backup": {"age_seconds": None, "result": "failed"}},
]


def _controls(failing: set) -> list:
    return [{"id": c.id, "cis": c.cis, "title": c.title, "severity": c.severity,
             "status": "fail" if c.id in failing else "pass", "evidence": "password_encryption = md5",
             "fix": "set password_encryption: scram-sha-256"} for c in _audit.CONTROLS]


def _audited(name: str, failing: set) -> dict:
    controls = _controls(failing)
    return {"name": name, "controls": controls, "summary": _audit.summary(controls)}


TABLES = {
    "status_table": (catalogue.status_table(catalogue.status_rows(PLAN, LIVE, "/etc/darevel/postgres")), 2),
    "connect_table": (catalogue.connect_table(catalogue.status_rows(PLAN, LIVE, "/etc/darevel/postgres")), 2),
    "tuning_table": (catalogue.tuning_table(
        {"host": {"memory": 4096 * MIB, "cpus": 2, "reserve": 512 * MIB, "budget": 3584 * MIB,
                  "committed": 3000 * MIB, "fits": False},
         "instances": {"chat": {"share": {"memory": 597 * MIB, "cpus": 0.333},
                                "settings": {"shared_buffers": "149MB", "work_mem": "953kB"}},
                       "mail": {"share": {"memory": 1024 * MIB, "cpus": 1},
                                "settings": {"shared_buffers": "256MB", "huge_pages": "try"}}}},
        [{"name": "chat", "restart_required": ["shared_buffers"]}]), 2),
    "audit_table": (audit.audit_table([_audited("chat", set()), _audited("mail", {c.id for c in _audit.CONTROLS[:3]})]),
                    len(_audit.CONTROLS)),
    "backup_table": (backup.backup_table(backup.backup_rows(PLAN, {"instances": [
        {"name": "chat", "failed": True, "msg": "instance 'chat': cannot connect on port 5434; fix: start it"},
        {"name": "mail", "backup_id": "20261126T063000Z", "verified": True,
         "databases": [{"name": "darevel_mail", "size_bytes": 2048, "duration_seconds": 1.25}]}]})), 2),
    "restore_table": (restore.restore_table(restore.restore_rows({"instances": [
        {"name": "mail", "backup_id": "20261126T020000Z", "target": "instance 'mail'",
         "databases": [{"database": "darevel_mail", "target_database": "darevel_mail_drill", "size_bytes": 2048,
                        "seconds": 1.25, "verified": True}]},
        {"name": "chat", "failed": True, "msg": "instance 'chat': backup x refused"}]})), 2),
    "purge_table": (move.purge_table([
        {"instance": "mail", "runtime": "native", "status": "stopped", "result": "purged",
         "removed": ["cluster 15/mail", "/var/lib/postgresql/15/mail"],
         "kept": ["/etc/darevel/postgres/mail.env", "/var/backups/darevel-postgres/mail"]},
        {"instance": "chat", "runtime": "docker", "status": "absent", "result": "nothing to purge",
         "removed": [], "kept": ["/etc/darevel/postgres/chat.env"]}]), 2),
}


@pytest.fixture(scope="module")
def default_callback():
    from ansible.plugins.loader import callback_loader, init_plugin_loader

    init_plugin_loader()

    def dump(result_format: str, result: dict) -> list:
        callback = callback_loader.get("ansible.builtin.default")
        callback.set_options(direct={"result_format": result_format, "pretty_results": True})
        return callback._dump_results(result, indent=4).splitlines()

    return dump


@pytest.mark.parametrize("name", sorted(TABLES))
def test_a_table_is_a_list_of_lines(name):
    lines, _rows = TABLES[name]
    assert isinstance(lines, list) and lines and all(isinstance(line, str) for line in lines)
    assert not any("\n" in line for line in lines)
    assert all(line == line.rstrip() for line in lines)


FORMATS = [("json", '        "', ('",', '"')), ("yaml", "        ", ("",))]


@pytest.mark.parametrize("result_format, prefix, suffixes", FORMATS)
@pytest.mark.parametrize("name", sorted(TABLES))
def test_the_default_callback_prints_one_row_per_line_columns_aligned(default_callback, name, result_format,
                                                                      prefix, suffixes):
    lines, rows = TABLES[name]
    printed = default_callback(result_format, {"changed": False, "msg": catalogue.table_msg(lines, result_format)})
    assert not any("\\n" in line for line in printed), printed
    # The header, the rule and every row come out verbatim after the same prefix: one row per
    # output line, nothing quoted, escaped or folded that would move a column.
    table = lines[:2 + rows]
    for line in table:
        assert any(prefix + line + suffix in printed for suffix in suffixes), (line, printed)
    # The columns start where the header's do: each header word sits above a cell's start.
    header = table[0]
    starts = [i for i, ch in enumerate(header) if ch != " " and (i == 0 or header[i - 2:i] == "  ")]
    for line in table[2:]:
        assert all(start == 0 or line[start - 2:start] == "  " or len(line) <= start for start in starts), line


def test_table_msg_is_the_list_under_json_and_one_text_under_yaml():
    lines = ["a  b", "-  -", "x  y"]
    assert catalogue.table_msg(lines, "json") == lines
    assert catalogue.table_msg(lines, "yaml") == "a  b\n-  -\nx  y"
    assert catalogue.table_msg("a  b\nx  y", "json") == ["a  b", "x  y"]


def test_a_long_row_as_a_yaml_list_item_would_be_folded(default_callback):
    """Why table_msg gives YAML one text: PyYAML folds a list item longer than 80 columns."""
    lines, _rows = TABLES["connect_table"]
    assert max(len(line) for line in lines) > 80
    folded = default_callback("yaml", {"msg": lines})
    assert not all(any(line in out for out in folded) for line in lines)
