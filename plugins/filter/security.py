# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the secure state: password and network checks on the control node (passwords never
travel to a module for checking), and the plan's security settings, pg_hba and firewall rules."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display

from ansible_collections.darevel.postgres.plugins.module_utils import _catalogue, _credentials, _security, _validate

display = Display()


def _instances(catalogue, enabled, version) -> tuple[list, list]:
    """(enabled instances with defaults, every catalogue name); broken entries are left to pg_preflight."""
    plan, problems = _catalogue.validate(catalogue, enabled, version)
    if problems and isinstance(catalogue, list):
        wanted = _catalogue.enabled_names(enabled, [e for e in catalogue if isinstance(e, dict)])
        plan = [_catalogue.with_defaults(e, version) for e in catalogue
                if isinstance(e, dict) and e.get("name") in wanted and isinstance(e.get("database"), str)]
    names = [e.get("name") for e in catalogue if isinstance(e, dict)] if isinstance(catalogue, list) else []
    return plan, names


def _merged(dicts, own: dict) -> dict:
    """The password dicts of every host, this host's own last so that its values win."""
    merged: dict = {}
    for item in list(dicts or []) + [own]:
        if isinstance(item, dict):
            merged.update(item)
    return merged


def security_problems(catalogue, enabled="all", version=15, environment="dev", owner_passwords=None,
                      app_passwords=None, allow_any=False, fleet_owner_passwords=None,
                      fleet_app_passwords=None, tls_days=None, env_host=None, host_vars=None) -> list:
    """Every password, client-network and certificate-validity problem of the instances this host
    runs, in one list. The fleet_* lists hold every play host's password dicts: reuse is looked for
    across all of them. tls_days: the postgres_tls_*days variables the inventory sets. env_host:
    postgres_env_host, the env files' DB_HOST (checked with the passwords against the env-file rule).
    host_vars: the host variables the inventory sets that reach files and command lines
    (_validate.HOST_PATHS and HOST_VALUES), None where it does not."""
    if environment not in _security.ENVIRONMENTS:
        return ["host: postgres_environment %r is not one of %s; fix: set dev or prod" % (
            environment, ", ".join(_security.ENVIRONMENTS))]
    plan, names = _instances(catalogue, enabled, version)
    given = {"owner": owner_passwords or {}, "app": app_passwords or {}}
    fleet = None
    if fleet_owner_passwords or fleet_app_passwords:
        fleet = {kind: _merged(dicts, given[kind]) for kind, dicts in
                 (("owner", fleet_owner_passwords), ("app", fleet_app_passwords))}
    problems = _security.password_problems(plan, environment, given, names, fleet)
    # Every environment: a given password must fit the env files (generated ones always do).
    problems += _credentials.env_problems(plan, given, None if env_host is None else {"postgres_env_host": env_host})
    problems += _catalogue.managed_settings_problems(plan, environment)
    problems += _security.tls_validity_problems(tls_days or {})
    problems += _validate.host_variables_problems(host_vars)
    for instance in plan:
        found, warnings = _security.network_problems(instance, bool(allow_any))
        problems += found
        for warning in warnings:
            display.warning(warning)
    return problems


PROD_ON_DOCKER = (
    "postgres_environment is prod on the docker runtime, which is meant for developer machines: the containers get "
    "the part of the prod baseline that applies inside a container (log_error_verbosity, log_replication_commands, "
    "passwordcheck and auth_delay, no PUBLIC rights on schema public, connection limits) but no TLS, no logging "
    "collector (the Docker engine keeps the log) and no socket mode, and the owner role is the image's superuser, "
    "so the audit fails DP-TLS-01, DP-HBA-05 and DP-ROLE-06; fix: run prod instances on the native runtime "
    "(postgres_runtime: native)")


def security_plan(plan: list, environment: str = "dev", runtime: str = "native", tls: bool = False,
                  listen=None, own_certs=None, min_protocol=None) -> list:
    """The plan with each instance's security settings merged into its settings (native) or its
    container's settings (docker; pg_container renders them as its -c arguments), its pg_hba rules
    and, with TLS, its certificate paths."""
    if environment not in _security.ENVIRONMENTS:
        raise AnsibleFilterError("security_plan: environment %r is not dev or prod" % environment)
    if environment == "prod" and runtime == "docker" and plan:
        display.warning(PROD_ON_DOCKER)
    out = []
    for instance in plan:
        instance = dict(instance)
        own = (own_certs or {}).get(instance["name"])
        wanted = _security.settings(instance, environment, runtime, bool(tls), list(listen or []), own,
                                    str(min_protocol or "TLSv1.2"))
        instance["settings"] = _security.merged(wanted, instance.get("settings"))
        if instance.get("docker"):
            instance["docker"] = dict(instance["docker"], settings=_security.merged(
                _security.settings(instance, environment, "docker", False), instance["docker"]["settings"]))
        instance["hba"] = _security.hba_rules(instance, environment, bool(tls) and runtime == "native")
        # Settings pg_instance puts back when another file or ALTER SYSTEM overrides them (native;
        # a container's -c arguments already win over every file).
        instance["enforce"] = sorted(wanted) if runtime == "native" else []
        instance["tls"] = (own or _security.tls_paths(instance["name"])) if tls and runtime == "native" else None
        instance["lock_public_schema"] = environment == "prod"
        out.append(instance)
    return out


def firewall_rules(plan: list) -> str:
    return _security.firewall_rules(plan)


def tls_names(instance: dict, host: str, extra=None) -> list:
    """subjectAltName entries of an instance's certificate (DNS:... and IP:...)."""
    return _security.tls_names(instance, host, list(extra or []))


class FilterModule:
    def filters(self):
        # The roles' helpers of this file are reached through the darevel.postgres.internal
        # lookup (not a public interface); this file has no public filter.
        return {}
