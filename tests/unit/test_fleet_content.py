# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet's static content: inventories/prod parses and places each instance once, its Vault
example covers every password it refers to, and the rolling plays keep safe defaults."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROD = ROOT / "inventories" / "prod"
SIX = {"infra", "chat", "slides", "suite", "mail", "sheet"}


def test_prod_inventory_parses_and_places_each_instance_on_one_host():
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    out = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-inventory"), "-i", str(PROD), "--list"],
                         capture_output=True, text=True, env=env, check=True, timeout=60).stdout
    data = json.loads(out)
    hosts = data["postgres"]["hosts"]
    assert len(hosts) >= 3
    placed = [name for host in hosts for name in data["_meta"]["hostvars"][host]["postgres_instances_enabled"]]
    assert sorted(placed) == sorted(SIX), placed
    for host in hosts:
        assert data["_meta"]["hostvars"][host]["postgres_runtime"] == "native"
        assert data["_meta"]["hostvars"][host]["postgres_environment"] == "prod"


def test_every_vault_variable_the_inventory_uses_is_in_the_example():
    used = set(re.findall(r"\bvault_\w+", (PROD / "group_vars" / "postgres" / "main.yml").read_text()))
    example = yaml.safe_load((PROD / "group_vars" / "postgres" / "vault.yml.example").read_text())
    assert used == set(example), (used, set(example))
    assert used == {"vault_%s_%s_password" % (name, kind) for name in SIX for kind in ("owner", "app")}


def _plays(name: str) -> list:
    return yaml.safe_load((ROOT / "playbooks" / name).read_text())


def test_restart_checks_every_host_first_then_rolls_one_host_at_a_time():
    check, rolling = _plays("restart.yml")
    assert check["any_errors_fatal"] is True and "serial" not in check
    assert not any("pg_instance" in task or "pg_container" in task for task in check["tasks"])
    assert rolling["serial"] == "{{ postgres_restart_serial | default(1) }}"
    assert rolling["max_fail_percentage"] == "{{ postgres_restart_max_fail_percentage | default(0) }}"


def test_site_converges_every_host_at_once_unless_told_to_roll():
    preflight, converge = _plays("site.yml")
    assert preflight["any_errors_fatal"] is True
    assert converge["serial"] == "{{ postgres_converge_serial | default('100%') }}"
    assert converge["max_fail_percentage"] == "{{ postgres_converge_max_fail_percentage | default(100) }}"
