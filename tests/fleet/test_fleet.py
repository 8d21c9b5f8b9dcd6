# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The simulated fleet: one site.yml run over four container hosts, one of them stopped in the
middle of it; a second run over the survivors changes nothing; restart.yml refuses while a host
is down and then rolls one host at a time; mail moves from one host to another with
playbooks/move.yml (refusals, check mode, the move) and its rows, owner and passwords arrive intact;
playbooks/purge.yml removes the stopped copy left behind (refusals, check mode, the purge, a second
run with nothing to purge), and mail moves back onto the first host.

The tests run in file order and build on each other (one fleet per session, to keep the tier short).
"""

from __future__ import annotations

import re
import threading

import fleet
from conftest import VICTIM

PORTS = {"infra": 5433, "chat": 5434, "slides": 5435, "suite": 5436, "mail": 5437, "sheet": 5438}
DATABASES = {"infra": "keycloak", "chat": "darevel_chat", "slides": "darevel_slides", "suite": "darevel_suite",
             "mail": "darevel_mail", "sheet": "darevel_sheet"}
CONVERGE_TASK = "TASK [darevel.postgres.instance : Create and start the instances"


def clusters(host: str) -> dict[str, str]:
    """pg_lsclusters inside the host: {name: status}."""
    out = fleet.docker("exec", host, "pg_lsclusters", "--no-header").stdout
    return {parts[1]: parts[3] for parts in (line.split() for line in out.splitlines()) if len(parts) > 3}


def env_values(host: str, app: str) -> dict[str, str]:
    text = fleet.docker("exec", host, "cat", "/etc/darevel/postgres/%s.env" % app).stdout
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def file_mode(host: str, path: str) -> str:
    return fleet.docker("exec", host, "stat", "-c", "%a", path).stdout.strip()


def postmaster_pid(host: str, app: str) -> str:
    return fleet.docker("exec", host, "head", "-n1", "/var/lib/postgresql/15/%s/postmaster.pid" % app).stdout.strip()


def test_converge_goes_on_when_a_host_is_stopped_mid_play(hosts, inventory, scratch):
    stopped = threading.Event()

    def stop_victim(line: str) -> None:
        # The victim is stopped once the play runs the instance role's converge on every host.
        if CONVERGE_TASK in line and not stopped.is_set():
            stopped.set()
            threading.Thread(target=fleet.docker, args=("stop", "--time", "0", VICTIM),
                             kwargs={"check": False}, daemon=True).start()

    run = fleet.run_playbook(inventory, "site.yml", scratch=scratch, on_line=stop_victim)
    assert stopped.is_set(), run.stdout[-4000:]
    assert run.returncode != 0, run.stdout[-4000:]
    stats = fleet.recap(run.stdout)
    assert set(stats) == set(hosts), run.stdout[-4000:]
    assert stats[VICTIM]["failed"] + stats[VICTIM]["unreachable"] >= 1, stats
    assert re.search(r"^fatal: \[%s\]" % re.escape(VICTIM), run.stdout, re.M), run.stdout[-4000:]
    for host, apps in hosts.items():
        if host == VICTIM:
            continue
        assert stats[host]["failed"] == 0 and stats[host]["unreachable"] == 0, (host, stats)
        found = clusters(host)
        assert found == {app: "online" for app in apps}, (host, found)
        for app in apps:
            assert fleet.psql(host, PORTS[app], "SELECT current_database()", DATABASES[app]) == DATABASES[app]
            assert file_mode(host, "/etc/darevel/postgres/%s.env" % app) == "600"
        assert (scratch / "inventory" / "reports" / host / "status.json").is_file()
    assert fleet.docker("inspect", "-f", "{{.State.Running}}", VICTIM).stdout.strip() == "false"


def test_second_converge_of_the_survivors_changes_nothing(hosts, inventory, scratch):
    run = fleet.run_playbook(inventory, "site.yml", "--limit", "!" + VICTIM, scratch=scratch)
    assert run.returncode == 0, run.stdout[-4000:]
    stats = fleet.recap(run.stdout)
    assert set(stats) == set(hosts) - {VICTIM}
    assert all(s["changed"] == 0 and s["failed"] == 0 for s in stats.values()), stats


def start_time(host: str, app: str) -> str:
    return fleet.psql(host, PORTS[app], "SELECT extract(epoch FROM pg_postmaster_start_time())")


def test_restart_checks_every_host_before_restarting_any(hosts, inventory, scratch):
    # The stopped host is unreachable: the check play fails there, and no host restarts.
    survivors = [h for h in hosts if h != VICTIM]
    before = {h: postmaster_pid(h, hosts[h][0]) for h in survivors}
    run = fleet.run_playbook(inventory, "restart.yml", scratch=scratch)
    assert run.returncode != 0, run.stdout[-3000:]
    assert re.search(r"^fatal: \[%s\]" % re.escape(VICTIM), run.stdout, re.M), run.stdout[-3000:]
    assert "PLAY [Restart PostgreSQL instances" not in run.stdout
    assert {h: postmaster_pid(h, hosts[h][0]) for h in survivors} == before


def test_rolling_restart_goes_one_host_at_a_time(hosts, inventory, scratch):
    survivors = [h for h in hosts if h != VICTIM]
    before = {(h, app): postmaster_pid(h, app) for h in survivors for app in hosts[h]}
    run = fleet.run_playbook(inventory, "restart.yml", "--limit", "!" + VICTIM, scratch=scratch)
    assert run.returncode == 0, run.stdout[-4000:]
    # One play banner per batch of one host, and every instance restarted.
    assert run.stdout.count("PLAY [Restart PostgreSQL instances, host batch by host batch]") == len(survivors)
    after = {(h, app): postmaster_pid(h, app) for h in survivors for app in hosts[h]}
    assert all(after[key] != before[key] for key in before), (before, after)
    # Batches ran one after the other: each host's instances started after the previous host's.
    order = re.findall(r"^changed: \[(darevel-fleet-\d+)\]", run.stdout, re.M)
    assert list(dict.fromkeys(order)) == sorted(survivors), order
    starts = [[float(start_time(h, app)) for app in hosts[h]] for h in sorted(survivors)]
    for earlier, later in zip(starts, starts[1:]):
        assert max(earlier) < min(later), starts


def test_move_refuses_bad_requests_before_any_change(hosts, inventory, scratch):
    before = postmaster_pid("darevel-fleet-1", "mail")
    for extra in (["-e", "from=darevel-fleet-1", "-e", "to=darevel-fleet-1"],
                  ["-e", "from=darevel-fleet-1", "-e", "to=nowhere"],
                  ["-e", "from=darevel-fleet-3", "-e", "to=darevel-fleet-2"],
                  # purge must be a boolean: 'maybe' once meant false
                  ["-e", "from=darevel-fleet-1", "-e", "to=darevel-fleet-2", "-e", "purge=maybe"]):
        run = fleet.run_playbook(inventory, "move.yml", "-e", "app=mail", *extra, "--limit", "!" + VICTIM,
                                 scratch=scratch)
        assert run.returncode != 0, run.stdout[-3000:]
        assert "nothing was moved" in run.stdout or "nothing was changed" in run.stdout, run.stdout[-3000:]
        assert "changed=0" in run.stdout and not re.search(r"changed=[1-9]", run.stdout), run.stdout[-3000:]
    # Every problem at once, before any change: a name that is not an instance's, and a new host
    # outside --limit (whose part of the move would never run).
    run = fleet.run_playbook(inventory, "move.yml", "-e", "app=Mail;x", "-e", "from=darevel-fleet-1", "-e",
                             "to=darevel-fleet-2", "-e", "purge=maybe", "--limit", "darevel-fleet-1", scratch=scratch)
    assert run.returncode != 0, run.stdout[-3000:]
    for part in ("app: 'Mail;x' is not an instance name", "to: darevel-fleet-2 is outside --limit",
                 "purge: 'maybe' is not true or false"):
        assert part in run.stdout, (part, run.stdout[-3000:])
    assert not re.search(r"changed=[1-9]", run.stdout), run.stdout[-3000:]
    assert postmaster_pid("darevel-fleet-1", "mail") == before
    assert "mail" not in clusters("darevel-fleet-2")


def test_move_in_check_mode_checks_both_hosts_and_changes_nothing(hosts, inventory, scratch):
    before = postmaster_pid("darevel-fleet-1", "mail")
    run = fleet.run_playbook(inventory, "move.yml", "--check", "-e", "app=mail", "-e", "from=darevel-fleet-1",
                             "-e", "to=darevel-fleet-2", "--limit", "!" + VICTIM, scratch=scratch)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "check mode: mail can move from darevel-fleet-1 to darevel-fleet-2" in run.stdout
    assert all(s["changed"] == 0 for s in fleet.recap(run.stdout).values()), run.stdout[-2000:]
    assert postmaster_pid("darevel-fleet-1", "mail") == before
    assert "mail" not in clusters("darevel-fleet-2")


def test_move_mail_between_hosts_keeps_its_data(hosts, inventory, scratch):
    old, new = "darevel-fleet-1", "darevel-fleet-2"
    fleet.psql(old, PORTS["mail"], """
        CREATE TABLE public.messages (id int PRIMARY KEY, body text);
        INSERT INTO public.messages SELECT g, 'message ' || g FROM generate_series(1, 1500) g;
        CREATE SCHEMA calendar;
        CREATE TABLE calendar.events (id int, at timestamptz);
        INSERT INTO calendar.events SELECT g, now() FROM generate_series(1, 7) g;
        ALTER TABLE public.messages OWNER TO darevel_mail_owner;
        ALTER TABLE calendar.events OWNER TO darevel_mail_owner;
    """, "darevel_mail")
    old_env = env_values(old, "mail")
    others = {app: postmaster_pid(new, app) for app in hosts[new]}

    run = fleet.run_playbook(inventory, "move.yml", "-e", "app=mail", "-e", "from=" + old, "-e", "to=" + new,
                             "--limit", "!" + VICTIM, scratch=scratch)
    assert run.returncode == 0, run.stdout[-6000:]
    assert old_env["POSTGRES_PASSWORD"] not in run.stdout
    assert old_env["DB_APP_PASSWORD"] not in run.stdout

    # The new host: the instance runs with the rows, owned by the owner role, reachable with the
    # same password over TCP.
    assert clusters(new).get("mail") == "online"
    assert fleet.psql(new, PORTS["mail"], "SELECT count(*) FROM public.messages", "darevel_mail") == "1500"
    assert fleet.psql(new, PORTS["mail"], "SELECT count(*) FROM calendar.events", "darevel_mail") == "7"
    assert fleet.psql(new, PORTS["mail"], "SELECT tableowner FROM pg_tables WHERE tablename = 'messages'",
                      "darevel_mail") == "darevel_mail_owner"
    new_env = env_values(new, "mail")
    assert new_env["POSTGRES_PASSWORD"] == old_env["POSTGRES_PASSWORD"]
    for key in ("DB_APP_USER", "DB_APP_PASSWORD"):
        assert new_env.get(key) == old_env.get(key), key
    login = fleet.docker("exec", "-e", "PGPASSWORD=" + new_env["POSTGRES_PASSWORD"], new, "psql", "-X", "-At",
                         "-h", "127.0.0.1", "-p", str(PORTS["mail"]), "-U", new_env["POSTGRES_USER"],
                         "-d", new_env["DB_NAME"], "-c", "SELECT max(id) FROM public.messages", check=False)
    assert login.returncode == 0 and login.stdout.strip() == "1500", login.stderr
    # The new host's other instances were not restarted.
    assert {app: postmaster_pid(new, app) for app in hosts[new]} == others

    # The old host: stopped, data kept, its env file names the new host (the old one kept beside it).
    assert clusters(old).get("mail") == "down"
    assert fleet.docker("exec", old, "test", "-f", "/var/lib/postgresql/15/mail/PG_VERSION", check=False).returncode == 0
    switched = env_values(old, "mail")
    assert switched["DB_HOST"] == new and switched["DB_PORT"] == str(PORTS["mail"])
    assert switched["POSTGRES_PASSWORD"] == old_env["POSTGRES_PASSWORD"]
    assert file_mode(old, "/etc/darevel/postgres/mail.env") == "600"
    assert clusters(old).get("infra") == "online"
    # The control node's copy of the backup is gone.
    moves = scratch / "inventory" / "backups" / "mail"
    assert not moves.exists() or not any(moves.iterdir())


# After the move: mail runs on darevel-fleet-2 and is stopped, data kept, on darevel-fleet-1.
def moved_inventory(hosts, inventory):
    """The inventory once mail's name has moved too: out of darevel-fleet-1's instances, into
    darevel-fleet-2's (what move.yml asks for afterwards); the same credentials and reports."""
    placement = {host: [app for app in apps if app != "mail"] for host, apps in hosts.items()}
    placement["darevel-fleet-2"] = placement["darevel-fleet-2"] + ["mail"]
    base = inventory.parent
    return fleet.write_inventory(base.parent / "inventory-moved", placement, extra={
        "postgres_credentials_dir": str(base / "credentials"), "postgres_reports_dir": str(base / "reports"),
        "postgres_backup_fetch_dir": str(base / "backups")})


def purge(inventory, scratch, *extra):
    return fleet.run_playbook(inventory, "purge.yml", "-e", "app=mail", *extra, "--limit", "!" + VICTIM,
                              scratch=scratch)


def test_purge_and_move_back_refuse_before_any_change(hosts, inventory, scratch):
    old, new = "darevel-fleet-1", "darevel-fleet-2"
    # Running on the new host, and no confirmation: both named in one message.
    run = purge(inventory, scratch, "-e", "host=" + new)
    assert run.returncode != 0, run.stdout[-3000:]
    assert "instance mail is running on %s" % new in run.stdout and "playbooks/stop.yml" in run.stdout
    assert "confirm_purge: (none) is not mail" in run.stdout, run.stdout[-3000:]
    # Stopped on the old host, but the inventory still runs it there.
    run = purge(inventory, scratch, "-e", "host=" + old, "-e", "confirm_purge=mail")
    assert run.returncode != 0, run.stdout[-3000:]
    assert "instance mail is still in %s's postgres_instances_enabled (infra,mail)" % old in run.stdout
    # A host outside the postgres group, and a confirmation for another instance.
    run = purge(inventory, scratch, "-e", "host=nowhere", "-e", "confirm_purge=chat")
    assert run.returncode != 0 and "host: nowhere is not a host of the postgres group" in run.stdout
    assert "confirm_purge: chat is not mail" in run.stdout, run.stdout[-3000:]
    # Moving back onto the stopped copy names the purge that clears the way.
    run = fleet.run_playbook(moved_inventory(hosts, inventory), "move.yml", "-e", "app=mail", "-e", "from=" + new,
                             "-e", "to=" + old, "--limit", "!" + VICTIM, scratch=scratch)
    assert run.returncode != 0, run.stdout[-3000:]
    assert ("playbooks/purge.yml -e app=mail -e host=%s -e confirm_purge=mail" % old) in run.stdout, run.stdout[-3000:]
    assert clusters(old).get("mail") == "down" and clusters(new).get("mail") == "online"


def test_purge_in_check_mode_changes_nothing(hosts, inventory, scratch):
    old = "darevel-fleet-1"
    run = purge(moved_inventory(hosts, inventory), scratch, "--check", "-e", "host=" + old, "-e", "confirm_purge=mail")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "would be purged (check mode)" in run.stdout and "/var/lib/postgresql/15/mail" in run.stdout
    assert clusters(old).get("mail") == "down"
    assert fleet.docker("exec", old, "test", "-f", "/var/lib/postgresql/15/mail/PG_VERSION", check=False).returncode == 0


def test_the_purge_role_purges_only_on_the_host_it_names(hosts, inventory, scratch):
    """The role itself, from a playbook of one's own that runs it on every host: only the host named
    may purge; every other host refuses, naming itself and the host asked for."""
    old = "darevel-fleet-1"
    playbook = scratch / "purge-everywhere.yml"
    playbook.write_text(
        "- hosts: postgres\n  gather_facts: false\n  roles:\n    - role: darevel.postgres.purge\n"
        "      vars: {postgres_purge_app: mail, postgres_purge_confirm: mail, postgres_purge_host: %s}\n" % old)
    run = fleet.run_playbook(moved_inventory(hosts, inventory), str(playbook), "--check", "--limit", "!" + VICTIM,
                             scratch=scratch)
    assert run.returncode != 0, run.stdout[-3000:]
    others = [h for h in hosts if h not in (old, VICTIM)]
    assert others, hosts
    for host in others:
        assert "host: this is %s, not %s" % (host, old) in run.stdout, (host, run.stdout[-3000:])
    assert "would be purged (check mode)" in run.stdout  # the named host goes on
    assert clusters(old).get("mail") == "down"


def test_purge_removes_the_stopped_copy_and_keeps_the_env_file(hosts, inventory, scratch):
    old, new = "darevel-fleet-1", "darevel-fleet-2"
    moved = moved_inventory(hosts, inventory)
    run = purge(moved, scratch, "-e", "host=" + old, "-e", "confirm_purge=mail")
    assert run.returncode == 0, run.stdout[-3000:]
    assert fleet.recap(run.stdout)[old]["changed"] == 1, run.stdout[-3000:]
    assert "mail" not in clusters(old) and clusters(old).get("infra") == "online"
    for path in ("/var/lib/postgresql/15/mail", "/etc/postgresql/15/mail"):
        assert fleet.docker("exec", old, "test", "-e", path, check=False).returncode != 0, path
    assert env_values(old, "mail")["DB_HOST"] == new
    report = (inventory.parent / "reports" / old / "purge.json").read_text()
    assert '"result": "purged"' in report and "/etc/darevel/postgres/mail.env" in report
    # Once more: nothing to purge, nothing changed.
    again = purge(moved, scratch, "-e", "host=" + old, "-e", "confirm_purge=mail")
    assert again.returncode == 0 and "nothing to purge" in again.stdout, again.stdout[-3000:]
    assert all(s["changed"] == 0 for s in fleet.recap(again.stdout).values()), again.stdout[-2000:]


def test_move_mail_back_to_the_first_host(hosts, inventory, scratch):
    old, new = "darevel-fleet-2", "darevel-fleet-1"
    run = fleet.run_playbook(moved_inventory(hosts, inventory), "move.yml", "-e", "app=mail", "-e", "from=" + old,
                             "-e", "to=" + new, "--limit", "!" + VICTIM, scratch=scratch)
    assert run.returncode == 0, run.stdout[-6000:]
    assert clusters(new).get("mail") == "online" and clusters(old).get("mail") == "down"
    assert fleet.psql(new, PORTS["mail"], "SELECT count(*) FROM public.messages", "darevel_mail") == "1500"
    assert fleet.psql(new, PORTS["mail"], "SELECT count(*) FROM calendar.events", "darevel_mail") == "7"
    assert env_values(new, "mail")["POSTGRES_PASSWORD"] == env_values(old, "mail")["POSTGRES_PASSWORD"]
    assert env_values(old, "mail")["DB_HOST"] == new
