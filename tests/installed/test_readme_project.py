# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The README's section "Use it from your own project", run as it is written.

The test reads the section itself: its yaml blocks are the project's files (the first line names
the file), its bash blocks the commands, run one by one in their order, and the one edit its prose
asks for (`set `...` in `FILE``) is applied where the prose asks for it. So README and test cannot
drift apart: a changed command, file or edit there is a changed test here.

What the test changes, and only through documented variables:
- PROJECT, the project directory the section names, is a scratch directory;
- the catalogue's two ports are replaced by PORTS (nothing else uses them), and
  postgres_credentials_dir and postgres_env_dir point into the scratch directory, so that the run
  stays off the machine's defaults (~/.darevel-postgres, /etc/darevel) and the seed's ports;
- the environment: no ANSIBLE_* variable (so no ANSIBLE_CONFIG: no ansible.cfg at all, Ansible's
  stock default callback), and this repository's virtualenv first on PATH, as the section says.

The instances are native clusters named as the section names them, on PORTS; a cluster of that
name on another port is someone else's and stops the test before anything changes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
SECTION = "Use it from your own project"
VENV_BIN = REPO / ".venv" / "bin"
VERSION = 15
PORTS = [26801, 26802]
FORBIDDEN_PORTS = {5432} | set(range(5433, 5439))
GROUP_VARS = "inventory/group_vars/postgres.yml"
RECAP = re.compile(r"^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


# --------------------------------------------------------------------------- the README section


@dataclass
class Section:
    text: str
    files: dict[str, str]      # path relative to PROJECT -> content
    commands: list[str]        # the bash blocks' commands, in order
    edit: tuple[str, str]      # (yaml snippet, file) of the prose's "set `...` in `FILE`"
    edit_at: int               # index in commands before which the edit is applied


def fenced(text: str) -> list[tuple[str, str, int]]:
    """(language, body, offset) of each fenced block."""
    return [(m.group(1), m.group(2), m.start())
            for m in re.finditer(r"^```(\w*)\n(.*?)^```\s*$", text, re.S | re.M)]


def commands_of(body: str) -> list[str]:
    """One entry per command: comment lines and blank lines dropped, continuations joined."""
    out, pending = [], ""
    for line in body.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append(pending + line)
        pending = ""
    assert not pending, "a command ends with a backslash: %r" % pending
    return out


def read_section() -> Section:
    readme = README.read_text()
    match = re.search(r"^## %s\n(.*?)(?=^## )" % re.escape(SECTION), readme, re.S | re.M)
    assert match, "README.md has no section %r" % SECTION
    text = match.group(1)
    files, commands, command_offsets = {}, [], []
    for language, body, offset in fenced(text):
        if language == "yaml":
            first, _newline, rest = body.partition("\n")
            name = re.match(r"^#\s*(\S+)\s*$", first)
            assert name, "a yaml block of the section does not name its file in its first line: %r" % first
            files[name.group(1)] = rest
        elif language == "bash":
            for command in commands_of(body):
                commands.append(command)
                command_offsets.append(offset)
    prose = re.sub(r"^```.*?^```\s*$", "", text, flags=re.S | re.M)
    edit = re.compile(r"\bset\s+`([^`]+)`\s+in\s+`([^`]+)`")
    edits = edit.findall(prose)
    assert len(edits) == 1, "expected one edit (set `...` in `FILE`) in the prose, found %s" % edits
    where = edit.search(text).start()
    edit_at = next((i for i, off in enumerate(command_offsets) if off > where), len(commands))
    return Section(text, files, commands, edits[0], edit_at)


def project_files(section: Section, scratch: Path) -> dict[str, str]:
    """The section's files with the test's ports and paths (see the module's docstring)."""
    files = dict(section.files)
    data = yaml.safe_load(files[GROUP_VARS])
    entries = data["postgres_instances"]
    assert len(entries) == len(PORTS), "the section's catalogue has %d instances, the test has %d ports" % (
        len(entries), len(PORTS))
    for entry, port in zip(entries, PORTS):
        entry["port"] = port
    data["postgres_credentials_dir"] = str(scratch / "credentials")
    data["postgres_env_dir"] = str(scratch / "env")
    files[GROUP_VARS] = yaml.safe_dump(data, sort_keys=False)
    return files


def instances(section: Section) -> list[dict]:
    """The catalogue as the test runs it: the section's names and databases on PORTS."""
    entries = yaml.safe_load(section.files[GROUP_VARS])["postgres_instances"]
    return [dict(entry, port=port) for entry, port in zip(entries, PORTS)]


# --------------------------------------------------------------------------- the machine


def clusters() -> dict[str, dict]:
    proc = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=False)
    found = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[0].isdigit():
            found[parts[1]] = {"version": int(parts[0]), "port": int(parts[2]), "status": parts[3],
                               "data_dir": parts[5]}
    return found


def listening_ports() -> set[int]:
    out = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True, check=False).stdout
    return {int(p.rsplit(":", 1)[-1]) for p in (line.split()[3] for line in out.splitlines() if len(line.split()) >= 4)
            if p.rsplit(":", 1)[-1].isdigit()}


def drop_ours(names: list[str]) -> None:
    """Drop the clusters of these names that sit on the test's ports (this test's, maybe left by a
    killed run); a cluster of that name on another port is not ours and is left alone."""
    for name, facts in clusters().items():
        if name in names and facts["port"] in PORTS:
            subprocess.run(["pg_dropcluster", "--stop", str(facts["version"]), name], capture_output=True,
                           check=False)


def logins(section: Section, scratch: Path) -> dict[str, object]:
    """Per instance: (current_user, current_database()) of its owner's login over TCP with the
    stored password, or why the login failed."""
    found = {}
    for entry in instances(section):
        owner = "%s_owner" % entry["database"]
        path = scratch / "credentials" / "localhost" / ("%s.owner.password" % entry["name"])
        try:
            conn = psycopg2.connect(host="127.0.0.1", port=entry["port"], user=owner, password=path.read_text().strip(),
                                    dbname=entry["database"], connect_timeout=10)
        except (OSError, psycopg2.Error) as exc:
            found[entry["name"]] = "no login: %s" % str(exc).strip()
            continue
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT current_user, current_database()")
                found[entry["name"]] = tuple(cur.fetchone())
        finally:
            conn.close()
    return found


def outside_files(names: list[str]) -> dict[str, bool]:
    """Whether the machine's default places for the instances' env files and passwords exist:
    the documented variables keep the test's own files in its scratch directory."""
    home = Path(os.environ.get("HOME", "/root"))
    paths = ["/etc/darevel"] + ["/etc/darevel/postgres/%s.env" % n for n in names] + [
        str(home / ".darevel-postgres" / "credentials" / "localhost" / ("%s.%s.password" % (n, kind)))
        for n in names for kind in ("owner", "app")]
    return {path: os.path.exists(path) for path in paths}


def production() -> dict:
    return {n: (f["port"], f["status"]) for n, f in clusters().items()
            if n == "main" or f["port"] in FORBIDDEN_PORTS}


# --------------------------------------------------------------------------- running the section


@dataclass
class Run:
    command: str
    rc: int
    stdout: str
    stderr: str

    @property
    def recap(self) -> dict:
        found = RECAP.findall(self.stdout)
        assert len(found) == 1, "no single PLAY RECAP line for localhost in:\n%s" % self.explain()
        ok, changed, unreachable, failed = map(int, found[0])
        return {"ok": ok, "changed": changed, "unreachable": unreachable, "failed": failed}

    def explain(self) -> str:
        return "command: %s\nrc: %d\nstdout (tail):\n%s\nstderr (tail):\n%s" % (
            self.command, self.rc, self.stdout[-6000:], self.stderr[-3000:])


class Project:
    """Runs the section's commands the way a shell would: each one after the `cd` and `export`
    lines before it, from this repository, in a user's environment without ANSIBLE_* variables."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.state: list[str] = []
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("ANSIBLE_") and k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        env["PATH"] = "%s:%s" % (VENV_BIN, env.get("PATH", ""))
        env.update({"PROJECT": str(path), "PYTHONDONTWRITEBYTECODE": "1"})
        self.env = env

    def run(self, command: str, timeout: int = 600) -> Run:
        script = "\n".join(["set -euo pipefail"] + self.state + [command])
        proc = subprocess.run(["bash", "-c", script], cwd=REPO, env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        if re.match(r"^(cd|export)\s", command):
            self.state.append(command)
        return Run(command, proc.returncode, proc.stdout, proc.stderr)


def table_problems(stdout: str, rows: list[str]) -> list[str]:
    """What keeps the tables from reading as tables: a literal \\n inside a printed string, a header
    or an instance's row that is not a line of its own. `rows` are regexes of the rows' starts."""
    problems = ["literal \\n in a printed line: %s" % line.strip()[:160]
                for line in stdout.splitlines() if "\\n" in line]
    for header in (r"name\s+port\s+state\s+accepting", r"name\s+port\s+database\s+user\s+state\s+connect"):
        if not re.search(r'^\s*"?%s' % header, stdout, re.M):
            problems.append("no line of its own for the table header %r" % header)
    for row in rows:
        if not re.search(r'^\s*"?%s' % row, stdout, re.M):
            problems.append("no line of its own for the row %r" % row)
    return problems


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def section() -> Section:
    return read_section()


@pytest.fixture(scope="module")
def names(section) -> list[str]:
    return [entry["name"] for entry in instances(section)]


@pytest.fixture(scope="module")
def scratch(names):
    """A scratch directory (project, credentials, env files); the section's clusters on PORTS are
    dropped before and after, also on failure."""
    foreign = {n: f["port"] for n, f in clusters().items() if n in names and f["port"] not in PORTS}
    if foreign:
        pytest.fail("clusters %s exist on other ports than the test's %s: not this test's; nothing was changed"
                    % (foreign, PORTS))
    drop_ours(names)
    busy = set(PORTS) & listening_ports()
    if busy:
        pytest.fail("ports %s are held by something else; free them first (nothing was changed)" % sorted(busy))
    # Not tmp_path_factory: other pytest runs on this machine rotate its base directory away.
    root = Path(tempfile.mkdtemp(prefix="darevel-installed-"))
    for sub in ("credentials", "env"):
        (root / sub).mkdir(mode=0o700)
    before = production()
    (root / "outside-before.json").write_text(json.dumps(outside_files(names)))
    try:
        yield root
    finally:
        drop_ours(names)
        shutil.rmtree(root, ignore_errors=True)
        assert production() == before, "a non-test cluster changed: %s -> %s" % (before, production())


@pytest.fixture(scope="module")
def project(section, scratch):
    """The section run up to its first purge: the install, the files, every ansible-playbook run."""
    path = scratch / "project"
    proj = Project(path)
    runs: dict[str, list[Run]] = {"setup": [], "site": [], "status": [], "stop": [], "purge": []}
    for index, command in enumerate(section.commands[:section.edit_at]):
        if "ansible-playbook" not in command:
            run = proj.run(command)
            assert run.rc == 0, run.explain()
            runs["setup"].append(run)
            continue
        if not runs["site"]:
            # The files are written once the collection is installed, before the first playbook.
            for name, content in project_files(section, scratch).items():
                (path / name).parent.mkdir(parents=True, exist_ok=True)
                (path / name).write_text(content)
            runs["version"] = [proj.run("ansible --version")]
            runs["collections"] = [proj.run("ansible-galaxy collection list darevel.postgres --format json")]
        words = command.split(" #")[0].split()
        kind = ("stop" if "darevel.postgres.stop" in words else "status" if "status.yml" in words
                else "site" if "site.yml" in words else None)
        assert kind, "command %d of the section is not one the test knows: %s" % (index, command)
        runs[kind].append(proj.run(command))
        # What the run left, read right away: later commands of the section change it.
        runs.setdefault("after_" + kind, []).append({"clusters": clusters(), "logins": logins(section, scratch)})
    runs["project"] = proj
    return runs


@pytest.fixture(scope="module")
def purged(section, project, scratch):
    """The rest of the section: the prose's edit, then the purge commands."""
    snippet, name = section.edit
    target = scratch / "project" / name
    data = yaml.safe_load(target.read_text())
    data.update(yaml.safe_load(snippet))
    target.write_text(yaml.safe_dump(data, sort_keys=False))
    runs = []
    for command in section.commands[section.edit_at:]:
        assert "darevel.postgres.purge" in command, "after the edit the section only purges: %s" % command
        runs.append(project["project"].run(command))
    return runs


# --------------------------------------------------------------------------- tests


def test_the_section_names_its_files_commands_and_edit(section):
    assert sorted(section.files) == sorted(["inventory/hosts.yml", GROUP_VARS, "site.yml", "status.yml"])
    for name, content in section.files.items():
        yaml.safe_load(content)
    assert any(c.startswith("ansible-galaxy collection build") for c in section.commands), section.commands
    assert any(c.startswith("ansible-galaxy collection install") and "--no-deps" in c for c in section.commands)
    playbooks = [c for c in section.commands if c.startswith("ansible-playbook")]
    assert [c for c in playbooks if "site.yml" in c][1:], "the section runs site.yml only once: %s" % playbooks
    assert section.edit == ("postgres_instances_enabled: []", GROUP_VARS)
    assert [c for c in section.commands[section.edit_at:] if "darevel.postgres.purge" in c], section.commands
    # The section's catalogue is enabled as a whole, and is not the seed's (5433-5438, its names).
    group_vars = yaml.safe_load(section.files[GROUP_VARS])
    assert group_vars["postgres_instances_enabled"] == [e["name"] for e in group_vars["postgres_instances"]]
    assert not {e["name"] for e in group_vars["postgres_instances"]} & {
        "infra", "chat", "slides", "suite", "mail", "sheet", "main"}


def test_the_installed_tarball_is_the_collection_used_without_any_ansible_cfg(project, scratch):
    install = [r for r in project["setup"] if "collection install" in r.command]
    assert install and "darevel.postgres:" in install[0].stdout and "was installed successfully" in install[0].stdout, (
        install[0].explain() if install else project["setup"])
    version = project["version"][0]
    assert version.rc == 0, version.explain()
    assert re.search(r"^\s*config file = None\s*$", version.stdout, re.M), version.stdout
    listing = project["collections"][0]
    assert listing.rc == 0, listing.explain()
    where = {path for path, found in json.loads(listing.stdout).items() if "darevel.postgres" in found}
    assert where == {str(scratch / "project" / "collections" / "ansible_collections")}, where
    assert not (scratch / "project" / "ansible.cfg").exists()


def test_first_run_converges_the_two_instances(project, section, scratch):
    first = project["site"][0]
    assert first.rc == 0, first.explain()
    assert first.recap["failed"] == 0 and first.recap["changed"] > 0, first.recap
    after = project["after_site"][0]
    for entry in instances(section):
        facts = after["clusters"][entry["name"]]
        assert facts["port"] == entry["port"] and facts["status"].startswith("online"), (entry, facts)
        assert after["logins"][entry["name"]] == ("%s_owner" % entry["database"], entry["database"]), after["logins"]
        env_file = (scratch / "env" / ("%s.env" % entry["name"])).read_text()
        assert "DB_PORT=%d\n" % entry["port"] in env_file
    assert (scratch / "project" / "reports" / "localhost" / "status.json").is_file()


def test_second_run_changes_nothing(project):
    assert len(project["site"]) == 2, [r.command for r in project["site"]]
    second = project["site"][1]
    assert second.rc == 0, second.explain()
    assert second.recap == dict(second.recap, changed=0, failed=0), second.explain()


def test_status_playbook_with_the_role_reports_both(project, section, scratch):
    status = project["status"][0]
    assert status.rc == 0, status.explain()
    assert status.recap["changed"] == 0 and status.recap["failed"] == 0, status.recap
    report = json.loads((scratch / "project" / "reports" / "localhost" / "status.json").read_text())
    rows = {row["name"]: row for row in report["instances"]}
    assert {n: (r["port"], r["state"]) for n, r in rows.items()} == {
        e["name"]: (e["port"], "started") for e in instances(section)}


def test_tables_print_one_row_per_line_under_the_default_callback(project, section):
    rows = []
    for entry in instances(section):
        rows.append(r"%s\s+%d\s+started\s+yes\s" % (entry["name"], entry["port"]))
        rows.append(r"%s\s+%d\s+%s\s+%s_owner\s+started\s+psql -h 127\.0\.0\.1 -p %d -U %s_owner -d %s\b" % (
            entry["name"], entry["port"], entry["database"], entry["database"], entry["port"], entry["database"],
            entry["database"]))
    problems = {}
    for run in project["site"][:1] + project["status"]:
        found = table_problems(run.stdout, rows)
        if found:
            problems[run.command] = found
    assert not problems, "the tables do not read as tables under the default callback:\n%s" % json.dumps(
        problems, indent=2)


def test_stop_keeps_the_data(project, section):
    stop = project["stop"][0]
    assert stop.rc == 0, stop.explain()
    assert stop.recap["changed"] > 0 and stop.recap["failed"] == 0, stop.recap
    for entry in instances(section):
        facts = project["after_stop"][0]["clusters"][entry["name"]]
        assert facts["status"] == "down", (entry, facts)
        assert os.path.isfile(os.path.join(facts["data_dir"], "PG_VERSION")), facts


def test_purge_removes_both_with_their_data(purged, section, names):
    assert len(purged) == len(names), [r.command for r in purged]
    for run in purged:
        assert run.rc == 0, run.explain()
        assert run.recap["changed"] > 0 and run.recap["failed"] == 0, run.explain()
    found = clusters()
    for name in names:
        assert name not in found, found
        for path in ("/var/lib/postgresql/%d/%s" % (VERSION, name), "/etc/postgresql/%d/%s" % (VERSION, name)):
            assert not os.path.exists(path), path


def test_nothing_is_written_to_the_machine_defaults_the_variables_replace(purged, scratch, names):
    before = json.loads((scratch / "outside-before.json").read_text())
    after = outside_files(names)
    created = [path for path, exists in after.items() if exists and not before.get(path)]
    assert not created, "written outside the scratch directory: %s" % created
    # The env files are kept by purge, in postgres_env_dir.
    assert sorted(p.name for p in (scratch / "env").iterdir()) == sorted("%s.env" % n for n in names)
