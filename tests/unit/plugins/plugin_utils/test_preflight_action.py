"""Unit tests for the control-node half of pg_preflight (plugins/action/pg_preflight.py): its
`security` option, the preflight role's task, which names no password (the action reads the
password variables itself, so none reaches the target), and its check of other role entry points'
inputs (`entry_points`)."""

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
    action._loader = DataLoader()
    action._templar = Templar(loader=action._loader, variables=variables)
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


@pytest.mark.parametrize("entry", ["instance", "instance:nope", "instance:converge\n", "../instance:converge", "nosuchrole:main",
                                   "Instance:converge", 5, None, ["instance", "converge"], {"instance": "converge"}])
def test_an_entry_point_that_is_not_one_of_the_collections_is_refused(entry):
    with pytest.raises(AnsibleActionFail, match=r"pg_preflight: entry_points: .* is not an entry point of a darevel.postgres role; fix: role:entry_point"):
        pg_preflight.entry_point_options(entry)


def test_entry_point_options_are_the_roles_argument_spec():
    spec = yaml.safe_load((ROOT / "roles" / "instance" / "meta" / "argument_specs.yml").read_text())
    assert pg_preflight.entry_point_options("instance:converge") == spec["argument_specs"]["converge"]["options"]


def test_input_problems_name_the_host_the_variable_the_value_and_the_entry_point():
    problems = pg_preflight.input_problems("db1", ["instance:converge", "status:converge"], {
        "postgres_instance_state": "bogus", "postgres_workers": "many", "postgres_status_probe": "perhaps",
        "postgres_locale": "C.UTF-8", "postgres_reports_dir": "/tmp/r", "unrelated_variable": 5})
    assert len(problems) == 3, problems
    assert all(p.startswith("host db1: ") for p in problems)
    state = next(p for p in problems if "postgres_instance_state" in p)
    assert "got: bogus" in state and "(an input of instance:converge)" in state and "docs/reference/roles/instance.md" in state
    assert any("postgres_workers" in p and "many" in p for p in problems)
    assert any("postgres_status_probe" in p and "status:converge" in p and "docs/reference/roles/status.md" in p for p in problems)


def test_input_problems_do_not_require_the_preflights_outputs_and_are_listed_once_per_variable():
    entries = ["instance:converge", "database:converge", "security:converge", "status:converge"]
    assert pg_preflight.input_problems("db1", entries, {}) == []
    problems = pg_preflight.input_problems("db1", entries, {"postgres_runtime_in_use": 7, "postgres_plan": "no"})
    plan = [p for p in problems if "postgres_plan" in p]
    assert len(plan) == 1 and "instance:converge, database:converge, security:converge, status:converge" in plan[0]


def test_a_password_variables_problem_never_quotes_it():
    problems = pg_preflight.input_problems("db1", ["database:converge"], {"postgres_owner_passwords": "hunter2-secret"})
    assert problems == ["host db1: postgres_owner_passwords is not a mapping of instance names to passwords (an input of "
                        "database:converge); fix: a value as docs/reference/roles/database.md describes it"]


def test_the_action_reads_only_the_variables_the_host_sets_and_lists_an_unreadable_one():
    from ansible.template import trust_as_template

    # As the inventory's values reach the action: templates trusted as such.
    variables = {"inventory_hostname": "db1", "postgres_workers": trust_as_template("{{ 2 * 3 }}"),
                 "postgres_locale": trust_as_template("{{ nowhere_defined }}"), "postgres_instance_state": "bogus",
                 "postgres_owner_passwords": {"chat": "x"}}
    problems = action_with(variables)._input_problems(["instance:converge", "database:converge"], variables, {})
    assert len(problems) == 2, problems
    assert problems[0] == "host db1: postgres_locale cannot be read: 'nowhere_defined' is undefined; fix: define the variables it refers to"
    assert "postgres_instance_state" in problems[1] and "postgres_workers" not in " ".join(problems)
    # While the module's own problems stand, a value that cannot be read is named as not checked.
    problems = action_with(variables)._input_problems(["instance:converge"], variables, {}, complete=False)
    assert problems[0].startswith("host db1: postgres_locale was not checked: 'nowhere_defined' is undefined (the preflight's own "
                                  "facts are not known while the problems above stand); fix: those problems first"), problems


@pytest.mark.parametrize("given", ["instance:converge", {"instance": "converge"}, ["instance:converge", "nosuch:main"]])
def test_entry_points_are_refused_before_the_module_unless_a_list_of_ours(given):
    with pytest.raises(AnsibleActionFail, match="pg_preflight: entry_points: "):
        pg_preflight.checked_entries(given)
    assert pg_preflight.checked_entries(["instance:converge"]) == ["instance:converge"]


def test_a_value_is_templated_over_the_converge_roles_defaults_as_where_they_run():
    """A host variable that refers to another role's default (not in scope in the preflight's play)
    is read over the defaults of the listed entry points' roles (those of the converge's play), as
    Ansible's own check in that play read it."""
    from ansible.template import trust_as_template

    variables = {"inventory_hostname": "db1", "postgres_firewall_file": trust_as_template("{{ postgres_env_dir }}/fw.nft"),
                 "postgres_workers": trust_as_template("{{ postgres_layout | length }}")}
    assert action_with(variables)._input_problems(["security:converge", "database:converge", "instance:converge"], variables, {}) == []
    bad = dict(variables, postgres_workers=trust_as_template("{{ postgres_layout }}"))
    problems = action_with(bad)._input_problems(["instance:converge"], bad, {})
    assert len(problems) == 1 and "postgres_workers" in problems[0] and "auto" in problems[0], problems


FACTS = {"plan": [], "runtime": "docker", "tuning": {}, "versions_needed": [15, 17, 15], "installed_versions": [17],
         "python_libraries_missing": []}


def test_a_value_is_templated_with_the_preflights_facts():
    from ansible.template import trust_as_template

    facts = pg_preflight.outputs(FACTS)
    assert facts["postgres_versions_missing"] == [15] and facts["postgres_runtime_in_use"] == "docker"
    variables = {"inventory_hostname": "db1",
                 "postgres_layout": trust_as_template("{{ 'generic' if postgres_runtime_in_use == 'docker' else 'auto' }}"),
                 # A default() in the value: with the facts in scope, the runtime's, not the default's.
                 "postgres_workers": trust_as_template("{{ 3 if postgres_runtime_in_use | default('native') == 'docker' else 'many' }}")}
    assert action_with(variables)._input_problems(["instance:converge"], variables, facts) == []
    assert "postgres_workers" in " ".join(action_with(variables)._input_problems(["instance:converge"], variables, {}))
    broken = dict(variables, postgres_layout=trust_as_template("{{ postgres_runtime_in_use }}"))
    problems = action_with(broken)._input_problems(["instance:converge"], broken, facts)
    assert len(problems) == 1 and "postgres_layout" in problems[0] and "docker" in problems[0], problems


def test_the_facts_the_action_templates_with_are_those_the_preflight_role_sets():
    tasks = yaml.safe_load((ROOT / "roles" / "preflight" / "tasks" / "main.yml").read_text())
    facts = next(t for t in tasks if "ansible.builtin.set_fact" in t)["ansible.builtin.set_fact"]
    assert tuple(facts) == pg_preflight.OUTPUTS
    assert tuple(pg_preflight.outputs(FACTS)) == pg_preflight.OUTPUTS
    # After a failure, only those the result has.
    assert pg_preflight.outputs({"runtime": "native"}) == {"postgres_runtime_in_use": "native"}
