# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/dev_files.yml for real on localhost, then its compose files and scripts on a real engine.

A scratch catalogue of six instances (it_dev_infra..it_dev_sheet, ports 26433-26438, containers
it-dev-*, volumes it-dev-*-data) at the seed's compose paths. The rendered files are checked as
files (paths, modes, line endings, keys), then two apps are brought up with docker-compose exactly
as a developer would (one by hand, one through its start script), inspected against the plan's
container description and logged into over TCP; stop-all.sh stops them, start-all.sh brings up all
six with the two apps' data. Every it-dev-* container, volume and network is removed before and after.

The Windows playbook cannot run here: it is syntax-checked, its first play (the catalogue check
delegated to the control node) runs against an inventory host that is never contacted, and the whole
playbook runs against stand-ins for the ansible.windows/community.windows modules that record their
arguments (paths, argv, ports, tasks) and answer like a Windows host: that checks what the playbook
asks of Windows, not what Windows does with it.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time

import psycopg2
import pytest
import yaml

from conftest import REPO, listening_ports, need_docker

sys.path.insert(0, str(REPO))  # the checkout is ansible_collections/darevel/postgres (see ansible.cfg)
from ansible_collections.darevel.postgres.plugins.module_utils import _container  # noqa: E402

DEV_FILES = REPO / "playbooks" / "dev_files.yml"
DEV_WINDOWS = REPO / "playbooks" / "dev_windows.yml"
BUILD_IMAGE = REPO / "tests" / "images" / "build-postgres.sh"
IMAGE = "darevel-test/postgres:15"
SEED_PATHS = {
    "infra": "infrastructure/docker-compose.yml",
    "chat": "apps/chat/backend-java/postgres-compose.yml",
    "slides": "apps/slides/backend/postgres-compose.yml",
    "suite": "apps/suite/backend/postgres-compose.yml",
    "mail": "apps/mail/backend/postgres-compose.yml",
    "sheet": "apps/sheet/backend/postgres-compose.yml",
}
CATALOGUE = [
    {"name": "it_dev_%s" % app, "port": 26433 + n, "database": "it_dev_%s" % app, "container": "it-dev-%s" % app,
     "volume": "it-dev-%s-data" % app, "compose_file": path}
    for n, (app, path) in enumerate(SEED_PATHS.items())
]
BY_NAME = {entry["name"]: entry for entry in CATALOGUE}
ENV_KEYS = ["DB_HOST", "DB_PORT", "DB_NAME", "POSTGRES_USER", "POSTGRES_PASSWORD"]


# --------------------------------------------------------------------------- docker helpers


def docker(*argv, check=True, timeout=120) -> subprocess.CompletedProcess:
    proc = subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=timeout, check=False)
    assert not check or proc.returncode == 0, "docker %s: %s" % (" ".join(argv), proc.stderr)
    return proc


def inspect(name: str) -> dict:
    return json.loads(docker("inspect", name).stdout)[0]


def remove_it_dev() -> None:
    """Every it-dev-* container, volume and compose network (darevel-it_dev_*)."""
    names = docker("ps", "-aq", "--filter", "name=^it-dev-", check=False).stdout.split()
    if names:
        docker("rm", "-f", "-v", *names, check=False)
    for entry in CATALOGUE:
        docker("volume", "rm", "-f", entry["volume"], check=False)
        docker("network", "rm", "darevel-%s_default" % entry["name"], check=False)


def wait_healthy(name: str, timeout: int = 120) -> str:
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        status = docker("inspect", "--format", "{{.State.Health.Status}}", name, check=False).stdout.strip()
        if status == "healthy":
            return status
        time.sleep(1)
    return status


def read_env(path) -> dict:
    values = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, _sep, value = line.partition("=")
            values[key] = value
    return values


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def engine():
    need_docker(compose=True)
    if BUILD_IMAGE.exists():
        build = subprocess.run([str(BUILD_IMAGE), "15"], capture_output=True, text=True, timeout=1800, check=False)
        assert build.returncode == 0, build.stderr[-3000:]
    need_docker(IMAGE)
    remove_it_dev()
    yield
    remove_it_dev()


@pytest.fixture(scope="module")
def dev(ansible, scratch):
    busy = {e["port"] for e in CATALOGUE} & listening_ports()
    assert not busy, "ports %s are held by something else; free them first" % sorted(busy)
    root = scratch / "dev-files"
    credentials = scratch / "dev-credentials"
    credentials.mkdir(mode=0o700, exist_ok=True)
    extra = {"postgres_instances": CATALOGUE, "postgres_credentials_dir": str(credentials),
             "postgres_dev_dir": str(root), "postgres_docker_image": "darevel-test/postgres:{version}"}
    runs = {"check_fresh": ansible.run(DEV_FILES, extra, check=True, diff=True)}
    fresh = {"dev_dir": root.exists(), "credentials": sorted(p.name for p in credentials.rglob("*") if p.is_file())}
    runs["first"] = ansible.run(DEV_FILES, extra)
    runs["second"] = ansible.run(DEV_FILES, extra, diff=True)
    runs["check"] = ansible.run(DEV_FILES, extra, check=True, diff=True)
    passwords = {n: (credentials / "localhost" / ("%s.owner.password" % n)).read_text().strip() for n in BY_NAME}
    plan_file = scratch / "dev-plan.json"
    plan_play = ansible.write_playbook([
        {"name": "Plan", "ansible.builtin.include_role": {"name": "darevel.postgres.preflight"}},
        {"name": "Keep the plan",
         "ansible.builtin.copy": {"content": "{{ postgres_plan | to_json }}", "dest": str(plan_file), "mode": "0600"}},
    ], name="dev-plan")
    planned = ansible.run(plan_play, extra)
    assert planned.rc == 0, planned.explain()
    plan = {i["name"]: i for i in json.loads(plan_file.read_text())}
    return {"root": root, "runs": runs, "passwords": passwords, "plan": plan, "extra": extra, "fresh": fresh}


# --------------------------------------------------------------------------- the files


def test_runs_succeed_and_rerun_changes_nothing(dev):
    for name, run in dev["runs"].items():
        assert run.rc == 0 and run.failures == 0, "%s run:\n%s" % (name, run.explain())
    assert dev["runs"]["check_fresh"].changed > 0
    assert dev["fresh"] == {"dev_dir": False, "credentials": []}  # check mode wrote nothing, not even passwords
    assert dev["runs"]["first"].changed > 0
    assert dev["runs"]["second"].changed == 0, dev["runs"]["second"].explain()
    assert dev["runs"]["check"].changed == 0, dev["runs"]["check"].explain()


def test_passwords_never_in_output(dev):
    for name, run in dev["runs"].items():
        for instance, password in dev["passwords"].items():
            assert password not in run.stdout + run.stderr, "%s run shows the password of %s" % (name, instance)


def test_files_at_the_seed_paths(dev):
    root = dev["root"]
    expected = {"start-all.bat", "stop-all.bat", "start-all.sh", "stop-all.sh"}
    for name, entry in BY_NAME.items():
        base = os.path.dirname(entry["compose_file"])
        expected |= {entry["compose_file"], "%s/.env" % base, "%s/host.env" % base,
                     "start-%s.bat" % name, "start-%s.sh" % name}
    found = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
    assert found == expected


def test_line_endings_and_modes(dev):
    root = dev["root"]
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.suffix == ".bat":
            assert data.count(b"\n") == data.count(b"\r\n") > 0, "%s: not CRLF-only" % path
            assert b"\r\r" not in data
        else:
            assert b"\r" not in data, "%s: has CR" % path
        if path.suffix == ".sh":
            assert mode == 0o755 and data.startswith(b"#!/bin/sh\n"), path
            assert subprocess.run(["sh", "-n", str(path)], check=False).returncode == 0, "%s: sh syntax" % path
        if path.name in (".env", "host.env"):
            assert mode == 0o600, path


def test_env_files(dev):
    root = dev["root"]
    for name, entry in BY_NAME.items():
        base = root / os.path.dirname(entry["compose_file"])
        for file_name, host in ((".env", "host.docker.internal"), ("host.env", "localhost")):
            values = read_env(base / file_name)
            assert list(values) == ENV_KEYS
            assert values == {"DB_HOST": host, "DB_PORT": str(entry["port"]), "DB_NAME": entry["database"],
                              "POSTGRES_USER": "%s_owner" % entry["database"],
                              "POSTGRES_PASSWORD": dev["passwords"][name]}


def test_scripts_call_compose_with_file_and_env_file(dev):
    root = dev["root"]
    for name, entry in BY_NAME.items():
        win = entry["compose_file"].replace("/", "\\")
        win_env = os.path.dirname(win.replace("\\", "/")).replace("/", "\\") + "\\.env"
        bat = (root / ("start-%s.bat" % name)).read_text()
        assert 'call :up darevel-%s "%%~dp0%s" "%%~dp0%s"' % (name, win, win_env) in bat
        assert "call :wait %s" % entry["container"] in bat
        assert 'docker compose -p %1 -f "%~2" --env-file "%~3" up -d' in bat
        assert 'docker inspect --format "{{.State.Health.Status}}"' in bat
        sh = (root / ("start-%s.sh" % name)).read_text()
        assert "up darevel-%s %s %s/.env" % (name, entry["compose_file"], os.path.dirname(entry["compose_file"])) in sh
        assert "docker-compose" in sh and "docker inspect --format '{{.State.Health.Status}}'" in sh
    for script, stop in (("stop-all.bat", '--env-file "%~3" stop\r\n'), ("stop-all.sh", '--env-file "$root/$3" stop\n')):
        text = (root / script).read_bytes().decode()
        assert stop in text and "down" not in text and "volume rm" not in text
        assert all(("darevel-%s " % name) in text for name in BY_NAME)
    assert all(("call :wait %s" % e["container"]) in (root / "start-all.bat").read_text() for e in CATALOGUE)


def test_compose_files_are_valid(dev, engine):
    root = dev["root"]
    for entry in CATALOGUE:
        base = root / os.path.dirname(entry["compose_file"])
        proc = subprocess.run(["docker-compose", "-f", str(root / entry["compose_file"]), "--env-file",
                               str(base / ".env"), "config", "-q"], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, "%s: %s" % (entry["compose_file"], proc.stderr)


# --------------------------------------------------------------------------- the containers


@pytest.fixture(scope="module")
def started(dev, engine):
    root = dev["root"]
    slides = BY_NAME["it_dev_slides"]
    base = root / os.path.dirname(slides["compose_file"])
    by_hand = subprocess.run(["docker-compose", "-p", "darevel-it_dev_slides", "-f", str(root / slides["compose_file"]),
                              "--env-file", str(base / ".env"), "up", "-d"],
                             capture_output=True, text=True, timeout=300, check=False)
    assert by_hand.returncode == 0, by_hand.stderr
    script = subprocess.run([str(root / "start-it_dev_chat.sh")], capture_output=True, text=True, timeout=300, check=False)
    assert script.returncode == 0, script.stdout + script.stderr
    assert "it-dev-chat is healthy" in script.stdout
    return {"slides": slides, "chat": BY_NAME["it_dev_chat"]}


@pytest.mark.parametrize("app", ["slides", "chat"])
def test_container_is_the_planned_one(dev, started, app):
    entry = started[app]
    # The plan keeps the settings as a dict; pg_container and the compose file render the command.
    spec = _container.rendered(dev["plan"][entry["name"]]["docker"])
    assert wait_healthy(entry["container"]) == "healthy"
    facts = inspect(entry["container"])
    config, host = facts["Config"], facts["HostConfig"]
    assert facts["Name"] == "/" + spec["name"] == "/" + entry["container"]
    assert config["Image"] == spec["image"] == IMAGE
    assert [(m["Type"], m["Name"], m["Destination"]) for m in facts["Mounts"]] == [
        ("volume", spec["volume"], spec["mount"])]
    assert spec["volume"] == entry["volume"]
    assert host["PortBindings"] == {"5432/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(entry["port"])}]}
    assert config["Cmd"] == spec["command"]
    env = dict(item.split("=", 1) for item in config["Env"])
    for key, value in spec["environment"].items():
        assert env[key] == value
    assert env["POSTGRES_PASSWORD"] == dev["passwords"][entry["name"]]
    assert config["Healthcheck"]["Test"] == spec["healthcheck"]["test"]
    assert config["Healthcheck"]["Retries"] == spec["healthcheck"]["retries"]
    assert host["RestartPolicy"]["Name"] == spec["restart"]
    assert config["StopSignal"] == spec["stop_signal"]
    assert config["StopTimeout"] == spec["stop_timeout"]
    assert host["Memory"] == 512 * 1024 ** 2 and host["MemoryReservation"] == 256 * 1024 ** 2
    assert host["NanoCpus"] == int(float(spec["resources"]["cpus"]) * 1e9)
    assert host["NetworkMode"] == "bridge"
    for key, value in spec["labels"].items():
        assert config["Labels"][key] == value


def connect(dev, entry):
    base = dev["root"] / os.path.dirname(entry["compose_file"])
    env = read_env(base / "host.env")
    return psycopg2.connect(host="127.0.0.1", port=int(env["DB_PORT"]), user=env["POSTGRES_USER"],
                            password=env["POSTGRES_PASSWORD"], dbname=env["DB_NAME"], connect_timeout=10)


@pytest.mark.parametrize("app", ["slides", "chat"])
def test_owner_logs_in_over_tcp(dev, started, app):
    entry = started[app]
    assert wait_healthy(entry["container"]) == "healthy"
    with connect(dev, entry) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_user, current_database(), current_setting('shared_buffers')")
        shared_buffers = dev["plan"][entry["name"]]["docker"]["settings"]["shared_buffers"]
        assert cur.fetchone() == ("%s_owner" % entry["database"], entry["database"], shared_buffers)
        cur.execute("CREATE TABLE IF NOT EXISTS kept (v text); INSERT INTO kept VALUES ('before stop-all')")
    conn.close()


def test_stop_all_keeps_volumes_and_data(dev, started):
    root = dev["root"]
    for entry in started.values():
        assert wait_healthy(entry["container"]) == "healthy"
    stop = subprocess.run([str(root / "stop-all.sh")], capture_output=True, text=True, timeout=300, check=False)
    assert stop.returncode == 0, stop.stdout + stop.stderr
    for entry in started.values():
        assert inspect(entry["container"])["State"]["Status"] == "exited"
        assert docker("volume", "inspect", entry["volume"], check=False).returncode == 0
    others = docker("ps", "-aq", "--filter", "name=^it-dev-(infra|suite|mail|sheet)$").stdout.split()
    assert others == []  # stop-all stops what runs and creates nothing


def test_start_all_starts_every_app_and_keeps_data(dev, started):
    root = dev["root"]
    run = subprocess.run([str(root / "start-all.sh")], capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    for entry in CATALOGUE:
        assert "%s is healthy" % entry["container"] in run.stdout
        facts = inspect(entry["container"])
        assert facts["State"]["Health"]["Status"] == "healthy"
        assert [m["Name"] for m in facts["Mounts"]] == [entry["volume"]]
        assert facts["HostConfig"]["PortBindings"]["5432/tcp"] == [{"HostIp": "127.0.0.1",
                                                                    "HostPort": str(entry["port"])}]
    for app, entry in started.items():
        with connect(dev, entry) as conn, conn.cursor() as cur:
            cur.execute("SELECT v FROM kept")
            assert cur.fetchall() == [("before stop-all",)], app
        conn.close()
    stop = subprocess.run([str(root / "stop-all.sh")], capture_output=True, text=True, timeout=300, check=False)
    assert stop.returncode == 0, stop.stdout + stop.stderr
    assert {inspect(e["container"])["State"]["Status"] for e in CATALOGUE} == {"exited"}


# --------------------------------------------------------------------------- Windows


def test_windows_playbook_syntax(ansible):
    proc = subprocess.run([str(REPO / ".venv" / "bin" / "ansible-playbook"), "--syntax-check", "-i",
                           str(REPO / "inventories" / "windows_dev"), str(DEV_WINDOWS)],
                          cwd=REPO, env=ansible.env("default"), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_windows_catalogue_check_runs_on_the_control_node(ansible, scratch):
    """Play 1 of dev_windows.yml against a Windows host that does not exist: nothing contacts it."""
    inventory = scratch / "windows-inventory.yml"
    inventory.write_text("windows_dev:\n  hosts:\n    it-dev-windows.invalid:\n      ansible_connection: winrm\n"
                         "      ansible_user: developer\n      postgres_dev_dir: 'C:\\darevel-dev'\n")
    run = ansible.run(DEV_WINDOWS, {"postgres_instances": CATALOGUE},
                      args=["-i", str(inventory), "--tags", "preflight"])
    stats = (run.data or {}).get("stats", {}).get("it-dev-windows.invalid")
    assert run.rc == 0 and stats and stats["failures"] == 0 and stats["unreachable"] == 0, run.explain()


# A stand-in for ansible.windows and community.windows: every module is an action plugin that records
# its arguments and answers like a healthy Windows host (or with the netsh output the test gives).
FAKE_ACTION = '''
import json
import os

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        name = self._task.action.rsplit(".", 1)[-1]
        args = dict(self._task.args)
        with open(os.environ["FAKE_WINDOWS_LOG"], "a") as handle:
            handle.write(json.dumps({"module": name, "args": args}, default=str) + "\\n")
        result = {"changed": False}
        if name == "win_stat":
            result["stat"] = {"exists": True}
        elif name == "win_command":
            argv = [str(a) for a in args.get("argv") or []]
            result.update(rc=0, stdout="", stderr="")
            if "excludedportrange" in argv:
                result["stdout"] = os.environ["FAKE_NETSH"]
            elif "inspect" in argv:
                result["stdout"] = "healthy\\r\\n"
            elif "up" in argv:
                result["stderr"] = " Container %s  Started\\r\\n" % argv[3]
        return result
'''
FAKE_MODULES = {("ansible", "windows"): ["win_stat", "win_command", "win_file", "win_template"],
                ("community", "windows"): ["win_firewall_rule", "win_scheduled_task"]}
NETSH_FREE = ("\r\nProtocol tcp Port Exclusion Ranges\r\n\r\nStart Port    End Port\r\n----------    --------\r\n"
              "      5357        5357\r\n     26438       26438     *\r\n\r\n* - Administered port exclusions.\r\n")
NETSH_TAKEN = NETSH_FREE.replace("      5357        5357", "     26400       26435")


@pytest.fixture(scope="module")
def fake_windows(scratch):
    root = scratch / "fake-windows"
    for (namespace, name), modules in FAKE_MODULES.items():
        action = root / "ansible_collections" / namespace / name / "plugins" / "action"
        action.mkdir(parents=True)
        for module in modules:
            (action / ("%s.py" % module)).write_text(FAKE_ACTION)
    inventory = scratch / "windows-fake-inventory.yml"
    inventory.write_text("windows_dev:\n  hosts:\n    it-dev-windows.invalid:\n      ansible_connection: local\n"
                         "      ansible_user: developer\n      postgres_dev_dir: 'C:\\darevel-dev'\n")
    return root, inventory


def run_windows(ansible, scratch, fake_windows, netsh: str, name: str):
    root, inventory = fake_windows
    log = scratch / ("fake-windows-%s.jsonl" % name)
    extra = ansible.write_vars({"postgres_instances": CATALOGUE,
                                "postgres_credentials_dir": str(scratch / "dev-credentials")})
    env = ansible.env("json")
    env.update({"ANSIBLE_COLLECTIONS_PATH": "%s:%s" % (root, REPO), "FAKE_WINDOWS_LOG": str(log),
                "FAKE_NETSH": netsh})
    proc = subprocess.run([str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory), "-e",
                           "@%s" % extra, str(DEV_WINDOWS)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return proc, calls


def test_windows_tasks_with_a_stand_in_host(ansible, scratch, fake_windows, dev):
    """The Windows task files render the right paths, argv, ports and tasks (not proof on Windows)."""
    proc, calls = run_windows(ansible, scratch, fake_windows, NETSH_FREE, "free")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    for password in dev["passwords"].values():
        assert password not in proc.stdout + proc.stderr
    by_module = {}
    for call in calls:
        by_module.setdefault(call["module"], []).append(call["args"])
    assert [a["path"] for a in by_module["win_stat"]] == ["C:\\Program Files\\Docker\\Docker\\Docker Desktop.exe"]
    templates = {a["dest"]: a for a in by_module["win_template"]}
    assert len(templates) == 6 * 5 + 4 + 1
    assert templates["C:\\darevel-dev\\backup-all.bat"]["src"] == "backup-all.bat.j2"
    assert templates["C:\\darevel-dev\\backup-all.bat"]["newline_sequence"] == "\r\n"
    for name, entry in BY_NAME.items():
        compose = "C:\\darevel-dev\\" + entry["compose_file"].replace("/", "\\")
        env_file = compose.rsplit("\\", 1)[0] + "\\.env"
        assert templates[compose]["src"] == "compose.yml.j2" and templates[compose]["newline_sequence"] == "\n"
        assert templates[env_file]["newline_sequence"] == "\n"
        assert templates["C:\\darevel-dev\\start-%s.bat" % name]["newline_sequence"] == "\r\n"
        assert templates["C:\\darevel-dev\\start-%s.sh" % name]["newline_sequence"] == "\n"
        assert {"argv": ["C:\\Program Files\\Docker\\Docker\\resources\\bin\\docker.exe", "compose", "-p",
                         "darevel-%s" % name, "-f", compose, "--env-file", env_file, "up", "-d"]} in by_module["win_command"]
    dirs = [a["path"] for a in by_module["win_file"]]
    assert dirs[0] == "C:\\darevel-dev" and "C:\\darevel-dev\\apps\\chat\\backend-java" in dirs
    rule = by_module["win_firewall_rule"][0]
    assert rule["localport"] == "26433,26434,26435,26436,26437,26438"
    assert (rule["action"], rule["direction"], rule["protocol"]) == ("block", "in", "tcp")
    backup = by_module["win_scheduled_task"][-1]
    assert backup["name"] == "Darevel PostgreSQL daily backup"
    assert backup["actions"] == [{"path": "C:\\darevel-dev\\backup-all.bat", "working_directory": "C:\\darevel-dev"}]
    assert (backup["username"], backup["logon_type"]) == ("developer", "interactive_token")
    assert backup["triggers"] == [{"type": "daily", "start_boundary": "2026-01-01T02:30:00"}]
    # the engine answered, so Docker Desktop's start task is not registered; the old placeholder goes
    assert by_module["win_scheduled_task"][:-1] == [{"name": "Darevel PostgreSQL daily backup (PLACEHOLDER)",
                                                     "state": "absent"}]


def test_windows_refuses_ports_in_an_excluded_range(ansible, scratch, fake_windows, dev):
    proc, calls = run_windows(ansible, scratch, fake_windows, NETSH_TAKEN, "taken")
    assert proc.returncode != 0
    data = json.loads(proc.stdout[proc.stdout.find("{"):])
    failed = [task["hosts"]["it-dev-windows.invalid"] for play in data["plays"] for task in play["tasks"]
              if task["hosts"].get("it-dev-windows.invalid", {}).get("failed")]
    assert len(failed) == 1
    message = failed[0]["msg"]
    assert "instance 'it_dev_infra': port 26433 is inside the excluded range 26400-26435" in message
    assert "instance 'it_dev_slides': port 26435 is inside the excluded range 26400-26435" in message
    assert "it_dev_suite" not in message and "it_dev_sheet" not in message  # outside, or administered
    assert "startport=26433 numberofports=3" in message
    assert not [c for c in calls if c["module"] in ("win_template", "win_file", "win_firewall_rule")]


def test_windows_backup_script_runs_the_backup_in_wsl_for_every_app(ansible, scratch):
    """backup-all.bat as rendered: CRLF, one darevel-postgres-backup run in WSL 2 per app with that
    app's settings file, every failure remembered in the exit code, output in backup.log."""
    out = scratch / "backup-all.bat"
    playbook = scratch / "render-backup-all.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "render", "hosts": "localhost", "connection": "local", "gather_facts": False,
        "vars_files": [str(REPO / "roles" / "dev_files" / "defaults" / "main.yml")],
        "vars": {"postgres_plan": [{"name": name} for name in BY_NAME]},
        "tasks": [{"ansible.builtin.template": {"src": str(REPO / "roles" / "dev_files" / "templates" / "backup-all.bat.j2"),
                                                "dest": str(out), "newline_sequence": "\r\n", "mode": "0644"}}]}]))
    run = ansible.run(playbook, {"postgres_dev_windows_wsl_distro": "Debian"})
    assert run.rc == 0, run.explain()
    raw = out.read_bytes()
    assert raw.count(b"\n") == raw.count(b"\r\n") and raw.startswith(b"@echo off\r\n")
    lines = raw.decode().split("\r\n")
    runs = [line for line in lines if "wsl.exe" in line and not line.startswith("REM")]
    assert runs == ['"%%SystemRoot%%\\System32\\wsl.exe" -d Debian -u root -- /usr/local/sbin/darevel-postgres-backup '
                    '/etc/darevel/postgres/backup/%s.json >> "%%~dp0backup.log" 2>&1' % name for name in BY_NAME]
    assert lines.count("if errorlevel 1 (") == len(BY_NAME) == lines.count('  set "FAILED=1"')
    assert lines.count(")") == len(BY_NAME) and "exit /b %FAILED%" in lines
