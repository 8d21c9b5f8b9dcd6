"""Unit tests for plugins/filter/catalogue.py."""

from __future__ import annotations

import copy
import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.darevel.postgres.plugins.filter import catalogue
from ansible_collections.darevel.postgres.plugins.module_utils import _catalogue

PLAN, _PROBLEMS = _catalogue.validate(copy.deepcopy(_catalogue.SEED), ["chat", "mail"], 15)
assert not _PROBLEMS


def test_filters_registered():
    # The tables are public filters; the module-argument and row helpers are the internal lookup's.
    assert set(catalogue.FilterModule().filters()) == {"status_table", "tuning_table", "connect_table", "table_msg"}


@pytest.mark.parametrize("env_dir", ["/etc/darevel/postgres", "/etc/darevel/postgres/"])
def test_database_items(env_dir):
    items = catalogue.database_items(PLAN, ["pw-chat", "pw-mail"], env_dir, "db.internal")
    assert items == [
        {"name": "chat", "version": 15, "port": 5434, "database": "darevel_chat", "owner": "darevel_chat_owner",
         "owner_password": "pw-chat", "env_file": "/etc/darevel/postgres/chat.env", "env_host": "db.internal",
         "connection_limit": 95},
        {"name": "mail", "version": 15, "port": 5437, "database": "darevel_mail", "owner": "darevel_mail_owner",
         "owner_password": "pw-mail", "env_file": "/etc/darevel/postgres/mail.env", "env_host": "db.internal",
         "connection_limit": 95},
    ]


@pytest.mark.parametrize("instance, limit", [
    ({}, 95),
    ({"settings": {"max_connections": "200"}}, 195),
    ({"settings": {"max_connections": "50", "superuser_reserved_connections": "10"}}, 38),
    ({"settings": {"max_connections": "4"}}, 1),
    ({"connection_limit": 20, "settings": {"max_connections": "200"}}, 20),
    ({"docker": {"settings": {"max_connections": 60}}}, 55),
    ({"docker": {"settings": {"max_connections": 60}}, "settings": {"max_connections": "30"}}, 25),
])
def test_the_connection_limit_comes_from_the_catalogue_or_max_connections(instance, limit):
    assert catalogue.connection_limit(instance) == limit


def test_database_items_give_the_env_file_the_tls_the_backends_must_use():
    plan = [dict(PLAN[0], tls={"ca": "/etc/darevel/postgres/tls/ca.crt", "cert": "/c", "key": "/k"}),
            dict(PLAN[1], tls={"cert": "/own.crt", "key": "/own.key"})]
    chat, mail = catalogue.database_items(plan, ["a", "b"], "/e")
    assert (chat["env_sslmode"], chat["env_sslrootcert"]) == ("verify-full", "/etc/darevel/postgres/tls/ca.crt")
    assert mail["env_sslmode"] == "require" and "env_sslrootcert" not in mail
    docker = catalogue.database_items([dict(plan[0], docker={"name": "c"})], ["a"], "/e", runtime="docker")
    assert "env_sslmode" not in docker[0]
    assert not {"env_sslmode", "env_sslrootcert"} & set(catalogue.database_items(PLAN, ["a", "b"], "/e")[0])


def test_database_items_default_host():
    assert {i["env_host"] for i in catalogue.database_items(PLAN, ["a", "b"], "/e")} == {"localhost"}


@pytest.mark.parametrize("passwords", [[], ["only-one"], ["a", "b", "c"]])
def test_database_items_length_mismatch(passwords):
    with pytest.raises(AnsibleFilterError, match=r"database_items: %d passwords for 2 instances" % len(passwords)):
        catalogue.database_items(PLAN, passwords, "/etc/darevel/postgres")


def test_database_items_error_does_not_show_passwords():
    with pytest.raises(AnsibleFilterError) as caught:
        catalogue.database_items(PLAN, ["s3cret-value"], "/e")
    assert "s3cret-value" not in str(caught.value)


INFO = [{"version": 15, "name": "chat", "status": "started", "size_bytes": 8000000,
         "data_dir": "/var/lib/postgresql/15/chat"},
        {"version": 16, "name": "mail", "status": "started", "size_bytes": 1, "data_dir": "/elsewhere"}]


def test_status_rows():
    rows = catalogue.status_rows(PLAN, INFO, "/etc/darevel/postgres", "native")
    assert rows[0] == {
        "name": "chat", "port": 5434, "database": "darevel_chat", "user": "darevel_chat_owner", "version": 15,
        "state": "started", "runtime": "native", "size_bytes": 8000000, "data_dir": "/var/lib/postgresql/15/chat",
        "env_file": "/etc/darevel/postgres/chat.env",
        "connect": "psql -h 127.0.0.1 -p 5434 -U darevel_chat_owner -d darevel_chat",
        "accepting": None, "server_version": None, "started_at": None, "uptime_seconds": None,
        "connections": None, "max_connections": None, "database_size_bytes": None, "pending_restart": [],
        "health": None, "container": None, "problem": None, "last_backup": None,
    }
    # mail 15 is planned but only mail 16 exists: absent, and so not accepting
    assert rows[1]["state"] == "absent" and rows[1]["accepting"] is False
    assert rows[1]["size_bytes"] is None and rows[1]["data_dir"] is None


LIVE = [{"version": 15, "name": "chat", "status": "started", "runtime": "docker", "accepting": True,
         "server_version": "15.14", "uptime_seconds": 93784, "connections": 3, "max_connections": 100,
         "database_size_bytes": 7 * 1024 * 1024 + 512 * 1024, "pending_restart": ["shared_buffers"],
         "health": "healthy", "container": "darevel-postgres-chat",
         "last_backup": {"backup_id": "20261126T063000Z", "age_seconds": 7260, "result": "ok"}},
        {"version": 15, "name": "mail", "status": "stopped", "runtime": "docker", "accepting": False,
         "health": None, "problem": "down, and port 5437 is held by python3 (pid 7: python3 -m http.server)",
         "last_backup": {"backup_id": None, "age_seconds": None, "result": "failed"}}]


def test_status_rows_live_fields():
    rows = {r["name"]: r for r in catalogue.status_rows(PLAN, LIVE, "/e")}
    assert rows["chat"]["runtime"] == "docker" and rows["chat"]["health"] == "healthy"
    assert rows["chat"]["pending_restart"] == ["shared_buffers"]
    assert rows["mail"]["problem"].startswith("down, and port 5437 is held by python3")


def test_status_rows_pick_this_hosts_container_on_a_shared_engine():
    other = dict(LIVE[0], container="hostb-chat", status="stopped", accepting=False)
    own = dict(LIVE[0], container="hosta-chat")
    plan = [dict(PLAN[0], docker={"name": "hosta-chat"})]
    for info in ([other, own], [own, other]):
        row = catalogue.status_rows(plan, info, "/e")[0]
        assert (row["container"], row["state"]) == ("hosta-chat", "started")
    # Only the other host's container on the engine: this host's instance is absent.
    row = catalogue.status_rows(plan, [other], "/e")[0]
    assert (row["state"], row["container"]) == ("absent", None)
    # Facts without a container (native) are matched by version and name as before.
    assert catalogue.status_rows(plan, INFO, "/e")[0]["state"] == "started"


def test_status_table():
    rows = catalogue.status_rows(PLAN, INFO, "/etc/darevel/postgres")
    lines = catalogue.status_table(rows)
    assert len(lines) == 2 + len(rows)
    assert re.split(r"\s{2,}", lines[0]) == ["name", "port", "state", "accepting", "version", "uptime",
                                             "connections", "size", "pending restart", "health", "last backup"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2].split() == ["chat", "5434", "started", "-", "15", "-", "-", "-", "-", "-", "-"]
    assert lines[3].split()[:4] == ["mail", "5437", "absent", "NO"]
    # columns line up: every cell of a column starts at the same offset
    offset = lines[0].index("accepting")
    assert all(line[offset:].startswith(word) for line, word in zip(lines[2:], ("-", "NO")))
    assert all(line == line.rstrip() for line in lines)


def test_status_table_live_columns_and_problems():
    lines = catalogue.status_table(catalogue.status_rows(PLAN, LIVE, "/e"))
    assert re.split(r"\s{2,}", lines[2]) == ["chat", "5434", "started", "yes", "15.14", "1d 2h", "3/100",
                                             "7.5 MiB", "shared_buffers", "healthy", "2h 1m ago"]
    assert "15.14" in lines[2] and "1d 2h" in lines[2] and "3/100" in lines[2] and "7.5 MiB" in lines[2]
    assert "shared_buffers" in lines[2] and lines[2].endswith("healthy  2h 1m ago")
    assert lines[3].endswith("FAILED (last good: none)")
    assert lines[3].split()[:4] == ["mail", "5437", "stopped", "NO"]
    assert lines[4] == "mail: down, and port 5437 is held by python3 (pid 7: python3 -m http.server)"


@pytest.mark.parametrize("seconds, text", [(None, "-"), (0, "0s"), (59, "59s"), (61, "1m 1s"), (3600, "1h 0m"),
                                           (90061, "1d 1h")])
def test_uptime(seconds, text):
    assert catalogue._uptime(seconds) == text


@pytest.mark.parametrize("size, text", [(None, "-"), (0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"),
                                        (8 * 1024 ** 2, "8.0 MiB"), (3 * 1024 ** 4, "3072.0 GiB")])
def test_size(size, text):
    assert catalogue._size(size) == text


def test_status_table_no_rows():
    lines = catalogue.status_table([])
    assert len(lines) == 2
    assert lines[0] == "name  port  state  accepting  version  uptime  connections  size  pending restart  health  " \
                       "last backup"


def test_database_items_name_the_container_on_the_docker_runtime():
    plan = [{"name": "chat", "version": 15, "port": 5434, "database": "darevel_chat", "owner": "o",
             "docker": {"name": "darevel-postgres-chat"}}]
    assert "container" not in catalogue.database_items(plan, ["pw"], "/e")[0]
    assert catalogue.database_items(plan, ["pw"], "/e", runtime="docker")[0]["container"] == "darevel-postgres-chat"


def test_tuning_table_shows_each_instance_and_the_host_totals():
    mib = 1024 * 1024
    plan = {"host": {"memory": 4096 * mib, "cpus": 2, "reserve": 512 * mib, "budget": 3584 * mib,
                     "committed": 3000 * mib, "fits": True},
            "instances": {"chat": {"share": {"memory": 597 * mib, "cpus": 0.333},
                                   "settings": {"shared_buffers": "149MB", "work_mem": "953kB"}}}}
    lines = catalogue.tuning_table(plan, [{"name": "chat", "restart_required": ["shared_buffers"]}])
    assert lines[0].split()[:4] == ["instance", "memory", "cpus", "shared_buffers"]
    assert lines[2].startswith("chat") and "597 MiB" in lines[2] and "149MB" in lines[2]
    assert lines[2].endswith("shared_buffers")
    assert lines[-1] == ("host: 4096 MiB, 2 CPUs; OS reserve 512 MiB; budget 3584 MiB; committed 3000 MiB (fits)")


def test_connect_table_says_how_to_connect():
    lines = catalogue.connect_table(catalogue.status_rows(PLAN, INFO, "/etc/darevel/postgres"))
    assert re.split(r"\s{2,}", lines[0]) == ["name", "port", "database", "user", "state", "connect"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2].split()[:5] == ["chat", "5434", PLAN[0]["database"], PLAN[0]["owner"], "started"]
    assert lines[2].endswith("psql -h 127.0.0.1 -p 5434 -U %s -d %s" % (PLAN[0]["owner"], PLAN[0]["database"]))
    assert len(lines) == 2 + len(PLAN)
