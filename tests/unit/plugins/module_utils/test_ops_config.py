# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_ops/config without a server: commenting out an overriding line, the server's text booleans,
the WINNING query's names, putting managed settings back over a fake session, narrowing file
modes, and pg_instance's step that does both once an instance runs."""

from __future__ import annotations

import os

from ansible_collections.darevel.postgres.plugins.module_utils import _instance
from ansible_collections.darevel.postgres.plugins.module_utils._ops import config
from ansible_collections.darevel.postgres.plugins.module_utils._runtime import base
from ansible_collections.darevel.postgres.tests.unit.plugins.module_utils.test_database import FakeRuntime


def test_disable_line_keeps_mode_and_other_lines(tmp_path):
    path = tmp_path / "postgresql.conf"
    path.write_text("include_dir = 'conf.d'\nssl = off\nport = 5434\n")
    os.chmod(path, 0o640)
    config.disable_line(str(path), 2)
    assert path.read_text().splitlines() == [
        "include_dir = 'conf.d'", "# ssl = off  # disabled by darevel.postgres: it overrode a managed setting",
        "port = 5434"]
    assert os.stat(path).st_mode & 0o7777 == 0o640


def test_is_true():
    assert base.is_true(True) and base.is_true("t")
    assert not base.is_true(False) and not base.is_true("f") and not base.is_true(None)


def test_settings_file_is_the_one_pg_instance_writes():
    assert config.SETTINGS_FILE == "/conf.d/" + base.SETTINGS_FILENAME


def test_winning_names_each_setting_as_one_literal():
    names = ["ssl", "it's", "a,b", "{x}", "50%", 'q"uote']
    text = base.render(config.winning(names), (), tuple(names))
    assert "ANY(ARRAY['ssl', 'it''s', 'a,b', '{x}', '50%', 'q\"uote']::text[])" in text
    assert text.count("%s") == 0 and "ORDER BY f.name" in text


def enforce_runtime(pending: str, reloaded: str = "t") -> FakeRuntime:
    return FakeRuntime({
        "SELECT f.name": [("unix_socket_permissions", "/var/lib/postgresql/15/chat/postgresql.auto.conf", "3"),
                          ("log_statement", "/var/lib/postgresql/15/chat/postgresql.auto.conf", "4"),
                          ("ssl", "/etc/postgresql/15/chat/conf.d/50-darevel-settings.conf", "1")],
        "SELECT pg_conf_load_time() >": [(reloaded, pending)],
        "SELECT pg_conf_load_time()": [("2026-12-02 21:00:00+00",)],
        "SELECT coalesce(string_agg(name, ',' ORDER BY name), '') FROM pg_settings WHERE context":
            [("unix_socket_permissions",)],
        "SELECT current_setting": [(None,)]})


def test_a_reset_setting_read_at_start_asks_for_a_restart_and_only_it():
    runtime = enforce_runtime("shared_buffers,unix_socket_permissions")
    fixed, queries, restart = config.enforce(runtime.session(), ["ssl", "log_statement", "unix_socket_permissions"],
                                             check_mode=False)
    assert fixed == ["unix_socket_permissions", "log_statement"]
    assert queries == ["ALTER SYSTEM RESET unix_socket_permissions", "ALTER SYSTEM RESET log_statement",
                       "SELECT pg_reload_conf()"]
    # shared_buffers waits for a restart too, but it was not repaired here: the settings file's own
    # changes are restarted for by pg_instance's settings step.
    assert restart == ["unix_socket_permissions"]
    sent = "\n".join(runtime.log)
    assert "pg_conf_load_time() > '2026-12-02 21:00:00+00'::timestamptz" in sent
    assert 'ALTER SYSTEM RESET "unix_socket_permissions"' in sent and "SELECT pg_reload_conf()" in sent


def test_a_reload_only_repair_asks_for_no_restart_and_check_mode_predicts_it():
    runtime = enforce_runtime("")
    assert config.enforce(runtime.session(), ["log_statement"], check_mode=False)[2] == []
    runtime = enforce_runtime("unix_socket_permissions")
    fixed, queries, restart = config.enforce(runtime.session(), ["log_statement", "unix_socket_permissions"],
                                             check_mode=True)
    assert restart == ["unix_socket_permissions"] and queries[-1] == "SELECT pg_reload_conf()"
    assert not any(sql.startswith(("ALTER", "SELECT pg_reload_conf")) for sql in runtime.log), runtime.log


def test_nothing_overridden_sends_no_reload():
    runtime = FakeRuntime({"SELECT f.name": [("ssl", "/etc/postgresql/15/chat/conf.d/50-darevel-settings.conf", "1")]})
    assert config.enforce(runtime.session(), ["ssl"], check_mode=False) == ([], [], [])
    assert config.enforce(runtime.session(), [], check_mode=False) == ([], [], [])
    assert not any("pg_reload_conf" in sql for sql in runtime.log)


class SettingsSession(base.Session):
    def __init__(self, values: dict) -> None:
        self.values = values

    def rows(self, text, idents=(), params=()):
        return [(self.values.get(params[0]),)]


def test_only_modes_wider_than_wanted_are_narrowed(tmp_path):
    data, conf = tmp_path / "data", tmp_path / "conf"
    data.mkdir()
    (conf / "conf.d").mkdir(parents=True)
    for path, mode in ((data, 0o750), (conf / "postgresql.conf", 0o644), (conf / "pg_hba.conf", 0o600),
                       (conf / "conf.d" / "50-darevel-settings.conf", 0o666)):
        if not path.exists():
            path.write_text("")
        os.chmod(path, mode)
    session = SettingsSession({"data_directory": str(data), "config_file": str(conf / "postgresql.conf"),
                               "hba_file": str(conf / "pg_hba.conf")})
    assert config.file_modes(session, check_mode=True) == [
        "-- chmod 0700 %s (was 0750)" % data, "-- chmod 0640 %s (was 0644)" % (conf / "postgresql.conf"),
        "-- chmod 0640 %s (was 0666)" % (conf / "conf.d" / "50-darevel-settings.conf")]
    assert os.stat(data).st_mode & 0o7777 == 0o750, "check mode changes nothing"
    config.file_modes(session, check_mode=False)
    assert os.stat(data).st_mode & 0o7777 == 0o700 and os.stat(conf / "pg_hba.conf").st_mode & 0o7777 == 0o600
    assert config.file_modes(session, check_mode=False) == []


class Module:
    def __init__(self, state="started", check_mode=False, file_modes=True) -> None:
        self.params = {"state": state, "file_modes": file_modes, "layout": "debian"}
        self.check_mode = check_mode
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)


class Cluster:
    name, version = "chat", 15


def keep(monkeypatch, runtime, item, status="started", port=5434, **module):
    manager = _instance.InstanceManager(Module(**module))
    picked, ran = [], []
    from ansible_collections.darevel.postgres.plugins.module_utils._runtime import native

    def opened(label, port, version, socket_dir):
        picked.append((label, port, version, socket_dir))
        return runtime
    monkeypatch.setattr(native, "NativeRuntime", opened)
    monkeypatch.setattr(manager, "_execute", lambda job, actions: ran.extend(actions))
    job = {"item": item, "current": None if status is None else {"status": status, "port": 5434}, "cluster": Cluster(),
           "port": port, "actions": ["start"] if status != "started" else [], "changed": False, "queries": [],
           "settings_repaired": [], "restart_required": [], "file_diffs": {}}
    manager._keep(job)
    job["warnings"] = manager.module.warnings
    return job, picked, ran


def test_pg_instance_puts_back_and_restarts_once_only_for_a_setting_read_at_start(monkeypatch):
    runtime = enforce_runtime("unix_socket_permissions")
    job, picked, ran = keep(monkeypatch, runtime, {"enforce": ["log_statement", "unix_socket_permissions"]})
    assert picked == [("instance 'chat'", 5434, 15, "/var/run/postgresql")] and runtime.cleaned
    assert job["changed"] and job["settings_repaired"] == ["unix_socket_permissions", "log_statement"]
    assert ran == ["restart"] and job["restart_required"] == [], "restart_required stays the settings file's"
    assert job["actions"] == ["restart"]
    job, picked, ran = keep(monkeypatch, enforce_runtime("unix_socket_permissions"),
                            {"enforce": ["unix_socket_permissions"]}, state="restarted")
    assert ran == ["restart"], "restarted again: the value put back is read at a start"


def test_pg_instance_leaves_a_stopped_or_not_yet_running_instance_unread(monkeypatch):
    item = {"enforce": ["ssl"]}
    for status, module in ((None, {"check_mode": True}), ("stopped", {"check_mode": True}),
                           ("started", {"state": "stopped"}), ("stopped", {"state": "present"})):
        runtime = enforce_runtime("")
        job, picked, ran = keep(monkeypatch, runtime, item, status=status, **module)
        assert picked == [] and ran == [] and not job["changed"], (status, module)
    job, picked, ran = keep(monkeypatch, enforce_runtime(""), {}, file_modes=False)
    assert picked == [], "nothing asked: no session"


def test_check_mode_reads_the_instance_on_its_current_port_and_warns_when_it_cannot(monkeypatch):
    runtime = enforce_runtime("")
    job, picked, ran = keep(monkeypatch, runtime, {"enforce": ["log_statement"]}, port=6543, check_mode=True)
    assert picked[0][1] == 5434, "check mode moves no port: the instance still listens on its own"
    assert job["settings_repaired"] == ["unix_socket_permissions", "log_statement"]
    assert ran == ["restart"] and job["actions"] == ["restart"], "check mode predicts the restart, runs nothing here"

    class Unreadable(FakeRuntime):
        def session(self, database="postgres"):
            raise _instance.DarevelError("instance 'chat': psycopg2 is missing; fix: install python3-psycopg2")
    job, picked, ran = keep(monkeypatch, Unreadable({}), {"enforce": ["ssl"]}, check_mode=True)
    assert not job["changed"] and len(job["warnings"]) == 1 and "psycopg2 is missing" in job["warnings"][0]
    try:
        keep(monkeypatch, Unreadable({}), {"enforce": ["ssl"]})
    except _instance.DarevelError as exc:
        assert "psycopg2" in exc.msg
    else:
        raise AssertionError("outside check mode an unreadable instance fails its job")


def test_check_mode_shows_every_line_it_would_comment_out_in_one_file(tmp_path):
    conf = tmp_path / "postgresql.conf"
    conf.write_text("include_dir = 'conf.d'\nssl = off\nlog_statement = 'all'\n")
    runtime = FakeRuntime({"SELECT f.name": [("log_statement", str(conf), "3"), ("ssl", str(conf), "2")],
                           "SELECT coalesce(string_agg(name, ',' ORDER BY name), '') FROM pg_settings WHERE context":
                               [("",)]})
    diffs: dict = {}
    fixed, _queries, _restart = config.enforce(runtime.session(), ["log_statement", "ssl"], True, diffs)
    assert fixed == ["log_statement", "ssl"] and conf.read_text().count("#") == 0, "check mode writes nothing"
    old, new = diffs[str(conf)]
    assert old == conf.read_text()
    assert [line.startswith("# ") for line in new.splitlines()] == [False, True, True], new
