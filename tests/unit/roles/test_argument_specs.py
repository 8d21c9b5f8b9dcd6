"""Every role's meta/argument_specs.yml agrees with its defaults/main.yml, keys and values."""

from __future__ import annotations

import pathlib

import pytest
import yaml

from ansible_collections.darevel.postgres.plugins.module_utils import _catalogue

ROLES_DIR = pathlib.Path(__file__).resolve().parents[3] / "roles"
ROLES = sorted(p.name for p in ROLES_DIR.iterdir() if (p / "meta" / "argument_specs.yml").is_file())


def load(path: pathlib.Path):
    with path.open() as handle:
        return yaml.safe_load(handle)


def options(role: str) -> dict:
    return load(ROLES_DIR / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]


def defaults(role: str) -> dict:
    return load(ROLES_DIR / role / "defaults" / "main.yml") or {}


def test_every_role_has_argument_specs():
    roles = sorted(p.name for p in ROLES_DIR.iterdir() if p.is_dir())
    assert roles and ROLES == roles


# The facts one role sets for the others: declared as options by the roles that read them, without a
# default (undefined until that role has run; a role that finds no plan runs the preflight first).
OUTPUTS = {"postgres_plan", "postgres_runtime_in_use", "postgres_tuning_plan", "postgres_versions_missing",
           "postgres_python_libraries_missing"}


@pytest.mark.parametrize("role", ROLES)
def test_option_names_equal_defaults(role):
    assert sorted(name for name in options(role) if name not in OUTPUTS) == sorted(defaults(role))
    assert [name for name in OUTPUTS & set(options(role)) if "default" in options(role)[name]] == []


def _mappings(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _mappings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _mappings(value)


def facts_set(passed: bool = False) -> dict:
    """Every variable a role's tasks set (set_fact, register) -> the roles that set it; with
    `passed`, also the variables it gives the roles it includes (their `vars`)."""
    out: dict = {}
    for role in ROLES:
        for path in sorted((ROLES_DIR / role / "tasks").glob("*.yml")):
            for task in _mappings(load(path) or []):
                names = [name for name in task.get("ansible.builtin.set_fact") or {} if name != "cacheable"] \
                    if isinstance(task.get("ansible.builtin.set_fact"), dict) else []
                names += [task["register"]] if isinstance(task.get("register"), str) else []
                if passed and "ansible.builtin.include_role" in task:
                    names += list(task.get("vars") or {})
                for name in names:
                    out.setdefault(name, set()).add(role)
    return out


def role_text(role: str) -> str:
    return "\n".join(path.read_text() for folder in ("tasks", "templates", "vars", "defaults")
                     for path in sorted((ROLES_DIR / role / folder).glob("*")) if path.is_file())


def test_roles_share_no_private_facts_and_declare_what_they_read():
    """A role reads another role's result only through a declared option of its own (the
    preflight's plan, the security role's postgres_tls_reload), never through a private __ fact.
    A variable a role sets itself, or passes in the `vars` of a role it includes (the purge role's
    postgres_preflight_overrides), is its own: naming it is not reading another role's."""
    import re
    found, passed = facts_set(), facts_set(passed=True)
    assert {"postgres_plan", "postgres_tls_reload", "__postgres_preflight"} <= set(found)  # the scan sees them
    undeclared = []
    for role in ROLES:
        text = role_text(role)
        declared = {name for entry in load(ROLES_DIR / role / "meta" / "argument_specs.yml")["argument_specs"].values()
                    for name in entry.get("options") or {}}
        for name, setters in sorted(found.items()):
            if role not in passed[name] and re.search(r"\b%s\b" % re.escape(name), text):
                if name.startswith("__") or name not in declared:
                    undeclared.append("%s reads %s, set by %s" % (role, name, ", ".join(sorted(setters))))
    assert undeclared == []


@pytest.mark.parametrize("role", ROLES)
def test_default_values_equal(role):
    # YAML-loaded values compared as they load: Jinja templates stay plain strings on both sides.
    opts, values = options(role), defaults(role)
    mismatched = {name: (opts[name].get("default"), values[name]) for name in opts
                  if name in values and opts[name].get("default") != values[name]}
    assert mismatched == {}


@pytest.mark.parametrize("role", ROLES)
def test_every_option_has_type(role):
    assert [name for name, spec in options(role).items() if "type" not in spec] == []


@pytest.mark.parametrize("role", ROLES)
def test_every_option_has_description(role):
    assert [name for name, spec in options(role).items() if not spec.get("description")] == []


@pytest.mark.parametrize("role", ROLES)
def test_public_variables_carry_prefix(role):
    assert [name for name in defaults(role) if not name.startswith("postgres_")] == []


def test_preflight_catalogue_default_is_the_seed():
    assert defaults("preflight")["postgres_instances"] == _catalogue.SEED


def test_preflight_default_validates():
    values = defaults("preflight")
    plan, problems = _catalogue.validate(values["postgres_instances"], values["postgres_instances_enabled"],
                                         values["postgres_version"])
    assert problems == []
    assert len(plan) == 6


CONVERGED = ("instance", "database", "security", "status")


@pytest.mark.parametrize("role", CONVERGED)
def test_the_converge_entry_point_is_main_without_the_preflight_check(role):
    """site.yml runs each role's converge entry point after the preflight play: the same inputs as
    main, the plan required, and the same tasks as main after main's one check."""
    specs = load(ROLES_DIR / role / "meta" / "argument_specs.yml")["argument_specs"]
    main, converge = specs["main"]["options"], specs["converge"]["options"]
    assert sorted(converge) == sorted(main)
    assert converge["postgres_plan"]["required"] is True and not main["postgres_plan"].get("required")
    assert {k: v for k, v in converge.items() if k != "postgres_plan"} == {k: v for k, v in main.items() if k != "postgres_plan"}
    tasks = load(ROLES_DIR / role / "tasks" / "main.yml")
    assert [t.get("when") for t in tasks] == ["postgres_plan is not defined", None]
    assert tasks[0]["ansible.builtin.include_role"] == {"name": "darevel.postgres.preflight"}
    assert tasks[1]["ansible.builtin.import_tasks"] == "converge.yml"


def test_site_runs_the_converge_entry_points_after_the_preflight_which_checks_their_inputs():
    """The converge imports its roles without checking their inputs only because the preflight play
    checks every one of those entry points' inputs, on every host before any change, and runs under
    --tags too (Ansible's own checks, tagged always, used to stop a run without the plan)."""
    plays = load(ROLES_DIR.parent / "playbooks" / "site.yml")
    assert plays[0]["roles"] == [{"role": "darevel.postgres.preflight", "tags": ["always"]}]
    assert plays[0]["any_errors_fatal"] is True
    assert [t["ansible.builtin.import_role"] for t in plays[1]["tasks"]] == [
        {"name": "darevel.postgres.%s" % role, "tasks_from": "converge", "rolespec_validate": False} for role in CONVERGED]
    assert plays[0]["vars"] == {"postgres_preflight_entry_points": ["%s:converge" % role for role in CONVERGED]}
    # The status report's read is made by pg_database's run (its status option), after its work.
    assert plays[1]["vars"]["postgres_status_read"] == "{{ postgres_database_result.status | default(none) }}"
    assert "if 'all' in ansible_run_tags else {}" in plays[1]["vars"]["postgres_database_status"]


ROLE_ACTIONS = {prefix + action for prefix in ("", "ansible.builtin.", "ansible.legacy.") for action in ("import_role", "include_role")}


def _role_uses(tasks) -> list:
    """Every role a task list imports or includes, blocks, rescues and always sections included,
    each as (its arguments, the task)."""
    found = []
    for task in tasks or []:
        for key in ("block", "rescue", "always"):
            found += _role_uses(task.get(key))
        found += [(task[action], task) for action in ROLE_ACTIONS & set(task)]
    return found


def _runs_preflight(play: dict) -> bool:
    roles = [r if isinstance(r, str) else r.get("role", r.get("name")) for r in play.get("roles") or []]
    tasks = [spec.get("name") for key in ("pre_tasks", "tasks", "post_tasks") for spec, _t in _role_uses(play.get(key))]
    return "darevel.postgres.preflight" in roles + tasks


def test_every_import_that_skips_the_argument_check_is_checked_by_its_preflight():
    """No playbook imports or includes a role with rolespec_validate false, in any task list, unless
    an earlier play runs the preflight role on every host before any change (any_errors_fatal) with
    that entry point in its postgres_preflight_entry_points."""
    unchecked_anywhere = 0
    for path in sorted((ROLES_DIR.parent / "playbooks").glob("*.yml")):
        checked = set()
        for play in load(path) or []:
            uses = [u for key in ("pre_tasks", "tasks", "post_tasks", "handlers") for u in _role_uses(play.get(key))]
            uses += [(r, r) for r in play.get("roles") or [] if isinstance(r, dict)]
            for spec, _task in uses:
                if spec.get("rolespec_validate") is False:
                    unchecked_anywhere += 1
                    entry = "%s:%s" % (spec.get("name", spec.get("role", "")).split(".")[-1], spec.get("tasks_from", "main"))
                    assert entry in checked, "%s: %s is imported unchecked" % (path.name, entry)
            if _runs_preflight(play) and play.get("any_errors_fatal") is True:
                checked |= set((play.get("vars") or {}).get("postgres_preflight_entry_points") or [])
    assert unchecked_anywhere == len(CONVERGED)


def test_the_import_walk_finds_roles_in_every_task_list():
    play = {"tasks": [{"block": [{"import_role": {"name": "darevel.postgres.status", "rolespec_validate": False}}],
                       "always": [{"ansible.legacy.include_role": {"name": "x"}}]}]}
    assert [spec["name"] for spec, _t in _role_uses(play["tasks"])] == ["darevel.postgres.status", "x"]
    assert _runs_preflight({"pre_tasks": [{"ansible.builtin.import_role": {"name": "darevel.postgres.preflight"}}]})
    assert not _runs_preflight(play)


def _repeated_keys(node, where: str) -> list:
    """Keys a mapping names twice, counting those a merge key (<<) brings in: Ansible's loader warns
    of each one ("Found duplicate mapping key")."""
    found = []
    if isinstance(node, yaml.MappingNode):
        seen = []
        for key, value in node.value:
            if key.value == "<<":
                merged = value.value if isinstance(value, yaml.SequenceNode) else [value]
                seen += [k.value for m in merged for k, _v in m.value]
            else:
                seen.append(key.value)
        found += ["%s: %s" % (where, k) for k in sorted({k for k in seen if seen.count(k) > 1})]
        children = [v for _k, v in node.value]
    elif isinstance(node, yaml.SequenceNode):
        children = node.value
    else:
        children = []
    for child in children:
        found += _repeated_keys(child, where)
    return found


def test_no_yaml_file_names_a_key_twice_merges_included():
    root = ROLES_DIR.parent
    found = []
    for path in sorted(list(root.glob("roles/*/*/*.yml")) + list(root.glob("playbooks/*.yml"))):
        found += _repeated_keys(yaml.compose(path.read_text()), str(path.relative_to(root)))
    assert found == []
