# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A native instance's configuration kept as planned, over a session of the instance: managed
settings that another file or ALTER SYSTEM overrides are put back, and the modes of the data
directory and configuration files are narrowed (CIS 2.1-2.4). pg_instance, which writes the
settings file and pg_hba.conf, does both, so one module owns a native instance's configuration (as
pg_container owns a container's). On the docker runtime the settings are command-line options,
which no file overrides. Private to darevel.postgres."""

from __future__ import annotations

import os
import time

from ansible_collections.darevel.postgres.plugins.module_utils._runtime.base import SETTINGS_FILENAME, is_true

# The settings of pg_file_settings that win (read last), for the managed names: the array gets one
# literal per name (see winning).
WINNING = """SELECT f.name, f.sourcefile, f.sourceline FROM pg_file_settings f
WHERE f.name = ANY(ARRAY[%s]::text[])
  AND f.seqno = (SELECT max(g.seqno) FROM pg_file_settings g WHERE g.name = f.name)
ORDER BY f.name"""
# After a reload: the settings whose file value waits for a restart, once this backend has read the
# files again (pg_conf_load_time moves past the time taken before the reload).
PENDING = "SELECT pg_conf_load_time() > %s::timestamptz, coalesce(string_agg(name, ',' ORDER BY name), '') " \
          "FROM pg_settings WHERE pending_restart"
CONF_LOAD_TIME = "SELECT pg_conf_load_time()"
POSTMASTER_CONTEXT = "SELECT coalesce(string_agg(name, ',' ORDER BY name), '') FROM pg_settings " \
                     "WHERE context = 'postmaster' AND name = ANY(string_to_array(%s, ','))"
SETTINGS_FILE = "/conf.d/" + SETTINGS_FILENAME


def winning(names: list[str]) -> str:
    """WINNING with one %s per name in its array, for a session to fill with the names as literals."""
    return WINNING.replace("ARRAY[%s]", "ARRAY[%s]" % ", ".join(["%s"] * len(names)))


def split_names(text) -> list[str]:
    return [name for name in str(text or "").split(",") if name]


def disable_line(path: str, line: int, check_mode: bool = False, pending: str | None = None) -> tuple[str, str]:
    """Comment out one line of a configuration file, keeping its owner and mode (not in check
    mode); the file's text before and after, for the diff. `pending`: the text check mode already
    has for this file (an earlier line commented out), which this line is commented out in too."""
    if check_mode and pending is not None:
        before = pending
    else:
        with open(path) as handle:
            before = handle.read()
    lines = before.split("\n")
    lines[line - 1] = "# %s  # disabled by darevel.postgres: it overrode a managed setting" % lines[line - 1]
    if check_mode:
        return before, "\n".join(lines)
    stat = os.stat(path)
    tmp = "%s.darevel-%d" % (path, os.getpid())
    with open(tmp, "w") as handle:
        handle.write("\n".join(lines))
    os.chown(tmp, stat.st_uid, stat.st_gid)
    os.chmod(tmp, stat.st_mode & 0o7777)
    os.replace(tmp, path)
    return before, "\n".join(lines)


def enforce(conn, names, check_mode: bool, file_diffs: dict | None = None) -> tuple[list[str], list[str], list[str]]:
    """Put back the managed settings `names` that another file or ALTER SYSTEM overrides: the ALTER
    SYSTEM value is reset, another file's line is commented out (its text goes into `file_diffs`),
    then the instance reloads. Returns (the settings put back, the statements, those of them that
    take effect only at a restart, which the caller restarts)."""
    names = sorted(names or [])
    if not names:
        return [], [], []
    fixed, queries = [], []
    for name, sourcefile, sourceline in conn.rows(winning(names), (), tuple(names)):
        if not sourcefile or sourcefile.endswith(SETTINGS_FILE):
            continue
        fixed.append(name)
        if sourcefile.endswith("postgresql.auto.conf"):
            if not check_mode:
                conn.execute("ALTER SYSTEM RESET {}", (name,))
            queries.append("ALTER SYSTEM RESET %s" % name)
        else:
            queries.append("-- %s:%s: %s commented out" % (sourcefile, sourceline, name))
            earlier = (file_diffs or {}).get(sourcefile)
            old, new = disable_line(sourcefile, int(sourceline), check_mode, earlier[1] if earlier else None)
            if file_diffs is not None:
                file_diffs[sourcefile] = (earlier[0] if earlier else old, new)
    if not fixed:
        return [], [], []
    queries.append("SELECT pg_reload_conf()")
    if check_mode:
        return fixed, queries, split_names(conn.value(POSTMASTER_CONTEXT, (), (",".join(fixed),)))
    loaded = conn.value(CONF_LOAD_TIME)
    conn.execute("SELECT pg_reload_conf()", ())
    return fixed, queries, [name for name in pending_restart(conn, loaded) if name in fixed]


def pending_restart(conn, loaded: str, timeout: float = 10.0) -> list[str]:
    """The settings waiting for a restart, read once this backend has reloaded its files."""
    deadline = time.monotonic() + timeout
    while True:
        reloaded, pending = conn.one(PENDING, (), (loaded,))
        if is_true(reloaded) or time.monotonic() > deadline:
            return split_names(pending)
        time.sleep(0.05)


def file_modes(conn, check_mode: bool) -> list[str]:
    """CIS file modes: the data directory 0700, configuration files 0640, the TLS key 0600 (0640
    when root owns it, as PostgreSQL allows). Only modes wider than these are narrowed; one
    comment line per change."""
    paths = {}
    for setting in ("data_directory", "config_file", "hba_file", "ident_file", "ssl_key_file"):
        paths[setting] = conn.value("SELECT current_setting(%s, true)", (), (setting,)) or None
    data_dir = paths["data_directory"]
    if not data_dir:
        return []
    wanted = {data_dir: 0o700}
    for setting in ("config_file", "hba_file", "ident_file"):
        if paths[setting]:
            wanted[paths[setting]] = 0o640
    if paths["config_file"]:
        wanted[os.path.dirname(paths["config_file"]) + SETTINGS_FILE] = 0o640
    if paths["ssl_key_file"]:
        key = os.path.join(data_dir, paths["ssl_key_file"])
        try:
            wanted[key] = 0o600 if os.stat(key).st_uid == os.stat(data_dir).st_uid else 0o640
        except OSError:
            pass
    queries = []
    for path, mode in wanted.items():
        try:
            current = os.stat(path).st_mode & 0o7777
        except OSError:
            continue
        if current & ~mode:
            queries.append("-- chmod %04o %s (was %04o)" % (mode, path, current))
            if not check_mode:
                os.chmod(path, mode)
    return queries
