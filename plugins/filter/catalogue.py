# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn the validated catalogue (the plan) into module arguments and reports."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def env_file(instance: dict, env_dir: str) -> str:
    return "%s/%s.env" % (env_dir.rstrip("/"), instance["name"])


def database_items(plan: list, passwords: list, env_dir: str, env_host: str = "localhost",
                   runtime: str = "native", app_passwords: list | None = None) -> list:
    """Arguments of darevel.postgres.pg_database; `passwords` (owners) and `app_passwords` (the
    application roles) follow the plan's order."""
    if len(passwords) != len(plan) or (app_passwords is not None and len(app_passwords) != len(plan)):
        raise AnsibleFilterError("database_items: %d passwords for %d instances" % (len(passwords), len(plan)))
    items = []
    for index, (i, pw) in enumerate(zip(plan, passwords)):
        item = {"name": i["name"], "version": i["version"], "port": i["port"], "database": i["database"],
                "owner": i["owner"], "owner_password": pw, "env_file": env_file(i, env_dir), "env_host": env_host}
        if app_passwords is not None and i.get("app_role"):
            item.update({"app_role": i["app_role"], "app_password": app_passwords[index]})
        # With TLS (native), the backends' clients verify the server: against the host's CA when the
        # collection made the certificate, else (certificates of your own) TLS without a known CA.
        if i.get("lock_public_schema"):
            item["lock_public_schema"] = True
        item["connection_limit"] = connection_limit(i)
        tls = i.get("tls") if runtime == "native" else None
        if tls:
            item["env_sslmode"] = "verify-full" if tls.get("ca") else "require"
            if tls.get("ca"):
                item["env_sslrootcert"] = tls["ca"]
        if runtime == "docker":
            item["container"] = i["docker"]["name"]
        items.append(item)
    return items


def connection_limit(instance: dict) -> int:
    """The catalogue's connection_limit, else the instance's max_connections less the superuser's
    reserved connections and two more, so that one role cannot take every connection (CIS 5.5)."""
    if instance.get("connection_limit"):
        return int(instance["connection_limit"])
    settings = dict((instance.get("docker") or {}).get("settings") or {})
    settings.update(instance.get("settings") or {})
    try:
        total = int(str(settings.get("max_connections", 100)))
        reserved = int(str(settings.get("superuser_reserved_connections", 3)))
    except ValueError:
        total, reserved = 100, 3
    return max(1, total - reserved - 2)


LIVE_KEYS = ("accepting", "server_version", "started_at", "uptime_seconds", "connections", "max_connections",
             "database_size_bytes", "pending_restart", "health", "container", "problem", "last_backup")


def _facts_of(instance: dict, info: list) -> dict:
    """The live facts of a planned instance: by version and name, and on docker by its own
    container when one engine holds several hosts' containers of the same instance."""
    same = [i for i in info if (i.get("version"), i.get("name")) == (instance["version"], instance["name"])]
    container = (instance.get("docker") or {}).get("name")
    if container and any(i.get("container") for i in same):
        return next((i for i in same if i.get("container") == container), {})
    return same[0] if same else {}


def status_rows(plan: list, info: list, env_dir: str, runtime: str | None = None) -> list:
    """One row per planned instance: what runs, where, how it is doing and how to connect."""
    rows = []
    for inst in plan:
        facts = _facts_of(inst, info)
        row = {
            "name": inst["name"], "port": inst["port"], "database": inst["database"], "user": inst["owner"],
            "version": inst["version"], "state": facts.get("status", "absent"),
            "runtime": facts.get("runtime") or runtime,
            "size_bytes": facts.get("size_bytes"), "data_dir": facts.get("data_dir"),
            "env_file": env_file(inst, env_dir),
            "connect": "psql -h 127.0.0.1 -p %d -U %s -d %s" % (inst["port"], inst["owner"], inst["database"]),
        }
        row.update({key: facts.get(key) for key in LIVE_KEYS})
        row["pending_restart"] = facts.get("pending_restart") or []
        if row["state"] == "absent" and row["problem"] is None:
            row["accepting"] = False
        rows.append(row)
    return rows


def _yes_no(value) -> str:
    return "-" if value is None else ("yes" if value else "NO")


def _size(size) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return ("%d %s" % (value, unit)) if unit == "B" else ("%.1f %s" % (value, unit))
        value /= 1024
    return "-"  # pragma: no cover


def _uptime(seconds) -> str:
    if seconds is None:
        return "-"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return "%dd %dh" % (days, hours)
    if hours:
        return "%dh %dm" % (hours, minutes)
    return "%dm %ds" % (minutes, secs) if minutes else "%ds" % secs


STATUS_COLUMNS = ("name", "port", "state", "accepting", "version", "uptime", "connections", "size",
                  "pending restart", "health", "last backup")


def _last_backup(info) -> str:
    """Age of the newest complete backup, and FAILED when the latest run failed."""
    if not info:
        return "-"
    age = "%s ago" % _uptime(info["age_seconds"]) if info.get("age_seconds") is not None else "none"
    return "FAILED (last good: %s)" % age if info.get("result") == "failed" else age


def status_cells(row: dict) -> list:
    conns = "-" if row.get("connections") is None else "%s/%s" % (row["connections"], row.get("max_connections"))
    return [str(row.get("name", "")), str(row.get("port", "")), str(row.get("state", "")),
            _yes_no(row.get("accepting")), str(row.get("server_version") or row.get("version") or "-"),
            _uptime(row.get("uptime_seconds")), conns, _size(row.get("database_size_bytes")),
            ", ".join(row.get("pending_restart") or []) or "-", str(row.get("health") or "-"),
            _last_backup(row.get("last_backup"))]


def aligned(rows: list) -> list:
    """Text lines of a table: the header row, a rule, then the rows, columns padded to line up."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def _result_format() -> str:
    """The result format of the stdout callback this run prints with: `yaml` or `json` (also for a
    callback without that option, which prints JSON or nothing readable anyway)."""
    from ansible import constants as C  # pylint: disable=import-outside-toplevel

    name = str(C.config.get_config_value("DEFAULT_STDOUT_CALLBACK") or "default")
    for candidate in (name.removeprefix("ansible.builtin."), name):
        try:
            return str(C.config.get_config_value("result_format", plugin_type="callback", plugin_name=candidate))
        except Exception:  # pylint: disable=broad-exception-caught
            continue
    return "json"


def table_msg(lines: list, result_format: str | None = None):
    """A table's lines as the `msg` of ansible.builtin.debug, in the shape the stdout callback prints
    one row per output line: the list itself under the json result format (a string would come
    out as one line full of \\n), one text under yaml (printed as a block; YAML would fold a list
    item longer than 80 columns). `result_format` defaults to the running callback's."""
    if isinstance(lines, str):
        lines = lines.splitlines()
    if (result_format or _result_format()) == "yaml":
        return "\n".join(lines)
    return list(lines)


def status_table(rows: list) -> list:
    """A plain-text table of status rows, one line per list item (what ansible.builtin.debug prints
    readably under every callback and result format); the problems, one line each, below it."""
    lines = aligned([list(STATUS_COLUMNS)] + [status_cells(r) for r in rows])
    lines += ["%s: %s" % (r["name"], r["problem"]) for r in rows if r.get("problem")]
    return lines


CONNECT_COLUMNS = ("name", "port", "database", "user", "state", "connect")


def connect_table(rows: list) -> list:
    """Who connects where: instance, port, database, user, state and the psql command; one line per item."""
    return aligned([list(CONNECT_COLUMNS)] + [[str(r.get(c, "")) for c in CONNECT_COLUMNS] for r in rows])


TUNING_COLUMNS = ("shared_buffers", "effective_cache_size", "work_mem", "maintenance_work_mem", "max_connections",
                  "max_parallel_workers", "max_wal_size", "huge_pages")


def tuning_table(plan: dict, applied: list | None = None) -> list:
    """The tuning plan as text lines: one row per instance (share, main settings, restart needed) and
    the host's totals."""
    restarted = {r.get("name"): r.get("restart_required") or [] for r in applied or []}
    mib = 1024 * 1024
    rows = [["instance", "memory", "cpus"] + list(TUNING_COLUMNS) + ["restart needed"]]
    for name, item in plan["instances"].items():
        settings = item["settings"]
        rows.append([name, "%d MiB" % (item["share"]["memory"] // mib), "%g" % item["share"]["cpus"]]
                    + [settings.get(c, "") for c in TUNING_COLUMNS]
                    + [", ".join(restarted.get(name) or []) or "-"])
    lines = aligned(rows)
    host = plan["host"]
    lines.append("host: %d MiB, %g CPUs; OS reserve %d MiB; budget %d MiB; committed %d MiB (%s)" % (
        host["memory"] // mib, host["cpus"], host["reserve"] // mib, host["budget"] // mib,
        host["committed"] // mib, "fits" if host["fits"] else "OVER BUDGET"))
    for other in host.get("others") or []:
        lines.append("kept for %s: %d MiB" % (other["name"], other["memory"] // mib))
    return lines


class FilterModule:
    def filters(self):
        # The tables are this file's public filters; the other functions are the roles' helpers,
        # reached through the darevel.postgres.internal lookup or the pg_status action (not a
        # public interface).
        return {
            "status_table": status_table,
            "tuning_table": tuning_table,
            "connect_table": connect_table,
            "table_msg": table_msg,
        }
