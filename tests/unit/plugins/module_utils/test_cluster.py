"""Unit tests for plugins/module_utils/_cluster.py: parsing, planning, rendering and argv (no server)."""

from __future__ import annotations

import pytest

from ansible_collections.darevel.postgres.plugins.module_utils import _cluster

LSCLUSTERS = """\
15  chat    5434 online          postgres /var/lib/postgresql/15/chat  /var/log/postgresql/postgresql-15-chat.log
15  mail    5437 down            postgres /var/lib/postgresql/15/mail  /var/log/postgresql/postgresql-15-mail.log
16  infra   5433 online,recovery postgres /var/lib/postgresql/16/infra <unknown>
Ver Cluster Port Status Owner Data directory Log file
"""


def test_parse_lsclusters():
    assert _cluster.parse_lsclusters(LSCLUSTERS) == {
        (15, "chat"): {"version": 15, "name": "chat", "port": 5434, "status": "started", "owner": "postgres",
                       "data_dir": "/var/lib/postgresql/15/chat",
                       "log_file": "/var/log/postgresql/postgresql-15-chat.log"},
        (15, "mail"): {"version": 15, "name": "mail", "port": 5437, "status": "stopped", "owner": "postgres",
                       "data_dir": "/var/lib/postgresql/15/mail",
                       "log_file": "/var/log/postgresql/postgresql-15-mail.log"},
        (16, "infra"): {"version": 16, "name": "infra", "port": 5433, "status": "started", "owner": "postgres",
                        "data_dir": "/var/lib/postgresql/16/infra", "log_file": None},
    }


@pytest.mark.parametrize("status, expected", [
    ("online", "started"), ("online,recovery", "started"), ("down", "stopped"),
    ("down,binaries_missing", "stopped"),
])
def test_parse_lsclusters_status(status, expected):
    line = "15 chat 5434 %s postgres /var/lib/postgresql/15/chat\n" % status
    parsed = _cluster.parse_lsclusters(line)[(15, "chat")]
    assert parsed["status"] == expected
    assert parsed["log_file"] is None


@pytest.mark.parametrize("text", ["", "\n", "Ver Cluster Port Status Owner Data directory Log file\n",
                                  "15 chat 5434 online\n"])
def test_parse_lsclusters_ignores_other_lines(text):
    assert _cluster.parse_lsclusters(text) == {}


def current(status, port=5434, start_conf="auto"):
    return {"status": status, "port": port, "start_conf": start_conf}


@pytest.mark.parametrize("state, cur, purge, actions", [
    # absent
    ("absent", None, False, []),
    ("absent", None, True, []),
    ("absent", current("started"), False, ["stop", "disable"]),
    ("absent", current("started"), True, ["stop", "drop"]),
    ("absent", current("stopped"), False, ["disable"]),
    ("absent", current("stopped"), True, ["drop"]),
    ("absent", current("stopped", start_conf="manual"), False, []),
    ("absent", current("started", start_conf="manual"), False, ["stop"]),
    ("absent", current("stopped", start_conf="manual"), True, ["drop"]),
    # from nothing
    ("present", None, False, ["create", "auth_files"]),
    ("started", None, False, ["create", "auth_files", "start"]),
    ("stopped", None, False, ["create", "auth_files"]),
    ("restarted", None, False, ["create", "auth_files", "restart"]),
    # existing, same port
    ("present", current("started"), False, ["auth_files"]),
    ("present", current("stopped"), False, ["auth_files"]),
    ("started", current("started"), False, ["auth_files"]),
    ("started", current("stopped"), False, ["auth_files", "start"]),
    ("stopped", current("started"), False, ["auth_files", "stop"]),
    ("stopped", current("stopped"), False, ["auth_files"]),
    ("restarted", current("started"), False, ["auth_files", "restart"]),
    ("restarted", current("stopped"), False, ["auth_files", "restart"]),
    # existing, port change
    ("present", current("started", port=5500), False, ["set_port", "auth_files", "restart"]),
    ("present", current("stopped", port=5500), False, ["set_port", "auth_files"]),
    ("started", current("started", port=5500), False, ["set_port", "auth_files", "restart"]),
    ("started", current("stopped", port=5500), False, ["set_port", "auth_files", "start"]),
    ("stopped", current("started", port=5500), False, ["set_port", "auth_files", "stop"]),
    ("stopped", current("stopped", port=5500), False, ["set_port", "auth_files"]),
    ("restarted", current("started", port=5500), False, ["set_port", "auth_files", "restart"]),
    # start.conf manual (disabled earlier): enable again
    ("started", current("stopped", start_conf="manual"), False, ["enable", "auth_files", "start"]),
    ("present", current("started", start_conf="manual"), False, ["enable", "auth_files"]),
    ("started", current("started", port=5500, start_conf="manual"), False,
     ["enable", "set_port", "auth_files", "restart"]),
    # purge only matters for absent
    ("started", current("started"), True, ["auth_files"]),
])
def test_plan(state, cur, purge, actions):
    assert _cluster.plan(cur, state, 5434, purge) == actions


def test_plan_without_start_conf_key_is_auto():
    assert _cluster.plan({"status": "stopped", "port": 5434}, "absent", 5434, False) == ["disable"]


def test_render_hba_never_trust():
    hba = _cluster.render_hba()
    assert "trust" not in hba
    rules = [line.split() for line in hba.splitlines() if line and not line.startswith("#")]
    host = [r for r in rules if r[0] == "host"]
    assert [r[3] for r in host] == ["127.0.0.1/32", "::1/128"]
    assert all(r[-1] == "scram-sha-256" for r in host)
    assert all(r[0] in ("local", "host") for r in rules)
    assert ["local", "all", "postgres", "peer", "map=darevel_superuser"] in rules


def test_render_ident_maps_root_to_postgres():
    rows = [line.split() for line in _cluster.render_ident().splitlines() if line and not line.startswith("#")]
    assert rows == [["darevel_superuser", "root", "postgres"], ["darevel_superuser", "postgres", "postgres"]]


@pytest.fixture(params=[True, False], ids=["systemd", "no-systemd"])
def cluster(request):
    return _cluster.DebianCluster(runner=None, version=15, name="chat", systemd=request.param)


def test_unit_and_config_dir(cluster):
    assert cluster.unit == "postgresql@15-chat"
    assert cluster.config_dir == "/etc/postgresql/15/chat"


@pytest.mark.parametrize("action", ["start", "stop", "restart", "reload"])
def test_control_argv(cluster, action):
    argv = cluster.control_argv(action)
    assert "postgresql" not in argv  # never the umbrella service
    if cluster.systemd:
        assert argv == ["systemctl", action, "postgresql@15-chat"]
    else:
        fast = ["-m", "fast"] if action in ("stop", "restart") else []
        assert argv == ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "chat", action] + fast


@pytest.mark.parametrize("checksums", [True, False])
def test_argv_for_create(cluster, checksums):
    (argv,) = cluster.argv_for("create", 5434, "C.UTF-8", checksums)
    assert argv[:4] == ["pg_createcluster", "15", "chat", "--port"]
    assert argv[argv.index("--port") + 1] == "5434"
    assert argv[argv.index("--locale") + 1] == "C.UTF-8"
    initdb = argv[argv.index("--") + 1:]
    assert ("--data-checksums" in initdb) is checksums
    assert "--data-checksums" not in argv[:argv.index("--")]
    assert initdb[-4:] == ["--auth-local", "peer", "--auth-host", "scram-sha-256"]
    assert "trust" not in argv


@pytest.mark.parametrize("action, expected", [
    ("set_port", {True: [["pg_conftool", "15", "chat", "set", "port", "5500"]],
                  False: [["pg_conftool", "15", "chat", "set", "port", "5500"]]}),
    ("drop", {True: [["pg_dropcluster", "--stop", "15", "chat"]],
              False: [["pg_dropcluster", "--stop", "15", "chat"]]}),
    # start.conf itself is written as a file by perform(); only systemd needs a command.
    ("enable", {True: [["systemctl", "enable", "postgresql@15-chat"]], False: []}),
    ("disable", {True: [["systemctl", "disable", "postgresql@15-chat"]], False: []}),
    ("start", {True: [["systemctl", "start", "postgresql@15-chat"]],
               False: [["pg_ctlcluster", "--skip-systemctl-redirect", "15", "chat", "start"]]}),
    ("stop", {True: [["systemctl", "stop", "postgresql@15-chat"]],
              False: [["pg_ctlcluster", "--skip-systemctl-redirect", "15", "chat", "stop", "-m", "fast"]]}),
    ("auth_files", {True: [], False: []}),
])
def test_argv_for(cluster, action, expected):
    argvs = cluster.argv_for(action, 5500, "C.UTF-8", True)
    assert argvs == expected[cluster.systemd]
    assert all("postgresql" not in argv for argv in argvs)


def test_systemd_enabled_without_systemd_needs_no_runner():
    assert _cluster.DebianCluster(None, 15, "chat", systemd=False).systemd_enabled() is True


def test_a_drop_removes_the_collectors_directory_too(cluster, tmp_path, monkeypatch):
    logs = tmp_path / "15-chat"
    monkeypatch.setattr(_cluster, "log_directory", lambda version, name: str(tmp_path / ("%d-%s" % (version, name))))
    assert cluster.argv_for("drop", 5500, "C.UTF-8", True) == [["pg_dropcluster", "--stop", "15", "chat"]]
    logs.mkdir()
    (logs / "postgresql-Wed.log").write_text("x\n")
    expected = [["pg_dropcluster", "--stop", "15", "chat"], ["rm", "-rf", str(logs)]]
    assert cluster.argv_for("drop", 5500, "C.UTF-8", True) == expected


def test_the_collectors_directory_is_per_version_and_name():
    assert _cluster.log_directory(15, "chat") == "/var/log/postgresql/15-chat"


def test_one_module_run_reads_the_host_clusters_once_however_many_jobs_ask():
    """Every instance's job asks for the host's clusters at the same time; pg_lsclusters runs once."""
    import threading
    import time

    from ansible_collections.darevel.postgres.plugins.module_utils._batch import run_all
    from ansible_collections.darevel.postgres.plugins.module_utils._instance import InstanceManager

    class Module:
        params = {"layout": "debian"}
        check_mode = False
        calls = []
        lock = threading.Lock()

        def get_bin_path(self, name):
            return "/usr/bin/" + name

        def run_command(self, argv, environ_update=None):
            with self.lock:
                self.calls.append(argv)
            time.sleep(0.05)  # long enough for every job to ask before the first answer
            return 0, LSCLUSTERS, ""

    manager = InstanceManager(Module())
    results, errors = run_all(list(range(6)), lambda _i: manager.clusters(), 6)
    assert errors == [] and len(results) == 6
    assert Module.calls == [["pg_lsclusters", "--no-header"]]
    assert all(found is results[0] for found in results) and (15, "chat") in results[0]
