# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CIS baseline of a fresh prod instance, on both native layouts, and the audit against it.

it_cis_a (Debian layout, port 25596) and it_cis_g (generic layout, port 25597) are converged by
site.yml on a prod-style inventory; each passes every applicable control of the audit, with the
prod baseline loaded for real (passwordcheck refuses a password holding the role's name,
auth_delay answers a failed login late, PUBLIC holds nothing on schema public in any database), and
a Java backend (PgJDBC) connects with its env file's values over TLS verified against the host's
CA, while a plain connection is rejected even on loopback. Then it_cis_a is weakened one control at a time (an
ALTER SYSTEM, a pg_hba line, a file mode): the audit fails exactly that control, and the next
converge repairs it. An instance that is down is reported as not audited, and the audit fails.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time

import psycopg2
import pytest

from conftest import REPO, VERSION, drop_cluster, need_docker, postmaster_pid, psql

SITE = REPO / "playbooks" / "site.yml"
AUDIT = REPO / "playbooks" / "audit.yml"
A = {"name": "it_cis_a", "port": 25596, "database": "it_cis_a"}
G = {"name": "it_cis_g", "port": 25597, "database": "it_cis_g"}
JDBC = "/usr/share/java/postgresql.jar"
GENERIC_DATA = "/var/lib/postgresql/%d/%s" % (VERSION, G["name"])
GENERIC_ENTRY = "/etc/darevel/postgres/instances/%d-%s.conf" % (VERSION, G["name"])


def pw() -> str:
    return "C1s-%s" % secrets.token_urlsafe(18)


D = {"name": "it_cis_d", "port": 25595, "database": "it_cis_d", "container": "it-cis-d", "volume": "it-cis-d-data"}
IMAGE = "darevel-test/postgres:15"
PASSWORDS = {"owner": {"it_cis_a": pw(), "it_cis_g": pw(), "it_cis_d": pw()},
             "app": {"it_cis_a": pw(), "it_cis_g": pw(), "it_cis_d": pw()}}


def variables(scratch, item: dict, layout: str) -> dict:
    for sub in ("cis-credentials", "cis-env", "cis-reports-%s" % item["name"]):
        (scratch / sub).mkdir(mode=0o700, exist_ok=True)
    return {
        "postgres_instances": [item], "postgres_environment": "prod", "postgres_runtime": "native",
        "postgres_layout": layout,
        "postgres_owner_passwords": PASSWORDS["owner"], "postgres_app_passwords": PASSWORDS["app"],
        "postgres_credentials_dir": str(scratch / "cis-credentials"), "postgres_env_dir": str(scratch / "cis-env"),
        "postgres_reports_dir": str(scratch / ("cis-reports-%s" % item["name"])),
        "postgres_firewall_file": str(scratch / ("firewall-%s.nft" % item["name"])),
        "postgres_tuning_memory_mb": 2048, "postgres_tuning_cpus": 2,
    }


def clean_generic() -> None:
    if postmaster_pid(GENERIC_DATA):
        subprocess.run(["runuser", "-u", "postgres", "--", "/usr/lib/postgresql/%d/bin/pg_ctl" % VERSION, "-D",
                        GENERIC_DATA, "-m", "immediate", "-w", "stop"], capture_output=True, check=False)
    for path in (GENERIC_ENTRY, "/var/log/postgresql/darevel-%d-%s.log" % (VERSION, G["name"])):
        if os.path.exists(path):
            os.unlink(path)
    shutil.rmtree(GENERIC_DATA, ignore_errors=True)
    shutil.rmtree("/etc/darevel/postgres/tls/%s" % G["name"], ignore_errors=True)


@pytest.fixture(scope="module")
def cis(ansible, scratch):
    clean_generic()
    runs = {}
    try:
        for item, layout in ((A, "debian"), (G, "generic")):
            run = ansible.run(SITE, variables(scratch, item, layout))
            assert run.rc == 0, run.explain()
            runs[item["name"]] = run
        yield runs
    finally:
        drop_cluster(A["name"])
        shutil.rmtree("/etc/darevel/postgres/tls/%s" % A["name"], ignore_errors=True)
        clean_generic()


def audit(ansible, scratch, item: dict, layout: str = "debian") -> tuple:
    """playbooks/audit.yml; (the run, {control id: status}, {control id: evidence})."""
    run = ansible.run(AUDIT, variables(scratch, item, layout))
    report = json.loads((scratch / ("cis-reports-%s" % item["name"]) / "localhost" / "audit.json").read_text())
    controls = report["instances"][0]["controls"]
    return run, {c["id"]: c["status"] for c in controls}, {c["id"]: c["evidence"] for c in controls}


def failed(status: dict) -> list[str]:
    return sorted(cid for cid, value in status.items() if value == "fail")


@pytest.mark.parametrize("item, layout", [(A, "debian"), (G, "generic")], ids=["debian", "generic"])
def test_a_fresh_prod_instance_passes_every_applicable_control(ansible, scratch, cis, item, layout):
    run, status, evidence = audit(ansible, scratch, item, layout)
    assert run.rc == 0, run.explain()
    assert failed(status) == [], {cid: evidence[cid] for cid in failed(status)}
    for cid in ("DP-LOG-08", "DP-TLS-03", "DP-AUTH-03", "DP-AUTH-04", "DP-TLS-01", "DP-TLS-02"):
        assert status[cid] == "pass", (cid, evidence[cid])
    port = item["port"]
    assert psql(port, "SHOW log_error_verbosity") == "verbose"
    assert psql(port, "SHOW shared_preload_libraries") == "passwordcheck,auth_delay"
    assert psql(port, "SHOW auth_delay.milliseconds") == "500ms"
    assert psql(port, "SHOW unix_socket_permissions") == "0770"
    assert psql(port, "SHOW log_replication_commands") == "on"
    # CIS 3.1.3-3.1.7: the collector writes this instance's own files, 0600, outside the data directory.
    assert psql(port, "SHOW logging_collector") == "on"
    current = psql(port, "SELECT pg_current_logfile()")
    assert os.path.dirname(current) == "/var/log/postgresql/%d-%s" % (VERSION, item["name"]), current
    assert os.stat(current).st_mode & 0o777 == 0o600 and os.stat(os.path.dirname(current)).st_mode & 0o777 == 0o700
    assert "connection authorized" in open(current).read()
    limits = psql(port, "SELECT rolname || '=' || rolconnlimit FROM pg_roles WHERE rolname LIKE 'it_cis_%' "
                        "ORDER BY 1").split()
    wanted = int(psql(port, "SHOW max_connections")) - int(psql(port, "SHOW superuser_reserved_connections")) - 2
    assert limits == ["%s_app=%d" % (item["database"], wanted), "%s_owner=%d" % (item["database"], wanted)]
    for database in ("postgres", "template1", item["database"]):
        assert psql(port, "SELECT has_schema_privilege('public', 'public', 'USAGE') OR "
                          "has_schema_privilege('public', 'public', 'CREATE')", dbname=database) == "f", database
    assert psql(port, "SELECT has_schema_privilege('%s_owner', 'public', 'CREATE')" % item["database"],
                dbname=item["database"]) == "t"


def test_make_logs_reads_the_collectors_current_file(ansible, scratch, cis):
    run = ansible.run(REPO / "playbooks" / "logs.yml", dict(variables(scratch, A, "debian"), app=A["name"], lines=5))
    assert run.rc == 0, run.explain()
    current = psql(A["port"], "SELECT pg_current_logfile()")
    assert "last 5 lines of %s" % current in run.stdout, run.stdout[-2000:]


def test_passwordcheck_and_auth_delay_act_for_real(cis):
    with pytest.raises(AssertionError) as caught:
        psql(A["port"], "ALTER ROLE it_cis_a_app PASSWORD 'it_cis_a_app-2026'")
    assert "password must not contain user name" in str(caught.value)
    started = time.monotonic()
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(host="127.0.0.1", port=A["port"], user="it_cis_a_app", password="wrong-password",
                         dbname=A["database"], sslmode="require", connect_timeout=10).close()
    assert time.monotonic() - started >= 0.45, "a failed login is answered after auth_delay.milliseconds"


def test_a_java_backend_connects_with_the_env_files_values_over_verified_tls(cis, scratch):
    """PgJDBC (Debian's libpostgresql-jdbc-java), as the Java services and Keycloak use it, given only
    what the instance's env file says: PGSSLMODE verify-full against the host's CA."""
    sys.path.insert(0, str(REPO))
    from ansible_collections.darevel.postgres.plugins.module_utils import _envfile
    values = _envfile.parse((scratch / "cis-env" / "it_cis_a.env").read_text())
    assert values["PGSSLMODE"] == "verify-full" and values["PGSSLROOTCERT"] == "/etc/darevel/postgres/tls/ca.crt"
    java = shutil.which("java")
    assert java and os.path.exists(JDBC), "the Makefile's TEST_OS_PACKAGES install default-jdk-headless and " \
                                          "libpostgresql-jdbc-java"
    done = subprocess.run([java, "-cp", JDBC, str(REPO / "tests" / "integration" / "jdbc" / "EnvConnect.java")],
                          env=dict(os.environ, **values), capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["ssl=t", "version=%s" % done.stdout.split()[1].split("=")[1], "user=it_cis_a_app"]
    assert done.stdout.split()[1] in ("version=TLSv1.2", "version=TLSv1.3")
    plain = dict(values, PGSSLMODE="disable")
    refused = subprocess.run([java, "-cp", JDBC, str(REPO / "tests" / "integration" / "jdbc" / "EnvConnect.java")],
                             env=dict(os.environ, **plain), capture_output=True, text=True, timeout=180, check=False)
    assert refused.returncode != 0 and "no encryption" in refused.stderr, "loopback without TLS is rejected"


def hba_path() -> str:
    return "/etc/postgresql/%d/%s/pg_hba.conf" % (VERSION, A["name"])


def weaken_sql(statement: str):
    def apply():
        psql(A["port"], statement)
        psql(A["port"], "SELECT pg_reload_conf()")
        time.sleep(0.5)
    return apply


def weaken_at_restart(statement: str):
    """A setting the server reads only at start: ALTER SYSTEM, then a restart, so it is in force."""
    def apply():
        psql(A["port"], statement)
        subprocess.run(["pg_ctlcluster", str(VERSION), A["name"], "restart"], check=True)
    return apply


def weaken_hba():
    with open(hba_path(), "a") as handle:
        handle.write("host it_cis_a it_cis_a_app 10.77.0.0/16 scram-sha-256\n")
    psql(A["port"], "SELECT pg_reload_conf()")
    time.sleep(0.5)


def weaken_loopback():
    with open(hba_path()) as handle:
        text = handle.read()
    with open(hba_path(), "w") as handle:
        handle.write(text.replace("hostssl  all             all                             127.0.0.1/32",
                                  "host     all             all                             127.0.0.1/32"))
    assert "\nhost     all" in open(hba_path()).read(), "the loopback line was found and made plain"
    psql(A["port"], "SELECT pg_reload_conf()")
    time.sleep(0.5)


def weaken_public_schema():
    psql(A["port"], "GRANT USAGE ON SCHEMA public TO PUBLIC", dbname=A["database"])


def weaken_mode():
    os.chmod("/var/lib/postgresql/%d/%s" % (VERSION, A["name"]), 0o750)


# One weakness at a time: the control that must fail alone.
WEAKENINGS = [
    ("DP-LOG-08", weaken_sql("ALTER SYSTEM SET log_error_verbosity = 'default'")),
    ("DP-TLS-03", weaken_sql("ALTER SYSTEM SET ssl_ciphers = 'HIGH:MEDIUM:+3DES:!aNULL'")),
    ("DP-AUTH-04", weaken_sql("ALTER SYSTEM SET auth_delay.milliseconds = 0")),
    ("DP-HBA-05", weaken_hba),
    ("DP-HBA-06", weaken_loopback),
    ("DP-PRIV-03", weaken_public_schema),
    ("DP-ROLE-07", weaken_sql("ALTER ROLE it_cis_a_app CONNECTION LIMIT -1")),
    ("DP-FILE-01", weaken_mode),
    ("DP-LOG-14", weaken_sql("ALTER SYSTEM SET log_replication_commands = off")),
    # Read at start only: the converge resets them and restarts this instance.
    ("DP-LOG-01", weaken_at_restart("ALTER SYSTEM SET logging_collector = off")),
    ("DP-NET-02", weaken_at_restart("ALTER SYSTEM SET unix_socket_permissions = '0777'")),
    ("DP-AUTH-03", weaken_at_restart("ALTER SYSTEM SET shared_preload_libraries = 'auth_delay'")),
]
# What the server runs with once the converge has repaired a control read at start.
AT_RESTART = {"DP-LOG-01": ("logging_collector", "on"), "DP-NET-02": ("unix_socket_permissions", "0770"),
              "DP-AUTH-03": ("shared_preload_libraries", "passwordcheck,auth_delay")}


@pytest.mark.parametrize("control, weaken", WEAKENINGS, ids=[w[0] for w in WEAKENINGS])
def test_each_weakening_fails_exactly_its_control_and_the_next_converge_repairs_it(
        ansible, scratch, cis, control, weaken):
    weaken()
    _run, status, evidence = audit(ansible, scratch, A)
    assert failed(status) == [control], {cid: evidence[cid] for cid in failed(status)}
    started = postmaster_pid("/var/lib/postgresql/%d/%s" % (VERSION, A["name"]))
    repaired = ansible.run(SITE, variables(scratch, A, "debian"))
    assert repaired.rc == 0, repaired.explain()
    restarted = postmaster_pid("/var/lib/postgresql/%d/%s" % (VERSION, A["name"])) != started
    if control in AT_RESTART:
        name, value = AT_RESTART[control]
        assert restarted and psql(A["port"], "SHOW %s" % name) == value, "the converge restarted the instance"
    else:
        assert not restarted, "a setting applied by a reload does not restart the instance"
    run, status, evidence = audit(ansible, scratch, A)
    assert failed(status) == [], {cid: evidence[cid] for cid in failed(status)}
    assert run.rc == 0


def test_a_down_instance_is_not_audited_and_the_audit_fails(ansible, scratch, cis):
    subprocess.run(["pg_ctlcluster", str(VERSION), A["name"], "stop"], check=True)
    try:
        run, status, evidence = audit(ansible, scratch, A)
        assert run.rc != 0, "an instance that was not audited fails the audit"
        assert set(status.values()) == {"not_audited"}
        assert all(text.startswith("not audited: ") for text in evidence.values())
        assert "0 pass" not in run.stdout and "fail: start" not in run.stdout
        report = json.loads((scratch / "cis-reports-it_cis_a" / "localhost" / "audit.json").read_text())
        control = report["instances"][0]["controls"][0]
        assert control["fix"].count("fix:") == 0 and control["evidence"].count("fix:") == 0, control
    finally:
        subprocess.run(["pg_ctlcluster", str(VERSION), A["name"], "start"], check=True)


def in_container(sql: str, database: str = "postgres") -> str:
    done = subprocess.run(["docker", "exec", "-u", "postgres", D["container"], "psql", "-U", "it_cis_d_owner", "-d",
                           database, "-AtXc", sql], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


def test_prod_on_docker_gets_what_applies_in_a_container_and_is_told_the_rest(ansible, scratch):
    """The docker runtime is for developer machines; a prod inventory on it is warned, and its container
    gets the part of the baseline that applies there (as -c arguments and SQL), while the audit still
    fails what the warning names (no TLS, the owner is the image's superuser)."""
    need_docker(IMAGE)
    subprocess.run(["docker", "rm", "-f", D["container"]], capture_output=True, check=False)
    subprocess.run(["docker", "volume", "rm", D["volume"]], capture_output=True, check=False)
    values = dict(variables(scratch, D, "debian"), postgres_runtime="docker",
                  postgres_docker_image="darevel-test/postgres:{version}")
    try:
        site = ansible.run(SITE, values)
        assert site.rc == 0, site.explain()
        assert "postgres_environment is prod on the docker runtime" in site.stderr + site.stdout
        assert in_container("SHOW log_error_verbosity") == "verbose"
        assert in_container("SHOW shared_preload_libraries") == "passwordcheck,auth_delay"
        assert in_container("SHOW log_replication_commands") == "on"
        assert in_container("SELECT rolconnlimit FROM pg_roles WHERE rolname = 'it_cis_d_app'") != "-1"
        for database in ("postgres", "template1", D["database"]):
            assert in_container("SELECT has_schema_privilege('public', 'public', 'USAGE')", database) == "f", database
        run = ansible.run(AUDIT, values)
        report = json.loads((scratch / ("cis-reports-%s" % D["name"]) / "localhost" / "audit.json").read_text())
        status = {c["id"]: c["status"] for c in report["instances"][0]["controls"]}
        # What the warning names: no TLS in a container (TLS-01, and HBA-05 for its plain TCP lines),
        # the owner is the image's superuser (ROLE-06). Everything that applies in a container passes.
        assert failed(status) == ["DP-HBA-05", "DP-ROLE-06", "DP-TLS-01"], report
        assert run.rc != 0, "a failed high control fails the prod audit"
        for cid in ("DP-LOG-08", "DP-LOG-14", "DP-AUTH-03", "DP-AUTH-04", "DP-PRIV-03", "DP-ROLE-07"):
            assert status[cid] == "pass", (cid, status[cid])
    finally:
        subprocess.run(["docker", "rm", "-f", D["container"]], capture_output=True, check=False)
        subprocess.run(["docker", "volume", "rm", D["volume"]], capture_output=True, check=False)
