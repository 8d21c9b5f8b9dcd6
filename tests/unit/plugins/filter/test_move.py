# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The table of playbooks/purge.yml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.darevel.postgres.plugins.filter import move, restore
from ansible_collections.darevel.postgres.plugins.filter.move import purge_table


def test_purge_table_one_line_per_instance_under_a_header():
    table = purge_table([{"instance": "mail", "runtime": "native", "status": "stopped", "result": "purged",
                          "removed": ["cluster 15/mail", "/var/lib/postgresql/15/mail"],
                          "kept": ["/etc/darevel/postgres/mail.env", "/var/backups/darevel-postgres/mail"]}])
    header, rule, row = table
    assert header.split() == ["instance", "runtime", "was", "result", "removed", "kept"]
    assert set(rule.replace(" ", "")) == {"-"}
    assert row.startswith("mail") and "cluster 15/mail, /var/lib/postgresql/15/mail" in row
    assert row.endswith("/etc/darevel/postgres/mail.env, /var/backups/darevel-postgres/mail")


def test_purge_table_nothing_removed_is_a_dash():
    row = purge_table([{"instance": "mail", "runtime": "docker", "status": "absent", "result": "nothing to purge",
                        "removed": [], "kept": ["/etc/darevel/postgres/mail.env"]}])[2]
    assert row.split()[:3] == ["mail", "docker", "absent"] and " - " in row


# --- purge.yml's request and per-host checks ---------------------------------------------------

from ansible_collections.darevel.postgres.plugins.filter.move import (  # noqa: E402
    purge_problems, purge_request, found_status)

HOSTS = ["db1", "db2"]


def test_purge_request_takes_apps_and_the_same_names_confirmed_in_any_order():
    assert purge_request("", "mail,chat", "chat, mail", "db2", HOSTS, HOSTS) == {
        "apps": ["mail", "chat"], "problems": [], "confirm_problems": []}
    assert purge_request("mail", "", "mail", "db2", HOSTS, HOSTS) == {"apps": ["mail"], "problems": [],
                                                                      "confirm_problems": []}


def test_purge_request_lists_every_problem():
    result = purge_request("", "mail,Chat", "mail", "db9", HOSTS, ["db1"])
    assert result["problems"] + result["confirm_problems"] == [
        "app: Chat is not an instance name; fix: -e apps=NAME1,NAME2 with names of the catalogue"
        " (role input: postgres_purge_app, postgres_purge_apps)",
        "host: db9 is not a host of the postgres group; fix: -e host=HOST, one of db1, db2 (role input: postgres_purge_host)",
        "confirm_purge: mail is not mail,Chat; fix: add -e confirm_purge=mail,Chat (the instances and their data "
        "are deleted for good) (role input: postgres_purge_confirm)"]
    # A wrong confirmation alone waits for the per-host problems, to be listed with them.
    assert purge_request("", "mail", "chat", "db1", HOSTS, HOSTS)["problems"] == []
    result = purge_request("", "", "", "db2", HOSTS, ["db1"])
    assert result["problems"] + result["confirm_problems"] == [
        "app: (none); fix: -e app=NAME, or -e apps=NAME1,NAME2 for several instances"
        " (role input: postgres_purge_app, postgres_purge_apps)",
        "host: db2 is outside --limit; fix: include it in --limit (role input: postgres_purge_host)",
        "confirm_purge: (none); fix: add -e confirm_purge= with the same names as app/apps"
        " (role input: postgres_purge_confirm)"]
    assert "app and apps: mail and chat name different instances" in \
        purge_request("mail", "chat", "mail,chat", "db1", HOSTS, HOSTS)["problems"][0]


def test_purge_problems_per_instance():
    plan = [{"name": "mail", "docker": {"name": "c-mail"}}, {"name": "chat", "docker": {"name": "c-chat"}}]
    found = [{"name": "chat", "status": "started", "container": "c-chat"},
             {"name": "mail", "status": "started", "container": "other-host-mail"}]
    problems = purge_problems(["mail", "chat", "wiki"], plan, found, ["chat"], "db1", "docker", "/etc/darevel/postgres")
    assert problems[0].startswith("instance chat is running on db1; fix: stop it first")
    assert problems[1].startswith("instance chat is still in db1's postgres_instances_enabled (chat)")
    assert problems[2].startswith("instance wiki is not in the catalogue of db1")
    assert len(problems) == 3  # mail: another host's container runs, this host's is absent
    assert found_status("mail", plan[0], found, "docker") == "absent"
    assert found_status("mail", plan[0], found, "native") == "started"
    assert purge_problems(["mail"], plan, [], "all", "db1", "native", "/e")[0].startswith(
        "instance mail is still in db1's postgres_instances_enabled (all)")


# --- move.yml's request ---------------------------------------------------------------------------

from ansible_collections.darevel.postgres.plugins.filter.move import move_request, purge_rows  # noqa: E402


def test_a_good_move_request_has_no_problem():
    assert move_request("mail", "db1", "db2", False, "db2.internal", HOSTS, HOSTS) == {"problems": [], "purge": False}
    assert move_request("mail", "db1", "db2", "yes", "10.0.0.2", HOSTS, HOSTS)["purge"] is True


def test_every_problem_of_a_move_request_at_once():
    problems = move_request("Mail;rm", "db1", "db1", "maybe", "db'2", HOSTS, ["db1"])["problems"]
    assert problems[0].startswith("app: 'Mail;rm' is not an instance name; fix:")
    assert "from and to: both are db1; fix: name two different hosts" in problems
    assert any(p.startswith("purge: 'maybe' is not true or false; fix:") for p in problems)
    assert any("move_env_host" in p and "single quote" in p for p in problems)
    assert len(problems) == 4


def test_a_move_request_names_each_bad_host_and_the_limit():
    problems = move_request("", "", "nowhere", False, "", HOSTS, HOSTS)["problems"]
    assert problems == ["app: (none); fix: -e app=NAME, the instance to move (role input: postgres_move_app)",
                        "from: (none) is not a host of the postgres group; fix: -e from=HOST, one of db1, db2"
                        " (role input: postgres_move_from)",
                        "to: nowhere is not a host of the postgres group; fix: -e to=HOST, one of db1, db2"
                        " (role input: postgres_move_to)"]
    assert move_request("mail", "db1", "db2", False, "db2", HOSTS, ["db1"])["problems"] == [
        "to: db2 is outside --limit; fix: include it in --limit (role input: postgres_move_to)"]


def test_purge_rows_name_what_went_and_what_stays():
    plan = [{"name": "mail", "version": 15, "docker": {"name": "c-mail", "volume": "v-mail"}},
            {"name": "chat", "version": 15, "docker": {"name": "c-chat", "volume": "v-chat"}}]
    found = [{"name": "mail", "status": "stopped", "data_dir": "/srv/15/mail"}]
    rows = purge_rows(plan, "native", [{"name": "mail", "changed": True}, {"name": "chat", "changed": False}],
                      found, "/etc/d", "/var/b", False)
    assert rows[0] == {"instance": "mail", "runtime": "native", "status": "stopped", "result": "purged",
                       "removed": ["cluster 15/mail", "/srv/15/mail"], "kept": ["/etc/d/mail.env", "/var/b/mail"]}
    assert rows[1]["result"] == "nothing to purge" and rows[1]["removed"] == [] and rows[1]["status"] == "absent"
    docker = purge_rows(plan[:1], "docker", [{"name": "mail", "changed": True}], [], "/etc/d", "/var/b", True)
    assert docker[0]["result"] == "would be purged (check mode)"
    assert docker[0]["removed"] == ["container c-mail", "volume v-mail"]


@pytest.mark.parametrize("role, inputs", [("purge", "PURGE_INPUTS"), ("move", "MOVE_INPUTS"),
                                          ("restore", "RESTORE_INPUTS")])
def test_the_role_inputs_the_messages_name_are_the_roles_own(role, inputs):
    specs = yaml.safe_load((Path(__file__).resolve().parents[4] / "roles" / role / "meta" / "argument_specs.yml").read_text())
    declared = {name for entry in specs["argument_specs"].values() for name in entry.get("options", {})}
    mapping = getattr(move if role != "restore" else restore, inputs)
    named = {name.strip().split(".")[0] for value in mapping.values() for name in value.split(",")}
    assert named and named <= declared, sorted(named - declared)
