"""Unit tests for plugins/module_utils/_status.py (log causes, refusals, log tails, probes' parsing)."""

from __future__ import annotations

import pytest

from ansible_collections.darevel.postgres.plugins.module_utils import _status

TS = "2026-11-26 05:20:01.123 UTC [4242] "


@pytest.mark.parametrize("line, expected", [
    (TS + 'LOG:  unrecognized configuration parameter "shared_bufers" in file '
          '"/etc/postgresql/15/chat/conf.d/50-darevel-settings.conf" line 3',
     "unknown setting 'shared_bufers'"),
    (TS + 'FATAL:  invalid value for parameter "work_mem": "4XB"', "invalid value for setting 'work_mem'"),
    (TS + 'LOG:  could not bind IPv4 address "127.0.0.1": Address already in use', "port 5434 is already in use"),
    (TS + 'HINT:  Is another postmaster already running on port 5434? If not, wait a few seconds and retry.',
     "port 5434 is already in use"),
    (TS + 'FATAL:  lock file "/var/run/postgresql/.s.PGSQL.5434.lock" already exists',
     "lock file /var/run/postgresql/.s.PGSQL.5434.lock exists"),
    (TS + 'FATAL:  could not open file "postgresql.conf": Permission denied', "permission denied"),
    (TS + 'FATAL:  data directory "/var/lib/postgresql/15/chat" has invalid permissions', None),
    (TS + 'FATAL:  could not map anonymous shared memory: Cannot allocate memory', "not enough memory"),
    (TS + 'LOG:  syntax error in file "/etc/postgresql/15/chat/postgresql.conf" line 2, near token "="',
     "syntax error in /etc/postgresql/15/chat/postgresql.conf"),
    (TS + 'PANIC:  could not write to file "pg_wal/xlogtemp.42": No space left on device', "the disk is full"),
    (TS + 'FATAL:  database files are incompatible with server', "belongs to another PostgreSQL version"),
    (TS + 'LOG:  database system is ready to accept connections', None),
])
def test_log_cause(line, expected):
    cause = _status.log_cause(["noise", line, TS + "LOG:  database system is shut down"], 5434)
    if expected is None:
        assert cause is None
    else:
        assert cause is not None and expected in cause, cause


def test_log_cause_names_the_port_holder_and_prefers_the_latest_error():
    lines = [TS + 'FATAL:  invalid value for parameter "work_mem": "x"',
             TS + 'LOG:  could not bind IPv4 address "127.0.0.1": Address already in use']
    assert _status.log_cause(lines, 25480, "python3 (pid 7: python3 -m http.server 25480)") == (
        "port 25480 is already in use by python3 (pid 7: python3 -m http.server 25480); fix: stop that "
        "process or give the instance another port")
    assert _status.log_cause([], 1) is None


def test_log_cause_prefers_the_specific_error_to_the_summary():
    conf = "/etc/postgresql/15/chat/conf.d/90-x.conf"
    lines = [TS + 'LOG:  unrecognized configuration parameter "shared_bufers" in file "%s" line 1' % conf,
             TS + 'FATAL:  configuration file "%s" contains errors' % conf]
    assert _status.log_cause(lines).startswith("unknown setting 'shared_bufers'")
    assert _status.log_cause(lines[1:]).startswith("%s contains errors" % conf)


@pytest.mark.parametrize("error, expected", [
    ('connection to server at "127.0.0.1", port 5434 failed: Connection refused\n\tIs the server running on that '
     'host and accepting TCP/IP connections?', "nothing listens there"),
    ('connection to server on socket "/var/run/postgresql/.s.PGSQL.5434" failed: No such file or directory',
     "nothing listens there"),
    ('connection to server at "127.0.0.1", port 5434 failed: FATAL:  no pg_hba.conf entry for host "127.0.0.1", '
     'user "app", database "app", no encryption', "pg_hba.conf rejects"),
    ('FATAL:  password authentication failed for user "app"', "wrong password"),
    ('could not translate host name "db.invalid" to address: Name or service not known', "wrong address"),
    ('connection to server at "10.0.0.9", port 5434 failed: timeout expired', "firewall"),
    ('FATAL:  the database system is starting up', "starting or stopping"),
    ('FATAL:  sorry, too many clients already', None),
    ('FATAL:  remaining connection slots are reserved for roles with the SUPERUSER attribute',
     "max_connections"),
])
def test_explain_refusal(error, expected):
    why = _status.explain_refusal(error)
    assert (why is None) if expected is None else (expected in why), why


def test_tail_of_a_large_file(tmp_path):
    path = tmp_path / "postgresql.log"
    path.write_text("".join("line %d\n" % n for n in range(20000)) + "\n\n")
    assert _status.tail(str(path), 3, block=100) == ["line 19997", "line 19998", "line 19999"]
    assert _status.tail(str(path), 0) == []
    assert _status.tail(str(tmp_path / "missing.log"), 5) == []
    assert _status.tail(None, 5) == []
    assert _status.tail_text("a\n\nb\nc\n", 2) == ["b", "c"]


def test_fill_parses_one_status_row():
    out = _status.fill(_status.empty(), ("15.14 (Debian 15.14-0+deb12u1)", "2026-11-26 05:00:00+00", 3600,
                                         2, 100, "max_connections,shared_buffers", 7654321))
    assert out == {"accepting": True, "server_version": "15.14", "started_at": "2026-11-26 05:00:00+00",
                   "uptime_seconds": 3600, "connections": 2, "max_connections": 100,
                   "database_size_bytes": 7654321, "pending_restart": ["max_connections", "shared_buffers"],
                   "problem": None}
    assert _status.fill(_status.empty(), ("16.2", "t", "5", "0", "20", "", None))["pending_restart"] == []


class FakeContainer:
    def __init__(self, answers, env=("POSTGRES_USER=chat_owner", "POSTGRES_DB=chat")):
        self.answers = list(answers)
        self.calls = []
        self.attrs = {"Config": {"Env": list(env)}}

    def exec_run(self, argv, user=None):
        self.calls.append((argv, user))
        return self.answers.pop(0)


def test_probe_docker_running():
    container = FakeContainer([(0, b""), (0, b"15.14|2026-11-26 05:00:00+00|42|1|100||8000000\n")])
    out = _status.probe_docker(container, {"status": "started", "port": 5434}, "darevel_chat")
    assert out["accepting"] is True and out["server_version"] == "15.14" and out["uptime_seconds"] == 42
    assert out["connections"] == 1 and out["database_size_bytes"] == 8000000 and out["problem"] is None
    psql = container.calls[1][0]
    assert psql[psql.index("-U") + 1] == "chat_owner" and "'darevel_chat'" in psql[-1]


def test_probe_docker_not_ready():
    out = _status.probe_docker(FakeContainer([(2, b"")]), {"status": "started", "port": 5434}, None)
    assert out["accepting"] is False and "no response" in out["problem"]


def test_probe_native_down_instance_without_holder(monkeypatch):
    monkeypatch.setattr(_status._ports, "holder_of", lambda port: None)
    out = _status.probe_native({"status": "stopped", "port": 25489, "name": "x"}, "x")
    assert out["accepting"] is False and out["problem"] is None


def test_probe_native_down_instance_whose_port_is_held(monkeypatch):
    monkeypatch.setattr(_status._ports, "holder_of",
                        lambda port: [{"pid": 7, "comm": "nc", "cmdline": "nc -l 25489"}])
    out = _status.probe_native({"status": "stopped", "port": 25489, "name": "x"}, "x", own=lambda h: False)
    assert out["problem"] == "down, and port 25489 is held by nc (pid 7: nc -l 25489)"
    out = _status.probe_native({"status": "stopped", "port": 25489, "name": "x"}, "x", own=lambda h: True)
    assert out["problem"] is None


def test_start_failure_message(tmp_path, monkeypatch):
    from ansible_collections.darevel.postgres.plugins.module_utils import _instance
    log = tmp_path / "postgresql-15-it.log"
    log.write_text(TS + 'LOG:  could not bind IPv4 address "127.0.0.1": Address already in use\n'
                   + TS + "LOG:  database system is shut down\n")
    monkeypatch.setattr(_instance._ports, "holder_of",
                        lambda port: [{"pid": 9, "comm": "python3", "cmdline": "python3 -m http.server 25480"}])
    text = _instance.start_failure(str(log), 25480, {"name": "it", "version": 15})
    assert "likely cause: port 25480 is already in use by python3 (pid 9: python3 -m http.server 25480)" in text
    assert text.endswith("last lines of %s:\n%s" % (log, log.read_text().strip()))
    assert "likely cause: not recognised" in _instance.start_failure(str(tmp_path / "none"), 1, {"name": "x",
                                                                                                 "version": 15})
