# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The security audit (playbooks/audit.yml, darevel.postgres.pg_audit) on real instances.

Two native instances it_aud_a/it_aud_b on 25510-25511 are converged once by site.yml (dev); the
audit of the fresh converge passes every applicable control. Then it_aud_b is weakened by hand (a
trust line, password_encryption = md5, a world-readable data directory, ssl off) and each weakness
shows as a failed control with its evidence, while it_aud_a still passes; prod fails the play on a
high control; the next converge repairs it_aud_b. A docker instance (it-aud-d, port 25512) is
audited through the engine.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import REPO, VERSION, drop_cluster, is_online, need_docker, psql

PLAYBOOKS = REPO / "playbooks"
CATALOGUE = [
    {"name": "it_aud_a", "port": 25510, "database": "it_aud_a"},
    {"name": "it_aud_b", "port": 25511, "database": "it_aud_b"},
]
NAMES = [entry["name"] for entry in CATALOGUE]
PORTS = {entry["name"]: entry["port"] for entry in CATALOGUE}


def data_dir(name: str) -> str:
    return "/var/lib/postgresql/%d/%s" % (VERSION, name)


def conf_dir(name: str) -> str:
    return "/etc/postgresql/%d/%s" % (VERSION, name)


@pytest.fixture(scope="module")
def aud_vars(scratch):
    for sub in ("aud-credentials", "aud-env", "aud-reports"):
        (scratch / sub).mkdir(mode=0o700, exist_ok=True)
    return {"postgres_instances": CATALOGUE, "postgres_runtime": "native",
            "postgres_tuning_memory_mb": 2048, "postgres_tuning_cpus": 2,
            "postgres_credentials_dir": str(scratch / "aud-credentials"),
            "postgres_env_dir": str(scratch / "aud-env"),
            "postgres_reports_dir": str(scratch / "aud-reports")}


@pytest.fixture(scope="module")
def converged(ansible, aud_vars):
    run = ansible.run(PLAYBOOKS / "site.yml", aud_vars)
    assert run.rc == 0, run.explain()
    assert all(is_online(name) for name in NAMES)
    yield run
    for name in NAMES:
        drop_cluster(name)


def report(scratch) -> dict:
    data = json.loads((scratch / "aud-reports" / "localhost" / "audit.json").read_text())
    return {inst["name"]: {c["id"]: c for c in inst["controls"]} for inst in data["instances"]}


def not_passed(controls: dict) -> dict:
    return {i: (c["status"], c["evidence"]) for i, c in controls.items() if c["status"] == "fail"}


def test_a_fresh_converge_passes_every_applicable_control(ansible, converged, aud_vars, scratch):
    run = ansible.run(PLAYBOOKS / "audit.yml", dict(aud_vars, postgres_audit_strict=True))
    assert run.rc == 0, run.explain()
    assert run.changed == 0
    found = report(scratch)
    assert sorted(found) == NAMES
    for name, controls in found.items():
        assert len(controls) >= 25
        assert not_passed(controls) == {}, name
        # The evidence is the server's own answer.
        assert controls["DP-AUTH-01"]["evidence"] == "password_encryption = %s" % psql(
            PORTS[name], "SHOW password_encryption")
        assert data_dir(name) in controls["DP-FILE-01"]["evidence"]
    table = run.table("Show the audit")
    assert table[0].split()[-2:] == NAMES and " FAIL " not in "\n".join(table)


def weaken(name: str) -> None:
    """By hand, as an operator might: a trust line first in pg_hba.conf, md5 password encryption,
    a world-readable data directory."""
    hba = os.path.join(conf_dir(name), "pg_hba.conf")
    with open(hba) as handle:
        text = handle.read()
    with open(hba, "w") as handle:
        handle.write("host all all 127.0.0.1/32 trust\n" + text)
    psql(PORTS[name], "ALTER SYSTEM SET password_encryption = 'md5'")
    psql(PORTS[name], "SELECT pg_reload_conf()")
    os.chmod(data_dir(name), 0o755)


WEAKNESSES = {
    "DP-HBA-01": "line 1: host all all 127.0.0.1/32 trust",
    "DP-AUTH-01": "password_encryption = md5",
    "DP-FILE-01": "0755 allows more than 0700",
}


def test_each_weakness_shows_as_a_failed_control(ansible, converged, aud_vars, scratch):
    weaken("it_aud_b")
    # dev reports only: the play succeeds and names every failure.
    run = ansible.run(PLAYBOOKS / "audit.yml", aud_vars)
    assert run.rc == 0, run.explain()
    found = report(scratch)
    failed = not_passed(found["it_aud_b"])
    assert sorted(failed) == sorted(WEAKNESSES), failed
    for ident, text in WEAKNESSES.items():
        assert text in failed[ident][1], (ident, failed[ident])
    assert not_passed(found["it_aud_a"]) == {}
    table = "\n".join(run.table("Show the audit"))
    row = next(ln for ln in table.splitlines() if ln.startswith("DP-AUTH-01 "))
    assert row.split()[-2:] == ["pass", "FAIL"]
    assert "it_aud_b DP-HBA-01 (high): trust lines: line 1" in table

    # Check mode gives the same answer and writes no report.
    before = (scratch / "aud-reports" / "localhost" / "audit.json").stat().st_mtime_ns
    checked = ansible.run(PLAYBOOKS / "audit.yml", aud_vars, check=True)
    assert checked.rc == 0, checked.explain()
    assert "\n".join(checked.table("Show the audit")) == table
    assert (scratch / "aud-reports" / "localhost" / "audit.json").stat().st_mtime_ns == before

    # Asked to be strict, dev fails too, naming the failed high controls.
    strict = ansible.run(PLAYBOOKS / "audit.yml", dict(aud_vars, postgres_audit_strict=True))
    assert strict.rc != 0
    message = strict.task("Fail on a failed high control")["msg"]
    for ident in WEAKNESSES:
        assert "it_aud_b: %s" % ident in message
    assert "it_aud_a" not in message


def test_prod_fails_the_play_on_a_high_control(ansible, converged, aud_vars, scratch):
    """A dev-converged instance audited as prod: TLS is required there, so the play fails after writing
    the report, and names the instance and the control."""
    prod = {"postgres_environment": "prod",
            "postgres_owner_passwords": {name: "Q7-owner-of-%s-long" % name for name in NAMES},
            "postgres_app_passwords": {name: "Q7-app-of-%s-longer" % name for name in NAMES}}
    run = ansible.run(PLAYBOOKS / "audit.yml", dict(aud_vars, apps="it_aud_a", **prod))
    assert run.rc != 0, run.explain()
    assert [r for r in run.results if "Fail on a failed high control" in r["_task"]], run.explain()
    message = run.task("Fail on a failed high control")["msg"]
    assert "it_aud_a: DP-TLS-01" in message
    found = report(scratch)["it_aud_a"]
    assert found["DP-TLS-01"]["status"] == "fail" and found["DP-TLS-01"]["evidence"] == "ssl = off"


def test_the_next_converge_repairs_the_weakened_instance(ansible, converged, aud_vars, scratch):
    converge = ansible.run(PLAYBOOKS / "site.yml", aud_vars)
    assert converge.rc == 0, converge.explain()
    run = ansible.run(PLAYBOOKS / "audit.yml", dict(aud_vars, postgres_audit_strict=True))
    assert run.rc == 0, run.explain()
    found = report(scratch)
    assert not_passed(found["it_aud_b"]) == {} and not_passed(found["it_aud_a"]) == {}


def test_apps_audits_only_the_instances_named(ansible, converged, aud_vars, scratch):
    run = ansible.run(PLAYBOOKS / "audit.yml", dict(aud_vars, apps="it_aud_a", postgres_audit_strict=True))
    assert run.rc == 0, run.explain()
    assert sorted(report(scratch)) == ["it_aud_a"]


DOCKER = {"name": "it_aud_d", "port": 25512, "database": "it_aud_d", "container": "it-aud-d", "volume": "it-aud-d-data"}
IMAGE = "darevel-test/postgres:15"


def docker(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=120, check=False)


def test_docker_runtime_audit(ansible, scratch):
    need_docker(IMAGE)
    (scratch / "aud-docker-reports").mkdir(mode=0o700, exist_ok=True)
    variables = {"postgres_instances": [DOCKER], "postgres_runtime": "docker",
                 "postgres_docker_image": "darevel-test/postgres:{version}",
                 "postgres_credentials_dir": str(scratch / "aud-credentials"),
                 "postgres_env_dir": str(scratch / "aud-env"),
                 "postgres_reports_dir": str(scratch / "aud-docker-reports")}
    docker("rm", "-f", DOCKER["container"])
    docker("volume", "rm", DOCKER["volume"])
    try:
        site = ansible.run(PLAYBOOKS / "site.yml", variables)
        assert site.rc == 0, site.explain()
        run = ansible.run(PLAYBOOKS / "audit.yml", variables)
        assert run.rc == 0, run.explain()
        data = json.loads((scratch / "aud-docker-reports" / "localhost" / "audit.json").read_text())
        assert data["runtime"] == "docker"
        controls = {c["id"]: c for c in data["instances"][0]["controls"]}
        # The one failure is the documented docker deviation: the image's POSTGRES_USER (the owner)
        # is the bootstrap superuser.
        assert not_passed(controls) == {"DP-ROLE-06": ("fail", "it_aud_d_owner is a superuser (the image's "
                                                               "POSTGRES_USER)")}
        assert controls["DP-NET-01"]["evidence"] == "published on 127.0.0.1:%d" % DOCKER["port"]
        assert controls["DP-FILE-01"]["evidence"].startswith("/var/lib/postgresql/data: 0700 postgres:")
        assert controls["DP-FILE-07"]["status"] == "not_applicable"
        assert controls["DP-ROLE-01"]["evidence"] == "superusers: it_aud_d_owner (bootstrap: it_aud_d_owner)"
        # Weakened inside the container, by hand: a trust line and a group-readable data directory.
        # (Settings passed as -c on the container's command line win over ALTER SYSTEM there.)
        hba = "/var/lib/postgresql/data/pg_hba.conf"
        docker("exec", "-u", "postgres", DOCKER["container"], "sed", "-i", "1i host all all 127.0.0.1/32 trust", hba)
        docker("exec", "-u", "postgres", DOCKER["container"], "psql", "-U", "it_aud_d_owner", "-d", "postgres",
               "-c", "SELECT pg_reload_conf()")
        docker("exec", DOCKER["container"], "chmod", "0750", "/var/lib/postgresql/data")
        weak = ansible.run(PLAYBOOKS / "audit.yml", dict(variables, postgres_audit_strict=True))
        assert weak.rc != 0
        data = json.loads((scratch / "aud-docker-reports" / "localhost" / "audit.json").read_text())
        failed = not_passed({c["id"]: c for c in data["instances"][0]["controls"]})
        assert sorted(failed) == ["DP-FILE-01", "DP-HBA-01", "DP-ROLE-06"], failed
        assert failed["DP-HBA-01"][1] == "trust lines: line 1: host all all 127.0.0.1/32 trust"
        assert failed["DP-FILE-01"][1].startswith("/var/lib/postgresql/data: 0750")
    finally:
        docker("rm", "-f", DOCKER["container"])
        docker("volume", "rm", DOCKER["volume"])
