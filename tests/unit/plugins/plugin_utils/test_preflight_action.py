"""Unit tests for the control-node half of pg_preflight (plugins/action/pg_preflight.py): its
`security` option, and the preflight role's task, which names no password (the action reads the
password variables itself, so none reaches the target)."""

from __future__ import annotations

import pathlib

import pytest
import yaml
from ansible.errors import AnsibleActionFail

from ansible_collections.darevel.postgres.plugins.action import pg_preflight
from ansible_collections.darevel.postgres.plugins.module_utils._options import PREFLIGHT_SECURITY_OPTIONS

ROOT = pathlib.Path(__file__).resolve().parents[4]


def test_security_defaults_are_filled_in():
    assert pg_preflight.security_args({}) == {
        "environment": "dev", "hba_allow_any": False, "env_host": "localhost", "host_vars": {}, "tls_days": {},
        "tls": False, "listen_addresses": [], "tls_certificates": {}, "tls_min_protocol": None}
    got = pg_preflight.security_args({"environment": "prod", "tls": "yes", "listen_addresses": ["localhost", "10.0.0.5"]})
    assert got["tls"] is True and got["listen_addresses"] == ["localhost", "10.0.0.5"]


@pytest.mark.parametrize("given, expected", [
    ({"tls": "maybe"}, "tls"),
    ({"password": "x"}, "password"),
    ("prod", "a mapping of environment, .*got 'prod'"),
])
def test_bad_security_is_refused_naming_the_value(given, expected):
    with pytest.raises(AnsibleActionFail, match=r"pg_preflight: security: .*%s" % expected):
        pg_preflight.security_args(given)


def test_the_preflight_task_passes_no_password_and_the_module_takes_the_same_security_options():
    tasks = yaml.safe_load((ROOT / "roles" / "preflight" / "tasks" / "main.yml").read_text())
    task = next(t for t in tasks if "darevel.postgres.pg_preflight" in t)
    args = yaml.safe_dump(task["darevel.postgres.pg_preflight"])
    assert "password" not in args and "no_log" not in task
    assert set(task["darevel.postgres.pg_preflight"]["security"]) <= set(PREFLIGHT_SECURITY_OPTIONS)
    assert pg_preflight.PASSWORDS == ("postgres_owner_passwords", "postgres_app_passwords")
    doc = yaml.safe_load(__import__("ansible_collections.darevel.postgres.plugins.modules.pg_preflight",
                                    fromlist=["DOCUMENTATION"]).DOCUMENTATION)
    assert set(doc["options"]["security"]["suboptions"]) == set(PREFLIGHT_SECURITY_OPTIONS)


def action_with(variables: dict):
    """The action with a real templar over `variables` (its other collaborators are not used here)."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar

    action = object.__new__(pg_preflight.ActionModule)
    action._templar = Templar(loader=DataLoader(), variables=variables)
    return action


def test_passwords_are_read_from_this_hosts_and_other_play_hosts_variables():
    variables = {"inventory_hostname": "db1", "postgres_owner_passwords": {"a": "one"},
                 "hostvars": {"db2": {"postgres_owner_passwords": {"b": "two"}}, "db3": {}}}
    action = action_with(variables)
    assert action._passwords("postgres_owner_passwords", variables) == {"a": "one"}
    assert action._passwords("postgres_app_passwords", variables) == {}
    assert action._passwords("postgres_owner_passwords", variables, "db2") == {"b": "two"}
    assert action._passwords("postgres_owner_passwords", variables, "db3") == {}
    assert action._passwords("postgres_owner_passwords", variables, "db9") == {}
    unset = dict(variables, postgres_owner_passwords=None)
    assert action_with(unset)._passwords("postgres_owner_passwords", unset) == {}
