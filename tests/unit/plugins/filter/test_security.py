# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/filter/security.py: checks on the raw catalogue, the secured plan."""

from __future__ import annotations

import copy

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.darevel.postgres.plugins.filter import catalogue, security
from ansible_collections.darevel.postgres.plugins.module_utils import _catalogue, _container, _security
from ansible_collections.darevel.postgres.plugins.plugin_utils import _lifecycle

GOOD = {"owner": {"chat": "Owner-pass-0001-chat", "mail": "Owner-pass-0002-mail"},
        "app": {"chat": "App-pass-00001-chat", "mail": "App-pass-00002-mail"}}


def plan(names=("chat", "mail"), runtime="native"):
    instances, problems = _catalogue.validate(copy.deepcopy(_catalogue.SEED), list(names), 15)
    assert not problems
    for instance in instances:
        instance["settings"] = {"work_mem": "4MB"}
        instance["docker"] = _container.spec(instance, "postgres:15")
    return instances


def test_security_problems_dev_and_prod():
    seed = copy.deepcopy(_catalogue.SEED)
    assert security.security_problems(seed, ["chat"], 15, "dev") == []
    problems = security.security_problems(seed, ["chat", "mail"], 15, "prod", GOOD["owner"], {"chat": "x"})
    assert problems == [
        "instance 'chat': role darevel_chat_app: the password has 1 characters, fewer than 16; fix: set "
        "postgres_app_passwords.chat to a Vault variable of 16 or more characters",
        "instance 'mail': role darevel_mail_app has no password on this prod inventory (passwords are not "
        "generated on prod); fix: set postgres_app_passwords.mail to a Vault variable of 16 or more characters",
    ]
    assert security.security_problems(seed, ["chat", "mail"], 15, "prod", GOOD["owner"], GOOD["app"]) == []


def test_security_problems_unknown_environment():
    assert security.security_problems([], "all", 15, "staging") == [
        "host: postgres_environment 'staging' is not one of dev, prod; fix: set dev or prod"]


def test_security_problems_with_a_broken_catalogue_still_checks_the_rest():
    seed = copy.deepcopy(_catalogue.SEED)
    seed[1]["prot"] = 1  # pg_preflight reports this one
    problems = security.security_problems(seed, ["chat"], 15, "prod", {}, {})
    assert len(problems) == 2 and all("instance 'chat'" in p for p in problems)


def test_security_problems_clients():
    seed = copy.deepcopy(_catalogue.SEED)
    seed[1]["clients"] = ["0.0.0.0/0"]
    assert len(security.security_problems(seed, ["chat"], 15, "dev")) == 1
    assert security.security_problems(seed, ["chat"], 15, "dev", allow_any=True) == []


def test_security_plan_native_prod():
    secured = security.security_plan(plan(), "prod", "native", True, ["localhost", "10.0.0.5"])
    chat = secured[0]
    assert chat["settings"]["work_mem"] == "4MB" and chat["settings"]["ssl"] == "on"
    assert chat["settings"]["listen_addresses"] == "localhost,10.0.0.5"
    assert chat["tls"]["cert"] == "/etc/darevel/postgres/tls/chat/server.crt"
    assert "ssl" in chat["enforce"] and "work_mem" not in chat["enforce"]
    assert chat["hba"][0]["method"] == "peer map=darevel_superuser"
    items = _lifecycle.instance_items(secured)
    assert items[0]["hba"] == chat["hba"] and items[0]["settings"] == chat["settings"]


def test_security_plan_docker_adds_logging_to_the_container_settings_a_dict_until_rendered():
    secured = security.security_plan(plan(), "dev", "docker", True)
    settings = secured[0]["docker"]["settings"]
    assert settings["log_connections"] == "on" and settings["work_mem"] == "4MB"
    assert not [name for name in settings if name.startswith(("ssl", "listen_addresses"))]
    assert "command" not in secured[0]["docker"]
    command = _container.rendered(secured[0]["docker"])["command"]
    assert "log_connections=on" in command and "work_mem=4MB" in command and command[0] == "postgres"
    assert secured[0]["tls"] is None and secured[0]["enforce"] == []


def test_security_plan_own_certificate():
    secured = security.security_plan(plan(["chat"]), "prod", "native", True, [], {"chat": {"cert": "/c", "key": "/k"}})
    assert secured[0]["settings"]["ssl_cert_file"] == "/c" and secured[0]["tls"] == {"cert": "/c", "key": "/k"}


def test_security_plan_refuses_unknown_environment():
    with pytest.raises(AnsibleFilterError):
        security.security_plan(plan(), "staging")


def test_database_items_carry_the_application_role():
    secured = security.security_plan(plan(), "dev", "native")
    items = catalogue.database_items(secured, ["o1", "o2"], "/env", "localhost", "native", ["a1", "a2"])
    assert [(i["app_role"], i["app_password"]) for i in items] == [("darevel_chat_app", "a1"), ("darevel_mail_app", "a2")]
    assert all("enforce" not in item for item in items), "pg_instance keeps the settings effective"
    from ansible_collections.darevel.postgres.plugins.plugin_utils import _lifecycle
    instances = _lifecycle.instance_items(secured)
    assert "password_encryption" in instances[0]["enforce"]
    assert all("enforce" not in item for item in _lifecycle.instance_items(secured, settings=False))


def test_tls_names_filter():
    assert security.tls_names({"settings": {}}, "db1") == ["DNS:localhost", "IP:127.0.0.1", "IP:::1", "DNS:db1"]


def test_security_problems_finds_a_password_reused_in_another_hosts_variables():
    seed = copy.deepcopy(_catalogue.SEED)
    # This host runs chat and sees only chat's passwords; another host's variables hold mail's.
    own = {"owner": {"chat": GOOD["owner"]["chat"]}, "app": {"chat": GOOD["app"]["chat"]}}
    other = {"owner": {"mail": GOOD["owner"]["chat"]}, "app": {"mail": GOOD["app"]["mail"]}}
    assert security.security_problems(seed, ["chat"], 15, "prod", own["owner"], own["app"]) == []
    problems = security.security_problems(seed, ["chat"], 15, "prod", own["owner"], own["app"], False,
                                          [other["owner"], own["owner"]], [other["app"], own["app"]])
    assert problems == ["instance 'mail': postgres_owner_passwords.mail reuses the password of "
                        "postgres_owner_passwords.chat; fix: give every instance and role its own password"]
    # This host's own value wins over another host's for the same instance.
    stale = {"chat": GOOD["owner"]["mail"]}
    assert security.security_problems(seed, ["chat"], 15, "prod", own["owner"], own["app"], False,
                                      [stale], [own["app"]]) == []
    # dev never looks at passwords.
    assert security.security_problems(seed, ["chat"], 15, "dev", own["owner"], own["app"], False,
                                      [other["owner"]], [other["app"]]) == []


def _earlier_command(spec: dict, wanted: dict) -> list:
    """How versions before the plan kept settings as a dict built a container's command: the tuned
    settings rendered as -c arguments, parsed back into strings, merged with the security settings
    and rendered again. A container that such a version created carries this command's hash."""
    current = {}
    argv = _container.command(spec["settings"])
    for flag, arg in zip(argv[1::2], argv[2::2]):
        if flag == "-c":
            key, value = arg.split("=", 1)
            current[key] = value
    return _container.command(_security.merged(wanted, current))


@pytest.mark.parametrize("environment", ["dev", "prod"])
@pytest.mark.parametrize("settings", [
    {"work_mem": "4MB"},
    {"work_mem": 4096, "jit": False, "track_io_timing": True, "shared_preload_libraries": "pg_stat_statements",
     "log_line_prefix": "%m [%p] a=b ", "max_connections": 60},
])
def test_a_container_of_an_earlier_version_keeps_its_hash_and_is_not_recreated(environment, settings):
    instances = plan()
    for instance in instances:
        instance["settings"] = dict(settings)
        instance["docker"] = _container.spec(instance, "postgres:15")
    secured = security.security_plan(copy.deepcopy(instances), environment, "docker")
    for before, after in zip(instances, secured):
        wanted = _security.settings(before, environment, "docker", False)
        earlier = {k: v for k, v in before["docker"].items() if k != "settings"}
        earlier["command"] = _earlier_command(before["docker"], wanted)
        assert _container.rendered(after["docker"])["command"] == earlier["command"]
        assert _container.config_hash(after["docker"]) == _container.config_hash(earlier)
