"""The security audit's controls (plugins/module_utils/_audit.py), each on given evidence, and the
audit's filters and documentation."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import pytest

from ansible_collections.darevel.postgres.plugins.filter import audit as audit_filter
from ansible_collections.darevel.postgres.plugins.module_utils import _audit, _scram

FAIL, PASS, NA = _audit.FAIL, _audit.PASS, _audit.NA
ROOT = Path(__file__).resolve().parents[2]


def role(name, oid=20000, super_=False, login=True, password="scram", **attrs):
    return dict({"name": name, "oid": oid, "super": super_, "login": login, "createdb": False, "createrole": False,
                 "replication": False, "bypassrls": False, "password": password,
                 "connlimit": 95}, **attrs)


def hba(line, type_, method, address="", netmask="", database=("all",), user=("all",), error=None):
    return {"line": line, "type": type_, "database": list(database), "user": list(user), "address": address,
            "netmask": netmask, "method": method, "error": error}


def fact(path, mode, owner="postgres", group="postgres"):
    return {"path": path, "mode": mode, "owner": owner, "group": group}


def good() -> dict:
    """Evidence of a compliant native prod instance, as pg_audit collects it."""
    return {
        "instance": "chat", "runtime": "native", "environment": "prod", "today": "2026-11-26",
        "database": "darevel_chat", "owner": "darevel_chat_owner", "app_role": "darevel_chat_app",
        "expected_listen": ["10.0.0.5"], "allow_wide": False, "extensions_allowed": ["pgcrypto"],
        "server_user": "postgres", "server_version": "15.14", "server_version_num": 150014,
        "settings": {
            "data_checksums": "on", "listen_addresses": "localhost,10.0.0.5", "password_encryption": "scram-sha-256",
            "ssl": "on", "ssl_min_protocol_version": "TLSv1.2", "ssl_cert_file": "/etc/tls/chat/server.crt",
            "ssl_key_file": "/etc/tls/chat/server.key", "logging_collector": "on", "log_destination": "stderr",
            "log_directory": "/var/log/postgresql/15-chat", "log_filename": "postgresql-%a.log",
            "log_truncate_on_rotation": "on", "log_rotation_age": "1d", "log_replication_commands": "on",
            "log_file_mode": "0600", "log_min_messages": "warning", "log_min_error_statement": "error",
            "debug_print_parse": "off", "debug_print_rewritten": "off", "debug_print_plan": "off",
            "log_connections": "on", "log_disconnections": "on", "log_error_verbosity": "verbose",
            "log_hostname": "off", "log_line_prefix": "%m [%p] %q%u@%d from %h (%a) ", "log_statement": "ddl",
            "log_timezone": "UTC", "shared_preload_libraries": "passwordcheck,auth_delay",
            "authentication_timeout": "60", "auth_delay.milliseconds": "500", "unix_socket_permissions": "0770",
            "ssl_ciphers": "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256",
        },
        "hba": [hba(1, "local", "peer", user=("postgres",)), hba(2, "local", "peer"),
                hba(3, "hostnossl", "reject", "all"),
                hba(5, "hostssl", "scram-sha-256", "127.0.0.1", "255.255.255.255"),
                hba(6, "hostssl", "scram-sha-256", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
                hba(7, "hostssl", "scram-sha-256", "10.0.20.0", "255.255.255.0", ("darevel_chat",),
                    ("darevel_chat_owner", "darevel_chat_app"))],
        "roles": [role("postgres", oid=10, super_=True, password="none", createdb=True, createrole=True,
                       replication=True, bypassrls=True),
                  role("darevel_chat_owner"), role("darevel_chat_app")],
        "weak_passwords": [],
        "databases": [{"name": "darevel_chat", "allowconn": True, "public_connect": False, "public_create": False,
                       "public_usage": False, "extensions": ["pgcrypto", "plpgsql"]},
                      {"name": "postgres", "allowconn": True, "public_connect": True, "public_create": False,
                       "public_usage": False, "extensions": ["plpgsql"]},
                      {"name": "template0", "allowconn": False, "public_connect": True, "public_create": None,
                       "extensions": []}],
        "files": {"data_directory": fact("/var/lib/postgresql/15/chat", 0o700),
                  "config_file": fact("/etc/postgresql/15/chat/postgresql.conf", 0o640),
                  "hba_file": fact("/etc/postgresql/15/chat/pg_hba.conf", 0o640),
                  "ident_file": fact("/etc/postgresql/15/chat/pg_ident.conf", 0o640),
                  "ssl_key_file": fact("/etc/tls/chat/server.key", 0o600),
                  "log_file": fact("/var/log/postgresql/postgresql-15-chat.log", 0o640, group="adm")},
    }


def results(ev) -> dict:
    return {r["id"]: r for r in _audit.evaluate(ev)}


def setting(name, value):
    def change(ev):
        ev["settings"][name] = value
    return change


def file_mode(key, mode, owner=None):
    def change(ev):
        ev["files"][key]["mode"] = mode
        if owner:
            ev["files"][key]["owner"] = owner
    return change


def field(name, value):
    def change(ev):
        ev[name] = value
    return change


def add_hba(rule):
    def change(ev):
        ev["hba"].append(rule)
    return change


def add_role(r):
    def change(ev):
        ev["roles"].append(r)
    return change


def set_role(name, **attrs):
    def change(ev):
        found = next(r for r in ev["roles"] if r["name"] == name)
        found.update({("super" if k == "super_" else k): v for k, v in attrs.items()})
    return change


def set_db(name, **attrs):
    def change(ev):
        next(d for d in ev["databases"] if d["name"] == name).update(attrs)
    return change


def both(*changes):
    def change(ev):
        for c in changes:
            c(ev)
    return change


def test_the_compliant_instance_passes_every_applicable_control():
    found = results(good())
    assert len(found) >= 25
    not_passed = {i: (r["status"], r["evidence"]) for i, r in found.items() if r["status"] != PASS}
    assert not_passed == {"DP-LOG-13": (NA, found["DP-LOG-13"]["evidence"]),
                          "DP-WAL-01": (_audit.NOT_CONFIGURED, "archive_mode = off: not configured"),
                          "DP-BKP-01": (_audit.NOT_CONFIGURED, found["DP-BKP-01"]["evidence"])}


def test_controls_are_complete_and_unique():
    ids = [c.id for c in _audit.CONTROLS]
    assert len(ids) == len(set(ids))
    for item in _audit.CONTROLS:
        assert item.severity in _audit.SEVERITIES and item.title and item.fix and item.cis


# (control, change to the compliant evidence, expected status, text the evidence must contain)
CASES = [
    ("DP-INST-01", setting("data_checksums", "off"), FAIL, "data_checksums = off"),
    ("DP-INST-02", field("server_version_num", 140010), FAIL, "supported until 2026-11-12"),
    ("DP-INST-02", both(field("server_version_num", 140010), field("today", "2026-11-01")), PASS, "14"),
    ("DP-INST-02", field("server_version_num", 120000), FAIL, "2024-11-21"),
    ("DP-INST-02", field("server_version_num", 190001), PASS, "newer than the support table"),
    ("DP-INST-02", field("server_version_num", 110000), FAIL, "out of support"),
    ("DP-INST-03", set_db("darevel_chat", extensions=["plpgsql", "dblink"]), FAIL, "darevel_chat.dblink"),
    ("DP-INST-03", both(set_db("darevel_chat", extensions=["dblink"]), field("extensions_allowed", ["dblink"])),
     PASS, "dblink"),
    ("DP-FILE-01", file_mode("data_directory", 0o755), FAIL, "0755 allows more than 0700"),
    ("DP-FILE-01", file_mode("data_directory", 0o750), FAIL, "0750"),
    ("DP-FILE-02", file_mode("data_directory", 0o700, owner="root"), FAIL, "root:postgres"),
    ("DP-FILE-02", field("files", {}), FAIL, "cannot be read"),
    ("DP-FILE-03", file_mode("hba_file", 0o644), FAIL, "0644 allows more than 0640"),
    ("DP-FILE-03", file_mode("hba_file", 0o600, owner="www-data"), FAIL, "owner www-data"),
    ("DP-FILE-03", file_mode("hba_file", 0o640, owner="root"), PASS, "root"),
    ("DP-FILE-04", file_mode("ident_file", 0o666), FAIL, "0666"),
    ("DP-FILE-05", file_mode("config_file", 0o644), FAIL, "postgresql.conf: 0644"),
    ("DP-FILE-05", file_mode("config_file", None), FAIL, "cannot be read"),
    ("DP-FILE-06", file_mode("ssl_key_file", 0o640), FAIL, "0640 allows more than 0600"),
    ("DP-FILE-06", file_mode("ssl_key_file", 0o640, owner="root"), PASS, "root"),
    ("DP-FILE-06", setting("ssl", "off"), NA, "ssl = off"),
    ("DP-FILE-07", file_mode("log_file", 0o644), FAIL, "0644"),
    ("DP-FILE-07", field("runtime", "docker"), NA, "Docker engine"),
    ("DP-LOG-01", setting("logging_collector", "off"), FAIL, "not set: logging_collector"),
    ("DP-LOG-01", setting("log_truncate_on_rotation", "off"), FAIL, "not set: log_truncate_on_rotation"),
    ("DP-LOG-01", both(setting("log_directory", ""), setting("log_filename", "")), FAIL,
     "not set: log_directory, log_filename"),
    ("DP-LOG-01", both(field("environment", "dev"), both(field("files", {}), setting("logging_collector", "off"))),
     FAIL, "no log file"),
    ("DP-LOG-01", both(field("environment", "dev"), setting("logging_collector", "off")), PASS,
     "captured in /var/log/postgresql/postgresql-15-chat.log"),
    ("DP-LOG-01", both(field("environment", "dev"), both(field("files", {}), setting("logging_collector", "on"))),
     PASS, "logging_collector = on"),
    ("DP-LOG-14", setting("log_replication_commands", "off"), FAIL, "log_replication_commands = off"),
    ("DP-LOG-14", field("environment", "dev"), NA, "dev"),
    ("DP-LOG-02", setting("log_file_mode", "0644"), FAIL, "0644"),
    ("DP-LOG-02", setting("log_file_mode", "0400"), PASS, "0400"),
    ("DP-LOG-03", setting("log_min_messages", "error"), FAIL, "error"),
    ("DP-LOG-04", setting("log_min_error_statement", "panic"), FAIL, "panic"),
    ("DP-LOG-05", setting("debug_print_plan", "on"), FAIL, "debug_print_plan = on"),
    ("DP-LOG-06", setting("log_connections", "off"), FAIL, "log_connections = off"),
    ("DP-LOG-07", setting("log_disconnections", "off"), FAIL, "log_disconnections = off"),
    ("DP-LOG-08", setting("log_error_verbosity", "terse"), FAIL, "terse"),
    ("DP-LOG-09", setting("log_hostname", "on"), FAIL, "on"),
    ("DP-LOG-10", setting("log_line_prefix", "%m [%p] "), FAIL, "missing: user, database"),
    ("DP-LOG-10", setting("log_line_prefix", ""), FAIL, "missing: time, process, user, database"),
    ("DP-LOG-11", setting("log_statement", "none"), FAIL, "log_statement = none"),
    ("DP-LOG-11", setting("log_statement", "all"), PASS, "all"),
    ("DP-LOG-12", setting("log_timezone", "Europe/Paris"), FAIL, "Europe/Paris"),
    ("DP-LOG-12", setting("log_timezone", "Etc/UTC"), PASS, "Etc/UTC"),
    ("DP-LOG-13", setting("shared_preload_libraries", "pg_stat_statements,pgaudit"), PASS, "pgaudit"),
    ("DP-ROLE-01", add_role(role("ops", super_=True)), FAIL, "superusers: ops, postgres"),
    ("DP-ROLE-02", set_role("darevel_chat_owner", createdb=True), FAIL, "darevel_chat_owner (CREATEDB)"),
    ("DP-ROLE-02", add_role(role("repl", replication=True, createrole=True)), FAIL, "repl (CREATEROLE REPLICATION)"),
    ("DP-ROLE-03", set_role("darevel_chat_app", password="none"), FAIL, "darevel_chat_app (no password)"),
    ("DP-ROLE-03", set_role("darevel_chat_owner", password="md5"), FAIL, "darevel_chat_owner (md5)"),
    ("DP-ROLE-03", add_role(role("nologin", login=False, password="none")), PASS, "without a SCRAM password: none"),
    ("DP-ROLE-04", field("weak_passwords", ["darevel_chat_app"]), FAIL, "darevel_chat_app"),
    ("DP-ROLE-05", set_role("darevel_chat_app", createrole=True), FAIL, "CREATEROLE"),
    ("DP-ROLE-05", set_role("darevel_chat_app", super_=True), FAIL, "SUPER"),
    ("DP-ROLE-05", field("app_role", "missing_app"), FAIL, "does not exist"),
    ("DP-ROLE-05", field("app_role", None), NA, "no application role"),
    ("DP-ROLE-06", set_role("darevel_chat_owner", super_=True), FAIL, "darevel_chat_owner is a superuser"),
    ("DP-ROLE-06", field("owner", "nobody"), FAIL, "does not exist"),
    ("DP-PRIV-01", set_db("darevel_chat", public_create=True), FAIL, "PUBLIC may create in public: darevel_chat"),
    ("DP-PRIV-01", set_db("template0", public_create=True), PASS, "none"),
    ("DP-PRIV-02", set_db("darevel_chat", public_connect=True), FAIL, "PUBLIC has CONNECT"),
    ("DP-PRIV-02", field("database", "gone"), FAIL, "does not exist"),
    ("DP-HBA-01", add_hba(hba(9, "local", "trust")), FAIL, "line 9: local all all trust"),
    ("DP-HBA-01", add_hba(hba(9, "host", "trust", "127.0.0.1", "255.255.255.255")), FAIL, "127.0.0.1/32 trust"),
    ("DP-HBA-02", add_hba(hba(9, "host", "md5", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")), FAIL,
     "line 9: host all all ::1/128 md5"),
    ("DP-HBA-02", add_hba(hba(9, "hostssl", "password", "10.0.0.0", "255.0.0.0")), FAIL, "10.0.0.0/8 password"),
    ("DP-HBA-03", add_hba(hba(9, "hostssl", "scram-sha-256", "0.0.0.0", "0.0.0.0")), FAIL, "0.0.0.0/0"),
    ("DP-HBA-03", add_hba(hba(9, "hostssl", "scram-sha-256", "::", "::")), FAIL, "::/0"),
    ("DP-HBA-03", add_hba(hba(9, "host", "scram-sha-256", "all")), FAIL, "line 9: host all all all"),
    ("DP-HBA-03", add_hba(hba(9, "host", "reject", "all")), PASS, "none"),
    ("DP-HBA-03", both(add_hba(hba(9, "hostssl", "scram-sha-256", "all")), field("allow_wide", True)), PASS,
     "allowed explicitly"),
    ("DP-HBA-04", add_hba(hba(9, "host", None, error="invalid authentication method \"bogus\"")), FAIL, "bogus"),
    ("DP-HBA-04", field("hba", []), FAIL, "no rules"),
    ("DP-HBA-05", add_hba(hba(9, "host", "scram-sha-256", "10.0.30.0", "255.255.255.0")), FAIL, "10.0.30.0/24"),
    ("DP-HBA-05", both(add_hba(hba(9, "host", "scram-sha-256", "10.0.30.0", "255.255.255.0")),
                       field("environment", "dev")), NA, "dev"),
    ("DP-HBA-05", add_hba(hba(9, "host", "scram-sha-256", "samehost")), PASS, "none"),
    ("DP-NET-01", setting("listen_addresses", "*"), FAIL, "not in 10.0.0.5"),
    ("DP-NET-01", both(setting("listen_addresses", "*"), field("expected_listen", None)), FAIL, "every address"),
    ("DP-NET-01", both(setting("listen_addresses", "10.9.9.9"), field("expected_listen", None)), PASS, "10.9.9.9"),
    ("DP-NET-01", field("environment", "dev"), FAIL, "not loopback: 10.0.0.5"),
    ("DP-NET-01", both(field("environment", "dev"), setting("listen_addresses", "localhost")), PASS, "localhost"),
    ("DP-NET-01", both(field("runtime", "docker"), field("published", ["0.0.0.0:5434"]), field("environment", "dev")),
     FAIL, "0.0.0.0:5434; not loopback"),
    ("DP-NET-01", both(field("runtime", "docker"), field("published", ["127.0.0.1:5434"]),
                       field("environment", "dev")), PASS, "127.0.0.1:5434"),
    ("DP-AUTH-01", setting("password_encryption", "md5"), FAIL, "password_encryption = md5"),
    ("DP-AUTH-02", setting("authentication_timeout", "600"), FAIL, "600s"),
    ("DP-TLS-01", setting("ssl", "off"), FAIL, "ssl = off"),
    ("DP-TLS-01", both(setting("ssl", "off"), field("environment", "dev")), NA, "dev: TLS optional"),
    ("DP-TLS-02", setting("ssl_min_protocol_version", "TLSv1.1"), FAIL, "TLSv1.1"),
    ("DP-TLS-02", setting("ssl_min_protocol_version", "TLSv1.3"), PASS, "TLSv1.3"),
    ("DP-TLS-02", setting("ssl", "off"), NA, "ssl = off"),
    ("DP-TLS-03", setting("ssl_ciphers", "HIGH:MEDIUM:+3DES:!aNULL"), FAIL, "without forward secrecy: HIGH, MEDIUM"),
    ("DP-TLS-03", setting("ssl_ciphers", "ECDHE+AESGCM:AES256-SHA"), FAIL, "without forward secrecy: AES256-SHA"),
    ("DP-TLS-03", setting("ssl_ciphers", "ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:@STRENGTH"), PASS,
     "ECDHE-RSA"),
    ("DP-TLS-03", setting("ssl", "off"), NA, "ssl = off"),
    ("DP-AUTH-03", setting("shared_preload_libraries", "auth_delay"), FAIL, "shared_preload_libraries = auth_delay"),
    ("DP-AUTH-03", both(setting("shared_preload_libraries", ""), field("environment", "dev")), NA, "dev"),
    # prod on docker: passwordcheck and auth_delay are -c arguments of the container, required as natively
    ("DP-AUTH-03", both(setting("shared_preload_libraries", ""), field("runtime", "docker")), FAIL,
     "shared_preload_libraries = "),
    ("DP-LOG-14", both(setting("log_replication_commands", "off"), field("runtime", "docker")), FAIL, "= off"),
    ("DP-PRIV-03", both(set_db("postgres", public_usage=True), field("runtime", "docker")), FAIL, "postgres"),
    ("DP-AUTH-04", setting("shared_preload_libraries", "passwordcheck"), FAIL, "passwordcheck"),
    ("DP-AUTH-04", setting("auth_delay.milliseconds", "0"), FAIL, "auth_delay.milliseconds = 0"),
    ("DP-AUTH-04", setting("shared_preload_libraries", '"auth_delay", pg_stat_statements'), PASS, "500"),
    ("DP-AUTH-04", both(setting("shared_preload_libraries", ""), field("environment", "dev")), NA, "dev"),
    ("DP-HBA-06", add_hba(hba(8, "host", "scram-sha-256", "127.0.0.1", "255.255.255.255")), FAIL,
     "loopback without TLS: line 8: host"),
    ("DP-HBA-06", lambda ev: ev["hba"].__delitem__(slice(2, 4)), FAIL, "no hostnossl ... reject line"),
    ("DP-HBA-06", both(add_hba(hba(8, "host", "scram-sha-256", "127.0.0.1", "255.255.255.255")),
                       field("loopback_tls", False)), PASS, "every TCP line is hostssl"),
    ("DP-HBA-06", field("environment", "dev"), NA, "dev"),
    ("DP-HBA-06", setting("ssl", "off"), NA, "ssl = off"),
    ("DP-ROLE-07", set_role("darevel_chat_app", connlimit=-1), FAIL, "without a connection limit: darevel_chat_app"),
    ("DP-ROLE-07", add_role(role("reporter", connlimit=-1, login=False)), PASS, "none"),
    ("DP-ROLE-07", set_role("postgres", connlimit=-1), FAIL, "without a connection limit: postgres"),
    ("DP-PRIV-03", set_db("postgres", public_usage=True), FAIL, "databases where PUBLIC may use public: postgres"),
    ("DP-PRIV-03", both(set_db("postgres", public_usage=True), field("environment", "dev")), NA, "dev"),
    ("DP-NET-02", setting("unix_socket_permissions", "0777"), FAIL, "unix_socket_permissions = 0777"),
    ("DP-NET-02", setting("unix_socket_permissions", "0700"), PASS, "0700"),
    ("DP-NET-02", both(setting("unix_socket_permissions", "0777"), field("environment", "dev")), NA, "dev"),
    ("DP-NET-02", both(setting("unix_socket_permissions", "0777"), field("runtime", "docker")), NA, "docker"),
    ("DP-WAL-01", both(setting("archive_mode", "on"), setting("archive_command", "pgbackrest archive-push %p")),
     PASS, "archive_mode = on"),
    ("DP-LOG-08", setting("log_error_verbosity", "default"), FAIL, "log_error_verbosity = default"),
    ("DP-LOG-08", both(setting("log_error_verbosity", "default"), field("environment", "dev")), PASS, "default"),
    ("DP-LOG-08", both(setting("log_error_verbosity", "terse"), field("environment", "dev")), FAIL, "terse"),
]


@pytest.mark.parametrize("ident, change, status, text", CASES, ids=["%s-%d" % (c[0], i) for i, c in enumerate(CASES)])
def test_control(ident, change, status, text):
    ev = copy.deepcopy(good())
    change(ev)
    found = results(ev)[ident]
    assert found["status"] == status, found
    assert text in found["evidence"], found


def test_every_control_has_a_failing_case():
    failing = {c[0] for c in CASES if c[2] == FAIL}
    # pgaudit is a note, never a failure; archiving and physical backups are "not configured" until configured
    assert failing == {c.id for c in _audit.CONTROLS} - {"DP-LOG-13", "DP-WAL-01", "DP-BKP-01"}


def test_missing_evidence_never_raises_and_unknown_settings_fail():
    found = {r["id"]: r["status"] for r in _audit.evaluate({"runtime": "native", "environment": "prod"})}
    assert len(found) == len(_audit.CONTROLS)
    for ident in ("DP-INST-01", "DP-FILE-02", "DP-LOG-06", "DP-LOG-11", "DP-AUTH-01", "DP-TLS-01", "DP-HBA-04",
                  "DP-ROLE-06", "DP-PRIV-02"):
        assert found[ident] == FAIL, ident


def test_an_instance_that_cannot_be_read_is_not_audited_and_its_fix_is_given_once():
    down = _audit.unreachable("instance 'chat': not running; fix: start it (make start APPS=chat) and run the "
                              "audit again")
    assert len(down) == len(_audit.CONTROLS) and {r["status"] for r in down} == {_audit.NOT_AUDITED}
    count = _audit.summary(down)
    assert count["not_audited"] == len(down)
    assert count["fail"] == 0 and count["pass"] == 0 and count["failed_high"] == [], "not read is not failed"
    assert down[0]["evidence"] == "not audited: instance 'chat': not running"
    assert down[0]["fix"] == "start it (make start APPS=chat) and run the audit again"
    table = audit_filter.audit_table([{"name": "chat", "error": "instance 'chat': not running; fix: start it",
                                       "controls": down, "summary": count}])
    text = "\n".join(table)
    assert "chat: not audited" in text and text.count("fix:") == 1, text
    assert "FAIL" not in text and "0 pass" not in text


@pytest.mark.parametrize("password, weak", [
    ("postgres", True), ("password", True), ("darevel_chat_app", True), ("darevel_chat", True),
    ("x7Gq2-long-and-random", False),
])
def test_weak_passwords_scram_md5_and_clear(password, weak):
    dbs = ["darevel_chat", "postgres"]
    md5 = "md5" + hashlib.md5((password + "darevel_chat_app").encode()).hexdigest()
    for stored in (_scram.verifier(password), md5, password):
        assert _audit.weak_roles({"darevel_chat_app": stored}, dbs) == (["darevel_chat_app"] if weak else [])
    assert _audit.weak_roles({"darevel_chat_app": None}, dbs) == []


def test_parse_stat():
    text = "700 postgres postgres /var/lib/postgresql/data\n600 postgres postgres /var/lib/postgresql/data/pg hba\n" \
           "stat: cannot statx '/nope': No such file or directory\n"
    found = _audit.parse_stat(text)
    assert found["/var/lib/postgresql/data"]["mode"] == 0o700
    assert found["/var/lib/postgresql/data/pg hba"]["owner"] == "postgres"
    assert "/nope" not in found and len(found) == 2


def test_audit_items_from_the_plan():
    plan = [{"name": "chat", "version": 15, "database": "darevel_chat", "owner": "darevel_chat_owner",
             "app_role": "darevel_chat_app", "settings": {"listen_addresses": "localhost,10.0.0.5"},
             "docker": {"name": "darevel-postgres-chat"}}]
    native = audit_filter.audit_items(plan)
    assert native == [{"name": "chat", "version": 15, "database": "darevel_chat", "owner": "darevel_chat_owner",
                       "app_role": "darevel_chat_app", "listen_addresses": ["localhost", "10.0.0.5"]}]
    assert audit_filter.audit_items(plan, "docker")[0]["container"] == "darevel-postgres-chat"


def test_audit_table_rows_columns_and_failures():
    a = {"name": "chat", "controls": _audit.evaluate(good())}
    ev = good()
    ev["settings"]["password_encryption"] = "md5"
    b = {"name": "mail", "controls": _audit.evaluate(ev)}
    for inst in (a, b):
        inst["summary"] = _audit.summary(inst["controls"])
    lines = audit_filter.audit_table([a, b])
    assert lines[0].split()[:4] == ["id", "CIS", "severity", "control"] and lines[0].split()[-2:] == ["chat", "mail"]
    row = next(ln for ln in lines if ln.startswith("DP-AUTH-01 "))
    assert row.split()[-2:] == ["pass", "FAIL"]
    assert len([ln for ln in lines if ln.startswith("DP-")]) == len(_audit.CONTROLS)
    assert "mail DP-AUTH-01 (high): password_encryption = md5; fix: set password_encryption" in "\n".join(lines)
    assert audit_filter.audit_table([]) == ["no instance to audit"]


def test_docs_list_every_control():
    """docs/security.md carries the control table exactly as the module defines it."""
    text = (ROOT / "docs" / "security.md").read_text()
    assert _audit.docs_table() in text, "docs/security.md is out of date: paste _audit.docs_table() between the " \
                                        "markers (scripts/gen-security-docs.py does)"


class EvidenceRuntime:
    """A runtime answering the evidence queries as text, as both real runtimes do."""

    def __init__(self, kind, answers, stat=b""):
        self.kind, self.label, self.answers, self.stat = kind, "instance 'chat'", answers, stat
        self.container = type("C", (), {"attrs": {"HostConfig": {"PortBindings": {
            "5432/tcp": [{"HostIp": "127.0.0.1", "HostPort": "25512"}]}}}})()
        self.asked, self.execs = [], []

    def session(self, database="postgres"):
        runtime = self

        class Session:
            def value(self, text, idents=(), params=()):
                runtime.asked.append((database, text))
                return runtime.answers[(database, text)]

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                pass
        return Session()

    def exec(self, argv, user="postgres", stdin=None, dest=None):
        self.execs.append((argv, user))
        return 1, self.stat, b"stat: cannot statx '/gone': No such file or directory\n"


def evidence_answers(data_dir):
    import json
    from ansible_collections.darevel.postgres.plugins.module_utils import _evidence as ev
    answer = {"settings": {"server_version_num": "150014", "data_directory": data_dir,
                           "config_file": data_dir + "/postgresql.conf", "hba_file": "/gone", "ssl": "off"},
              "hba": [], "roles": [role("chat_owner")], "server_version": "15.14",
              "databases": [{"name": "chat", "allowconn": True, "public_connect": False},
                            {"name": "template0", "allowconn": False, "public_connect": True}]}
    return {("postgres", ev.GLOBAL_SQL): json.dumps(answer),
            ("postgres", ev.PASSWORD_SQL): json.dumps({"chat_owner": _scram.verifier("chat")}),
            ("chat", ev.DATABASE_SQL): json.dumps({"public_create": False, "extensions": ["pgcrypto"]})}


PARAMS = {"runtime": "docker", "environment": "dev", "extensions_allowed": ["pgcrypto"]}
ITEM = {"name": "chat", "database": "chat", "owner": "chat_owner"}


def test_evidence_in_a_container_stats_there_and_reads_the_published_ports():
    from ansible_collections.darevel.postgres.plugins.module_utils import _evidence
    rt = EvidenceRuntime("docker", evidence_answers("/var/lib/postgresql/data"),
                         b"700 postgres postgres /var/lib/postgresql/data\n")
    ev = _evidence.evidence(rt, ITEM, PARAMS)
    assert [db for db, _sql in rt.asked] == ["postgres", "postgres", "chat"]  # template0 takes no connection
    assert ev["server_version_num"] == 150014 and ev["weak_passwords"] == ["chat_owner"]  # its database's name
    assert ev["databases"][0]["extensions"] == ["pgcrypto"] and ev["databases"][1]["extensions"] == []
    assert ev["files"]["data_directory"] == fact("/var/lib/postgresql/data", 0o700)
    assert ev["files"]["hba_file"]["error"] == "not found in the container" and "log_file" not in ev["files"]
    assert rt.execs[0][1] == "root" and rt.execs[0][0][:3] == ["stat", "-c", "%a %U %G %n"]
    assert ev["published"] == ["127.0.0.1:25512"]


def test_evidence_on_the_host_stats_here_with_the_cluster_log(tmp_path):
    from ansible_collections.darevel.postgres.plugins.module_utils import _evidence
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "postgresql.conf").write_text("")
    log = tmp_path / "postgresql.log"
    log.write_text("")
    rt = EvidenceRuntime("native", evidence_answers(str(data)))
    ev = _evidence.evidence(rt, ITEM, dict(PARAMS, runtime="native"), {"log_file": str(log)})
    assert ev["files"]["data_directory"]["mode"] == 0o700 and ev["files"]["log_file"]["path"] == str(log)
    assert ev["files"]["hba_file"]["error"] and rt.execs == [] and "published" not in ev


def test_evidence_of_a_native_instance_that_is_not_running():
    from ansible_collections.darevel.postgres.plugins.module_utils import _evidence
    from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
    params = dict(PARAMS, runtime="native")
    with pytest.raises(DarevelError, match="instance 'chat': not running; fix: start it"):
        _evidence.runtime_of(ITEM, params, {"status": "stopped", "port": 5434})
    with pytest.raises(DarevelError, match="not found on this host"):
        _evidence.runtime_of(ITEM, params, None)
    rt = _evidence.runtime_of(ITEM, params, {"status": "started", "port": 5434, "version": 15})
    assert (rt.kind, rt.port, rt.version, rt.label) == ("native", 5434, 15, "instance 'chat'")
