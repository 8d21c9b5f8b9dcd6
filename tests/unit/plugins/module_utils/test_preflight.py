"""Unit tests for plugins/module_utils/_preflight.py (pure parts, fake /proc, temporary trees)."""

from __future__ import annotations

import copy
import os

import pytest

from ansible_collections.darevel.postgres.plugins.module_utils import _catalogue, _preflight

CHAT15 = {"name": "chat", "version": 15, "port": 5434}
PG_ARGV = "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/chat " \
          "-c config_file=/etc/postgresql/15/chat/postgresql.conf"


@pytest.fixture(autouse=True)
def no_real_clusters(monkeypatch, tmp_path):
    """The machine's own clusters (a `make up` runs chat on 5434) must not change what these
    tests see: the postmaster.pid files are looked up under an empty data root."""
    real = _preflight.running_on_port
    monkeypatch.setattr(_preflight, "running_on_port",
                        lambda instance, data_root=None: real(instance, data_root or str(tmp_path)))


@pytest.mark.parametrize("comm, cmdline, instance, own", [
    ("postgres", PG_ARGV, CHAT15, True),
    ("postgres", "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/chat", CHAT15, True),
    ("postgres", "postgres -c config_file=/etc/postgresql/15/chat/postgresql.conf", CHAT15, True),
    ("postgres", PG_ARGV, {"name": "chat2", "version": 15}, False),
    ("postgres", PG_ARGV, {"name": "chat", "version": 16}, False),
    ("postgres", "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/chat2", CHAT15, False),
    ("python3", PG_ARGV, CHAT15, False),
    ("docker-proxy", "docker-proxy -D /var/lib/postgresql/15/chat", CHAT15, False),
])
def test_is_own(comm, cmdline, instance, own):
    assert _preflight.is_own([{"pid": 1, "comm": comm, "cmdline": cmdline}], instance) is own


def test_is_own_any_holder():
    holders = [{"pid": 1, "comm": "nc", "cmdline": "nc -l 5434"}, {"pid": 2, "comm": "postgres", "cmdline": PG_ARGV}]
    assert _preflight.is_own(holders, CHAT15) is True
    assert _preflight.is_own([], CHAT15) is False


def test_port_problems_own_instance_ok(fake_proc):
    fake_proc.listen(5434, 500)
    fake_proc.process(321, "postgres", PG_ARGV.split(), inodes=[500])
    assert _preflight.port_problems([CHAT15], proc=fake_proc.path) == []


def test_port_problems_free_port_ok(fake_proc):
    assert _preflight.port_problems([CHAT15, {"name": "mail", "version": 15, "port": 5437}],
                                    proc=fake_proc.path) == []


def test_port_problems_other_process_named(fake_proc):
    fake_proc.listen(5434, 500)
    fake_proc.process(4242, "docker-proxy", ["/usr/bin/docker-proxy", "-host-port", "5434"], inodes=[500])
    problems = _preflight.port_problems([CHAT15], proc=fake_proc.path)
    assert problems == [
        "instance 'chat': port 5434 is already in use by docker-proxy (pid 4242: /usr/bin/docker-proxy "
        "-host-port 5434); fix: stop that process (or its container) or give the instance another port "
        "in the catalogue"]


def test_port_problems_other_cluster_of_same_name_and_other_version(fake_proc):
    fake_proc.listen(5434, 500)
    fake_proc.process(321, "postgres", PG_ARGV.replace("15", "16").split(), inodes=[500])
    problems = _preflight.port_problems([CHAT15], proc=fake_proc.path)
    assert len(problems) == 1
    assert "postgres (pid 321" in problems[0]


def test_port_problems_unnamed_holder(fake_proc):
    fake_proc.listen(5434, 500)  # nobody in this namespace holds the socket
    problems = _preflight.port_problems([CHAT15], proc=fake_proc.path)
    assert len(problems) == 1
    assert "a process the OS does not name" in problems[0]


@pytest.mark.parametrize("min_free_mb, count", [(10 ** 12, 1), (0, 0), (-5, 0), (1, 0)])
def test_disk_problems(tmp_path, min_free_mb, count):
    problems = _preflight.disk_problems([CHAT15], min_free_mb, str(tmp_path / "not" / "yet" / "there"))
    assert len(problems) == count
    if count:
        assert problems[0].startswith("host: %s has " % tmp_path)
        assert "below postgres_min_free_mb=%d for 1 instance(s)" % min_free_mb in problems[0]
        assert "fix: free disk space or lower postgres_min_free_mb" in problems[0]


def test_disk_problems_no_instances(tmp_path):
    assert _preflight.disk_problems([], 10 ** 12, str(tmp_path)) == []


def test_installed_versions(tmp_path):
    for version, has_binary in (("15", True), ("16", True), ("13", True), ("17", False), ("abc", True)):
        bindir = tmp_path / version / "bin"
        bindir.mkdir(parents=True)
        if has_binary:
            (bindir / "postgres").write_text("")
    assert _preflight.installed_versions(str(tmp_path)) == [13, 15, 16]
    assert _preflight.installed_versions(str(tmp_path) + "/") == [13, 15, 16]


def test_installed_versions_missing_root(tmp_path):
    assert _preflight.installed_versions(str(tmp_path / "none")) == []


def test_own_markers():
    assert _preflight.own_markers(CHAT15) == {"/etc/postgresql/15/chat/postgresql.conf",
                                              "/var/lib/postgresql/15/chat"}


def test_apps_restrict_the_plan_but_the_budget_is_shared_by_every_enabled_instance():
    params = {"instances": copy.deepcopy(_catalogue.SEED), "enabled": "all", "default_version": 15,
              "only": "chat", "check_ports": False, "min_free_mb": 0, "runtime": "native", "docker": {},
              "tuning": {"enabled": True, "memory_mb": 4096, "cpus": 2, "reserve_mb": 0, "others": "ignore"}}
    alone = dict(params, instances=[e for e in copy.deepcopy(_catalogue.SEED) if e["name"] == "chat"], only=None)
    result, single = _preflight.run(params), _preflight.run(alone)
    assert result["problems"] == [] and [i["name"] for i in result["instances"]] == ["chat"]
    assert len(result["tuning"]["instances"]) == 6
    # chat's share is a sixth of the budget, not the whole of it as when it is the only instance.
    assert result["instances"][0]["settings"]["shared_buffers"] != single["instances"][0]["settings"]["shared_buffers"]
    assert result["instances"][0]["tuning"]["share"]["memory"] * 6 <= result["tuning"]["host"]["budget"]


def fake_host(tmp_path, monkeypatch, lsclusters: str):
    """A pg_lsclusters that prints `lsclusters`, /etc/postgresql start.conf files, no Docker SDK."""
    tool = tmp_path / "pg_lsclusters"
    tool.write_text("#!/bin/sh\ncat <<'EOF'\n%sEOF\n" % lsclusters)
    tool.chmod(0o755)
    monkeypatch.setattr(_preflight.shutil, "which", lambda name: str(tool) if name == "pg_lsclusters" else None)
    monkeypatch.setattr(_preflight, "has_library", lambda name: False)
    etc = tmp_path / "etc"
    for version, name, start in ((15, "main", "auto"), (15, "manual", "manual"), (15, "chat", "auto")):
        (etc / str(version) / name).mkdir(parents=True)
        (etc / str(version) / name / "start.conf").write_text("# comment\n%s\n" % start)
    registry = tmp_path / "registry"
    registry.mkdir()
    (registry / "17-old.conf").write_text("PGDATA=/srv/17/old\nPGPORT=5500\nSTART=auto\n")
    (registry / "17-off.conf").write_text("PGDATA=/srv/17/off\nPGPORT=5501\nSTART=manual\n")
    return str(etc), str(registry)


def test_other_servers_are_the_clusters_outside_the_plan_that_run_or_start_at_boot(tmp_path, monkeypatch):
    etc, registry = fake_host(tmp_path, monkeypatch, (
        "15  main    5432 down   postgres /var/lib/postgresql/15/main /var/log/x.log\n"
        "15  manual  5440 down   postgres /var/lib/postgresql/15/manual /var/log/y.log\n"
        "15  chat    5434 online postgres /var/lib/postgresql/15/chat /var/log/z.log\n"
        "16  chat    5444 online postgres /var/lib/postgresql/16/chat /var/log/w.log\n"))
    found = _preflight.other_servers([dict(CHAT15)], registry_dir=registry, etc=etc)
    assert found == ["cluster 15/main (port 5432, starts at boot)", "cluster 16/chat (port 5444, running)",
                     "cluster 17/old (generic layout, port 5500, starts at boot)"]


@pytest.mark.parametrize("mode, counted", [("share", True), ("warn", False), ("ignore", False)])
def test_the_budget_keeps_a_share_for_each_other_server(monkeypatch, mode, counted):
    asked = []
    monkeypatch.setattr(_preflight, "other_servers", lambda instances, host=None: asked.append(host) or [
        "cluster 15/main (port 5432, running)"])
    params = {"instances": [{"name": "chat", "port": 5434, "database": "darevel_chat"}], "enabled": "all",
              "default_version": 15, "only": None, "check_ports": False, "min_free_mb": 0, "runtime": "native",
              "docker": {}, "python_libraries": "ignore",
              "tuning": {"enabled": True, "memory_mb": 4096, "cpus": 2, "reserve_mb": 512, "others": mode}}
    result = _preflight.run(params)
    assert result["problems"] == []
    share = result["instances"][0]["tuning"]["share"]["memory"]
    assert share == (3584 // 2 if counted else 3584) * 1024 * 1024
    assert ("others" in result["tuning"]["host"]) is counted
    if mode == "ignore":
        assert result["warnings"] == [] and asked == []
    else:
        assert len(result["warnings"]) == 1 and "cluster 15/main (port 5432, running)" in result["warnings"][0]


def test_a_generic_instance_under_another_data_root_is_its_own_port_holder(tmp_path, monkeypatch):
    data = tmp_path / "root" / "15" / "chat"
    data.mkdir(parents=True)
    (data / "postmaster.pid").write_text("%d\n%s\n0\n5434\n" % (os.getpid(), data))
    (tmp_path / "15-chat.conf").write_text("PGDATA=%s\nPGPORT=5434\n" % data)
    monkeypatch.setattr(_preflight._generic, "REGISTRY_DIR", str(tmp_path))
    assert str(data) in _preflight.own_markers(CHAT15)
    assert _preflight.running_on_port(CHAT15)
    holder = {"pid": 1, "comm": "postgres", "cmdline": "/usr/lib/postgresql/15/bin/postgres -D %s" % data}
    assert _preflight.is_own([holder], CHAT15)


def test_unknown_apps_are_problems():
    params = {"instances": copy.deepcopy(_catalogue.SEED), "enabled": "all", "default_version": 15,
              "only": "chat,chta", "check_ports": False, "min_free_mb": 0, "runtime": "native", "docker": {},
              "tuning": {"enabled": False}}
    result = _preflight.run(params)
    assert any("apps: 'chta' is not an instance enabled on this host" in p for p in result["problems"])


@pytest.mark.parametrize("runtime", ["native", "docker"])
def test_the_plan_names_the_container_to_reach_on_the_docker_runtime_only(monkeypatch, runtime):
    monkeypatch.setattr(_preflight, "docker_answers", lambda host: True)
    params = {"instances": copy.deepcopy(_catalogue.SEED), "enabled": "chat,mail", "default_version": 15,
              "only": None, "check_ports": False, "min_free_mb": 0, "runtime": runtime, "docker": {},
              "python_libraries": "ignore", "tuning": {"enabled": False}}
    result = _preflight.run(params)
    assert result["problems"] == [] and result["runtime"] == runtime
    containers = [i.get("in_container") for i in result["instances"]]
    assert containers == (["darevel-postgres-chat", "darevel-postgres-mail"] if runtime == "docker" else [None, None])
    assert all(i["docker"]["name"] == "darevel-postgres-%s" % i["name"] for i in result["instances"])
