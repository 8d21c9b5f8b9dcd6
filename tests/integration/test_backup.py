# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backups on real servers: playbooks/backup.yml on two native clusters (it_bk_a/it_bk_b, ports
25520-25521) and on a PostgreSQL 17 container (it-bk-dk, no published port); the manifest against
the servers' own counts; pg_dump killed mid-run; a full target disk (a 1 MiB tmpfs); one instance
down; retention; the scheduled backup installed by roles/backup (cron form) run as cron would.

Tests run in file order and share the clusters; each says what it changes.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO, VERSION, drop_cluster, need_docker, psql

BACKUP = REPO / "playbooks" / "backup.yml"
CATALOGUE = [
    {"name": "it_bk_a", "port": 25520, "database": "it_bk_a"},
    {"name": "it_bk_b", "port": 25521, "database": "it_bk_b"},
]
PORTS = {e["name"]: e["port"] for e in CATALOGUE}
DOCKER_IMAGE = "darevel-test/postgres:17"
DK = {"name": "it_bk_dk", "port": 25530, "database": "it_bk_dk", "container": "it-bk-dk", "volume": "it-bk-dk-data"}

sys.path.insert(0, str(REPO))  # the checkout is ansible_collections/darevel/postgres (see ansible.cfg)
from ansible_collections.darevel.postgres.plugins.module_utils import _manifest  # noqa: E402


def complete(root, name) -> list[str]:
    return sorted(n for n in os.listdir(root / name) if _manifest.ID_RE.match(n))


def leftovers(root, name) -> list[str]:
    return sorted(n for n in os.listdir(root / name) if n.endswith((".partial", ".deleting")))


def counts(port: int, dbname: str) -> dict:
    rows = psql(port, "SELECT schemaname || '.' || relname FROM pg_stat_user_tables ORDER BY 1", dbname)
    return {t: int(psql(port, 'SELECT count(*) FROM %s' % ".".join('"%s"' % p for p in t.split(".", 1)), dbname))
            for t in rows.splitlines() if t}


def assert_intact(path) -> dict:
    manifest = _manifest.load(str(path))
    assert _manifest.problems(str(path), manifest) == [], path
    return manifest


@pytest.fixture(scope="module")
def bk(ansible, scratch):
    root = scratch / "bk-root"
    for sub in ("bk-credentials", "bk-env", "bk-reports"):
        (scratch / sub).mkdir(mode=0o700, exist_ok=True)
    items = [{"name": e["name"], "version": VERSION, "port": e["port"]} for e in CATALOGUE]
    run = ansible.module("pg_instance", {"instances": items, "state": "started"})
    assert run.rc == 0, run.explain()
    for entry in CATALOGUE:
        port, db = entry["port"], entry["database"]
        psql(port, "CREATE DATABASE %s" % db)
        psql(port, "CREATE TABLE t AS SELECT g, md5(g::text) AS h FROM generate_series(1, 30000) g; "
                   "CREATE SCHEMA s; CREATE TABLE s.\"odd name\" (x int); INSERT INTO s.\"odd name\" VALUES (1), (2);"
                   "CREATE ROLE %s_app LOGIN" % db, db)
    extra = {"postgres_instances": CATALOGUE, "postgres_runtime": "native", "postgres_backup_root": str(root),
             "postgres_tuning_memory_mb": 4096, "postgres_tuning_cpus": 2,
             "postgres_credentials_dir": str(scratch / "bk-credentials"), "postgres_env_dir": str(scratch / "bk-env"),
             "postgres_reports_dir": str(scratch / "bk-reports")}
    yield {"root": root, "vars": extra, "reports": scratch / "bk-reports" / "localhost"}
    for entry in CATALOGUE:
        drop_cluster(entry["name"])


def test_backup_playbook_writes_verified_backups_with_manifest_report_and_table(bk, ansible):
    """Both instances; check mode first writes nothing."""
    check = ansible.run(BACKUP, bk["vars"], check=True)
    assert check.rc == 0, check.explain()
    assert not bk["root"].exists()
    run = ansible.run(BACKUP, bk["vars"], callback="default")
    assert run.rc == 0, run.explain()
    assert re.search(r"instance\s+database\s+size\s+duration\s+verified", run.stdout), run.stdout
    assert re.search(r"it_bk_a\s+it_bk_a\s+\S+ \S+\s+\S+ s\s+yes", run.stdout), run.stdout
    report = json.loads((bk["reports"] / "backup.json").read_text())
    assert [(r["instance"], r["verified"]) for r in report["rows"]] == [("it_bk_a", True), ("it_bk_b", True)]
    assert oct(os.stat(bk["root"]).st_mode & 0o777) == "0o700"
    for entry in CATALOGUE:
        ids = complete(bk["root"], entry["name"])
        assert len(ids) == 1
        path = bk["root"] / entry["name"] / ids[0]
        manifest = assert_intact(path)
        assert manifest["instance"] == entry["name"] and manifest["runtime"] == "native"
        assert manifest["compression"] == "gzip:6" and manifest["server_version_num"] // 10000 == VERSION
        assert manifest["databases"][0]["row_counts"] == counts(entry["port"], entry["database"])
        assert manifest["databases"][0]["row_counts"]["s.odd name"] == 2
        assert "%s_app" % entry["database"] in (path / "globals.sql").read_text()
        modes = {oct(os.stat(os.path.join(p, f)).st_mode & 0o777) for p, _d, fs in os.walk(path) for f in fs}
        assert modes == {"0o600"} and oct(os.stat(path).st_mode & 0o777) == "0o700"
        listing = subprocess.run(["/usr/lib/postgresql/%d/bin/pg_restore" % VERSION, "--list",
                                  str(path / manifest["databases"][0]["path"])], capture_output=True, text=True, check=False)
        assert listing.returncode == 0 and "TABLE DATA public t" in listing.stdout
        assert json.loads((bk["root"] / entry["name"] / "last_run.json").read_text())["result"] == "ok"


def test_row_counts_come_from_the_dumps_snapshot(bk, ansible):
    """Rows inserted while the backup runs are either in both the dump and the counts, or in neither:
    the manifest's count equals the rows the archive holds."""
    port = PORTS["it_bk_b"]
    writer = subprocess.Popen(["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-h", "/var/run/postgresql",
                               "-p", str(port), "-d", "it_bk_b", "-c",
                               "DO $$ BEGIN FOR i IN 1..400 LOOP INSERT INTO t VALUES (-i, 'x'); COMMIT; "
                               "PERFORM pg_sleep(0.01); END LOOP; END $$"])
    try:
        run = ansible.module("pg_backup", {"name": "it_bk_b", "port": port, "root": str(bk["root"]), "prune": False})
    finally:
        writer.wait(timeout=60)
    assert run.rc == 0, run.explain()
    result = run.task("pg_backup")
    path = result["path"]
    manifest = assert_intact(path)
    dumped = subprocess.run(["/usr/lib/postgresql/%d/bin/pg_restore" % VERSION, "-f", "-", "--data-only", "-t", "t",
                             os.path.join(path, "it_bk_b.dump")], capture_output=True, text=True, check=True).stdout
    body = dumped.split("FROM stdin;\n", 1)[1].split("\n\\.\n", 1)[0]
    assert manifest["databases"][0]["row_counts"]["public.t"] == len(body.splitlines())


def test_databases_option_limits_the_backup_to_those_databases(bk, ansible):
    """`databases` (per instance, and at task level as the default) is what gets dumped; another
    database of the same cluster stays out of the manifest and the directory."""
    port = PORTS["it_bk_b"]
    psql(port, "CREATE DATABASE it_bk_other")
    try:
        per_item = ansible.module("pg_backup", {"instances": [{"name": "it_bk_b", "port": port,
                                                               "databases": ["it_bk_b"]}],
                                                "root": str(bk["root"]), "prune": False})
        task_level = ansible.module("pg_backup", {"instances": [{"name": "it_bk_b", "port": port}],
                                                  "databases": ["it_bk_other"], "root": str(bk["root"]),
                                                  "prune": False})
    finally:
        psql(port, "DROP DATABASE it_bk_other")
    for run, wanted in ((per_item, "it_bk_b"), (task_level, "it_bk_other")):
        assert run.rc == 0, run.explain()
        path = run.task("pg_backup")["instances"][0]["path"]
        manifest = assert_intact(path)
        assert [d["name"] for d in manifest["databases"]] == [wanted]
        assert sorted(os.listdir(path)) == sorted(["globals.sql", "manifest.json", wanted + ".dump"])


def test_pg_dump_killed_mid_run_leaves_no_complete_looking_backup(bk, ansible, scratch):
    """it_bk_a gets a second database large enough to kill pg_dump while it writes; dropped after."""
    port, name = PORTS["it_bk_a"], "it_bk_a"
    psql(port, "CREATE DATABASE it_bk_big")
    psql(port, "CREATE TABLE big AS SELECT g, md5(g::text) || md5((g + 1)::text) AS h "
               "FROM generate_series(1, 1500000) g", "it_bk_big")
    before = complete(bk["root"], name)
    older = bk["root"] / name / before[-1]
    playbook = ansible.write_playbook([{"name": "pg_backup under test", "darevel.postgres.pg_backup": {
        "name": name, "port": port, "root": str(bk["root"]), "databases": ["it_bk_a", "it_bk_big"]}}])
    proc = subprocess.Popen([str(REPO / ".venv" / "bin" / "ansible-playbook"), str(playbook)], cwd=REPO,
                            env=ansible.env("json"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    deadline = time.monotonic() + 120
    try:
        while killed is None and time.monotonic() < deadline and proc.poll() is None:
            partials = [p for p in (bk["root"] / name).glob(".*.partial/it_bk_big.dump") if p.stat().st_size > 0]
            if partials:
                for pid in filter(str.isdigit, os.listdir("/proc")):
                    try:
                        cmd = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")
                    except OSError:
                        continue
                    if cmd and cmd[0].endswith(b"pg_dump") and str(partials[0]).encode() in cmd:
                        os.kill(int(pid), signal.SIGKILL)
                        killed = partials[0]
                        break
            time.sleep(0.05)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        psql(port, "DROP DATABASE it_bk_big")
    assert killed is not None, "pg_dump never seen writing: %s %s" % (out[-2000:], err[-2000:])
    assert proc.returncode != 0
    assert "killed by signal 9" in out and "instance 'it_bk_a'" in out and "no older backup was deleted" in out
    assert complete(bk["root"], name) == before and leftovers(bk["root"], name) == []
    assert not killed.exists()
    assert_intact(older)
    last = json.loads((bk["root"] / name / "last_run.json").read_text())
    assert last["result"] == "failed" and "pg_dump" in last["msg"]
    again = ansible.module("pg_backup", {"name": name, "port": port, "root": str(bk["root"]), "prune": False})
    assert again.rc == 0, again.explain()
    assert len(complete(bk["root"], name)) == len(before) + 1 and assert_intact(again.task("pg_backup")["path"])


def test_full_target_disk_gives_a_clear_error_and_leaves_nothing_partial(bk, ansible, scratch):
    target = scratch / "bk-tmpfs"
    target.mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(target)], check=True)
    try:
        run = ansible.module("pg_backup", {"name": "it_bk_a", "port": PORTS["it_bk_a"], "root": str(target)})
        assert run.rc != 0
        msg = run.task("pg_backup")["msg"]
        assert "backup target %s is full" % target in msg and "fix:" in msg, msg
        assert complete(target, "it_bk_a") == [] and leftovers(target, "it_bk_a") == []
    finally:
        subprocess.run(["umount", str(target)], check=False)


def test_one_instance_down_the_other_is_backed_up_and_the_play_fails_naming_it(bk, ansible):
    before = {e["name"]: complete(bk["root"], e["name"]) for e in CATALOGUE}
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", str(VERSION), "it_bk_b", "stop"], check=True)
    try:
        run = ansible.run(BACKUP, bk["vars"], callback="default")
    finally:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", str(VERSION), "it_bk_b", "start"], check=True)
    assert run.rc != 0
    assert "not backed up on localhost: it_bk_b" in run.stdout, run.stdout
    assert re.search(r"it_bk_b\s+-\s+-\s+-\s+FAILED", run.stdout), run.stdout
    assert len(complete(bk["root"], "it_bk_a")) == len(before["it_bk_a"]) + 1
    assert complete(bk["root"], "it_bk_b") == before["it_bk_b"]
    report = json.loads((bk["reports"] / "backup.json").read_text())
    assert {r["instance"]: r["failed"] for r in report["rows"]} == {"it_bk_a": False, "it_bk_b": True}


def test_retention_keeps_the_last_n_and_apps_limits_the_instances(bk, ansible):
    before_b = complete(bk["root"], "it_bk_b")
    run = ansible.run(BACKUP, dict(bk["vars"], postgres_backup_keep_last=2, postgres_backup_keep_daily=0,
                                   postgres_backup_keep_weekly=0), args=["-e", "apps=it_bk_a"])
    assert run.rc == 0, run.explain()
    result = run.task("Back up the instances")["instances"][0]
    kept = complete(bk["root"], "it_bk_a")
    assert len(kept) == 2 and result["backup_id"] == kept[-1] and sorted(result["retention"]["kept"]) == kept
    assert result["retention"]["deleted"] and leftovers(bk["root"], "it_bk_a") == []
    assert complete(bk["root"], "it_bk_b") == before_b


def test_scheduled_backup_cron_form_runs_the_same_code(bk, ansible, scratch):
    """roles/backup with the cron scheduler; the installed command is run as cron would run it."""
    lib, conf = scratch / "bk-lib", scratch / "bk-conf"
    cron_files = [os.path.join("/etc/cron.d", "darevel-postgres-backup-%s" % e["name"]) for e in CATALOGUE]
    script = "/usr/local/sbin/darevel-postgres-backup"
    role_vars = dict(bk["vars"], postgres_backup_scheduler="cron", postgres_backup_lib_dir=str(lib),
                     postgres_backup_config_dir=str(conf), postgres_backup_python=str(REPO / ".venv/bin/python"),
                     postgres_backup_keep_last=1, postgres_backup_keep_daily=0, postgres_backup_keep_weekly=0)
    playbook = ansible.write_playbook([{"name": "Install the schedule", "ansible.builtin.include_role": {
        "name": "darevel.postgres.backup"}}], name="bk-schedule")
    try:
        first = ansible.run(playbook, role_vars)
        assert first.rc == 0, first.explain()
        second = ansible.run(playbook, role_vars)
        assert second.rc == 0 and second.changed == 0, second.explain()
        line = [ln for ln in open(cron_files[0]).read().splitlines() if ln.startswith("30 2 * * * root ")][0]
        command = line.split(" root ", 1)[1].split(" 2>&1")[0]
        assert command == "%s %s/it_bk_a.json" % (script, conf)
        assert oct(os.stat(conf / "it_bk_a.json").st_mode & 0o777) == "0o600"
        proc = subprocess.run(command.split(), capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, check=False)
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        assert result["verified"] is True and complete(bk["root"], "it_bk_a") == [result["backup_id"]]
        assert_intact(result["path"])
        # A stopped instance: the scheduled run fails, says why, and deletes nothing.
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", str(VERSION), "it_bk_a", "stop"], check=True)
        try:
            down = subprocess.run(command.split(), capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"},
                                  check=False)
        finally:
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", str(VERSION), "it_bk_a", "start"], check=True)
        assert down.returncode == 1 and "instance 'it_bk_a': cannot connect" in down.stderr
        assert complete(bk["root"], "it_bk_a") == [result["backup_id"]]
    finally:
        for path in cron_files + [script]:
            if os.path.exists(path):
                os.unlink(path)


# --------------------------------------------------------------------------- docker runtime


def docker(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def container():
    need_docker(DOCKER_IMAGE)
    docker("rm", "-f", DK["container"])
    started = docker("run", "-d", "--name", DK["container"], "-e", "POSTGRES_USER=it_bk_dk_owner",
                     "-e", "POSTGRES_DB=it_bk_dk", "-e", "POSTGRES_PASSWORD=unused-%d" % os.getpid(), DOCKER_IMAGE)
    assert started.returncode == 0, started.stderr
    try:
        deadline = time.monotonic() + 60
        while docker("exec", DK["container"], "pg_isready", "-q", "-h", "127.0.0.1").returncode != 0:
            assert time.monotonic() < deadline, docker("logs", DK["container"]).stderr
            time.sleep(0.5)
        sql = ("CREATE TABLE t AS SELECT g, md5(g::text) AS h FROM generate_series(1, 20000) g; "
               "CREATE TABLE u (x int); INSERT INTO u VALUES (1), (2), (3);")
        done = docker("exec", "-u", "postgres", DK["container"], "psql", "-v", "ON_ERROR_STOP=1", "-U", "it_bk_dk_owner",
                      "-d", "it_bk_dk", "-c", sql)
        assert done.returncode == 0, done.stderr
        yield DK
    finally:
        docker("rm", "-f", DK["container"])


def test_docker_runtime_dumps_inside_the_container_with_zstd(container, ansible, scratch):
    root = scratch / "bk-docker"
    extra = {"postgres_instances": [DK], "postgres_runtime": "docker", "postgres_version": 17,
             "postgres_backup_root": str(root), "postgres_reports_dir": str(scratch / "bk-reports"),
             "postgres_docker_image": DOCKER_IMAGE}
    run = ansible.run(BACKUP, extra)
    assert run.rc == 0, run.explain()
    path = run.task("Back up the instances")["instances"][0]["path"]
    manifest = assert_intact(path)
    assert manifest["runtime"] == "docker" and manifest["server_version_num"] // 10000 == 17
    assert manifest["compression"] == "zstd:3"
    assert manifest["databases"][0]["row_counts"] == {"public.t": 20000, "public.u": 3}
    # The archive reads with the container's own pg_restore (17; the host has 15).
    docker("cp", os.path.join(path, "it_bk_dk.dump"), "%s:/tmp/check.dump" % DK["container"])
    listing = docker("exec", DK["container"], "pg_restore", "--list", "/tmp/check.dump")
    assert listing.returncode == 0 and "TABLE DATA public u" in listing.stdout and "zstd" in listing.stdout
    # Directory format with two jobs, copied out of the container.
    directory = ansible.run(BACKUP, dict(extra, postgres_backup_format="directory", postgres_backup_jobs=2))
    assert directory.rc == 0, directory.explain()
    path = directory.task("Back up the instances")["instances"][0]["path"]
    manifest = assert_intact(path)
    assert manifest["databases"][0]["format"] == "directory"
    assert any(f["path"] == "it_bk_dk.dir/toc.dat" for f in manifest["files"])
    assert docker("exec", DK["container"], "ls", "/tmp").stdout.count("darevel-backup") == 0


def test_scheduled_backup_of_a_container_runs_from_the_copied_code(container, ansible, scratch):
    """The cron form on the docker runtime: the installed command, run as cron would run it, backs
    the container up with only the code the role copied (its docker path imports more modules than
    the native one)."""
    root, lib, conf = scratch / "bk-docker-sched", scratch / "bk-docker-lib", scratch / "bk-docker-conf"
    cron_file = "/etc/cron.d/darevel-postgres-backup-%s" % DK["name"]
    script = "/usr/local/sbin/darevel-postgres-backup"
    role_vars = {"postgres_instances": [DK], "postgres_runtime": "docker", "postgres_version": 17,
                 "postgres_docker_image": DOCKER_IMAGE, "postgres_backup_root": str(root),
                 "postgres_reports_dir": str(scratch / "bk-reports"), "postgres_backup_scheduler": "cron",
                 "postgres_backup_lib_dir": str(lib), "postgres_backup_config_dir": str(conf),
                 "postgres_backup_python": str(REPO / ".venv/bin/python")}
    playbook = ansible.write_playbook([{"name": "Install the schedule", "ansible.builtin.include_role": {
        "name": "darevel.postgres.backup"}}], name="bk-docker-schedule")
    try:
        run = ansible.run(playbook, role_vars)
        assert run.rc == 0, run.explain()
        line = [ln for ln in open(cron_file).read().splitlines() if " root " in ln and not ln.startswith("#")][0]
        command = line.split(" root ", 1)[1].split(" 2>&1")[0]
        proc = subprocess.run(command.split(), capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"},
                              check=False, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        result = json.loads(proc.stdout)
        assert result["verified"] is True and complete(root, DK["name"]) == [result["backup_id"]]
        manifest = assert_intact(result["path"])
        assert manifest["runtime"] == "docker" and manifest["databases"][0]["row_counts"]["public.u"] == 3
    finally:
        for path in (cron_file, script):
            if os.path.exists(path):
                os.unlink(path)


SYSTEMD_IMAGE = "darevel-test/debian:bookworm"
SD = "it-bk-systemd"


def test_scheduled_backup_systemd_form_timer_and_service(ansible, scratch):
    """roles/backup in a Debian container with systemd as PID 1 (no PostgreSQL in it; psycopg2 is
    required, then installed): the timer is
    enabled and waiting, the units verify, a second run changes nothing, and the service runs the
    installed code, which fails saying why and records the failed run."""
    need_docker(SYSTEMD_IMAGE, "tests/images/build.sh")
    docker("rm", "-f", SD)
    started = docker("run", "-d", "--name", SD, "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
                     "--tmpfs", "/run", "--tmpfs", "/run/lock", "--stop-signal", "SIGRTMIN+3", SYSTEMD_IMAGE,
                     "/lib/systemd/systemd")
    assert started.returncode == 0, started.stderr
    inventory = scratch / "bk-systemd-inventory.yml"
    inventory.write_text("postgres:\n  hosts:\n    %s:\n      ansible_connection: community.docker.docker\n" % SD)
    extra = {"postgres_instances": [{"name": "it_bk_sd", "port": 25525, "database": "it_bk_sd"}],
             "postgres_runtime": "native", "postgres_min_free_mb": 0, "postgres_tuning_memory_mb": 4096,
             "postgres_tuning_cpus": 2}
    unit = "darevel-postgres-backup-it_bk_sd"
    try:
        deadline = time.monotonic() + 60
        while docker("exec", SD, "systemctl", "is-system-running").stdout.strip() not in ("running", "degraded"):
            assert time.monotonic() < deadline, "systemd did not start in the container"
            time.sleep(0.5)
        # The scheduled job runs the collection's code with the host's Python, which needs psycopg2:
        # backup_schedule.yml refuses a host without it (as site.yml would have installed it).
        refused = ansible.run(REPO / "playbooks" / "backup_schedule.yml", extra, args=["-i", str(inventory)],
                              callback="default")
        assert refused.rc != 0 and "cannot import psycopg2" in refused.stdout, refused.explain()
        installed = docker("exec", SD, "sh", "-c", "apt-get update -q && apt-get install -y -q python3-psycopg2")
        assert installed.returncode == 0, installed.stderr[-2000:]
        playbook = REPO / "playbooks" / "backup_schedule.yml"
        first = ansible.run(playbook, extra, args=["-i", str(inventory)], callback="default")
        assert first.rc == 0, first.explain()
        second = ansible.run(playbook, extra, args=["-i", str(inventory)], callback="default")
        assert second.rc == 0 and re.search(r"changed=0\s", second.stdout), second.explain()
        assert docker("exec", SD, "systemctl", "is-enabled", unit + ".timer").stdout.strip() == "enabled"
        assert docker("exec", SD, "systemctl", "is-active", unit + ".timer").stdout.strip() == "active"
        paths = ["/etc/systemd/system/%s.%s" % (unit, kind) for kind in ("service", "timer")]
        verified = docker("exec", SD, "systemd-analyze", "verify", *paths)
        assert verified.returncode == 0, verified.stderr
        assert "OnCalendar=*-*-* 02:30:00" in docker("exec", SD, "cat", paths[1]).stdout
        assert not docker("exec", SD, "test", "-e", "/etc/cron.d/%s" % unit).returncode == 0
        ran = docker("exec", SD, "systemctl", "start", unit + ".service")
        assert ran.returncode != 0
        last = json.loads(docker("exec", SD, "cat", "/var/backups/darevel-postgres/it_bk_sd/last_run.json").stdout)
        assert last["result"] == "failed" and "instance 'it_bk_sd'" in last["msg"] and "fix:" in last["msg"]
        assert docker("exec", SD, "stat", "-c", "%a", "/var/backups/darevel-postgres").stdout.strip() == "700"
    finally:
        docker("rm", "-f", SD)
