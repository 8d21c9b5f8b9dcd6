# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scheduled backup runs _backup.cli from a copy of module_utils, without Ansible: the files
the backup role copies must hold every module that code can import, on either runtime (each
runtime's path is imported lazily, so a missing file fails only on the schedule)."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from unit.conftest import REPO_ROOT

PREFIX = "ansible_collections.darevel.postgres.plugins.module_utils."
MODULE_UTILS = Path(REPO_ROOT) / "plugins" / "module_utils"


def imported(relpath: str) -> set[str]:
    """The module_utils files one file imports anywhere in it (top level and inside functions)."""
    found = set()
    for node in ast.walk(ast.parse((MODULE_UTILS / relpath).read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PREFIX[:-1]):
            base = node.module[len(PREFIX):] if node.module.startswith(PREFIX) else ""
            names = [base] if base else []
            names += ["%s.%s" % (base, alias.name) if base else alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name[len(PREFIX):] for alias in node.names if alias.name.startswith(PREFIX)]
        for name in names:
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):
                path = "/".join(parts[:depth])
                if (MODULE_UTILS / (path + ".py")).is_file():
                    found.add(path + ".py")
                elif (MODULE_UTILS / path / "__init__.py").is_file():
                    found.add(path + "/__init__.py")
    return found


def closure(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        relpath = todo.pop()
        if relpath in seen:
            continue
        seen.add(relpath)
        todo += sorted(imported(relpath) - seen)
    return seen


def copied() -> set[str]:
    tasks = yaml.safe_load((Path(REPO_ROOT) / "roles" / "backup" / "tasks" / "schedule.yml").read_text())
    task = next(t for t in tasks if t.get("name") == "Install the backup code")
    return set(task["loop"])


def test_the_scheduled_backup_carries_every_module_its_code_imports():
    needed = closure("_backup.py") | {"__init__.py"}
    assert {"_runtime/docker.py", "_runtime/native.py", "_engine.py"} <= needed, needed
    assert sorted(needed - copied()) == [], "add them to the loop of 'Install the backup code'"


def test_the_scheduled_backup_imports_on_both_runtimes_from_the_copy_alone(tmp_path):
    """The copied files alone, as the timer sees them: importing each runtime's path works."""
    import subprocess
    import sys
    root = tmp_path / "ansible_collections" / "darevel" / "postgres" / "plugins" / "module_utils"
    for relpath in copied():
        target = root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text((MODULE_UTILS / relpath).read_text())
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from ansible_collections.darevel.postgres.plugins.module_utils._backup import cli\n"
            "from ansible_collections.darevel.postgres.plugins.module_utils._runtime import native, docker\n"
            "print('ok')" % str(tmp_path))
    proc = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=60, check=False,
                          cwd=str(tmp_path))
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
