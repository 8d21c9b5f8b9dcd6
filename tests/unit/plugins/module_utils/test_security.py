# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The secure state as data: password rules, pg_hba rules, settings, certificate names, firewall."""

from __future__ import annotations

import re

import pytest

from ansible_collections.darevel.postgres.plugins.module_utils import _security

GOOD = "Vq8w2LkT9sRb4Zx1"  # 16 characters


def inst(name="chat", database="darevel_chat", **extra):
    return dict({"name": name, "version": 15, "port": 5434, "database": database, "owner": "%s_owner" % database,
                 "app_role": "%s_app" % database}, **extra)


def given(owner=None, app=None):
    return {"owner": owner or {}, "app": app or {}}


def test_dev_needs_no_password():
    assert _security.password_problems([inst()], "dev", given()) == []


def test_prod_accepts_long_distinct_passwords():
    assert _security.password_problems([inst()], "prod", given({"chat": GOOD}, {"chat": GOOD[::-1]})) == []


def test_prod_missing_passwords_name_instance_role_and_fix():
    problems = _security.password_problems([inst()], "prod", given())
    assert problems == [
        "instance 'chat': role darevel_chat_owner has no password on this prod inventory (passwords are not "
        "generated on prod); fix: set postgres_owner_passwords.chat to a Vault variable of 16 or more characters",
        "instance 'chat': role darevel_chat_app has no password on this prod inventory (passwords are not "
        "generated on prod); fix: set postgres_app_passwords.chat to a Vault variable of 16 or more characters",
    ]


def test_prod_short_password():
    problems = _security.password_problems([inst()], "prod", given({"chat": "short-one"}, {"chat": GOOD}))
    assert problems == ["instance 'chat': role darevel_chat_owner: the password has 9 characters, fewer than 16; "
                        "fix: set postgres_owner_passwords.chat to a Vault variable of 16 or more characters"]


@pytest.mark.parametrize("value", ["postgres", "Password", "darevel_chat", "darevel_chat_owner", "chat",
                                   "darevel_chat_app"])
def test_prod_well_known_defaults(value):
    problems = _security.password_problems([inst()], "prod", given({"chat": value}, {"chat": GOOD}))
    assert len(problems) == 1 and "well-known default" in problems[0] and "instance 'chat'" in problems[0]


def test_prod_reuse_across_instances_and_roles():
    owners = {"chat": GOOD, "mail": GOOD}
    apps = {"chat": "Aa1" + GOOD, "mail": GOOD}
    problems = _security.password_problems([inst(), inst("mail", "darevel_mail")], "prod", given(owners, apps))
    assert problems == [
        "instance 'mail': postgres_owner_passwords.mail reuses the password of postgres_owner_passwords.chat; "
        "fix: give every instance and role its own password",
        "instance 'mail': postgres_app_passwords.mail reuses the password of postgres_owner_passwords.chat; "
        "fix: give every instance and role its own password",
    ]


def test_reuse_ignores_names_outside_the_catalogue():
    assert _security.reuse_problems(given({"chat": GOOD, "old": GOOD}), ["chat"]) == []


def test_no_message_holds_a_password():
    secret = "Sup3rSecretValue-but-reused"
    problems = _security.password_problems([inst(), inst("mail", "darevel_mail")], "prod",
                                           given({"chat": secret, "mail": secret}, {"chat": "x", "mail": "y"}))
    assert problems and not any(secret in p for p in problems)


def test_networks_any_refused_unless_allowed():
    problems, warnings = _security.network_problems(inst(clients=["0.0.0.0/0", "10.0.0.0/8", "bad"]), False)
    assert len(problems) == 2 and warnings == []
    assert "clients 0.0.0.0/0 would admit every address" in problems[0]
    assert "clients 'bad' is not a network address" in problems[1]
    problems, warnings = _security.network_problems(inst(clients=["all"]), True)
    assert problems == [] and len(warnings) == 1


def test_hba_prod_hostssl_for_clients_only_on_its_database():
    rules = _security.hba_rules(inst(clients=["10.0.20.5/24"]), "prod", True)
    text = _security.render_hba(rules)
    assert "trust" not in text and "md5" not in text and " password" not in text
    assert rules[-1] == {"type": "hostssl", "database": "darevel_chat", "user": "darevel_chat_owner,darevel_chat_app",
                         "address": "10.0.20.0/24", "method": "scram-sha-256"}
    assert rules[0]["method"] == "peer map=darevel_superuser"


def test_hba_prod_with_tls_needs_tls_on_every_tcp_line_loopback_included():
    rules = _security.hba_rules(inst(clients=["10.0.20.0/24"]), "prod", True)
    tcp = [(r["type"], r["address"], r["method"]) for r in rules if r["type"] != "local"]
    assert tcp == [("hostnossl", "all", "reject"),
                   ("hostssl", "127.0.0.1/32", "scram-sha-256"), ("hostssl", "::1/128", "scram-sha-256"),
                   ("hostssl", "10.0.20.0/24", "scram-sha-256")]
    opted_out = _security.hba_rules(inst(loopback_tls=False), "prod", True)
    assert [(r["type"], r["address"]) for r in opted_out if r["type"] != "local"] == [
        ("host", "127.0.0.1/32"), ("host", "::1/128"), ("hostnossl", "all")]
    no_tls = _security.hba_rules(inst(), "prod", False)
    assert not [r for r in no_tls if r["type"] == "hostnossl"], "without TLS nothing could connect over TCP"


def test_hba_dev_host_lines():
    rules = _security.hba_rules(inst(clients=["192.168.1.0/24"]), "dev", False)
    assert rules[-1]["type"] == "host"
    assert [r["address"] for r in _security.hba_rules(inst(), "dev", False)] == ["", "", "127.0.0.1/32", "::1/128"]


def test_settings_dev_prod_docker():
    dev = _security.settings(inst(), "dev", "native", False, ["10.0.0.1"])
    assert dev["listen_addresses"] == "localhost" and "ssl" not in dev
    assert dev["password_encryption"] == "scram-sha-256" and dev["log_file_mode"] == "0600"
    prod = _security.settings(inst(), "prod", "native", True, ["localhost", "10.0.0.1"])
    assert prod["listen_addresses"] == "localhost,10.0.0.1"
    assert prod["ssl"] == "on" and prod["ssl_min_protocol_version"] == "TLSv1.2"
    assert prod["ssl_cert_file"] == "/etc/darevel/postgres/tls/chat/server.crt"
    own = _security.settings(inst(listen_addresses=["10.0.0.9"]), "prod", "native", True, ["x"],
                             {"cert": "/c", "key": "/k"})
    assert own["listen_addresses"] == "10.0.0.9" and own["ssl_key_file"] == "/k"
    docker = _security.settings(inst(), "prod", "docker", True)
    assert "listen_addresses" not in docker and "ssl" not in docker and docker["log_connections"] == "on"


def test_prod_native_gets_the_cis_baseline_and_dev_and_docker_do_not():
    prod = _security.settings(inst(), "prod", "native", True, ["localhost"])
    assert prod["log_error_verbosity"] == "verbose" and prod["auth_delay.milliseconds"] == "500"
    assert prod["shared_preload_libraries"] == "passwordcheck,auth_delay"
    assert prod["ssl_ciphers"] == _security.SSL_CIPHERS
    from ansible_collections.darevel.postgres.plugins.module_utils import _audit
    assert _audit.cipher_problems(prod["ssl_ciphers"]) == [], "the audit accepts what the converge sets"
    # CIS 3.1.2-3.1.9 and 7.2: the collector's files, per instance, outside the data directory.
    assert {k: prod[k] for k in ("logging_collector", "log_directory", "log_filename", "log_truncate_on_rotation",
                                 "log_rotation_age", "log_file_mode", "log_replication_commands")} == {
        "logging_collector": "on", "log_directory": "/var/log/postgresql/15-chat", "log_filename": "postgresql-%a.log",
        "log_truncate_on_rotation": "on", "log_rotation_age": "1d", "log_file_mode": "0600",
        "log_replication_commands": "on"}
    # Every suite is named (no OpenSSL alias), each with an ECDHE or DHE key exchange and an AEAD cipher.
    assert all(re.fullmatch(r"(ECDHE-(RSA|ECDSA)|DHE-RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)", suite)
               for suite in prod["ssl_ciphers"].split(":")), prod["ssl_ciphers"]
    strict = _security.settings(inst(), "prod", "native", True, ["localhost"], min_protocol="TLSv1.3")
    assert strict["ssl_min_protocol_version"] == "TLSv1.3"
    dev = _security.settings(inst(), "dev", "native", False)
    assert not set(dev) & {"log_error_verbosity", "auth_delay.milliseconds", "shared_preload_libraries",
                           "logging_collector", "log_directory", "log_replication_commands"}
    # prod on docker: what applies inside a container; the socket stays there, the engine keeps the log
    docker = _security.settings(inst(), "prod", "docker", True)
    assert {k: docker[k] for k in ("log_error_verbosity", "auth_delay.milliseconds", "shared_preload_libraries",
                                   "log_replication_commands")} == {
        "log_error_verbosity": "verbose", "auth_delay.milliseconds": "500",
        "shared_preload_libraries": "passwordcheck,auth_delay", "log_replication_commands": "on"}
    assert not set(docker) & {"unix_socket_permissions", "logging_collector", "ssl", "listen_addresses"}
    assert _security.settings(inst(), "dev", "docker", False) == dict(_security.LOGGING, **_security.FORCED)
    tls_dev = _security.settings(inst(), "dev", "native", True)
    assert tls_dev["ssl_ciphers"] == _security.SSL_CIPHERS and "shared_preload_libraries" not in tls_dev


def test_the_catalogues_libraries_are_loaded_next_to_the_baselines():
    wanted = _security.settings(inst(), "prod", "native", False)
    out = _security.merged(wanted, {"shared_preload_libraries": "pg_stat_statements, auth_delay"})
    assert out["shared_preload_libraries"] == "passwordcheck,auth_delay,pg_stat_statements"
    assert _security.merged({}, {"shared_preload_libraries": "pg_stat_statements"})["shared_preload_libraries"] == \
        "pg_stat_statements"


def test_prod_refuses_the_baselines_settings_through_the_catalogue_and_a_bad_tls_version():
    from ansible_collections.darevel.postgres.plugins.module_utils import _catalogue, _validate
    problems = _catalogue.managed_settings_problems([inst(settings={"log_error_verbosity": "terse",
                                                                    "auth_delay.milliseconds": "0"})], "prod")
    assert len(problems) == 2 and all("managed by the security role" in p for p in problems)
    assert _validate.host_variables_problems({"postgres_tls_min_protocol": "TLSv1.3"}) == []
    bad = _validate.host_variables_problems({"postgres_tls_min_protocol": "TLSv1.1"})
    assert bad and "postgres_tls_min_protocol 'TLSv1.1'" in bad[0] and "fix:" in bad[0]
    assert _validate.TLS_MIN_PROTOCOLS == _security.TLS_MIN_PROTOCOLS


def test_merged_keeps_pinned_but_forces_scram():
    out = _security.merged({"log_connections": "on", "password_encryption": "scram-sha-256"},
                           {"log_connections": "off", "password_encryption": "md5", "work_mem": "4MB"})
    assert out == {"log_connections": "off", "password_encryption": "scram-sha-256", "work_mem": "4MB"}


def test_tls_names():
    names = _security.tls_names(inst(settings={"listen_addresses": "localhost,10.1.2.3"}), "db1.example.internal",
                                ["cafe.de"])
    assert names == ["DNS:localhost", "IP:127.0.0.1", "IP:::1", "DNS:db1.example.internal", "DNS:cafe.de",
                     "IP:10.1.2.3"]


def test_firewall_rules():
    text = _security.firewall_rules([inst(clients=["10.0.20.0/24", "fd00::/64"]), inst("mail", "m", port=5437)])
    assert text.splitlines()[1:4] == ["table inet darevel_postgres", "delete table inet darevel_postgres",
                                      "table inet darevel_postgres {"]
    assert "    ip saddr { 10.0.20.0/24 } tcp dport 5434 accept" in text
    assert "    ip6 saddr { fd00::/64 } tcp dport 5434 accept" in text
    assert text.count("tcp dport 5434 drop") == 1
    assert "tcp dport 5437 drop" in text and "saddr" not in text.split("instance mail")[1]


def test_tls_days_defaults_pass_and_equal_the_roles_defaults():
    import yaml
    from pathlib import Path
    defaults = yaml.safe_load((Path(__file__).resolve().parents[4] / "roles" / "security" / "defaults" / "main.yml").read_text())
    assert {k: defaults[k] for k in _security.TLS_DAYS} == _security.TLS_DAYS
    assert _security.tls_validity_problems({}) == []
    assert _security.tls_validity_problems({k: None for k in _security.TLS_DAYS}) == []
    assert _security.tls_validity_problems({"postgres_tls_days": "90", "postgres_tls_renew_days": "0"}) == []


def test_config_and_tls_dirs_equal_the_roles_vars():
    import yaml
    from pathlib import Path
    role_vars = yaml.safe_load((Path(__file__).resolve().parents[4] / "roles" / "security" / "vars" / "main.yml").read_text())
    assert tuple(role_vars["__postgres_config_dirs"]) == _security.CONFIG_DIRS
    assert role_vars["__postgres_tls_dir"] == _security.TLS_DIR
    assert _security.TLS_DIR.startswith(_security.CONFIG_DIRS[-1] + "/")


def test_renewal_window_must_be_shorter_than_a_certificates_life():
    problems = _security.tls_validity_problems({"postgres_tls_days": 30})  # the default window is 30 too
    assert len(problems) == 1
    assert "postgres_tls_renew_days 30 is not below postgres_tls_days 30" in problems[0]
    assert "fix: set postgres_tls_renew_days below 30" in problems[0]
    assert _security.tls_validity_problems({"postgres_tls_days": 31}) == []


@pytest.mark.parametrize("name, value", [("postgres_tls_days", 0), ("postgres_tls_days", "ninety"),
                                         ("postgres_tls_ca_days", -1), ("postgres_tls_renew_days", 2.5),
                                         ("postgres_tls_renew_days", True)])
def test_tls_days_must_be_whole_days(name, value):
    problems = _security.tls_validity_problems({name: value})
    assert len(problems) == 1 and problems[0].startswith("host: %s %r" % (name, value)) and "fix:" in problems[0]


def test_every_tls_days_problem_at_once():
    assert len(_security.tls_validity_problems({"postgres_tls_days": 0, "postgres_tls_ca_days": "x",
                                                "postgres_tls_renew_days": -3})) == 3
