# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the move and purge steps (their requests, the per-host checks, the purge report's rows)
and the purge table."""

from __future__ import annotations

import re

from ansible_collections.darevel.postgres.plugins.filter.catalogue import aligned
from ansible_collections.darevel.postgres.plugins.filter.envfile import env_problems
from ansible_collections.darevel.postgres.plugins.plugin_utils._lifecycle import removed

PURGE_COLUMNS = ("instance", "runtime", "was", "result", "removed", "kept")


NAME = re.compile(r"^[a-z][a-z0-9_]*\Z")
UNSET = ("", None)


def role_inputs(problems: list, inputs: dict) -> list:
    """`problems`, each ending with the role input of the value it names ("app: ..." gains
    "(role input: postgres_move_app)"): the fix names the playbook's extra var, and a play of one's
    own that calls the role sets the role input instead."""
    out = []
    for problem in problems:
        key = problem.partition(": ")[0]
        out.append("%s (role input: %s)" % (problem, inputs[key]) if key in inputs else problem)
    return out


PURGE_INPUTS = {"app": "postgres_purge_app, postgres_purge_apps", "host": "postgres_purge_host",
                "confirm_purge": "postgres_purge_confirm"}
MOVE_INPUTS = {"app": "postgres_move_app", "from": "postgres_move_from", "to": "postgres_move_to",
               "purge": "postgres_move_purge"}


def _names(value) -> list:
    """A list or a comma-separated string of names, trimmed, empty items dropped."""
    if value in UNSET:
        return []
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, (list, tuple)) else [value]
    return [str(item).strip() for item in items if str(item).strip()]


def purge_request(app, apps, confirm, host, hosts: list, play_hosts: list) -> dict:
    """The instances purge.yml is asked to remove (-e app=NAME or -e apps=A,B) and every problem of
    the request, checked on the control node: no or invalid names, app and apps that disagree, a
    host outside the group or --limit, and confirm_purge not naming exactly the same instances
    (in any order), since every one of them loses its data."""
    asked = _names(app) + [name for name in _names(apps) if name not in _names(app)]
    wanted = []
    for name in asked:
        if name not in wanted:
            wanted.append(name)
    problems = []
    if not wanted:
        problems.append("app: (none); fix: -e app=NAME, or -e apps=NAME1,NAME2 for several instances")
    problems += ["app: %s is not an instance name; fix: -e apps=NAME1,NAME2 with names of the catalogue" % name
                 for name in wanted if not NAME.match(name)]
    if app not in UNSET and apps not in UNSET and set(_names(app)) != set(_names(apps)):
        problems.append("app and apps: %s and %s name different instances; fix: give one of them" % (app, apps))
    if host in UNSET or str(host) not in hosts:
        problems.append("host: %s is not a host of the postgres group; fix: -e host=HOST, one of %s" % (
            "(none)" if host in UNSET else host, ", ".join(hosts)))
    elif str(host) not in play_hosts:
        problems.append("host: %s is outside --limit; fix: include it in --limit" % host)
    # A wrong confirmation is reported with the per-host problems (an instance still running...),
    # so that one message lists them all; it stops the request here only with the problems above.
    confirm_problems = []
    confirmed = _names(confirm)
    if wanted and sorted(set(confirmed)) != sorted(wanted):
        confirm_problems.append("confirm_purge: %s is not %s; fix: add -e confirm_purge=%s (the instances and their "
                                "data are deleted for good)" % (",".join(confirmed) or "(none)", ",".join(wanted),
                                                                ",".join(wanted)))
    elif not wanted and confirm in UNSET:
        confirm_problems.append("confirm_purge: (none); fix: add -e confirm_purge= with the same names as app/apps")
    return {"apps": wanted, "problems": role_inputs(problems, PURGE_INPUTS),
            "confirm_problems": role_inputs(confirm_problems, PURGE_INPUTS)}


BOOLEAN = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


def move_request(app, from_host, to_host, purge, env_host, hosts: list, play_hosts: list) -> dict:
    """Every problem of a move.yml request, checked on the control node before anything changes: the
    instance name, the two hosts (of the postgres group, within --limit, different), purge (a
    boolean), and the host the old env file will name (`env_host`: move_env_host, else the new
    host's ansible_host or name) against the one env-file rule."""
    problems = []
    if app in UNSET or not isinstance(app, str):
        problems.append("app: %s; fix: -e app=NAME, the instance to move" % ("(none)" if app in UNSET else app))
    elif not NAME.match(app):
        problems.append("app: %r is not an instance name; fix: -e app=NAME with a name of the catalogue" % app)
    for key, value in (("from", from_host), ("to", to_host)):
        if value in UNSET or str(value) not in hosts:
            problems.append("%s: %s is not a host of the postgres group; fix: -e %s=HOST, one of %s" % (
                key, "(none)" if value in UNSET else value, key, ", ".join(hosts) or "(none)"))
        elif str(value) not in play_hosts:
            problems.append("%s: %s is outside --limit; fix: include it in --limit" % (key, value))
    if from_host not in UNSET and str(from_host) == str(to_host):
        problems.append("from and to: both are %s; fix: name two different hosts" % from_host)
    if not isinstance(purge, bool) and str(purge).strip().lower() not in BOOLEAN:
        problems.append("purge: %r is not true or false; fix: -e purge=true to remove the old instance's data, "
                        "or leave it out to keep it" % (purge,))
    if env_host not in UNSET:
        problems += env_problems([], hosts={"move_env_host": env_host})
    return {"problems": role_inputs(problems, MOVE_INPUTS),
            "purge": purge if isinstance(purge, bool) else BOOLEAN.get(str(purge).strip().lower(), False)}


def purge_problems(apps: list, plan: list, found: list, enabled, host: str, runtime: str, env_dir: str) -> list:
    """Per host: an instance that is not in the catalogue, still runs, or is still enabled there
    (the next site.yml would create an empty one and point its env file back at it)."""
    known = {i["name"]: i for i in plan}
    enabled_names = _names(enabled if enabled not in UNSET else "all")
    problems = []
    for name in apps:
        instance = known.get(name)
        if instance is None:
            problems.append("instance %s is not in the catalogue of %s (postgres_instances); fix: -e apps= with "
                            "names among %s" % (name, host, ", ".join(known) or "(none)"))
            continue
        if found_status(name, instance, found, runtime) == "started":
            problems.append("instance %s is running on %s; fix: stop it first (playbooks/stop.yml -e apps=%s "
                            "--limit %s), or move it (playbooks/move.yml -e app=%s -e from=%s -e to=HOST)" % (
                                name, host, name, host, name, host))
        if "all" in enabled_names or name in enabled_names:
            problems.append("instance %s is still in %s's postgres_instances_enabled (%s): the next site.yml would "
                            "create an empty %s there and point %s/%s.env back at it; fix: take %s out of %s's "
                            "postgres_instances_enabled first" % (
                                name, host, ",".join(enabled_names), name, env_dir, name, name, host))
    return problems


def _found(name: str, instance: dict, found: list, runtime: str) -> dict:
    """The instance as pg_instance_info found it on this host (on docker this host's container of
    it: an engine may hold another host's too), or {}."""
    for row in found or []:
        if row.get("name") != name:
            continue
        if runtime == "docker" and row.get("container") != (instance.get("docker") or {}).get("name"):
            continue
        return row
    return {}


def found_status(name: str, instance: dict, found: list, runtime: str) -> str:
    """started, stopped or absent: the instance as pg_instance_info found it on this host."""
    return _found(name, instance, found, runtime).get("status") or "absent"


def purge_rows(instances: list, runtime: str, results: list, found: list, env_dir: str, backups: str,
               check_mode: bool) -> list:
    """The rows of reports/<host>/purge.json: per planned instance, its state before, whether the
    purge removed it (`results`, pg_lifecycle's per-instance results), what went and what is kept."""
    rows = []
    for instance in instances:
        name = instance["name"]
        done = any(r.get("name") == name and r.get("changed") for r in results or [])
        rows.append({
            "instance": name, "runtime": runtime, "status": found_status(name, instance, found, runtime),
            "result": ("would be purged (check mode)" if check_mode else "purged") if done else "nothing to purge",
            "removed": removed(runtime, instance, _found(name, instance, found, runtime).get("data_dir"))
            if done else [],
            "kept": ["%s/%s.env" % (env_dir, name), "%s/%s" % (backups, name)],
        })
    return rows


def purge_table(rows: list) -> list:
    """instance, runtime, status before, result, what was removed and what is kept; one line per
    list item."""
    cells = [[str(r["instance"]), str(r.get("runtime") or "-"), str(r.get("status") or "-"),
              str(r.get("result") or "-"), ", ".join(r.get("removed") or []) or "-",
              ", ".join(r.get("kept") or []) or "-"] for r in rows]
    return aligned([list(PURGE_COLUMNS)] + cells)


class FilterModule:
    def filters(self):
        # The tables are this file's public filters; the other functions are the roles' helpers,
        # reached through the darevel.postgres.internal lookup (not a public interface).
        return {
            "purge_table": purge_table,
        }
