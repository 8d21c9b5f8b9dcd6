# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_database without a server: the env file's values and the manager over a fake runtime."""

from __future__ import annotations

import os

from ansible_collections.darevel.postgres.plugins.module_utils import _database, _envfile, _scram
from ansible_collections.darevel.postgres.plugins.module_utils._runtime import base
from ansible_collections.darevel.postgres.tests.unit.runtime_fakes import UnusedParts

ITEM = {"name": "chat", "port": 5434, "database": "darevel_chat", "owner": "darevel_chat_owner",
        "owner_password": "o" * 20, "env_host": "127.0.0.1"}


def test_env_values_keep_the_existing_keys_and_add_the_application_role():
    assert list(_database.env_values(ITEM)) == ["DB_HOST", "DB_PORT", "DB_NAME", "POSTGRES_USER", "POSTGRES_PASSWORD"]
    values = _database.env_values(dict(ITEM, app_role="darevel_chat_app", app_password="a" * 20))
    assert values["DB_APP_USER"] == "darevel_chat_app" and values["DB_APP_PASSWORD"] == "a" * 20
    masked = _envfile.masked(_envfile.render(values))
    assert "a" * 20 not in masked and "o" * 20 not in masked


class FakeSession(base.Session):
    """Answers like a runtime's session: every value is the server's text, NULL is None."""

    def __init__(self, answers: dict, log: list) -> None:
        self.answers, self.log = answers, log

    def rows(self, text, idents=(), params=()):
        self.log.append(base.render(text, idents, params))
        return next((rows for start, rows in self.answers.items() if text.startswith(start)), [])


class FakeRuntime(UnusedParts, base.Runtime):
    def __init__(self, answers: dict) -> None:
        super().__init__("instance 'chat'")
        self.answers, self.log, self.databases, self.cleaned = answers, [], [], False

    def session(self, database="postgres"):
        self.databases.append(database)
        return FakeSession(self.answers, self.log)

    def cleanup(self):
        self.cleaned = True


class FakeModule:
    def __init__(self, check_mode=False, **params) -> None:
        self.check_mode = check_mode
        self.params = dict({"docker_host": "unix:///run/other.sock", "socket_dir": "/run/pg", "file_modes": False,
                            "workers": 1}, **params)


def manager(monkeypatch, runtime, check_mode=False):
    picked = []

    def select(kind, item, **kwargs):
        picked.append((kind, item, kwargs))
        return runtime
    monkeypatch.setattr(_database, "select_runtime", select)
    return _database.DatabaseManager(FakeModule(check_mode)), picked


def test_the_runtime_is_the_container_as_its_owner_or_the_native_cluster(monkeypatch):
    runtime = FakeRuntime({})
    db, picked = manager(monkeypatch, runtime)
    db._session(dict(ITEM, container="darevel-postgres-chat"), "darevel_chat")
    db._session(ITEM)
    options = {"docker_host": "unix:///run/other.sock", "socket_dir": "/run/pg"}
    assert picked == [("docker", {"name": "chat", "container": "darevel-postgres-chat", "user": "darevel_chat_owner"},
                       options), ("native", ITEM, options)]
    assert runtime.databases == ["darevel_chat", "postgres"]


def test_a_converged_instance_read_as_text_changes_nothing(monkeypatch):
    item = dict(ITEM, app_role="darevel_chat_app", app_password="a" * 20, env_file=None)
    runtime = FakeRuntime({
        "SELECT rolpassword FROM": [(_scram.verifier(item["owner_password"]),)],
        "SELECT pg_get_userbyid": [("darevel_chat_owner",)],
        "SELECT rolpassword, NOT": [(_scram.verifier(item["app_password"]), "t")],
        "SELECT rolpassword IS NOT NULL": [("f",)],
        "SELECT has_database_privilege": [("t",)]})
    db, _picked = manager(monkeypatch, runtime)
    result = db.converge(item)
    assert result["queries"] == [] and result["changed"] is False
    assert runtime.databases == ["postgres", "darevel_chat"] and runtime.cleaned


def test_text_false_values_are_repaired_with_masked_verifiers(monkeypatch):
    item = dict(ITEM, app_role="darevel_chat_app", app_password="a" * 20)
    runtime = FakeRuntime({
        "SELECT rolpassword FROM": [(None,)],
        "SELECT pg_get_userbyid": [("darevel_chat_owner",)],
        "SELECT rolpassword, NOT": [(None, "f")],
        "SELECT rolpassword IS NOT NULL": [("t",)],
        "SELECT has_database_privilege": [("f",)]})
    db, _picked = manager(monkeypatch, runtime)
    queries = db.converge(item)["queries"]
    assert queries[:4] == ["ALTER ROLE darevel_chat_owner LOGIN PASSWORD 'SCRAM-SHA-256$********'",
                           "ALTER ROLE darevel_chat_app PASSWORD 'SCRAM-SHA-256$********'",
                           "ALTER ROLE darevel_chat_app %s" % _database.APP_ATTRIBUTES,
                           "ALTER ROLE postgres PASSWORD NULL"]
    assert queries[4:] == [template.format(*(item[k] for k in keys)) for template, keys in _database.GRANTS]
    sent = "\n".join(runtime.log)
    assert 'ALTER ROLE "darevel_chat_owner" LOGIN PASSWORD \'SCRAM-SHA-256$4096:' in sent
    assert "o" * 20 not in sent and "a" * 20 not in sent


def test_check_mode_sends_nothing_that_changes(monkeypatch):
    runtime = FakeRuntime({})
    db, _picked = manager(monkeypatch, runtime, check_mode=True)
    result = db.converge(dict(ITEM))
    assert result["changed"] is True and result["queries"][0].startswith("CREATE ROLE darevel_chat_owner LOGIN")
    assert all(sql.startswith("SELECT") for sql in runtime.log), runtime.log


def test_every_login_role_without_a_limit_gets_the_instances_limit(monkeypatch):
    item = dict(ITEM, app_role="darevel_chat_app", connection_limit=95)
    runtime = FakeRuntime({"SELECT rolname FROM pg_roles WHERE rolcanlogin": [("darevel_chat_owner",), ("postgres",),
                                                                              ("reporter",)],
                           "SELECT rolconnlimit": [("-1",)]})
    db, _picked = manager(monkeypatch, runtime)
    assert db._connection_limits(runtime.session(), item) == [
        "ALTER ROLE %s CONNECTION LIMIT 95" % role for role in
        ("darevel_chat_owner", "darevel_chat_app", "postgres", "reporter")]


def test_the_configuration_directories_get_0755_back_once_for_the_host(monkeypatch, tmp_path):
    """pg_database writes the env files, so it keeps their directories at 0755 (CONFIG_DIRS): a
    wider or narrower mode is reported, and set back unless in check mode; a missing one is left
    missing. Root is needed to own them as root:root, which os.chown asks of this test process."""
    wide, narrow, missing = tmp_path / "etc", tmp_path / "etc" / "postgres", tmp_path / "none"
    narrow.mkdir(parents=True)
    os.chmod(wide, 0o775)
    os.chmod(narrow, 0o700)
    monkeypatch.setattr(_database._security, "CONFIG_DIRS", (str(wide), str(narrow), str(missing)))
    chowned = []
    monkeypatch.setattr(_database.os, "chown", lambda path, uid, gid: chowned.append((path, uid, gid)))
    checked, problems = _database.DatabaseManager(FakeModule(check_mode=True))._config_dirs()
    assert problems == []
    assert [c["path"] for c in checked] == [str(wide), str(narrow)]
    assert checked[1]["before"].startswith("mode 0700") and checked[1]["after"] == "mode 0755, uid 0, gid 0"
    assert (os.stat(narrow).st_mode & 0o777, chowned) == (0o700, [])
    done, problems = _database.DatabaseManager(FakeModule())._config_dirs()
    assert problems == []
    assert [c["path"] for c in done] == [str(wide), str(narrow)]
    assert [os.stat(p).st_mode & 0o777 for p in (wide, narrow)] == [0o755, 0o755]
    assert chowned == [(str(wide), 0, 0), (str(narrow), 0, 0)] and not missing.exists()


def test_the_host_step_runs_with_file_modes_and_is_part_of_the_outcome(monkeypatch):
    calls = []
    monkeypatch.setattr(_database.DatabaseManager, "_config_dirs",
                        lambda self: calls.append(1) or ([{"path": "/x"}], ["host: /y cannot be set"]))
    monkeypatch.setattr(_database, "run_all", lambda items, fn, workers: ([], []))
    monkeypatch.setattr(_database, "batch_items", lambda params, keys: [])
    outcome = _database.DatabaseManager(FakeModule(file_modes=True)).run()
    assert outcome["host"] == [{"path": "/x"}] and outcome["errors"] == ["host: /y cannot be set"]
    outcome = _database.DatabaseManager(FakeModule(file_modes=False)).run()
    assert outcome["host"] == [] and outcome["errors"] == [] and calls == [1]


def test_a_directory_that_cannot_be_changed_is_a_problem_naming_it_and_the_fix(monkeypatch, tmp_path):
    narrow = tmp_path / "postgres"
    narrow.mkdir()
    os.chmod(narrow, 0o700)
    monkeypatch.setattr(_database._security, "CONFIG_DIRS", (str(narrow),))

    def refuse(path, uid, gid):
        raise PermissionError(1, "Operation not permitted")
    monkeypatch.setattr(_database.os, "chown", refuse)
    changes, problems = _database.DatabaseManager(FakeModule())._config_dirs()
    assert changes == [] and len(problems) == 1
    assert problems[0].startswith("host: %s is mode 0700" % narrow) and "Operation not permitted" in problems[0]
    assert "fix: " in problems[0] and os.stat(narrow).st_mode & 0o777 == 0o700
