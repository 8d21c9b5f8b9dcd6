# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The secure state through site.yml on a prod-style inventory, native runtime (it_sec_a, it_sec_b
on 25500-25501), and the docker runtime's pg_hba and passwords (it-sec-d on 25502).

Ordered story: prod refuses bad passwords before any change; a converge with Vault-style
passwords gives TLS (verify-full against the host's CA), hostssl for the client network, the
least-privilege application role, CIS file modes and logging, and a rendered firewall rule set
(proved by its rendered form: the shared test machine's firewall is not loaded); a second run
changes nothing; an instance weakened by hand (a trust line, password_encryption=md5 by ALTER
SYSTEM, ssl=off in postgresql.conf, a world-readable data directory) is repaired by the next
converge; a rotation with log_statement=all leaves no clear password in the server log and only
the rotated instance changes; a pg_hba change shows in check mode with its diff and reloads only
its instance.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import socket
import ssl
import stat
import struct
import subprocess
import sys
import time
from datetime import datetime, timezone

import psycopg2
import pytest
import yaml
from cryptography import x509

from conftest import REPO, clusters, drop_cluster, need_docker, postmaster_pid, psql

SITE = REPO / "playbooks" / "site.yml"
AUDIT = REPO / "playbooks" / "audit.yml"
CONFIG_DIR = "/etc/darevel/postgres"
CA = "/etc/darevel/postgres/tls/ca.crt"
A = {"name": "it_sec_a", "port": 25500, "database": "it_sec_a", "clients": ["10.9.0.0/24"]}
B = {"name": "it_sec_b", "port": 25501, "database": "it_sec_b"}
T = {"name": "it_sec_t", "port": 25503, "database": "it_sec_t"}  # dev first, then prod
D = {"name": "it_sec_d", "port": 25502, "database": "it_sec_d", "container": "it-sec-d", "volume": "it-sec-d-data"}
IMAGE = "darevel-test/postgres:15"


def pw() -> str:
    return "S3c-%s" % secrets.token_urlsafe(18)


def prod_vars(scratch, passwords: dict, a_clients=None) -> dict:
    return {
        "postgres_instances": [dict(A, clients=a_clients or A["clients"]), dict(B)],
        "postgres_environment": "prod", "postgres_runtime": "native",
        "postgres_owner_passwords": passwords["owner"], "postgres_app_passwords": passwords["app"],
        "postgres_credentials_dir": str(scratch / "credentials"), "postgres_env_dir": str(scratch / "env"),
        "postgres_reports_dir": str(scratch / "reports"),
        "postgres_firewall_file": str(scratch / "firewall.nft"),
    }


def hba(name: str) -> str:
    with open("/etc/postgresql/15/%s/pg_hba.conf" % name) as handle:
        return handle.read()


def show(port: int, setting: str) -> str:
    return psql(port, "SHOW %s" % setting)


def connect(item: dict, user: str, password: str, **kwargs):
    return psycopg2.connect(host=kwargs.pop("host", "127.0.0.1"), port=item["port"], user=user, password=password,
                            dbname=item["database"], connect_timeout=10, **kwargs)


def load_time(port: int) -> str:
    return psql(port, "SELECT pg_conf_load_time()")


def wait_for(port: int, setting: str, value: str) -> str:
    for _attempt in range(40):
        if show(port, setting) == value:
            break
        time.sleep(0.25)
    return show(port, setting)


@pytest.fixture(scope="module", autouse=True)
def _tls_files():
    """The instances' TLS directories go with them (the host's CA stays, as on a real host)."""
    yield
    for item in (A, B, T):
        shutil.rmtree("/etc/darevel/postgres/tls/%s" % item["name"], ignore_errors=True)


@pytest.fixture(scope="module")
def state(ansible, scratch):
    passwords = {"owner": {"it_sec_a": pw(), "it_sec_b": pw()}, "app": {"it_sec_a": pw(), "it_sec_b": pw()}}
    return {"passwords": passwords, "runs": {}}


@pytest.fixture(scope="module")
def converged(ansible, scratch, state):
    run = ansible.run(SITE, prod_vars(scratch, state["passwords"]))
    assert run.rc == 0, run.explain()
    state["runs"]["first"] = run
    state["runs"]["second"] = ansible.run(SITE, prod_vars(scratch, state["passwords"]))
    return state


def test_prod_refuses_bad_passwords_before_any_change(ansible, scratch):
    bad = {"owner": {"it_sec_a": "password", "it_sec_b": "Short-1"},
           "app": {"it_sec_b": "it_sec_b"}}
    reused = pw()
    bad["owner"]["it_sec_b"] = "Short-1"
    bad["app"]["it_sec_a"] = reused
    bad["owner"]["it_extra"] = reused  # an instance of another host in the same Vault file
    variables = prod_vars(scratch, bad)
    variables["postgres_instances"].append({"name": "it_extra", "port": 25519, "database": "it_extra"})
    variables["postgres_instances_enabled"] = ["it_sec_a", "it_sec_b"]
    run = ansible.run(SITE, variables)
    assert run.rc != 0
    msg = run.task("Check the catalogue, ports and disk")["msg"]
    assert "Preflight found 4 problem(s), nothing was changed" in msg, msg
    assert "instance 'it_sec_a': role it_sec_a_owner: the password is a well-known default" in msg
    assert "instance 'it_sec_b': role it_sec_b_owner: the password has 7 characters, fewer than 16" in msg
    assert "instance 'it_sec_b': role it_sec_b_app: the password is a well-known default" in msg
    assert "postgres_app_passwords.it_sec_a reuses the password of postgres_owner_passwords.it_extra" in msg
    assert "fix: set postgres_owner_passwords.it_sec_a to a Vault variable" in msg
    assert reused not in run.stdout + run.stderr
    assert not any(name.startswith("it_sec") for name in clusters())


def test_prod_refuses_a_password_reused_in_another_hosts_variables(ansible, scratch):
    """Two hosts, each with its own host_vars: a password reused across them is refused on both."""
    shared, inventory = pw(), scratch / "inventory-two-hosts"
    (inventory / "host_vars").mkdir(parents=True, exist_ok=True)
    hosts = {"db1": (A, shared), "db2": (B, shared)}
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"postgres": {"hosts": {
        name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable} for name in hosts}}}))
    for name, (item, owner) in hosts.items():
        (inventory / "host_vars" / ("%s.yml" % name)).write_text(yaml.safe_dump({
            "postgres_instances_enabled": [item["name"]],
            "postgres_owner_passwords": {item["name"]: owner},
            "postgres_app_passwords": {item["name"]: pw()}}))
    variables = {k: v for k, v in prod_vars(scratch, {"owner": {}, "app": {}}).items()
                 if k not in ("postgres_owner_passwords", "postgres_app_passwords")}
    run = ansible.run(SITE, variables, args=["-i", str(inventory)])
    assert run.rc != 0, run.explain()
    assert ("instance 'it_sec_b': postgres_owner_passwords.it_sec_b reuses the password of "
            "postgres_owner_passwords.it_sec_a; fix: give every instance and role its own password") in run.stdout
    assert "db1" in run.stdout and "db2" in run.stdout
    assert shared not in run.stdout + run.stderr
    assert not any(name.startswith("it_sec") for name in clusters())


def test_prod_a_hosts_password_that_cannot_be_read_stops_every_host_before_any_change(ansible, scratch):
    """A play host whose password refers to an undefined variable (a Vault file not loaded) is not
    left out of the reuse check: the preflight stops every host (db1's is fine) before any change,
    naming the variable and quoting no password."""
    inventory = scratch / "inventory-unreadable"
    (inventory / "host_vars").mkdir(parents=True, exist_ok=True)
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"postgres": {"hosts": {
        name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable} for name in ("db1", "db2")}}}))
    secret = pw()
    (inventory / "host_vars" / "db1.yml").write_text(yaml.safe_dump({
        "postgres_instances_enabled": [A["name"]],
        "postgres_owner_passwords": {A["name"]: secret}, "postgres_app_passwords": {A["name"]: pw()}}))
    (inventory / "host_vars" / "db2.yml").write_text(
        "postgres_instances_enabled: [%s]\npostgres_owner_passwords: {%s: '{{ vault_not_loaded }}'}\n"
        "postgres_app_passwords: {%s: %s}\n" % (B["name"], B["name"], B["name"], pw()))
    variables = {k: v for k, v in prod_vars(scratch, {"owner": {}, "app": {}}).items()
                 if k not in ("postgres_owner_passwords", "postgres_app_passwords")}
    run = ansible.run(SITE, variables, args=["-i", str(inventory)])
    assert run.rc != 0, run.explain()
    assert "'vault_not_loaded' is undefined" in run.stdout, run.explain()
    assert run.data["stats"]["db2"]["failures"] == 1 and run.data["stats"]["db1"]["changed"] == 0
    assert secret not in run.stdout + run.stderr
    assert not any(name.startswith("it_sec") for name in clusters())


def test_prod_missing_password_is_refused(ansible, scratch, state):
    passwords = {"owner": dict(state["passwords"]["owner"]), "app": {"it_sec_a": pw()}}
    run = ansible.run(SITE, prod_vars(scratch, passwords))
    assert run.rc != 0
    msg = run.task("Check the catalogue, ports and disk")["msg"]
    assert "instance 'it_sec_b': role it_sec_b_app has no password on this prod inventory" in msg
    assert "fix: set postgres_app_passwords.it_sec_b" in msg
    assert not any(name.startswith("it_sec") for name in clusters())


def test_a_renewal_window_as_long_as_the_certificates_is_refused(ansible, scratch, state):
    variables = dict(prod_vars(scratch, state["passwords"]), postgres_tls_days=90, postgres_tls_renew_days=90)
    run = ansible.run(SITE, variables)
    assert run.rc != 0
    msg = run.task("Check the catalogue, ports and disk")["msg"]
    assert "postgres_tls_renew_days 90 is not below postgres_tls_days 90" in msg, msg
    assert "fix: set postgres_tls_renew_days below 90" in msg
    assert not any(name.startswith("it_sec") for name in clusters())


def test_converge_is_idempotent(converged):
    second = converged["runs"]["second"]
    assert second.rc == 0, second.explain()
    assert second.changed == 0, [r["_task"] for r in second.results if r.get("changed")]


def audit(ansible, scratch, passwords) -> dict:
    """playbooks/audit.yml on the two instances; {instance: {control id: status}} from audit.json."""
    run = ansible.run(AUDIT, prod_vars(scratch, passwords))
    report = json.loads((scratch / "reports" / "localhost" / "audit.json").read_text())
    return {"run": run, "report": report, "status": {
        i["name"]: {c["id"]: c["status"] for c in i["controls"]} for i in report["instances"]}}


def test_a_fresh_prod_converge_passes_the_audit(ansible, scratch, converged):
    found = audit(ansible, scratch, converged["passwords"])
    failed = {name: sorted(cid for cid, status in controls.items() if status == "fail")
              for name, controls in found["status"].items()}
    assert failed == {"it_sec_a": [], "it_sec_b": []}, found["run"].explain()
    assert found["run"].rc == 0


def test_tls_verify_full_against_the_hosts_ca(converged):
    assert show(A["port"], "ssl") == "on"
    assert show(A["port"], "ssl_min_protocol_version") == "TLSv1.2"
    app = converged["passwords"]["app"]["it_sec_a"]
    conn = connect(A, "it_sec_a_app", app, host="localhost", sslmode="verify-full", sslrootcert=CA)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            used, version = cur.fetchone()
        assert used is True and version in ("TLSv1.2", "TLSv1.3")
    finally:
        conn.close()
    with pytest.raises(psycopg2.OperationalError):  # a client that checks the name refuses a wrong one
        connect(A, "it_sec_a_app", app, host="127.0.0.2", sslmode="verify-full", sslrootcert=CA).close()


def served_certificate(port: int):
    """The certificate the server presents in its TLS handshake (after PostgreSQL's SSLRequest)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(struct.pack("!ii", 8, 80877103))
        assert sock.recv(1) == b"S"
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        with context.wrap_socket(sock) as tls:
            return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def certificate_file(name: str):
    with open("/etc/darevel/postgres/tls/%s/server.crt" % name, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def days_left(cert) -> float:
    return (cert.not_valid_after_utc - datetime.now(timezone.utc)).total_seconds() / 86400


def wait_served(port: int, wanted) -> object:
    for _attempt in range(40):  # a reload is a signal: the postmaster reads the files just after
        served = served_certificate(port)
        if served.serial_number == wanted.serial_number:
            break
        time.sleep(0.25)
    return served


def test_a_certificate_near_expiry_is_renewed_and_served(ansible, scratch, converged):
    """A certificate within postgres_tls_renew_days of its end is renewed by the next converge (the
    same key, signed by the host's CA) and its instance reloads to serve it; the other instance is
    left alone, and a further converge renews nothing."""
    passwords = converged["passwords"]
    # A two-day certificate, as one issued long ago would be near its end: the file is removed and a
    # converge with a two-day validity writes it; the instance must serve it at once.
    os.remove("/etc/darevel/postgres/tls/%s/server.crt" % A["name"])
    short = ansible.run(SITE, dict(prod_vars(scratch, passwords), postgres_tls_days=2, postgres_tls_renew_days=1))
    assert short.rc == 0, short.explain()
    old = certificate_file(A["name"])
    assert 1.5 < days_left(old) <= 2
    assert wait_served(A["port"], old).serial_number == old.serial_number
    b_loaded = load_time(B["port"])

    renewed = ansible.run(SITE, prod_vars(scratch, passwords))  # defaults: 825 days, renewed within 30
    assert renewed.rc == 0, renewed.explain()
    new = certificate_file(A["name"])
    assert new.serial_number != old.serial_number and days_left(new) > 800
    assert new.public_key().public_numbers() == old.public_key().public_numbers()  # the same key
    assert new.issuer == old.issuer
    assert wait_served(A["port"], new).serial_number == new.serial_number
    assert load_time(B["port"]) == b_loaded
    conn = connect(A, "it_sec_a_app", passwords["app"]["it_sec_a"], host="localhost", sslmode="verify-full",
                   sslrootcert=CA)
    conn.close()

    again = ansible.run(SITE, prod_vars(scratch, passwords))
    assert again.rc == 0 and again.changed == 0, [r["_task"] for r in again.results if r.get("changed")]
    assert certificate_file(A["name"]).serial_number == new.serial_number


def test_pg_hba_and_listening_from_data(converged):
    text = hba("it_sec_a")
    rules = [line.split() for line in text.splitlines() if line and not line.startswith("#")]
    assert ["hostssl", "it_sec_a", "it_sec_a_owner,it_sec_a_app", "10.9.0.0/24", "scram-sha-256"] in rules
    assert {r[-1] for r in rules if r[0] != "local"} == {"scram-sha-256", "reject"}
    # prod with TLS: every TCP line is hostssl, loopback included, after one hostnossl reject for every address
    assert [r for r in rules if r[0] not in ("local", "hostssl")] == [["hostnossl", "all", "all", "all", "reject"]]
    assert ["hostssl", "all", "all", "127.0.0.1/32", "scram-sha-256"] in rules
    assert not any(word in text for word in (" trust", " md5", " password"))
    assert "10.9.0.0" not in hba("it_sec_b")
    assert show(A["port"], "listen_addresses") == "localhost"
    assert show(A["port"], "password_encryption") == "scram-sha-256"


def test_application_role_has_least_privilege(converged):
    owner, app = converged["passwords"]["owner"]["it_sec_a"], converged["passwords"]["app"]["it_sec_a"]
    with connect(A, "it_sec_a_owner", owner) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text)")
    conn.close()
    conn = connect(A, "it_sec_a_app", app)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO notes (body) VALUES ('a') RETURNING id")
            row_id = cur.fetchone()[0]
            cur.execute("UPDATE notes SET body = 'b' WHERE id = %s", (row_id,))
            cur.execute("SELECT body FROM notes WHERE id = %s", (row_id,))
            assert cur.fetchone() == ("b",)
            cur.execute("DELETE FROM notes WHERE id = %s", (row_id,))
            for statement in ("CREATE TABLE mine (id int)", "DROP TABLE notes", "CREATE DATABASE nope",
                              "CREATE ROLE nope"):
                with pytest.raises(psycopg2.Error):
                    cur.execute(statement)
    finally:
        conn.close()
    attrs = psql(A["port"], "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin "
                            "FROM pg_roles WHERE rolname = 'it_sec_a_app'")
    assert attrs == "f|f|f|f|f|t"
    assert psql(A["port"], "SELECT rolpassword IS NULL FROM pg_authid WHERE rolname = 'postgres'") == "t"
    # PUBLIC has no CONNECT: another instance's roles could not even open this database.
    assert psql(A["port"], "SELECT has_database_privilege('public', 'it_sec_a', 'CONNECT')") == "f"


def test_env_file_and_host_side_modes(converged, scratch):
    env = scratch / "env" / "it_sec_a.env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    values = dict(line.split("=", 1) for line in env.read_text().splitlines() if "=" in line)
    assert values["POSTGRES_USER"] == "it_sec_a_owner" and values["DB_APP_USER"] == "it_sec_a_app"
    assert values["DB_APP_PASSWORD"] == converged["passwords"]["app"]["it_sec_a"]
    data_dir = clusters()["it_sec_a"]["data_dir"]
    modes = {path: stat.S_IMODE(os.stat(path).st_mode) for path in (
        data_dir, "/etc/postgresql/15/it_sec_a/postgresql.conf", "/etc/postgresql/15/it_sec_a/pg_hba.conf",
        "/etc/postgresql/15/it_sec_a/conf.d/50-darevel-settings.conf",
        "/etc/darevel/postgres/tls/it_sec_a/server.key", "/etc/darevel/postgres/tls/ca.key")}
    assert list(modes.values()) == [0o700, 0o640, 0o640, 0o640, 0o600, 0o600], modes
    for setting, value in (("log_connections", "on"), ("log_disconnections", "on"), ("log_timezone", "UTC"),
                           ("log_file_mode", "0600")):
        assert show(A["port"], setting) == value
    assert "%u@%d" in show(A["port"], "log_line_prefix")


def test_firewall_rule_set_is_rendered_per_instance(converged, scratch):
    # Proved by its rendered form (and nft's own syntax check when nft is installed): the shared
    # test machine's firewall is not loaded.
    text = (scratch / "firewall.nft").read_text()
    assert "ip saddr { 10.9.0.0/24 } tcp dport 25500 accept" in text
    assert "tcp dport 25500 drop" in text and "tcp dport 25501 drop" in text
    assert "saddr" not in text.split("instance it_sec_b")[1]
    if shutil.which("nft"):
        check = subprocess.run(["nft", "-c", "-f", str(scratch / "firewall.nft")], capture_output=True, text=True,
                               check=False)
        assert check.returncode == 0 or "Operation not permitted" in check.stderr, check.stderr


def test_a_weakened_instance_is_repaired(ansible, scratch, converged):
    conf_dir = "/etc/postgresql/15/it_sec_a"
    data_dir = clusters()["it_sec_a"]["data_dir"]
    with open(conf_dir + "/pg_hba.conf", "a") as handle:
        handle.write("host all all 0.0.0.0/0 trust\n")
    with open(conf_dir + "/postgresql.conf", "a") as handle:
        handle.write("ssl = off\n")
    os.chmod(data_dir, 0o755)
    psql(A["port"], "ALTER SYSTEM SET password_encryption = 'md5'")
    psql(A["port"], "SELECT pg_reload_conf()")
    assert wait_for(A["port"], "ssl", "off") == "off" and show(A["port"], "password_encryption") == "md5"
    weakened = audit(ansible, scratch, converged["passwords"])
    assert weakened["run"].rc != 0, "prod fails the audit on a failed high control"
    failed = {cid for cid, status in weakened["status"]["it_sec_a"].items() if status == "fail"}
    assert {"DP-HBA-01", "DP-HBA-03", "DP-AUTH-01", "DP-TLS-01", "DP-FILE-01"} <= failed, failed
    b_pid, b_loaded = postmaster_pid(clusters()["it_sec_b"]["data_dir"]), load_time(B["port"])

    run = ansible.run(SITE, prod_vars(scratch, converged["passwords"]))
    assert run.rc == 0, run.explain()
    assert " trust" not in hba("it_sec_a")
    assert stat.S_IMODE(os.stat(data_dir).st_mode) == 0o700
    assert wait_for(A["port"], "ssl", "on") == "on"
    assert wait_for(A["port"], "password_encryption", "scram-sha-256") == "scram-sha-256"
    # The instance task puts the configuration back (pg_instance owns it on native), the database
    # task has nothing to repair.
    repaired = [i for i in run.task("Create and start the instances")["instances"] if i["name"] == "it_sec_a"]
    assert sorted(repaired[0]["settings_repaired"]) == ["password_encryption", "ssl"]
    assert "-- chmod 0700 %s (was 0755)" % data_dir in repaired[0]["queries"]
    assert all("settings_repaired" not in i for i in run.task("database, owner and application roles")["instances"])
    with open(conf_dir + "/postgresql.conf") as handle:
        assert "# ssl = off  # disabled by darevel.postgres" in handle.read()
    assert postmaster_pid(clusters()["it_sec_b"]["data_dir"]) == b_pid and load_time(B["port"]) == b_loaded
    repaired = audit(ansible, scratch, converged["passwords"])
    assert [cid for cid, status in repaired["status"]["it_sec_a"].items() if status == "fail"] == []


def test_rotation_sends_no_clear_password_and_touches_only_its_instance(ansible, scratch, converged):
    psql(A["port"], "ALTER SYSTEM SET log_statement = 'all'")
    psql(A["port"], "SELECT pg_reload_conf()")
    wait_for(A["port"], "log_statement", "all")
    b_roles = psql(B["port"], "SELECT rolname, rolpassword FROM pg_authid WHERE rolname LIKE 'it_sec_b_%' ORDER BY 1")
    b_loaded = load_time(B["port"])
    passwords = {"owner": dict(converged["passwords"]["owner"], it_sec_a=pw()),
                 "app": dict(converged["passwords"]["app"], it_sec_a=pw())}
    run = ansible.run(SITE, prod_vars(scratch, passwords))
    assert run.rc == 0, run.explain()
    converged["passwords"] = passwords
    results = {i["name"]: i for i in run.task("database, owner and application roles")["instances"]}
    assert results["it_sec_b"]["changed"] is False and results["it_sec_b"]["queries"] == []
    assert results["it_sec_a"]["queries"][:2] == ["ALTER ROLE it_sec_a_owner LOGIN PASSWORD 'SCRAM-SHA-256$********'",
                                                  "ALTER ROLE it_sec_a_app PASSWORD 'SCRAM-SHA-256$********'"]
    time.sleep(0.5)
    with open(clusters()["it_sec_a"]["log_file"], errors="replace") as handle:
        log = handle.read()
    assert 'ALTER ROLE "it_sec_a_owner" LOGIN PASSWORD' in log, "the statement log is not on"
    for secret in (passwords["owner"]["it_sec_a"], passwords["app"]["it_sec_a"]):
        assert secret not in log
        assert secret not in run.stdout + run.stderr
    verifiers = psql(A["port"], "SELECT rolpassword FROM pg_authid WHERE rolname LIKE 'it_sec_a_%' ORDER BY 1")
    assert all(v.startswith("SCRAM-SHA-256$4096:") for v in verifiers.splitlines())
    connect(A, "it_sec_a_app", passwords["app"]["it_sec_a"]).close()
    assert psql(B["port"], "SELECT rolname, rolpassword FROM pg_authid WHERE rolname LIKE 'it_sec_b_%' "
                           "ORDER BY 1") == b_roles
    assert load_time(B["port"]) == b_loaded
    psql(A["port"], "ALTER SYSTEM RESET log_statement")
    psql(A["port"], "SELECT pg_reload_conf()")


def hba_after(diff, name: str) -> str:
    """The new pg_hba text of instance `name` in a pg_instance diff: an entry per file (headed by
    its path), or one entry whose `after` holds every instance's files."""
    entries = diff if isinstance(diff, list) else [diff]
    for entry in entries:
        if str(entry.get("after_header", "")).endswith("/%s/pg_hba.conf" % name):
            return entry["after"]
    for entry in entries:
        after = entry.get("after")
        if isinstance(after, dict) and "instance %s" % name in after:
            return after["instance %s" % name]["pg_hba"]
    raise AssertionError("no pg_hba of %s in the diff: %r" % (name, diff))


def test_pg_hba_change_check_mode_diff_then_only_its_instance_reloads(ansible, scratch, converged):
    before_a, before_b = hba("it_sec_a"), hba("it_sec_b")
    loaded_a, loaded_b = load_time(A["port"]), load_time(B["port"])
    variables = prod_vars(scratch, converged["passwords"], a_clients=["10.9.0.0/24", "10.8.0.0/24"])
    check = ansible.run(SITE, variables, check=True, diff=True)
    assert check.rc == 0, check.explain()
    instance = check.task("Create and start the instances")
    assert instance["changed"] is True
    after_text = hba_after(instance["diff"], "it_sec_a")
    assert "10.8.0.0/24" in after_text
    assert hba("it_sec_a") == before_a and load_time(A["port"]) == loaded_a

    run = ansible.run(SITE, variables)
    assert run.rc == 0, run.explain()
    assert "10.8.0.0/24" in hba("it_sec_a") and hba("it_sec_b") == before_b
    for _attempt in range(20):
        if load_time(A["port"]) != loaded_a:
            break
        time.sleep(0.25)
    assert load_time(A["port"]) != loaded_a and load_time(B["port"]) == loaded_b


# --------------------------------------------------------------------------- dev first, then prod


def mode_owner(path: str) -> tuple[str, str]:
    st = os.stat(path)
    return "%04o" % stat.S_IMODE(st.st_mode), pwd.getpwuid(st.st_uid).pw_name


def old_config_dir() -> None:
    """The state a dev converge of earlier versions left: /etc/darevel/postgres created 0700 with
    the env files (on this test machine, `make up` may have run before, or not)."""
    os.makedirs(CONFIG_DIR, exist_ok=True)
    os.chmod(CONFIG_DIR, 0o700)


@pytest.fixture(scope="module")
def dev_then_prod(ansible, scratch):
    """it_sec_t with its env file where users source it (/etc/darevel/postgres/it_sec_t.env)."""
    base = {"postgres_instances": [T], "postgres_runtime": "native",
            "postgres_credentials_dir": str(scratch / "credentials"), "postgres_reports_dir": str(scratch / "reports"),
            "postgres_firewall_file": str(scratch / "firewall-t.nft")}
    passwords = {"owner": {"it_sec_t": pw()}, "app": {"it_sec_t": pw()}}
    yield {"dev": dict(base, postgres_environment="dev"), "passwords": passwords,
           "prod": dict(base, postgres_environment="prod", postgres_owner_passwords=passwords["owner"],
                        postgres_app_passwords=passwords["app"])}
    drop_cluster(T["name"])
    for leftover in ("%s/%s.env" % (CONFIG_DIR, T["name"]), str(scratch / "firewall-t.nft")):
        if os.path.exists(leftover):
            os.remove(leftover)


def test_a_dev_converge_leaves_the_config_directory_reachable(ansible, dev_then_prod):
    """Every converge puts /etc/darevel/postgres back to 0755 root (it holds the server's TLS
    directory as well as the applications' env files, which are 0600 themselves)."""
    old_config_dir()
    dev = ansible.run(SITE, dev_then_prod["dev"])
    assert dev.rc == 0, dev.explain()
    assert not os.path.exists("%s/tls/%s" % (CONFIG_DIR, T["name"])), "TLS is off on dev"
    assert mode_owner("/etc/darevel") == ("0755", "root")
    assert mode_owner(CONFIG_DIR) == ("0755", "root")
    assert mode_owner("%s/%s.env" % (CONFIG_DIR, T["name"])) == ("0600", "root")
    again = ansible.run(SITE, dev_then_prod["dev"])
    assert again.rc == 0 and again.changed == 0, [r["_task"] for r in again.results if r.get("changed")]


def test_a_host_converged_without_tls_serves_tls_once_on_prod(ansible, dev_then_prod):
    """A host converged on dev (no TLS) by an earlier version, then with postgres_environment prod:
    the postgres user reads its certificate and key, and a client verifies the server against the
    host's CA. The env file keeps its path; the layout has the documented modes and owners."""
    old_config_dir()
    dev = ansible.run(SITE, dev_then_prod["dev"])
    assert dev.rc == 0, dev.explain()
    old_config_dir()  # as if this converge had been an earlier version's
    prod = ansible.run(SITE, dev_then_prod["prod"])
    assert prod.rc == 0, prod.explain()
    assert show(T["port"], "ssl") == "on"
    # Settings read at start came with the switch's restart: the collector's own files, the socket 0770.
    assert (show(T["port"], "logging_collector"), show(T["port"], "unix_socket_permissions")) == ("on", "0770")
    assert psql(T["port"], "SELECT pg_current_logfile()").startswith("/var/log/postgresql/15-it_sec_t/")
    app = dev_then_prod["passwords"]["app"]["it_sec_t"]
    conn = connect(T, "it_sec_t_app", app, host="localhost", sslmode="verify-full", sslrootcert=CA)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            assert cur.fetchone() == (True,)
    finally:
        conn.close()
    env = "%s/%s.env" % (CONFIG_DIR, T["name"])
    values = dict(line.split("=", 1) for line in open(env).read().splitlines() if "=" in line)
    assert values["DB_APP_PASSWORD"] == app
    tls = "%s/tls" % CONFIG_DIR
    layout = {path: mode_owner(path) for path in (
        "/etc/darevel", CONFIG_DIR, env, tls, tls + "/ca.key", tls + "/ca.crt", tls + "/it_sec_t",
        tls + "/it_sec_t/server.key", tls + "/it_sec_t/server.crt")}
    assert list(layout.values()) == [("0755", "root"), ("0755", "root"), ("0600", "root"), ("0755", "root"),
                                     ("0600", "root"), ("0644", "root"), ("0755", "root"),
                                     ("0600", "postgres"), ("0644", "postgres")], layout
    again = ansible.run(SITE, dev_then_prod["prod"])
    assert again.rc == 0 and again.changed == 0, [r["_task"] for r in again.results if r.get("changed")]


# --------------------------------------------------------------------------- docker runtime


def docker(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def container(ansible, scratch):
    need_docker(IMAGE)
    docker("rm", "-f", D["container"])
    docker("volume", "rm", D["volume"])
    variables = {"postgres_instances": [D], "postgres_runtime": "docker",
                 "postgres_docker_image": "darevel-test/postgres:{version}",
                 "postgres_credentials_dir": str(scratch / "credentials"), "postgres_env_dir": str(scratch / "env"),
                 "postgres_reports_dir": str(scratch / "reports")}
    first = ansible.run(SITE, variables)
    second = ansible.run(SITE, variables)
    yield first, second, scratch
    docker("rm", "-f", D["container"])
    docker("volume", "rm", D["volume"])


def test_docker_pg_hba_has_no_trust_and_passwords_are_verifiers(container):
    first, second, scratch = container
    assert first.rc == 0, first.explain()
    assert second.rc == 0, second.explain()
    assert second.changed == 0, [r["_task"] for r in second.results if r.get("changed")]
    hba_text = docker("exec", D["container"], "cat", "/var/lib/postgresql/data/pg_hba.conf").stdout
    assert "trust" not in hba_text and "scram-sha-256" in hba_text
    verifiers = docker("exec", "-u", "postgres", D["container"], "psql", "-U", "it_sec_d_owner", "-d", "postgres",
                       "-Atc", "SELECT rolpassword FROM pg_authid WHERE rolname LIKE 'it_sec_d_%' ORDER BY 1").stdout
    assert [v[:19] for v in verifiers.split()] == ["SCRAM-SHA-256$4096:"] * 2
    env = dict(line.split("=", 1) for line in (scratch / "env" / "it_sec_d.env").read_text().splitlines()
               if "=" in line)
    connect(D, "it_sec_d_app", env["DB_APP_PASSWORD"]).close()
    with pytest.raises(psycopg2.OperationalError):
        connect(D, "it_sec_d_app", env["DB_APP_PASSWORD"] + "x").close()


def test_docker_pg_hba_edited_by_hand_is_put_back_by_pg_container_check_mode_first(ansible, container):
    """pg_container owns the container's pg_hba.conf, as pg_instance owns a native instance's: a
    trust line added by hand shows in check mode's diff (nothing written), the converge rewrites
    the file in the container task and reloads, and the next converge changes nothing."""
    first, second, scratch = container
    assert first.rc == 0 and second.rc == 0, second.explain()
    path = "/var/lib/postgresql/data/pg_hba.conf"
    good = docker("exec", D["container"], "cat", path).stdout
    edited = "host all all 0.0.0.0/0 trust\n" + good
    assert subprocess.run(["docker", "exec", "-i", D["container"], "sh", "-c", "cat > %s" % path], input=edited,
                          text=True, timeout=60, check=False).returncode == 0

    def load_time() -> str:
        return docker("exec", "-u", "postgres", D["container"], "psql", "-U", "it_sec_d_owner", "-d", "postgres",
                      "-Atc", "SELECT pg_conf_load_time()").stdout.strip()
    loaded = load_time()
    variables = {"postgres_instances": [D], "postgres_runtime": "docker",
                 "postgres_docker_image": "darevel-test/postgres:{version}",
                 "postgres_credentials_dir": str(scratch / "credentials"), "postgres_env_dir": str(scratch / "env"),
                 "postgres_reports_dir": str(scratch / "reports")}
    check = ansible.run(SITE, variables, check=True, diff=True)
    assert check.rc == 0, check.explain()
    task = check.task("Run one container per instance")
    assert task["changed"] and task["instances"][0]["actions"] == ["auth_files"]
    entries = [e for e in task["diff"] if e["after_header"] == "container %s:%s" % (D["container"], path)]
    assert len(entries) == 1 and "trust" in entries[0]["before"] and "trust" not in entries[0]["after"]
    assert docker("exec", D["container"], "cat", path).stdout == edited
    run = ansible.run(SITE, variables)
    assert run.rc == 0, run.explain()
    assert [r["_task"] for r in run.results if r.get("changed")] == [task["_task"]]
    assert docker("exec", D["container"], "cat", path).stdout == good
    assert load_time() > loaded  # reloaded: the file on disk is the one in force
    again = ansible.run(SITE, variables)
    assert again.rc == 0 and again.changed == 0, [r["_task"] for r in again.results if r.get("changed")]
