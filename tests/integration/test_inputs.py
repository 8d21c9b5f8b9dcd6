# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inputs on a real cluster (ports 25600-25609): a legal settings value with a quote, spaces and a
backslash is written so that the server reads it back unchanged; a value that would add its own
configuration line is refused by preflight before anything changes; and a backup run after the
clock stepped back (a backup from the future already there) keeps the backup it has just made.
"""

from __future__ import annotations

import json
import os
import shutil
import sys

import pytest
import yaml

from conftest import REPO, clusters, drop_cluster, psql

sys.path.insert(0, str(REPO))
from ansible_collections.darevel.postgres.plugins.module_utils import _manifest  # noqa: E402

SITE = REPO / "playbooks" / "site.yml"
BACKUP = REPO / "playbooks" / "backup.yml"
NOTE = "it's a value with  spaces, a \\ backslash and C:\\new"
ENTRY = {"name": "it_inputs", "port": 25600, "database": "it_inputs",
         "settings": {"cluster_name": "it's inputs", "darevel.note": NOTE}}
BAD = [dict(ENTRY, settings={"application_name": "x'\npassword_encryption = md5"}),
       {"name": "it_inputs_bad", "port": 25601, "database": "it_inputs_bad", "owner": "postgres",
        "settings": {"archive_command": "sh /tmp/x.sh %p", "shared_preload_libraries": "/tmp/evil.so"}}]
SETTINGS_FILE = "/etc/postgresql/15/it_inputs/conf.d/50-darevel-settings.conf"


@pytest.fixture(scope="module")
def site(ansible, scratch):
    for sub in ("in-credentials", "in-env", "in-reports"):
        (scratch / sub).mkdir(mode=0o700, exist_ok=True)
    extra = {"postgres_runtime": "native", "postgres_backup_root": str(scratch / "in-backups"),
             "postgres_tuning_memory_mb": 4096, "postgres_tuning_cpus": 2,
             "postgres_credentials_dir": str(scratch / "in-credentials"), "postgres_env_dir": str(scratch / "in-env"),
             "postgres_reports_dir": str(scratch / "in-reports")}
    run = ansible.run(SITE, dict(extra, postgres_instances=[ENTRY]))
    yield {"vars": extra, "first": run, "root": scratch / "in-backups"}
    for name in ("it_inputs", "it_inputs_bad"):
        drop_cluster(name)


def test_a_value_with_quotes_spaces_and_backslashes_reaches_the_server_unchanged(site, ansible):
    assert site["first"].rc == 0, site["first"].explain()
    assert psql(ENTRY["port"], "SHOW cluster_name") == "it's inputs"
    assert psql(ENTRY["port"], "SHOW darevel.note") == NOTE
    again = ansible.run(SITE, dict(site["vars"], postgres_instances=[ENTRY]))
    assert again.rc == 0 and again.changed == 0, again.explain()


def test_a_value_that_would_add_a_configuration_line_is_refused_before_any_change(site, ansible):
    assert site["first"].rc == 0, site["first"].explain()
    before = (os.stat(SETTINGS_FILE).st_mtime_ns, open(SETTINGS_FILE).read())
    run = ansible.run(SITE, dict(site["vars"], postgres_instances=BAD))
    assert run.rc != 0
    failed = run.failed_results()
    message = " ".join(str(r.get("msg")) for r in failed)
    assert "Preflight found" in message, run.explain()
    # Every problem at once, each naming the instance, the value and the fix.
    assert "instance 'it_inputs': settings.application_name" in message and "control character" in message
    assert "instance 'it_inputs_bad': owner 'postgres' is reserved" in message
    assert "instance 'it_inputs_bad': settings key 'archive_command' is refused" in message
    assert "instance 'it_inputs_bad': settings.shared_preload_libraries '/tmp/evil.so' names a library" in message
    assert message.count("fix:") >= 4
    assert (os.stat(SETTINGS_FILE).st_mtime_ns, open(SETTINGS_FILE).read()) == before
    assert "it_inputs_bad" not in clusters()
    assert psql(ENTRY["port"], "SHOW password_encryption") == "scram-sha-256"


def test_after_the_clock_stepped_back_the_fresh_backup_survives_retention(site, ansible):
    assert site["first"].rc == 0, site["first"].explain()
    policy = {"postgres_backup_keep_last": 1, "postgres_backup_keep_daily": 0, "postgres_backup_keep_weekly": 0}
    extra = dict(site["vars"], postgres_instances=[ENTRY], **policy)
    first = ansible.run(BACKUP, extra)
    assert first.rc == 0, first.explain()
    directory = site["root"] / ENTRY["name"]
    made = first.task("Back up the instances")["instances"][0]["backup_id"]
    # A backup taken while the clock ran years ahead, by a version that wrote no sequence number.
    future = "29990101T000000Z"
    shutil.copytree(directory / made, directory / future)
    manifest = json.loads((directory / future / "manifest.json").read_text())
    manifest["backup_id"] = future
    manifest.pop("sequence", None)
    (directory / future / "manifest.json").write_text(json.dumps(manifest))
    second = ansible.run(BACKUP, extra)
    assert second.rc == 0, second.explain()
    result = second.task("Back up the instances")["instances"][0]
    fresh = result["backup_id"]
    complete = sorted(n for n in os.listdir(directory) if _manifest.ID_RE.match(n))
    assert fresh in complete and fresh in result["retention"]["kept"], result["retention"]
    assert future in result["retention"]["deleted"] and complete == [fresh]
    assert _manifest.load(str(directory / fresh))["sequence"] == 2


def test_host_variables_that_reach_units_and_scripts_are_refused_at_once(site, ansible):
    assert site["first"].rc == 0, site["first"].explain()
    before = (os.stat(SETTINGS_FILE).st_mtime_ns, open(SETTINGS_FILE).read())
    hostile = {"postgres_backup_root": "/var/backups/my backups",
               "postgres_env_dir": "/etc/darevel/../../tmp",
               "postgres_backup_cron_time": "30 2 * * *\n* * * * * root sh /tmp/x",
               "postgres_docker_image": "postgres:15 --privileged",
               "postgres_locale": "C.UTF-8 --auth=trust"}
    run = ansible.run(SITE, dict(site["vars"], postgres_instances=[ENTRY], **hostile))
    assert run.rc != 0
    message = " ".join(str(r.get("msg")) for r in run.failed_results())
    assert "Preflight found" in message, run.explain()
    for name, value in hostile.items():
        assert "host: %s %r" % (name, value) in message, (name, message)
    assert message.count("fix:") >= len(hostile)
    assert (os.stat(SETTINGS_FILE).st_mtime_ns, open(SETTINGS_FILE).read()) == before
    assert not os.path.exists("/var/backups/my backups")


def test_a_bad_converge_input_on_one_host_stops_every_host_before_any_change(site, ansible, scratch):
    """The converge's roles are imported without their argument check: the preflight play checks
    their inputs instead, on every host, and one host's bad value stops them all."""
    assert site["first"].rc == 0, site["first"].explain()
    before = (os.stat(SETTINGS_FILE).st_mtime_ns, open(SETTINGS_FILE).read())
    inventory = scratch / "inventory-inputs"
    (inventory / "host_vars").mkdir(parents=True, exist_ok=True)
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"postgres": {"hosts": {
        name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable} for name in ("db1", "db2")}}}))
    (inventory / "host_vars" / "db2.yml").write_text(yaml.safe_dump({
        "postgres_instance_state": "bogus", "postgres_workers": "many", "postgres_status_probe": "perhaps"}))
    variables = dict(site["vars"], postgres_instances=[dict(ENTRY, settings=dict(ENTRY["settings"], work_mem="7MB"))])
    run = ansible.run(SITE, variables, args=["-i", str(inventory)])
    assert run.rc != 0
    tasks = [t for play in run.data["plays"] for t in play["tasks"]]
    preflight = next(t for t in tasks if "Check the catalogue, ports and disk" in t["task"]["name"])
    assert not preflight["hosts"]["db1"].get("failed"), run.explain()
    message = preflight["hosts"]["db2"]["msg"]
    assert "host db2: value of postgres_instance_state must be one of: " in message and "got: bogus (an input of instance:converge)" in message
    assert "host db2: argument 'postgres_workers'" in message and "'many'" in message
    assert "host db2: argument 'postgres_status_probe'" in message and "(an input of status:converge)" in message
    assert message.count("fix: a value as docs/reference/roles/") == 3, message
    assert run.data["stats"]["db2"]["failures"] == 1 and run.data["stats"]["db1"]["changed"] == 0
    assert not [t for t in tasks if "Create and start the instances" in t["task"]["name"]], run.explain()
    assert (os.stat(SETTINGS_FILE).st_mtime_ns, open(SETTINGS_FILE).read()) == before


def test_inputs_that_refer_to_the_converge_roles_defaults_and_the_plan_converge(site, ansible, scratch):
    """The preflight play checks the converge's inputs where the converge roles' defaults and the
    preflight's facts are not in scope yet: values that refer to them are read as where they run.
    And the preflight runs under --tags, so a converge of the databases alone has its plan."""
    assert site["first"].rc == 0, site["first"].explain()
    # The fixture's host name: the same credentials, so nothing is changed.
    inventory = scratch / "inventory-refs"
    (inventory / "host_vars").mkdir(parents=True, exist_ok=True)
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"postgres": {"hosts": {
        "localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    # postgres_status_probe and postgres_instance_state: other roles' defaults; postgres_runtime_in_use
    # and postgres_plan: the preflight's facts.
    (inventory / "host_vars" / "localhost.yml").write_text(yaml.safe_dump({
        "postgres_workers": "{{ 3 if postgres_status_probe else 2 }}",
        "postgres_firewall_file": "{{ postgres_env_dir }}/{{ postgres_instance_state }}.nft",
        "postgres_layout": "{{ 'generic' if postgres_runtime_in_use == 'docker' else 'auto' }}",
        "postgres_locale": "{{ 'C.UTF-8' if postgres_plan | length > 0 else 'C' }}"}))
    variables = dict(site["vars"], postgres_instances=[ENTRY])
    run = ansible.run(SITE, variables, args=["-i", str(inventory)])
    assert run.rc == 0 and run.changed == 0, run.explain()
    names = [t["task"]["name"] for play in run.data["plays"] for t in play["tasks"]]
    assert any("Create and start the instances" in n for n in names), names
    alone = ansible.run(SITE, variables, args=["-i", str(inventory), "--tags", "database"])
    assert alone.rc == 0 and alone.changed == 0, alone.explain()
    names = [t["task"]["name"] for play in alone.data["plays"] for t in play["tasks"]]
    assert any("Check the catalogue, ports and disk" in n for n in names), names
    assert any("Ensure each instance's database" in n for n in names), names
    assert not any("Create and start the instances" in n or "Read the instances" in n for n in names), names
    # A value that refers to the plan is still checked, once the plan is known: before any change.
    (inventory / "host_vars" / "localhost.yml").write_text(yaml.safe_dump({
        "postgres_layout": "{{ postgres_runtime_in_use }}-layout"}))
    bad = ansible.run(SITE, variables, args=["-i", str(inventory)])
    assert bad.rc != 0
    message = " ".join(str(r.get("msg")) for r in bad.failed_results())
    assert "Preflight found 1 problem(s)" in message and "postgres_layout" in message and "native-layout" in message, bad.explain()
    assert "(an input of instance:converge)" in message and "fix: a value as docs/reference/roles/instance.md" in message
    names = [t["task"]["name"] for play in bad.data["plays"] for t in play["tasks"]]
    assert not any("Create and start the instances" in n for n in names), names
    # With a problem of the catalogue too, there is no plan: the value is named as not checked, with
    # the catalogue's problem and a bad value that needs no plan, all at once.
    (inventory / "host_vars" / "localhost.yml").write_text(yaml.safe_dump({
        "postgres_layout": "{{ postgres_plan | length }}", "postgres_status_probe": "perhaps"}))
    both = ansible.run(SITE, dict(variables, postgres_instances=[dict(ENTRY, port=70000)]), args=["-i", str(inventory)])
    assert both.rc != 0
    message = " ".join(str(r.get("msg")) for r in both.failed_results())
    assert "Preflight found 3 problem(s)" in message and "70000" in message, both.explain()
    assert "host localhost: postgres_layout was not checked: 'postgres_plan' is undefined" in message
    assert "host localhost: argument 'postgres_status_probe'" in message and "(an input of status:converge)" in message
