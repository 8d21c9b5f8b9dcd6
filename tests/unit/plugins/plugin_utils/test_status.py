"""Unit tests for the pure parts of the pg_status action (plugins/action/pg_status.py) and the
report writer it shares with pg_report (plugins/plugin_utils/_report.py)."""

from __future__ import annotations

import copy
import json
import os
import stat

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.darevel.postgres.plugins.action import pg_status
from ansible_collections.darevel.postgres.plugins.filter import catalogue
from ansible_collections.darevel.postgres.plugins.module_utils import _catalogue
from ansible_collections.darevel.postgres.plugins.plugin_utils import _report

PLAN, _PROBLEMS = _catalogue.validate(copy.deepcopy(_catalogue.SEED), ["chat", "mail"], 15)
assert not _PROBLEMS


def args(**given) -> dict:
    """The arguments as the action has them once validated (every option, defaults filled)."""
    out = {key: value.get("default") for key, value in pg_status.ARGUMENT_SPEC.items()}
    out.update(plan=PLAN, **given)
    return out


def test_info_args_name_the_planned_instances_and_their_databases():
    assert pg_status.info_args(args()) == {
        "names": ["chat", "mail"], "layout": "auto", "runtime": "native", "probe": True, "size": False,
        "databases": {"chat": PLAN[0]["database"], "mail": PLAN[1]["database"]}}


def test_info_args_without_the_probe_read_sizes_and_pass_docker_host_and_backup_root_when_given():
    got = pg_status.info_args(args(probe=False, runtime="docker", docker_host="unix:///run/d.sock", backup_root="/b"))
    assert got["probe"] is False and got["size"] is True
    assert got["runtime"] == "docker" and got["docker_host"] == "unix:///run/d.sock" and got["backup_root"] == "/b"
    assert "docker_host" not in pg_status.info_args(args(docker_host=""))


@pytest.mark.parametrize("result_format", ["json", "yaml"])
def test_message_is_both_tables_with_a_blank_line_between(result_format):
    rows = catalogue.status_rows(PLAN, [], "/e", "native")
    lines = catalogue.status_table(rows) + [""] + catalogue.connect_table(rows)
    msg = pg_status.message(rows, result_format)
    assert msg == (lines if result_format == "json" else "\n".join(lines))
    assert lines[2].split()[:3] == ["chat", "5434", "absent"] and lines.index("") == 2 + len(PLAN)


def test_report_written_once_then_left_as_it_is(tmp_path):
    path = tmp_path / "reports" / "h1" / "status.json"
    assert _report.write("pg_status", str(path), {"b": 1, "a": [1]}, check_mode=True) == {"path": str(path), "written": False}
    assert not path.exists()
    assert _report.write("pg_status", str(path), {"b": 1, "a": [1]}) == {"path": str(path), "written": True}
    assert json.loads(path.read_text()) == {"a": [1], "b": 1} and stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert _report.write("pg_status", str(path), {"a": [1], "b": 1})["written"] is False
    assert _report.write("pg_status", str(path), {"a": [2]}, mode="0600")["written"] is True
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and os.listdir(path.parent) == ["status.json"]


def test_report_that_cannot_be_written_names_the_file_and_the_fix(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(AnsibleActionFail, match=r"pg_status: cannot write %s/h1/status.json: .*fix: make its directory "
                                                r"writable or set postgres_reports_dir" % blocker):
        _report.write("pg_status", str(blocker / "h1" / "status.json"), {})


def test_a_plan_entry_without_its_keys_is_named_with_the_fix():
    assert pg_status.plan_problems(PLAN) == []
    assert pg_status.plan_problems([{"name": "chat", "port": 5434}, {}]) == [
        "plan entry 0 (chat) lacks database, owner, version; fix: pass the preflight role's postgres_plan",
        "plan entry 1 (no name) lacks name, port, database, owner, version; fix: pass the preflight role's postgres_plan"]


@pytest.mark.parametrize("mode", ["rw", "0999", "77777", ""])
def test_a_bad_mode_is_refused_before_anything_is_written(tmp_path, mode):
    with pytest.raises(AnsibleActionFail, match=r"pg_report: mode '%s' is not an octal file mode; fix: give one such as 0644" % mode):
        _report.write("pg_report", str(tmp_path / "r" / "x.json"), {}, mode=mode)
    assert not (tmp_path / "r").exists()


def test_a_given_read_is_used_as_it_is_and_its_problems_fail():
    read = {"instances": [{"name": "chat", "status": "online"}]}
    assert pg_status.given_read(read) == read
    assert pg_status.given_read({"instances": [], "msg": "instance 'chat': refused"}) == {
        "failed": True, "msg": "instance 'chat': refused", "instances": []}
    bad = pg_status.given_read({"changed": False, "instances": "chat"})
    assert bad["failed"] is True and bad["msg"].startswith("pg_status: read: no instances in ['changed', 'instances']; fix:")
