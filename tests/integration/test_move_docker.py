# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/move.yml and playbooks/purge.yml on the docker runtime, end to end: two inventory
hosts (mv_a, mv_b) on this machine and its Docker engine, each with its own catalogue, env,
backup, report and credentials directories. Host A runs it_mv_mail (container it-mv-a-mail,
port 26650); host B runs it_mv_chat (it-mv-b-chat, 26652) and receives it_mv_mail as
it-mv-b-mail (26651). Containers and volumes it-mv-*, ports 26650-26659.

The tests run in file order: converge both hosts, move it_mv_mail from A to B, purge A's copy."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import psycopg2
import pytest
import yaml

from conftest import REPO, need_docker

SITE, MOVE, PURGE, STATUS = (REPO / "playbooks" / name for name in ("site.yml", "move.yml", "purge.yml", "status.yml"))
IMAGE = "darevel-test/postgres:15"
MAIL_A = {"name": "it_mv_mail", "port": 26650, "database": "it_mv_mail", "container": "it-mv-a-mail",
          "volume": "it-mv-a-mail-data"}
MAIL_B = dict(MAIL_A, port=26651, container="it-mv-b-mail", volume="it-mv-b-mail-data")
CHAT_B = {"name": "it_mv_chat", "port": 26652, "database": "it_mv_chat", "container": "it-mv-b-chat",
          "volume": "it-mv-b-chat-data"}
ITEMS = (MAIL_A, MAIL_B, CHAT_B)


def docker(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=120, check=False)


def remove_scratch() -> None:
    for item in ITEMS:
        docker("rm", "-f", "-v", item["container"])
        docker("volume", "rm", item["volume"])


def inventory(scratch, moved: bool = False):
    """Two hosts on this machine; with `moved`, it_mv_mail's name has left A for B."""
    root = scratch / "move-docker"
    hosts = {}
    for host, catalogue, enabled in (("mv_a", [MAIL_A], [] if moved else ["it_mv_mail"]),
                                     ("mv_b", [MAIL_B, CHAT_B], ["it_mv_chat"] + (["it_mv_mail"] if moved else []))):
        hosts[host] = {"postgres_instances": catalogue, "postgres_instances_enabled": enabled}
        for key in ("env", "backups", "reports", "credentials"):
            path = root / host / key
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            hosts[host]["postgres_%s" % {"env": "env_dir", "backups": "backup_root", "reports": "reports_dir",
                                         "credentials": "credentials_dir"}[key]] = str(path)
    group = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
             "postgres_runtime": "docker", "postgres_docker_image": "darevel-test/postgres:{version}",
             "postgres_backup_fetch_dir": str(root / "fetch")}
    path = root / ("hosts-moved.yml" if moved else "hosts.yml")
    path.write_text(yaml.safe_dump({"postgres": {"hosts": hosts, "vars": group}}, sort_keys=False))
    return path


def run(ansible, playbook, inv, *extra: str, check: bool = False):
    return ansible.run(playbook, args=["-i", str(inv), *extra], check=check)


def host_dir(scratch, host: str, key: str):
    return scratch / "move-docker" / host / key


def env_values(scratch, host: str, app: str) -> dict:
    text = (host_dir(scratch, host, "env") / ("%s.env" % app)).read_text()
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def connect(item: dict, env: dict):
    return psycopg2.connect(host="127.0.0.1", port=item["port"], user=env["POSTGRES_USER"],
                            password=env["POSTGRES_PASSWORD"], dbname=item["database"], connect_timeout=10)


def state(name: str) -> str:
    return docker("inspect", "-f", "{{.State.Status}}", name).stdout.strip() or "absent"


def volume_exists(name: str) -> bool:
    return docker("volume", "inspect", name).returncode == 0


@pytest.fixture(scope="module")
def converged(ansible, scratch):
    need_docker(IMAGE)
    remove_scratch()
    first = run(ansible, SITE, inventory(scratch))
    assert first.rc == 0, first.explain()
    yield first
    remove_scratch()


def test_move_mail_from_a_to_b_on_docker(converged, ansible, scratch):
    old_env = env_values(scratch, "mv_a", "it_mv_mail")
    conn = connect(MAIL_A, old_env)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE messages (id int PRIMARY KEY, body text);"
                    "INSERT INTO messages SELECT g, 'message ' || g FROM generate_series(1, 1200) g;"
                    "CREATE SCHEMA calendar; CREATE TABLE calendar.events (id int);"
                    "INSERT INTO calendar.events SELECT generate_series(1, 9)")
    conn.close()
    chat_id = docker("inspect", "-f", "{{.Id}} {{.State.StartedAt}}", CHAT_B["container"]).stdout.strip()

    moved = run(ansible, MOVE, inventory(scratch), "-e", "app=it_mv_mail", "-e", "from=mv_a", "-e", "to=mv_b")
    assert moved.rc == 0, moved.explain()
    assert old_env["POSTGRES_PASSWORD"] not in moved.stdout + moved.stderr
    assert old_env["DB_APP_PASSWORD"] not in moved.stdout + moved.stderr

    # B: its own container of the instance, with the rows, owned by the owner, the same passwords.
    new_env = env_values(scratch, "mv_b", "it_mv_mail")
    for key in ("POSTGRES_USER", "POSTGRES_PASSWORD", "DB_APP_USER", "DB_APP_PASSWORD", "DB_NAME"):
        assert new_env.get(key) == old_env.get(key), key
    assert new_env["DB_PORT"] == str(MAIL_B["port"])
    assert state(MAIL_B["container"]) == "running"
    with connect(MAIL_B, new_env) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM messages")
        assert cur.fetchone() == (1200,)
        cur.execute("SELECT count(*) FROM calendar.events")
        assert cur.fetchone() == (9,)
        cur.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'messages'")
        assert cur.fetchone() == ("it_mv_mail_owner",)
    conn.close()
    with psycopg2.connect(host="127.0.0.1", port=MAIL_B["port"], user=new_env["DB_APP_USER"],
                          password=new_env["DB_APP_PASSWORD"], dbname=MAIL_B["database"], connect_timeout=10) as app:
        with app.cursor() as cur:
            cur.execute("SELECT max(id) FROM messages")
            assert cur.fetchone() == (1200,)
    app.close()
    # B's other instance was not touched.
    assert docker("inspect", "-f", "{{.Id}} {{.State.StartedAt}}", CHAT_B["container"]).stdout.strip() == chat_id

    # A: the env file names B (the previous one kept beside it, 0600), the container is stopped
    # and its volume kept.
    switched = env_values(scratch, "mv_a", "it_mv_mail")
    assert switched["DB_HOST"] == "mv_b" and switched["DB_PORT"] == str(MAIL_B["port"])
    assert switched["POSTGRES_PASSWORD"] == old_env["POSTGRES_PASSWORD"]
    env_dir = host_dir(scratch, "mv_a", "env")
    kept = [p for p in env_dir.iterdir() if p.name.startswith("it_mv_mail.env.")]
    assert len(kept) == 1, sorted(p.name for p in env_dir.iterdir())
    previous = dict(line.split("=", 1) for line in kept[0].read_text().splitlines() if "=" in line)
    assert previous["DB_HOST"] == old_env["DB_HOST"] and previous["DB_PORT"] == str(MAIL_A["port"])
    for path in (env_dir / "it_mv_mail.env", kept[0]):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    assert state(MAIL_A["container"]) == "exited" and volume_exists(MAIL_A["volume"])
    # The control node's copy of the backup is gone.
    fetch = scratch / "move-docker" / "fetch" / "it_mv_mail"
    assert not fetch.exists() or not any(fetch.iterdir())

    # Status tells each host's own container apart although both are on one engine.
    # (A's inventory still names the instance; B's names it once the inventory is updated.)
    for host, moved_inventory, container, wanted in (("mv_a", False, MAIL_A["container"], "stopped"),
                                                     ("mv_b", True, MAIL_B["container"], "started")):
        status = run(ansible, STATUS, inventory(scratch, moved=moved_inventory), "--limit", host)
        assert status.rc == 0, status.explain()
        report = json.loads((host_dir(scratch, host, "reports") / host / "status.json").read_text())
        row = [r for r in report["instances"] if r["name"] == "it_mv_mail"][0]
        assert (row["container"], row["state"]) == (container, wanted), row


def test_purge_removes_the_stopped_container_and_its_volume(converged, ansible, scratch):
    moved = inventory(scratch, moved=True)
    purged = run(ansible, PURGE, moved, "-e", "app=it_mv_mail", "-e", "host=mv_a", "-e", "confirm_purge=it_mv_mail")
    assert purged.rc == 0, purged.explain()
    assert purged.data["stats"]["mv_a"]["changed"] == 1, purged.explain()
    assert state(MAIL_A["container"]) == "absent" and not volume_exists(MAIL_A["volume"])
    assert state(MAIL_B["container"]) == "running" and volume_exists(MAIL_B["volume"])
    assert state(CHAT_B["container"]) == "running"
    assert env_values(scratch, "mv_a", "it_mv_mail")["DB_HOST"] == "mv_b"
    assert (host_dir(scratch, "mv_a", "backups") / "it_mv_mail").is_dir()
    report = json.loads((host_dir(scratch, "mv_a", "reports") / "mv_a" / "purge.json").read_text())
    assert report["rows"][0]["result"] == "purged"
    assert report["rows"][0]["removed"] == ["container it-mv-a-mail", "volume it-mv-a-mail-data"]

    again = run(ansible, PURGE, moved, "-e", "app=it_mv_mail", "-e", "host=mv_a", "-e", "confirm_purge=it_mv_mail")
    assert again.rc == 0 and again.data["stats"]["mv_a"]["changed"] == 0, again.explain()
    assert "nothing to purge" in again.stdout
