"""The Python libraries the preflight checks on the target (plugins/module_utils/_preflight.py)."""

from __future__ import annotations

import socket
import threading

from ansible_collections.darevel.postgres.plugins.module_utils import _preflight


def missing(*names):
    return lambda module: module not in names


def test_native_install_lists_the_debian_package():
    assert _preflight.python_libraries("native", "install", "/usr/bin/python3", has=missing("psycopg2"),
                                       apt=True, system=True) == (["python3-psycopg2"], [])


def test_docker_needs_the_sdk_and_not_psycopg2():
    assert _preflight.python_libraries("docker", "require", "/usr/bin/python3", has=missing("psycopg2"),
                                       apt=True, system=True) == ([], [])
    packages, problems = _preflight.python_libraries("docker", "install", "/usr/bin/python3",
                                                     has=missing("docker"), apt=True, system=True)
    assert packages == ["python3-docker"] and problems == []


def test_require_refuses_with_the_apt_command():
    packages, problems = _preflight.python_libraries("native", "require", "/usr/bin/python3",
                                                     has=missing("psycopg2"), apt=True, system=True)
    assert packages == []
    assert problems == ["host: the Python that Ansible uses on this host (/usr/bin/python3) cannot import psycopg2, "
                        "which the native runtime needs; fix: apt-get install python3-psycopg2, or run "
                        "playbooks/site.yml, which installs it"]


def test_a_virtualenv_interpreter_is_refused_since_apt_would_not_reach_it():
    packages, problems = _preflight.python_libraries("native", "install", "/opt/venv/bin/python",
                                                     has=missing("psycopg2"), apt=True, system=False)
    assert packages == []
    assert "(/opt/venv/bin/python) cannot import psycopg2" in problems[0]
    assert "fix: install psycopg2 into its environment (/opt/venv/bin/python -m pip install psycopg2-binary) " \
           "or set ansible_python_interpreter=/usr/bin/python3" in problems[0]


def test_nothing_missing_or_ignored_is_no_problem():
    assert _preflight.python_libraries("native", "require", has=lambda m: True, apt=True, system=True) == ([], [])
    assert _preflight.python_libraries("native", "ignore", has=missing("psycopg2"), apt=True, system=True) == ([], [])


def test_system_python_is_not_a_virtualenv():
    assert _preflight.system_python("/usr/bin/python3", "/usr", "/usr") is True
    assert _preflight.system_python("/usr/bin/python3", "/opt/venv", "/usr") is False


def test_the_engine_is_pinged_without_the_sdk(tmp_path):
    path = str(tmp_path / "docker.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)

    def answer():
        conn, _addr = server.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")

    thread = threading.Thread(target=answer)
    thread.start()
    try:
        assert _preflight.ping_without_sdk("unix://" + path) is True
    finally:
        thread.join(5)
        server.close()
    assert _preflight.ping_without_sdk("unix://" + str(tmp_path / "none.sock")) is False
    assert _preflight.ping_without_sdk("ssh://user@host") is None


def test_an_address_only_the_sdk_reads_right_is_left_to_it(monkeypatch):
    """No port (the SDK's default 2375) or a certificate path (the SDK speaks TLS then): None, so
    that the SDK decides, not a plain-HTTP ping that would say no engine answers."""
    monkeypatch.delenv("DOCKER_TLS_VERIFY", raising=False)
    monkeypatch.delenv("DOCKER_CERT_PATH", raising=False)
    assert _preflight.ping_without_sdk("tcp://127.0.0.1") is None
    assert _preflight.ping_without_sdk("tcp://127.0.0.1:1", timeout=1) is False
    monkeypatch.setenv("DOCKER_CERT_PATH", "/nonexistent/certs")
    assert _preflight.ping_without_sdk("tcp://127.0.0.1:1", timeout=1) is None
