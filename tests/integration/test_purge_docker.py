# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verb playbooks against extra vars, on the docker runtime of this machine's engine: one
inventory host (pv) with three instances, it_pv_a, it_pv_b and it_pv_c (containers it-pv-*,
ports 26670-26672).

Extra vars have the highest precedence in Ansible, so a value a playbook passed to a role under a
user-facing name (postgres_instances_enabled, postgres_check_ports, apps) was replaced by the
command line's: purge.yml then read a catalogue without the instance it was asked to purge. The
tests run in file order: converge, status with -e postgres_check_ports=true while a stopped
instance's port is held, purge of two instances with -e apps= and -e postgres_instances_enabled."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest
import yaml

from conftest import REPO, need_docker

SITE, PURGE, STATUS, STOP = (REPO / "playbooks" / name for name in ("site.yml", "purge.yml", "status.yml", "stop.yml"))
IMAGE = "darevel-test/postgres:15"
ITEMS = [{"name": "it_pv_%s" % key, "port": 26670 + index, "database": "it_pv_%s" % key,
          "container": "it-pv-%s" % key, "volume": "it-pv-%s-data" % key} for index, key in enumerate("abc")]
A, B, C = ITEMS


def docker(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=120, check=False)


# Entries whose container or volume is not the instance's: another project's container that
# happens to have the name, and a volume nobody labelled for the instance.
FOREIGN_CONTAINER, FOREIGN_VOLUME = "it-pv-foreign", "it-pv-foreign-data"
D = {"name": "it_pv_d", "port": 26673, "database": "it_pv_d", "container": FOREIGN_CONTAINER, "volume": "it-pv-d-data"}
E = {"name": "it_pv_e", "port": 26674, "database": "it_pv_e", "container": "it-pv-e", "volume": FOREIGN_VOLUME}


def remove_scratch() -> None:
    for item in ITEMS + [D, E]:
        docker("rm", "-f", "-v", item["container"])
        docker("volume", "rm", item["volume"])


def state(name: str) -> str:
    return docker("inspect", "-f", "{{.State.Status}}", name).stdout.strip() or "absent"


def volume_exists(name: str) -> bool:
    return docker("volume", "inspect", name).returncode == 0


def write_inventory(scratch, enabled: list[str], items: list[dict] = ITEMS):
    root = scratch / "purge-docker"
    host = {"postgres_instances": items, "postgres_instances_enabled": enabled}
    for key, var in (("env", "env_dir"), ("backups", "backup_root"), ("reports", "reports_dir"),
                     ("credentials", "credentials_dir")):
        (root / key).mkdir(parents=True, exist_ok=True, mode=0o700)
        host["postgres_%s" % var] = str(root / key)
    group = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
             "postgres_runtime": "docker", "postgres_docker_image": "darevel-test/postgres:{version}",
             "postgres_tuning_memory_mb": 2048, "postgres_tuning_cpus": 1}
    path = root / "hosts.yml"
    path.write_text(yaml.safe_dump({"postgres": {"hosts": {"pv": host}, "vars": group}}, sort_keys=False))
    return path


def run(ansible, playbook, inv, *extra: str, check: bool = False):
    return ansible.run(playbook, args=["-i", str(inv), *extra], check=check)


def failure_text(result) -> str:
    return " ".join(str(r.get("msg", "")) for r in result.failed_results()) + result.stdout[-3000:]


@pytest.fixture(scope="module")
def converged(ansible, scratch):
    need_docker(IMAGE)
    remove_scratch()
    first = run(ansible, SITE, write_inventory(scratch, ["it_pv_a", "it_pv_b", "it_pv_c"]))
    assert first.rc == 0, first.explain()
    stopped = run(ansible, STOP, write_inventory(scratch, ["it_pv_a", "it_pv_b", "it_pv_c"]), "-e", "apps=it_pv_a,it_pv_b")
    assert stopped.rc == 0, stopped.explain()
    assert [state(i["container"]) for i in ITEMS] == ["exited", "exited", "running"]
    yield scratch
    remove_scratch()


def test_status_reports_a_held_port_despite_check_ports_on_the_command_line(converged, ansible, scratch):
    """status.yml reads, it does not refuse: -e postgres_check_ports=true used to override the
    playbook's false and fail the preflight on the port of the stopped it_pv_a that a listener holds."""
    inv = write_inventory(scratch, ["it_pv_a", "it_pv_b", "it_pv_c"])
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", A["port"]))
        holder.listen(1)
        result = run(ansible, STATUS, inv, "-e", "postgres_check_ports=true")
    assert result.rc == 0, result.explain()
    rows = {r["name"]: r for r in json.loads((scratch / "purge-docker" / "reports" / "pv" / "status.json").read_text())["instances"]}
    assert rows["it_pv_a"]["state"] == "stopped" and rows["it_pv_c"]["state"] == "started"


def test_purge_of_several_apps_needs_the_same_names_confirmed(converged, ansible, scratch):
    inv = write_inventory(scratch, ["it_pv_c"])
    refused = run(ansible, PURGE, inv, "-e", "apps=it_pv_a,it_pv_b", "-e", "host=pv", "-e", "confirm_purge=it_pv_a")
    assert refused.rc != 0
    assert "confirm_purge: it_pv_a is not it_pv_a,it_pv_b; fix: add -e confirm_purge=it_pv_a,it_pv_b" in \
        failure_text(refused), refused.explain()
    assert all(volume_exists(i["volume"]) for i in ITEMS)
    # One instance that cannot be purged (it runs) stops the others too, every problem named.
    running = run(ansible, PURGE, inv, "-e", "apps=it_pv_a,it_pv_c", "-e", "host=pv",
                  "-e", "confirm_purge=it_pv_a,it_pv_c")
    assert running.rc != 0
    assert "instance it_pv_c is running on pv" in failure_text(running), running.explain()
    assert "instance it_pv_c is still in pv's postgres_instances_enabled" in failure_text(running)
    assert state(A["container"]) == "exited" and volume_exists(A["volume"])


def test_a_container_of_that_name_that_is_not_the_instance_s_stops_the_converge(converged, ansible, scratch):
    """Another project's container named like an entry's container: the converge (which would
    replace a container whose configuration differs) refuses, for every instance, before any change."""
    assert docker("create", "--name", FOREIGN_CONTAINER, "--label", "project=other", IMAGE).returncode == 0
    inv = write_inventory(scratch, ["it_pv_a", "it_pv_b", "it_pv_c", "it_pv_d"], ITEMS + [D])
    refused = run(ansible, SITE, inv)
    assert refused.rc != 0
    assert "instance 'it_pv_d': container %s exists but is not the instance's" % FOREIGN_CONTAINER in \
        failure_text(refused), refused.explain()
    assert docker("inspect", "-f", "{{index .Config.Labels \"project\"}}", FOREIGN_CONTAINER).stdout.strip() == "other"
    assert [state(i["container"]) for i in ITEMS] == ["exited", "exited", "running"]  # a and b not started
    assert not volume_exists(D["volume"])
    run(ansible, STOP, inv, "-e", "apps=it_pv_d")
    assert state(FOREIGN_CONTAINER) == "created"


def test_purge_never_deletes_a_volume_that_is_not_the_instance_s(converged, ansible, scratch):
    """An entry whose volume exists but was never the instance's (no label, no container of the
    instance mounts it): purge refuses it, and purges none of the instances asked for."""
    assert docker("volume", "create", "--label", "project=other", FOREIGN_VOLUME).returncode == 0
    inv = write_inventory(scratch, ["it_pv_c"], ITEMS + [E])
    refused = run(ansible, PURGE, inv, "-e", "apps=it_pv_a,it_pv_e", "-e", "host=pv",
                  "-e", "confirm_purge=it_pv_a,it_pv_e")
    assert refused.rc != 0
    text = failure_text(refused)
    assert "instance 'it_pv_e': volume %s is not deleted" % FOREIGN_VOLUME in text and "nothing was purged" in text, \
        refused.explain()
    assert volume_exists(FOREIGN_VOLUME)
    assert state(A["container"]) == "exited" and volume_exists(A["volume"])


def test_purge_two_apps_with_the_enabled_list_on_the_command_line(converged, ansible, scratch):
    """The inventory still names the three; the command line says pv runs only it_pv_c. That
    override used to replace the whole catalogue purge.yml reads ('not in the catalogue')."""
    inv = write_inventory(scratch, ["it_pv_a", "it_pv_b", "it_pv_c"])
    enabled = json.dumps({"postgres_instances_enabled": ["it_pv_c"]})
    args = ("-e", enabled, "-e", "apps=it_pv_a,it_pv_b", "-e", "host=pv", "-e", "confirm_purge=it_pv_b,it_pv_a")
    checked = run(ansible, PURGE, inv, *args, check=True)
    assert checked.rc == 0, checked.explain()
    assert all(volume_exists(i["volume"]) for i in ITEMS)

    purged = run(ansible, PURGE, inv, *args)
    assert purged.rc == 0, purged.explain()
    assert [state(i["container"]) for i in ITEMS] == ["absent", "absent", "running"]
    assert [volume_exists(i["volume"]) for i in ITEMS] == [False, False, True]
    report = json.loads((scratch / "purge-docker" / "reports" / "pv" / "purge.json").read_text())
    assert [(r["instance"], r["result"]) for r in report["rows"]] == [("it_pv_a", "purged"), ("it_pv_b", "purged")]
    assert report["rows"][0]["removed"] == ["container it-pv-a", "volume it-pv-a-data"]

    again = run(ansible, PURGE, inv, *args)
    assert again.rc == 0, again.explain()
    assert again.data["stats"]["pv"]["changed"] == 0
    assert "nothing to purge" in again.stdout


def test_a_single_app_purge_with_the_enabled_list_on_the_command_line(converged, ansible, scratch):
    """The issue's case, one app and -e app=: the instance is found although the command line's
    postgres_instances_enabled leaves it out (here it_pv_a, already gone: nothing to purge)."""
    inv = write_inventory(scratch, ["it_pv_a", "it_pv_c"])
    result = run(ansible, PURGE, inv, "-e", json.dumps({"postgres_instances_enabled": ["it_pv_c"]}),
                 "-e", "app=it_pv_a", "-e", "host=pv", "-e", "confirm_purge=it_pv_a")
    assert result.rc == 0, result.explain()
    assert "is not in the catalogue" not in result.stdout
    assert state(C["container"]) == "running" and volume_exists(C["volume"])
