"""Unit tests for plugins/module_utils/_status.py (log causes, refusals, log tails, the probe over a runtime)."""

from __future__ import annotations

import pytest

from ansible_collections.darevel.postgres.plugins.module_utils import _status
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.module_utils._runtime.base import render

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


class FakeSession:
    """A runtime's session: records each statement as the runtime would send it."""

    def __init__(self, rt):
        self.rt = rt

    def one(self, text, idents=(), params=()):
        self.rt.sent.append(render(text, idents, params))
        if isinstance(self.rt.row, Exception):
            raise self.rt.row
        return self.rt.row

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.rt.closed = True


class FakeRuntime:
    def __init__(self, kind, row=None, ready=(0, b"", b""), refuse=None, port=5434,
                 env=("POSTGRES_USER=chat_owner", "POSTGRES_DB=chat")):
        self.kind, self.label, self.row, self.ready, self.refuse, self.port = kind, "instance 'chat'", row, ready, \
            refuse, port
        self.container = type("C", (), {"attrs": {"Config": {"Env": list(env)}}})()
        self.sent, self.execs, self.closed = [], [], False

    def exec(self, argv, user="postgres", stdin=None, dest=None):
        self.execs.append(argv)
        return self.ready

    def session(self, database="postgres"):
        if self.refuse:
            raise DarevelError("%s: cannot connect on port 5434 through /var/run/postgresql as postgres: %s; fix: "
                               "start the instance" % (self.label, self.refuse))
        return FakeSession(self)


ROW = ("15.14", "2026-11-26 05:00:00+00", "42", "1", "100", "", "8000000")
STARTED = {"status": "started", "port": 5434}


def test_probe_docker_running():
    rt = FakeRuntime("docker", ROW)
    out = _status.probe(rt, STARTED, "darevel_chat")
    assert out["accepting"] is True and out["server_version"] == "15.14" and out["uptime_seconds"] == 42
    assert out["connections"] == 1 and out["database_size_bytes"] == 8000000 and out["problem"] is None
    assert rt.execs[0][0] == "pg_isready" and rt.closed
    assert "datname = 'darevel_chat')" in rt.sent[0]


def test_probe_docker_defaults_to_the_image_database_and_quotes_it():
    rt = FakeRuntime("docker", ROW, env=("POSTGRES_DB=it's",))
    _status.probe(rt, STARTED, None)
    assert "datname = 'it''s')" in rt.sent[0]


def test_probe_docker_not_ready():
    rt = FakeRuntime("docker", ready=(2, b"", b""))
    out = _status.probe(rt, STARTED, None)
    assert out["accepting"] is False and "no response" in out["problem"] and rt.sent == []


def test_probe_docker_query_failure_still_accepts():
    rt = FakeRuntime("docker", DarevelError("instance 'chat': psql in container c stopped: FATAL:  boom; fix: see"))
    out = _status.probe(rt, STARTED, None)
    assert out["accepting"] is True and out["problem"] == "query failed: psql in container c stopped: FATAL:  boom"


def test_probe_native_running_then_checks_tcp(monkeypatch):
    monkeypatch.setattr(_status, "HAS_PSYCOPG2", True)
    monkeypatch.setattr(_status, "tcp_problem", lambda port: "TCP 127.0.0.1:%d refused: x" % port)
    rt = FakeRuntime("native", ROW)
    out = _status.probe(rt, STARTED, None)
    assert out["accepting"] is True and out["max_connections"] == 100 and rt.execs == []
    assert "datname = 'postgres')" in rt.sent[0] and out["problem"] == "TCP 127.0.0.1:5434 refused: x"


def test_probe_native_refused_socket(monkeypatch):
    monkeypatch.setattr(_status, "HAS_PSYCOPG2", True)
    monkeypatch.setattr(_status, "tcp_problem", lambda port: pytest.fail("no TCP check after a refusal"))
    rt = FakeRuntime("native", refuse='connection to server on socket "/var/run/postgresql/.s.PGSQL.5434" '
                                      'failed: No such file or directory')
    out = _status.probe(rt, STARTED, "chat")
    assert out["accepting"] is False
    assert out["problem"].startswith("socket connection refused: nothing listens there")
    assert out["problem"].endswith("(cannot connect on port 5434 through /var/run/postgresql as postgres: "
                                   "connection to server on socket \"/var/run/postgresql/.s.PGSQL.5434\" "
                                   "failed: No such file or directory)")


def test_probe_native_down_instance_without_holder(monkeypatch):
    monkeypatch.setattr(_status._ports, "holder_of", lambda port: None)
    out = _status.probe(FakeRuntime("native"), {"status": "stopped", "port": 25489, "name": "x"}, "x")
    assert out["accepting"] is False and out["problem"] is None


def test_probe_native_down_instance_whose_port_is_held(monkeypatch):
    monkeypatch.setattr(_status._ports, "holder_of",
                        lambda port: [{"pid": 7, "comm": "nc", "cmdline": "nc -l 25489"}])
    rt = FakeRuntime("native")
    out = _status.probe(rt, {"status": "stopped", "port": 25489, "name": "x"}, "x", own=lambda h: False)
    assert out["problem"] == "down, and port 25489 is held by nc (pid 7: nc -l 25489)"
    out = _status.probe(rt, {"status": "stopped", "port": 25489, "name": "x"}, "x", own=lambda h: True)
    assert out["problem"] is None and rt.sent == []


def test_probe_docker_down_names_the_container_that_publishes_the_port(monkeypatch):
    monkeypatch.setattr(_status._ports, "holder_of", lambda port: [{"pid": 8, "comm": "docker-proxy", "cmdline": ""}])
    out = _status.probe(FakeRuntime("docker"), {"status": "stopped", "port": 25489}, None, {25489: "other"})
    assert out["problem"] == "down, and port 25489 is held by container other"


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


def test_the_current_log_is_the_collectors_file_else_the_services(tmp_path):
    data, logs = tmp_path / "data", tmp_path / "15-chat"
    data.mkdir()
    logs.mkdir()
    stderr = str(tmp_path / "postgresql-15-chat.log")
    assert _status.current_log(str(data), stderr) == stderr, "no collector: the service's stderr file"
    (logs / "postgresql-Tue.log").write_text("old\n")
    (logs / "postgresql-Wed.log").write_text("new\n")
    import os
    os.utime(logs / "postgresql-Tue.log", (1, 1))
    pattern = str(logs / "postgresql-%a.log")
    assert _status.current_log(str(data), pattern) == str(logs / "postgresql-Wed.log"), "the newest of its directory"
    (data / "current_logfiles").write_text("stderr %s\ncsvlog %s/x.csv\n" % (logs / "postgresql-Tue.log", logs))
    assert _status.current_log(str(data), pattern) == str(logs / "postgresql-Tue.log"), "current_logfiles wins"
    (data / "current_logfiles").write_text("stderr log/postgresql-Mon.log\n")
    assert _status.current_log(str(data), stderr) == str(data / "log" / "postgresql-Mon.log"), "relative to the data"
    assert _status.current_log(None, None) is None
    assert _status.current_log(str(data / "gone"), str(tmp_path / "none" / "x-%a.log")) is None
