"""Unit tests for plugins/filter/dev.py: the developer files and Windows' excluded TCP port ranges."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.darevel.postgres.plugins.filter import dev
from ansible_collections.darevel.postgres.plugins.module_utils import _catalogue

PLAN, _PROBLEMS = _catalogue.validate(copy.deepcopy(_catalogue.SEED), "all", 15)
assert not _PROBLEMS

# As Windows 11 prints it, with Hyper-V/WinNAT ranges and one administered exclusion.
NETSH = """
Protocol tcp Port Exclusion Ranges

Start Port    End Port
----------    --------
      1080        1179
      5357        5357
      5400        5435
      5437        5437
      5438        5438     *
     50000       50059     *

* - Administered port exclusions.

"""


def test_filters_registered():
    # All of them are the roles' helpers, reached through the darevel.postgres.internal lookup.
    assert dev.FilterModule().filters() == {}


def test_excluded_port_ranges():
    assert dev.excluded_port_ranges(NETSH) == [
        {"start": 1080, "end": 1179, "administered": False},
        {"start": 5357, "end": 5357, "administered": False},
        {"start": 5400, "end": 5435, "administered": False},
        {"start": 5437, "end": 5437, "administered": False},
        {"start": 5438, "end": 5438, "administered": True},
        {"start": 50000, "end": 50059, "administered": True},
    ]


@pytest.mark.parametrize("text", ["", None, "\r\nProtocol tcp Port Exclusion Ranges\r\n\r\nStart Port    End Port\r\n"
                                  "----------    --------\r\n\r\n* - Administered port exclusions.\r\n"])
def test_no_ranges(text):
    assert dev.excluded_port_ranges(text) == []
    assert dev.excluded_port_conflicts(text, PLAN) == []
    assert dev.excluded_port_message([]) == ""


def test_crlf_output_parses():
    assert dev.excluded_port_ranges(NETSH.replace("\n", "\r\n")) == dev.excluded_port_ranges(NETSH)


def test_conflicts_skip_administered_ranges():
    conflicts = dev.excluded_port_conflicts(NETSH, PLAN)
    assert conflicts == [
        {"instance": "infra", "port": 5433, "start": 5400, "end": 5435, "administered": False},
        {"instance": "chat", "port": 5434, "start": 5400, "end": 5435, "administered": False},
        {"instance": "slides", "port": 5435, "start": 5400, "end": 5435, "administered": False},
        {"instance": "mail", "port": 5437, "start": 5437, "end": 5437, "administered": False},
    ]


def test_conflicts_with_administered_ranges():
    conflicts = dev.excluded_port_conflicts(NETSH, PLAN, administered=True)
    assert [(c["instance"], c["administered"]) for c in conflicts][-1] == ("sheet", True)
    assert len(conflicts) == 5


ALL = ["infra", "chat", "slides", "suite", "mail", "sheet"]


@pytest.mark.parametrize("start, end, hit", [(5432, 5432, []), (5433, 5433, ["infra"]), (5438, 5500, ["sheet"]),
                                             (5439, 5500, []), (1, 65535, ALL)])
def test_range_bounds_are_inclusive(start, end, hit):
    text = "Start Port    End Port\n----------    --------\n%10d  %10d\n" % (start, end)
    assert [c["instance"] for c in dev.excluded_port_conflicts(text, PLAN)] == hit


def test_port_runs():
    assert dev.port_runs([5437, 5433, 5434, 5435, 5434]) == [(5433, 3), (5437, 1)]
    assert dev.port_runs([]) == []


def test_message_names_instance_port_range_and_both_fixes():
    message = dev.excluded_port_message(dev.excluded_port_conflicts(NETSH, PLAN))
    assert "instance 'chat': port 5434 is inside the excluded range 5400-5435" in message
    assert "instance 'mail': port 5437 is inside the excluded range 5437-5437" in message
    assert "`net stop winnat`" in message and "`net start winnat`" in message
    assert "netsh int ipv4 add excludedportrange protocol=tcp startport=5433 numberofports=3" in message
    assert "netsh int ipv4 add excludedportrange protocol=tcp startport=5437 numberofports=1" in message
    assert "ports outside every excluded range" in message
    assert "set dynamic tcp start=49152 num=16384" in message


def test_dev_files_paths_follow_the_seed():
    files = dev.dev_files(PLAN)
    paths = [f["path"] for f in files]
    for path in ("infrastructure/docker-compose.yml", "infrastructure/.env", "infrastructure/host.env",
                 "apps/chat/backend-java/postgres-compose.yml", "apps/chat/backend-java/.env",
                 "apps/slides/backend/postgres-compose.yml", "apps/sheet/backend/host.env",
                 "start-slides.bat", "start-slides.sh", "start-all.bat", "start-all.sh", "stop-all.bat",
                 "stop-all.sh"):
        assert path in paths
    assert len(paths) == len(set(paths)) == 6 * 5 + 4


def test_dev_files_modes_line_endings_and_secrets():
    for item in dev.dev_files(PLAN):
        name = item["path"].rsplit("/", 1)[-1]
        assert item["newline"] == ("\r\n" if name.endswith(".bat") else "\n")
        assert item["secret"] == name.endswith(".env")
        assert item["mode"] == {"env": "0600", "sh": "0755"}.get(name.rsplit(".", 1)[-1], "0644")


def test_dev_files_env_hosts():
    files = dev.dev_files(PLAN, "host.docker.internal", "127.0.0.1")
    hosts = {f["path"]: f["db_host"] for f in files if f["secret"]}
    assert hosts["apps/mail/backend/.env"] == "host.docker.internal"
    assert hosts["apps/mail/backend/host.env"] == "127.0.0.1"


def test_dev_files_compose_file_at_the_root():
    inst = dict(PLAN[0], compose_file="docker-compose.yml")
    paths = [f["path"] for f in dev.dev_files([inst])][:3]
    assert paths == ["docker-compose.yml", ".env", "host.env"]


def test_dev_dirs_parents_first():
    assert dev.dev_dirs(dev.dev_files(PLAN[:2])) == ["apps", "infrastructure", "apps/chat",
                                                     "apps/chat/backend-java"]


@pytest.mark.parametrize("root, sep, compose, env", [
    (".", "/", "./apps/chat/backend-java/postgres-compose.yml", "./apps/chat/backend-java/.env"),
    ("/home/dev/darevel-dev/", "/", "/home/dev/darevel-dev/apps/chat/backend-java/postgres-compose.yml",
     "/home/dev/darevel-dev/apps/chat/backend-java/.env"),
    ("C:\\darevel-dev\\", "\\", "C:\\darevel-dev\\apps\\chat\\backend-java\\postgres-compose.yml",
     "C:\\darevel-dev\\apps\\chat\\backend-java\\.env"),
])
def test_compose_argv(root, sep, compose, env):
    chat = [i for i in PLAN if i["name"] == "chat"][0]
    assert dev.compose_argv(chat, root, sep) == {"project": "darevel-chat", "compose_file": compose, "env_file": env}
