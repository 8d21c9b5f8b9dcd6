"""Unit tests for plugins/module_utils/_ports.py against sample /proc text and a fake /proc tree."""

from __future__ import annotations

import pytest

from ansible_collections.darevel.postgres.plugins.module_utils import _ports
from unit.conftest import TCP_HEADER, tcp_line

POSTGRES_ARGV = ["/usr/lib/postgresql/15/bin/postgres", "-D", "/var/lib/postgresql/15/chat",
                 "-c", "config_file=/etc/postgresql/15/chat/postgresql.conf"]

SAMPLE = TCP_HEADER + "".join([
    tcp_line(0, "0100007F", 5434, "0A", 41001),                     # 127.0.0.1:5434 LISTEN
    tcp_line(1, "00000000", 22, "0A", 1000),                         # 0.0.0.0:22 LISTEN
    tcp_line(2, "0100007F", 5434, "01", 41002, "0100007F:D431"),     # established client
    tcp_line(3, "0100007F", 0xD431, "01", 41003, "0100007F:1537"),   # its peer: ESTABLISHED, not listening
    tcp_line(4, "0100007F", 5435, "06", 41004),                      # TIME_WAIT
])


def test_parse_proc_net_only_listening():
    assert _ports.parse_proc_net(SAMPLE) == {5434: {"41001"}, 22: {"1000"}}


@pytest.mark.parametrize("port", [1024, 5433, 5438, 65535])
def test_parse_proc_net_hex_port(port):
    text = TCP_HEADER + tcp_line(0, "0100007F", port, "0A", 7)
    assert _ports.parse_proc_net(text) == {port: {"7"}}


def test_parse_proc_net_tcp6_address():
    text = TCP_HEADER + tcp_line(0, "00000000000000000000000001000000", 0x1537, "0A", 9)
    assert _ports.parse_proc_net(text) == {5431: {"9"}}


@pytest.mark.parametrize("text", ["", TCP_HEADER, TCP_HEADER + "garbage line\n"])
def test_parse_proc_net_empty(text):
    assert _ports.parse_proc_net(text) == {}


def test_parse_proc_net_header_skipped_even_if_it_looks_listening():
    # The first line is always the header and never data.
    assert _ports.parse_proc_net(tcp_line(0, "0100007F", 5434, "0A", 1)) == {}


def test_listening_ports_merges_tcp_and_tcp6(fake_proc):
    fake_proc.listen(5434, 500)
    fake_proc.listen(5434, 501, ipv6=True)
    fake_proc.listen(5435, 502, state="01")
    assert _ports.listening_ports(fake_proc.path) == {22: {"1000"}, 5434: {"500", "501"}}


def test_listening_ports_without_proc_net(tmp_path):
    assert _ports.listening_ports(str(tmp_path)) == {}


def test_socket_holders(fake_proc):
    fake_proc.listen(5434, 500)
    fake_proc.process(321, "postgres", POSTGRES_ARGV, inodes=[500])
    fake_proc.process(322, "bash", ["bash"], inodes=[999])
    assert _ports.socket_holders({"500"}, fake_proc.path) == [
        {"pid": 321, "comm": "postgres", "cmdline": " ".join(POSTGRES_ARGV)}]


def test_socket_holders_one_entry_per_process(fake_proc):
    fake_proc.process(321, "postgres", POSTGRES_ARGV, inodes=[500, 501])
    assert [h["pid"] for h in _ports.socket_holders({"500", "501"}, fake_proc.path)] == [321]


def test_socket_holders_skips_unreadable_fd_dirs(fake_proc):
    (fake_proc.root / "4000").mkdir()  # a process that exited: no fd/ left
    assert _ports.socket_holders({"500"}, fake_proc.path) == []


@pytest.mark.parametrize("port, expected_pids", [(5434, [321]), (22, []), (6000, None)])
def test_holder_of(fake_proc, port, expected_pids):
    fake_proc.listen(5434, 500)
    fake_proc.process(321, "postgres", POSTGRES_ARGV, inodes=[500])
    holders = _ports.holder_of(port, proc=fake_proc.path)
    if expected_pids is None:
        assert holders is None
    else:
        assert [h["pid"] for h in holders] == expected_pids


def test_holder_of_uses_given_ports(fake_proc):
    fake_proc.process(321, "postgres", POSTGRES_ARGV, inodes=[500])
    assert _ports.holder_of(5434, {}, fake_proc.path) is None
    assert _ports.holder_of(5434, {5434: {"500"}}, fake_proc.path)[0]["comm"] == "postgres"


def test_describe_names_processes():
    holders = [{"pid": 321, "comm": "postgres", "cmdline": "postgres -D /data"},
               {"pid": 9, "comm": "docker-proxy", "cmdline": "/usr/bin/docker-proxy -host-port 5434"}]
    assert _ports.describe(holders) == ("postgres (pid 321: postgres -D /data), "
                                        "docker-proxy (pid 9: /usr/bin/docker-proxy -host-port 5434)")


def test_describe_truncates_command_line():
    text = _ports.describe([{"pid": 1, "comm": "java", "cmdline": "x" * 500}])
    assert text == "java (pid 1: %s)" % ("x" * 120)


def test_describe_without_holders():
    assert "another network namespace or a container engine" in _ports.describe([])
