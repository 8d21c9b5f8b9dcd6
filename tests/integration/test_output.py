# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a user reads: the tables and --diff, through real ansible-playbook runs.

- The tables print one row per output line with the columns lined up under Ansible's stock default
  callback, as a user of the installed collection runs it (no ansible.cfg: the json result format),
  with the yaml result format, and with this repository's ansible.cfg. Scratch instance it_out_t
  (port 25590) is planned but never created: its row says absent.
- `--check --diff` on a real cluster (it_out_a, port 25591) shows each file as a unified diff:
  pg_hba.conf, the settings file, the env file with its password masked; nothing changes.
- `--check --diff` on a real container (it-out-d, port 26690) names the fields that change.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import PLAYBOOK, REPO, VENV_BIN, clusters, need_docker, psql

STATUS = "darevel.postgres.status"
T = {"name": "it_out_t", "port": 25590, "database": "it_out_t"}
A, A_PORT = "it_out_a", 25591
D = {"name": "it_out_d", "port": 26690, "database": "it_out_d", "container": "it-out-d", "volume": "it-out-d-data"}
IMAGE = "darevel-test/postgres:15"
BASELINE = [{"type": "local", "database": "all", "user": "postgres", "address": "", "method": "peer map=darevel_superuser"},
            {"type": "local", "database": "all", "user": "all", "address": "", "method": "peer"},
            {"type": "host", "database": "all", "user": "all", "address": "127.0.0.1/32", "method": "scram-sha-256"}]


def new_password() -> str:
    return "Out" + secrets.token_hex(12)


# --------------------------------------------------------------------------- tables


def user_run(scratch: Path, config: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    """ansible-playbook darevel.postgres.status as a user of the installed collection runs it: from
    a directory of their own, the collection found through ANSIBLE_COLLECTIONS_PATH, the stock
    default callback (ANSIBLE_STDOUT_CALLBACK unset) and `config` as ANSIBLE_CONFIG."""
    project = scratch / "user-project"
    project.mkdir(exist_ok=True)
    (project / "inventory.yml").write_text(yaml.safe_dump({"postgres": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": str(VENV_BIN / "python3")}}}}))
    (project / "vars.yml").write_text(yaml.safe_dump({
        "postgres_instances": [T], "postgres_runtime": "native",
        "postgres_env_dir": str(scratch / "env"), "postgres_reports_dir": str(scratch / "reports"),
        "postgres_credentials_dir": str(scratch / "credentials")}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update({"ANSIBLE_CONFIG": config, "ANSIBLE_COLLECTIONS_PATH": str(REPO),
                "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCAL_TEMP": str(scratch / "ansible-tmp"),
                "PATH": "%s:%s" % (VENV_BIN, os.environ.get("PATH", ""))}, **(extra_env or {}))
    proc = subprocess.run([str(PLAYBOOK), "-i", "inventory.yml", "-e", "@vars.yml", STATUS], cwd=project, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc


def table_lines(stdout: str, task: str, header: str, nth: int = 0) -> list[str]:
    """The lines of the `nth` table (counted from 0) printed under the task's banner, whose header
    holds `header`, with the prefix every row shares (the callback's indentation and quoting) taken off."""
    block = stdout.split("TASK [darevel.postgres.status : %s" % task, 1)[1].split("TASK [", 1)[0]
    lines = block.splitlines()
    start = [i for i, line in enumerate(lines) if header in line][nth]
    prefix = lines[start][:lines[start].index(header)]
    table = []
    for line in lines[start:]:
        if not line.startswith(prefix) or not line[len(prefix):].strip():
            break
        table.append(line[len(prefix):])
    return table


@pytest.mark.parametrize("how", ["no ansible.cfg", "no ansible.cfg, yaml result format", "this repository's ansible.cfg"])
def test_the_tables_print_one_row_per_line_under_the_default_callback(scratch, how):
    config = str(REPO / "ansible.cfg") if "repository" in how else str(scratch / "no-such-ansible.cfg")
    extra = {"ANSIBLE_CALLBACK_RESULT_FORMAT": "yaml"} if "yaml" in how else {}
    proc = user_run(scratch, config, extra)
    out = proc.stdout
    assert "\\n" not in out, out
    # One task prints both: the status table, a blank line, who connects where.
    status = table_lines(out, "Show the instances and how to connect", "name")
    connect = table_lines(out, "Show the instances and how to connect", "name", nth=1)
    for table, columns in ((status, ["name", "port", "state"]), (connect, ["name", "port", "database", "user"])):
        header, rule, row = (line.rstrip('",') for line in table[:3])
        assert re.split(r"\s{2,}", header)[:len(columns)] == columns, table
        assert set(rule.replace(" ", "")) == {"-"} and len(rule) >= len(header.rstrip()), table
        assert row.split()[:2] == [T["name"], str(T["port"])], table
        # aligned: each of these columns' cell starts where its header does
        for word in columns:
            at = header.index(word)
            assert row[at] != " " and (at == 0 or row[at - 2:at] == "  "), (header, row)
    assert status[2].split()[2] == "absent"
    assert connect[2].rstrip('",').endswith("psql -h 127.0.0.1 -p %d -U %s_owner -d %s" % (
        T["port"], T["database"], T["database"]))


# --------------------------------------------------------------------------- diffs on a cluster


def instance_task(settings: dict, hba: list) -> dict:
    return {"name": "Converge the instance", "darevel.postgres.pg_instance": {
        "name": A, "port": A_PORT, "settings": settings, "hba": hba}}


def database_task(scratch: Path) -> dict:
    return {"name": "Converge the database", "no_log": False, "darevel.postgres.pg_database": {
        "name": A, "port": A_PORT, "database": A, "owner": A + "_owner",
        "owner_password": "{{ it_out_password }}", "env_file": str(scratch / "env" / ("%s.env" % A))}}


@pytest.fixture(scope="module")
def cluster(ansible, scratch):
    password = new_password()
    play = ansible.write_playbook([instance_task({"work_mem": "4MB"}, BASELINE), database_task(scratch)],
                                  name="output-diff")
    run = ansible.run(play, {"it_out_password": password})
    assert run.rc == 0, run.explain()
    yield {"password": password, "play": play}
    subprocess.run(["pg_dropcluster", "--stop", "15", A], capture_output=True, check=False)


def test_check_diff_shows_each_file_as_a_unified_diff_and_no_secret(ansible, scratch, cluster):
    config_dir = "/etc/postgresql/15/%s" % A
    hba_path, settings_path = config_dir + "/pg_hba.conf", config_dir + "/conf.d/50-darevel-settings.conf"
    env_path = scratch / "env" / ("%s.env" % A)
    files = {p: Path(p).read_text() for p in (hba_path, settings_path, str(env_path))}
    wider = BASELINE + [{"type": "host", "database": A, "user": A + "_owner", "address": "10.8.0.0/24",
                         "method": "scram-sha-256"}]
    password = new_password()
    play = ansible.write_playbook([instance_task({"work_mem": "8MB"}, wider), database_task(scratch)],
                                  name="output-diff")
    run = ansible.run(play, {"it_out_password": password}, check=True, diff=True, callback="default")
    assert run.rc == 0, run.explain()
    out = run.stdout
    # one unified diff per file, each under its own path
    for path in (hba_path, settings_path, str(env_path)):
        assert "--- before: %s\n+++ after: %s\n" % (path, path) in out, out
    assert re.search(r"^\+host\s+%s\s+%s_owner\s+10\.8\.0\.0/24\s+scram-sha-256$" % (A, A), out, re.M), out
    assert re.search(r"^-work_mem = '4MB'$", out, re.M) and re.search(r"^\+work_mem = '8MB'$", out, re.M), out
    assert re.search(r"^-POSTGRES_PASSWORD=\*{8}$", out, re.M), out
    assert re.search(r"^\+POSTGRES_PASSWORD=\*{8} \(changed\)$", out, re.M), out
    assert "\\n" not in out, "an escaped file in the output:\n" + out
    for secret in (password, cluster["password"]):
        assert secret not in out + run.stderr
    # check mode: nothing written
    assert {p: Path(p).read_text() for p in files} == files
    assert clusters()[A]["port"] == A_PORT and psql(A_PORT, "SHOW work_mem") == "4MB"


# --------------------------------------------------------------------------- diffs on a container


def docker(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=120, check=False)


def docker_vars(scratch: Path, **instance) -> dict:
    return {"postgres_instances": [dict(D, **instance)], "postgres_runtime": "docker",
            "postgres_docker_image": "darevel-test/postgres:{version}",
            "postgres_credentials_dir": str(scratch / "credentials"), "postgres_env_dir": str(scratch / "env"),
            "postgres_reports_dir": str(scratch / "reports")}


@pytest.fixture(scope="module")
def container(ansible, scratch):
    need_docker(IMAGE)
    docker("rm", "-f", D["container"])
    docker("volume", "rm", D["volume"])
    run = ansible.run(REPO / "playbooks" / "site.yml", docker_vars(scratch, settings={"work_mem": "4MB"}))
    assert run.rc == 0, run.explain()
    yield run
    docker("rm", "-f", D["container"])
    docker("volume", "rm", D["volume"])


def changed_lines(out: str, header: str) -> list[str]:
    """The -/+ lines of the unified diff under `header`."""
    block = out.split("--- before: %s\n+++ after: %s\n" % (header, header), 1)[1]
    lines = []
    for line in block.splitlines():
        if line.startswith("@@") or line.startswith(" "):
            continue
        if not line.startswith(("-", "+")) or line.startswith(("--- ", "+++ ")):
            break
        lines.append(line)
    return lines


def test_check_diff_names_the_container_fields_that_change(ansible, scratch, container):
    before_id = docker("inspect", "--format", "{{.Id}}", D["container"]).stdout.strip()
    same = ansible.run(REPO / "playbooks" / "site.yml", docker_vars(scratch, settings={"work_mem": "4MB"}),
                       check=True, diff=True, callback="default")
    assert same.rc == 0, same.explain()
    assert "container %s" % D["container"] not in same.stdout, same.stdout
    changed = ansible.run(REPO / "playbooks" / "site.yml",
                          docker_vars(scratch, settings={"work_mem": "2MB"}, resources={"cpus": "0.75"}),
                          check=True, diff=True, callback="default")
    assert changed.rc == 0, changed.explain()
    out = changed.stdout
    assert "config-hash" not in out and "\\n" not in out, out
    # The old and the new description differ in the fields that changed: the setting, the CPU
    # limit, and the settings tuning derives from the CPUs; nothing else (image, ports, env...).
    lines = changed_lines(out, "container %s" % D["container"])
    for line in ("-setting work_mem: 4MB", "+setting work_mem: 2MB", "-cpus: 0.5", "+cpus: 0.75"):
        assert line in lines, out
    fields = {line[1:].split(": ", 1)[0] for line in lines}
    assert all(name == "cpus" or name.startswith("setting ") for name in fields), lines
    env_lines = docker("inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", D["container"]).stdout
    given = [e.split("=", 1)[1] for e in env_lines.splitlines() if e.startswith("POSTGRES_PASSWORD=")][0]
    env_file = (scratch / "env" / ("%s.env" % D["name"])).read_text()
    owner_password = [line.split("=", 1)[1] for line in env_file.splitlines() if line.startswith("POSTGRES_PASSWORD=")][0]
    for secret in (given, owner_password):
        assert secret not in out + changed.stderr
    assert docker("inspect", "--format", "{{.Id}}", D["container"]).stdout.strip() == before_id
