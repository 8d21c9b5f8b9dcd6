# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_preflight with its control-node half. With O(security), before the module runs on the host:
the passwords (read from the variables here, so that no password is sent to the host), the client
networks, the certificates' validity and the host variables that reach files and command lines are
checked, and their problems reported with the module's own; after it, the plan of the enabled
instances with their security settings, pg_hba rules and certificate paths (RV(plan)). The
password check, the module and the plan were three tasks of the preflight role, and a task costs
the control node 17 to 31 ms per host before it does anything (docs/benchmarks.md).

With O(entry_points), the variables other roles' entry points take (say C(instance:converge)) are
checked here too, against those entry points' argument specs: site.yml checks every input of its
converge on every host before any change, and imports the roles with C(rolespec_validate: false),
four validation tasks fewer per host. They are checked after the module, which only reads, each
value templated as where those roles run: over their defaults, the host's variables and, above
them, the facts the preflight role sets from this result (OUTPUTS)."""

from __future__ import annotations

import pathlib
import re

import yaml
from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.darevel.postgres.plugins.filter.security import security_plan, security_problems
from ansible_collections.darevel.postgres.plugins.module_utils._errors import preflight_message
from ansible_collections.darevel.postgres.plugins.module_utils._options import PREFLIGHT_SECURITY_OPTIONS

# The variables that hold passwords: read here, never a task argument.
PASSWORDS = ("postgres_owner_passwords", "postgres_app_passwords")

# This collection's roles, beside plugins/ whether it runs from a checkout or is installed. The path
# as Ansible found the collection (not resolved): the roles' defaults it parsed when it loaded the
# playbook are then in its loader's cache.
ROLES_DIR = pathlib.Path(__file__).parents[2] / "roles"
_ENTRY_POINT = re.compile(r"^([a-z][a-z0-9_]*):([a-z][a-z0-9_]*)\Z")
_OPTIONS: dict = {}
# The facts the preflight role's last task sets from this action's result (roles/preflight/tasks/main.yml).
OUTPUTS = ("postgres_plan", "postgres_runtime_in_use", "postgres_tuning_plan", "postgres_versions_missing",
           "postgres_python_libraries_missing")


def outputs(out: dict) -> dict:
    """The preflight role's facts (OUTPUTS) as its last task sets them from the result `out`; after
    a failure, those `out` has the values of."""
    facts = {}
    if "plan" in out:
        facts["postgres_plan"] = out["plan"]
    if "runtime" in out:
        facts["postgres_runtime_in_use"] = out["runtime"]
    if "tuning" in out:
        facts["postgres_tuning_plan"] = out["tuning"]
    if "versions_needed" in out:
        installed = out.get("installed_versions") or []
        facts["postgres_versions_missing"] = [v for n, v in enumerate(out["versions_needed"])
                                              if v not in installed and v not in out["versions_needed"][:n]]
    if "python_libraries_missing" in out:
        facts["postgres_python_libraries_missing"] = out["python_libraries_missing"]
    return facts


def entry_point_options(entry) -> dict:
    """The options of `role:entry_point`, one of this collection's role entry points (for example
    instance:converge), read once from the role's meta/argument_specs.yml."""
    if not isinstance(entry, str) or entry not in _OPTIONS:
        match = _ENTRY_POINT.match(entry) if isinstance(entry, str) else None
        path = ROLES_DIR / match.group(1) / "meta" / "argument_specs.yml" if match else None
        specs = (yaml.safe_load(path.read_text()) or {}).get("argument_specs", {}) if path and path.is_file() else {}
        if not match or match.group(2) not in specs:
            raise AnsibleActionFail("pg_preflight: entry_points: %r is not an entry point of a darevel.postgres role; fix: "
                                    "role:entry_point, for example instance:converge" % (entry,))
        _OPTIONS[entry] = specs[match.group(2)].get("options") or {}
    return _OPTIONS[entry]


def checked_entries(given) -> list:
    """O(entry_points), refused before the module runs unless each one is an entry point of ours."""
    if not isinstance(given, list):
        raise AnsibleActionFail("pg_preflight: entry_points: a list of role:entry_point, got %r" % (given,))
    for entry in given:
        entry_point_options(entry)
    return given


def input_problems(host: str, entries: list, values: dict) -> list:
    """The problems of a host's variables `values` (those it sets) as inputs of the role entry
    points `entries`, one line per problem, each naming the host, the variable and the fix. An
    option's `required` does not count: the preflight's own outputs (postgres_plan) are not set yet.
    A password variable's problem never quotes its value."""
    problems: dict = {}
    for entry in entries:
        options = entry_point_options(entry)
        for name in sorted(set(values) & set(options)):
            spec = {name: dict(options[name], required=False)}
            messages = ArgumentSpecValidator(spec).validate({name: values[name]}).error_messages
            if messages and name in PASSWORDS:
                messages = ["%s is not a mapping of instance names to passwords" % name]
            for text in messages:
                problems.setdefault((name, text), []).append(entry)
    return ["host %s: %s (an input of %s); fix: a value as docs/reference/roles/%s.md describes it" % (
        host, text, ", ".join(entries_of), entries_of[0].split(":")[0]) for (_name, text), entries_of in problems.items()]


def security_args(given) -> dict:
    """The validated O(security) option, every default filled in."""
    if not isinstance(given, dict):
        raise AnsibleActionFail("pg_preflight: security: a mapping of %s, got %r" % (", ".join(PREFLIGHT_SECURITY_OPTIONS), given))
    result = ArgumentSpecValidator(PREFLIGHT_SECURITY_OPTIONS).validate(given)
    if result.error_messages:
        raise AnsibleActionFail("pg_preflight: security: %s" % "; ".join(result.error_messages))
    return result.validated_parameters


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def _passwords(self, name: str, task_vars: dict, host=None) -> dict:
        """A password variable of this host, or of the play host `host` (through hostvars); {} where
        the variable is not set at all. A value that cannot be read (it refers to a variable that is
        not defined, say a Vault one) fails the task, naming the host and the variable."""
        if host is None:
            if name not in task_vars:
                return {}
            expression, local = name, None
        else:
            hostvars = task_vars.get("hostvars")
            if hostvars is None or host not in hostvars or name not in hostvars[host]:
                return {}
            expression, local = "hostvars[h].%s" % name, {"h": host}
        try:
            value = self._templar.resolve_variable_expression(expression, local_variables=local)
        except AnsibleError:
            # Not the error's own text: it can quote the value, a password.
            raise AnsibleActionFail("pg_preflight: %s of host %s cannot be read: a value refers to a variable that is not "
                                    "defined or is not a valid template; fix: define the variables its values refer to "
                                    "(for example in the Vault file)" % (name, host or task_vars.get("inventory_hostname"))) from None
        return value if value is not None else {}

    def _input_problems(self, entries, task_vars: dict, facts: dict, complete: bool = True) -> list:
        """input_problems for the variables of this host that the entry points take and it sets,
        templated over the entry points' roles' defaults, the host's variables and `facts`, the
        preflight's. Not `complete` (the module found problems, so some facts are unknown): a value
        that cannot be templated is named as not checked, rather than as wrong."""
        taken = set()
        for entry in entries:
            taken.update(entry_point_options(entry))
        variables = {}
        for role in dict.fromkeys(entry.split(":")[0] for entry in entries):
            defaults = ROLES_DIR / role / "defaults" / "main.yml"
            if defaults.is_file():
                # Read only: the cached data as it is, not a copy.
                variables.update(self._loader.load_from_file(str(defaults), unsafe=True, trusted_as_template=True) or {})
        variables.update(task_vars)
        variables.update(facts)
        templar = self._templar.copy_with_new_env(available_variables=variables)
        host = task_vars.get("inventory_hostname", "localhost")
        values, unreadable = {}, []
        for name in sorted(taken):
            if name not in task_vars:
                continue
            if name in PASSWORDS:
                values[name] = self._passwords(name, task_vars)
                continue
            try:
                values[name] = templar.resolve_variable_expression(name)
            except AnsibleError as exc:
                if complete:
                    unreadable.append("host %s: %s cannot be read: %s; fix: define the variables it refers to" % (host, name, exc.message))
                else:
                    unreadable.append("host %s: %s was not checked: %s (the preflight's own facts are not known while the "
                                      "problems above stand); fix: those problems first" % (host, name, exc.message))
        return unreadable + input_problems(host, entries, values)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        module_args = dict(self._task.args)
        given = module_args.pop("security", None)
        security = None if given is None else security_args(given)
        if security is not None:
            env = security["environment"]
            # Passwords kept in other hosts' variables count for reuse too (prod).
            fleet = list(task_vars.get("ansible_play_hosts_all") or []) if env == "prod" else []
            found = security_problems(
                module_args.get("instances"), module_args.get("enabled", "all"), module_args.get("default_version", 15), env,
                self._passwords(PASSWORDS[0], task_vars), self._passwords(PASSWORDS[1], task_vars), security["hba_allow_any"],
                [self._passwords(PASSWORDS[0], task_vars, h) for h in fleet], [self._passwords(PASSWORDS[1], task_vars, h) for h in fleet],
                security["tls_days"], env_host=security["env_host"], host_vars=security["host_vars"])
            module_args["problems"] = list(module_args.get("problems") or []) + found
        entries = checked_entries(module_args.pop("entry_points", None) or [])
        out = self._execute_module(module_name="darevel.postgres.pg_preflight", module_args=module_args, task_vars=task_vars)
        out.pop("invocation", None)
        if security is not None and not out.get("failed"):
            out["plan"] = security_plan(out["instances"], security["environment"], out["runtime"], security["tls"],
                                        security["listen_addresses"], security["tls_certificates"], security["tls_min_protocol"])
        if entries:
            # After the module, which only reads: the values are templated with the facts it gives.
            found = self._input_problems(entries, task_vars, outputs(out), complete=not out.get("failed"))
            if found and isinstance(out.get("problems"), list):
                problems = out["problems"] + found
                out.update(failed=True, msg=preflight_message(problems), problems=problems)
            elif found:
                out.update(failed=True, msg="; ".join(([str(out["msg"])] if out.get("msg") else []) + found), problems=found)
        result.update(out)
        return result
