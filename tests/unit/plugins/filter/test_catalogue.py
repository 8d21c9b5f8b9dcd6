"""Unit tests for plugins/filter/catalogue.py."""

from __future__ import annotations

import copy

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.darevel.postgres.plugins.filter import catalogue
from ansible_collections.darevel.postgres.plugins.module_utils import _catalogue

PLAN, _PROBLEMS = _catalogue.validate(copy.deepcopy(_catalogue.SEED), ["chat", "mail"], 15)
assert not _PROBLEMS


def test_filters_registered():
    assert set(catalogue.FilterModule().filters()) == {"instance_items", "database_items", "container_items",
                                                       "status_rows", "status_table", "tuning_table"}


def test_instance_items():
    assert catalogue.instance_items(PLAN) == [{"name": "chat", "version": 15, "port": 5434},
                                              {"name": "mail", "version": 15, "port": 5437}]
    assert catalogue.instance_items([]) == []


@pytest.mark.parametrize("env_dir", ["/etc/darevel/postgres", "/etc/darevel/postgres/"])
def test_database_items(env_dir):
    items = catalogue.database_items(PLAN, ["pw-chat", "pw-mail"], env_dir, "db.internal")
    assert items == [
        {"name": "chat", "version": 15, "port": 5434, "database": "darevel_chat", "owner": "darevel_chat_owner",
         "owner_password": "pw-chat", "env_file": "/etc/darevel/postgres/chat.env", "env_host": "db.internal"},
        {"name": "mail", "version": 15, "port": 5437, "database": "darevel_mail", "owner": "darevel_mail_owner",
         "owner_password": "pw-mail", "env_file": "/etc/darevel/postgres/mail.env", "env_host": "db.internal"},
    ]


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
    rows = catalogue.status_rows(PLAN, INFO, "/etc/darevel/postgres")
    assert rows[0] == {
        "name": "chat", "port": 5434, "database": "darevel_chat", "user": "darevel_chat_owner", "version": 15,
        "state": "started", "size_bytes": 8000000, "data_dir": "/var/lib/postgresql/15/chat",
        "env_file": "/etc/darevel/postgres/chat.env",
        "connect": "psql -h 127.0.0.1 -p 5434 -U darevel_chat_owner -d darevel_chat",
    }
    # mail 15 is planned but only mail 16 exists: absent
    assert rows[1]["state"] == "absent"
    assert rows[1]["size_bytes"] is None and rows[1]["data_dir"] is None


def test_status_rows_nothing_installed():
    assert [r["state"] for r in catalogue.status_rows(PLAN, [], "/e")] == ["absent", "absent"]


def test_status_table():
    rows = catalogue.status_rows(PLAN, INFO, "/etc/darevel/postgres")
    lines = catalogue.status_table(rows).splitlines()
    assert len(lines) == 2 + len(rows)
    assert lines[0].split() == ["name", "port", "database", "user", "state", "connect"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[1].split() == ["-" * len("name"), "-" * len("port"), "-" * len("darevel_chat"),
                                "-" * len("darevel_chat_owner"), "-" * len("started"),
                                "-" * len("psql -h 127.0.0.1 -p 5434 -U darevel_chat_owner -d darevel_chat")]
    assert lines[2].startswith("chat  5434  darevel_chat  darevel_chat_owner  started  psql -h 127.0.0.1")
    assert lines[3].split()[:5] == ["mail", "5437", "darevel_mail", "darevel_mail_owner", "absent"]
    # columns line up: every cell of a column starts at the same offset
    offset = lines[0].index("database")
    assert all(line[offset:].startswith(word) for line, word in zip(lines[2:], ("darevel_chat", "darevel_mail")))
    assert all(line == line.rstrip() for line in lines)


def test_status_table_no_rows():
    lines = catalogue.status_table([]).splitlines()
    assert len(lines) == 2
    assert lines[0] == "name  port  database  user  state  connect"


def test_container_items_carry_the_container_description_and_no_password():
    plan = [{"name": "chat", "version": 15, "docker": {"name": "darevel-postgres-chat"}},
            {"name": "mail", "version": 17, "docker": {"name": "darevel-postgres-mail"}}]
    items = catalogue.container_items(plan)
    assert items == [{"name": "chat", "version": 15, "spec": {"name": "darevel-postgres-chat"}},
                     {"name": "mail", "version": 17, "spec": {"name": "darevel-postgres-mail"}}]


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
    text = catalogue.tuning_table(plan, [{"name": "chat", "restart_required": ["shared_buffers"]}])
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["instance", "memory", "cpus", "shared_buffers"]
    assert lines[2].startswith("chat") and "597 MiB" in lines[2] and "149MB" in lines[2]
    assert lines[2].endswith("shared_buffers")
    assert lines[-1] == ("host: 4096 MiB, 2 CPUs; OS reserve 512 MiB; budget 3584 MiB; committed 3000 MiB (fits)")
