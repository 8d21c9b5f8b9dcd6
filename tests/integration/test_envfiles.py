# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one env-file format (plugins/module_utils/_envfile.py) against its three real readers, and
the secrets of a docker-runtime converge kept off every command line.

Readers: POSIX sh (`set -a; . FILE`), docker-compose (Debian's 1.29: `env_file:` of a service and
`--env-file` interpolated into the compose file, read back from `env -0` in a container) and
systemd (`systemd-run -p EnvironmentFile=FILE env -0` in a container with systemd as PID 1).
Every value the format accepts must come back byte-equal from all three; every value it refuses
is shown to be misread by at least one of them when written in single quotes anyway.

Then site.yml on the docker runtime (instance it_envf, container it-envf, port 25620): a converge
with an awkward owner password, the env file sourced by sh (no command of the password runs) and
used to log in, a rotation while every process's command line on the host is sampled from /proc
(a container's processes are the host's), and a password the format refuses, refused by the
preflight before any change. Last, playbooks/dev_files.yml with an awkward password (port 25621).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time

import psycopg2
import pytest

from conftest import REPO, need_docker

sys.path.insert(0, str(REPO))  # the checkout is ansible_collections/darevel/postgres (see ansible.cfg)
from ansible_collections.darevel.postgres.plugins.module_utils import _envfile  # noqa: E402

SITE = REPO / "playbooks" / "site.yml"
DEV_FILES = REPO / "playbooks" / "dev_files.yml"
IMAGE = "darevel-test/postgres:15"
SYSTEMD_IMAGE = "darevel-test/debian:bookworm"
SYSTEMD = "it-envf-systemd"
PROJECT = "itenvf"
INSTANCE = {"name": "it_envf", "port": 25620, "database": "it_envf", "container": "it-envf", "volume": "it-envf-data"}
DEV = {"name": "it_envf_dev", "port": 25621, "database": "it_envf_dev", "container": "it-envf-dev",
       "volume": "it-envf-dev-data", "compose_file": "apps/envf/postgres-compose.yml"}

# Accepted: each must read back byte-equal from sh, docker-compose and systemd.
ACCEPTED = {
    "space": "two  spaces and a trailing one ",
    "leading": " leading space",
    "semicolon": "a;b;rm -rf /nonexistent",
    "subst": "$(touch /tmp/it-envf-pwned)",
    "backticks": "`touch /tmp/it-envf-pwned`",
    "hash": "pass #not a comment",
    "hash0": "#starts with a hash",
    "dquote": 'say "hello"',
    "and": "a&&b||c|d>e<f",
    "dollar": "cost$5 $HOME $$ $",
    "unicode": "pässwörd✓€😀 – ünïcødé",
    "nbsp": "no\u00a0break",
    "zero_width": "zero\u200bwidth",
    "glob": "*?[a-z]~/x ~root",
    "equals": "=a=b==",
    "percent": "%h%n%%",
    "bang": "!x !! ^y",
    "empty": "",
    "bare": "Plain_1.2,3:4/5@6+7-8",
}
# Refused by the format: each is misread by at least one reader when single-quoted anyway.
REFUSED = {
    "squote": "it's",
    "backslash_pair": "a\\\\b",
    "backslash_end": "ends\\",
    "backslash_quote": "a\\'b",
    "interpolation": "a${HOME}b",
}
# Refused although the three readers take them alike in single quotes: a value is one line for the
# collection's own line-based handling (tests/unit/test_envfile.py shows the masked diff).
ONE_LINE = {"newline": "two\nlines", "tab": "a\tb", "cr": "a\rb", "line_separator": "a\u2028b"}


def docker(*argv: str, check: bool = True, timeout: int = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run(["docker", *argv], capture_output=True, timeout=timeout, check=False)
    assert not check or proc.returncode == 0, "docker %s: %s" % (" ".join(argv), proc.stderr)
    return proc


def env0(output: bytes) -> dict:
    return dict(item.split(b"=", 1) for item in output.split(b"\0") if b"=" in item)


def read_sh(path) -> dict:
    """Every V_* variable after `set -a; . FILE` in sh, as bytes (None when sh fails)."""
    proc = subprocess.run(["sh", "-c", 'set -a; . "$1" || exit 99; env -0', "sh", str(path)],
                          capture_output=True, timeout=30, check=False, env={"PATH": os.environ["PATH"]})
    return env0(proc.stdout) if proc.returncode == 0 else {}


def read_compose(directory, path, keys) -> dict:
    """docker-compose 1.29 reads `path` twice: as the service's env_file (V_*) and as --env-file,
    interpolated into the compose file's environment (I_*)."""
    (directory / "docker-compose.yml").write_text(
        "services:\n  s:\n    image: %s\n    network_mode: none\n    command: [env, '-0']\n"
        "    env_file: %s\n    environment:\n%s" % (
            SYSTEMD_IMAGE, path, "".join('      I_%s: "${V_%s}"\n' % (k, k) for k in keys)))
    proc = subprocess.run(["docker-compose", "-p", PROJECT, "-f", str(directory / "docker-compose.yml"),
                           "--env-file", str(path), "run", "--rm", "-T", "s"],
                          capture_output=True, timeout=120, check=False)
    assert proc.returncode == 0 or b"could not parse" in proc.stderr, proc.stderr
    return env0(proc.stdout)


def read_systemd(path) -> dict:
    docker("cp", str(path), "%s:/tmp/it.env" % SYSTEMD)
    proc = docker("exec", SYSTEMD, "systemd-run", "--quiet", "--wait", "--pipe", "-p", "EnvironmentFile=/tmp/it.env",
                  "/usr/bin/env", "-0", check=False)
    return env0(proc.stdout) if proc.returncode == 0 else {}


@pytest.fixture(scope="module")
def readers(tmp_path_factory):
    need_docker(SYSTEMD_IMAGE, builder="tests/images/build.sh", compose=True)
    docker("rm", "-f", SYSTEMD, check=False)
    docker("run", "-d", "--name", SYSTEMD, "--network", "none", "--cgroupns=host", "-v",
           "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--tmpfs", "/run", "--tmpfs", "/run/lock", SYSTEMD_IMAGE,
           "/lib/systemd/systemd")
    deadline = time.monotonic() + 60
    while docker("exec", SYSTEMD, "systemctl", "is-system-running", check=False).stdout.strip() not in (
            b"running", b"degraded"):
        assert time.monotonic() < deadline, "systemd did not start in %s" % SYSTEMD
        time.sleep(0.5)
    yield tmp_path_factory.mktemp("envfiles")
    docker("rm", "-f", SYSTEMD, check=False)
    subprocess.run(["docker-compose", "-p", PROJECT, "down"], capture_output=True, timeout=120, check=False,
                   cwd=str(tmp_path_factory.getbasetemp()))


def three_readings(directory, path, keys) -> dict:
    return {"sh": read_sh(path), "compose env_file": read_compose(directory, path, keys),
            "systemd": read_systemd(path)}


def test_every_accepted_value_reads_back_byte_equal_with_sh_compose_and_systemd(readers):
    for key, value in ACCEPTED.items():
        assert _envfile.value_problem(value) is None, key
    path = readers / "accepted.env"
    path.write_text(_envfile.render({"V_%s" % k: v for k, v in ACCEPTED.items()}))
    readings = three_readings(readers, path, list(ACCEPTED))
    compose = readings["compose env_file"]
    readings["compose --env-file"] = {b"V_" + k[2:]: v for k, v in compose.items() if k.startswith(b"I_")}
    wrong = ["%s read %s as %r" % (reader, key, got.get(("V_%s" % key).encode()))
             for reader, got in readings.items() for key, value in ACCEPTED.items()
             if got.get(("V_%s" % key).encode()) != value.encode("utf-8")]
    assert wrong == []
    assert not os.path.exists("/tmp/it-envf-pwned")


def test_every_refused_value_is_refused_and_misread_by_a_reader_when_quoted_anyway(readers):
    for value in ONE_LINE.values():
        assert _envfile.value_problem(value) == "a control character or line break"
    needless = []
    for key, value in REFUSED.items():
        assert _envfile.value_problem(value), key
        with pytest.raises(ValueError):
            _envfile.quote(value)
        path = readers / ("refused-%s.env" % key)
        # Between two other lines, as in a real env file (the next one quoted too).
        path.write_bytes(("V_before=1\nV_%s='%s'\nV_after='2 2'\n" % (key, value)).encode("utf-8"))
        readings = three_readings(readers, path, [key])
        agree = [reader for reader, got in readings.items() if got.get(("V_%s" % key).encode()) == value.encode()
                 and got.get(b"V_before") == b"1" and got.get(b"V_after") == b"2 2"]
        if len(agree) == 3:
            needless.append(key)
    assert needless == [], "all three readers agree on these: their refusal is not needed"


# --------------------------------------------------------------------------- a real converge


def remove_instance() -> None:
    for name in (INSTANCE["container"], DEV["container"]):
        docker("rm", "-f", name, check=False)
    for name in (INSTANCE["volume"], DEV["volume"]):
        docker("volume", "rm", name, check=False)


def site_vars(scratch, password: str) -> dict:
    return {"postgres_instances": [dict(INSTANCE)], "postgres_runtime": "docker",
            "postgres_docker_image": "darevel-test/postgres:{version}", "postgres_environment": "dev",
            "postgres_owner_passwords": {INSTANCE["name"]: password},
            "postgres_credentials_dir": str(scratch / "credentials"), "postgres_env_dir": str(scratch / "env"),
            "postgres_reports_dir": str(scratch / "reports")}


class CommandLines:
    """Samples the command line of every process on the host (containers' included) until stopped."""

    def __init__(self) -> None:
        self.seen: set[bytes] = set()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        with open("/proc/%s/cmdline" % pid, "rb") as handle:
                            self.seen.add(handle.read())
                    except OSError:
                        pass
            self.samples += 1

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture(scope="module")
def instance(ansible, scratch):
    need_docker(IMAGE)
    remove_instance()
    yield scratch / "env" / ("%s.env" % INSTANCE["name"])
    remove_instance()


FIRST = "first pw; $(touch /tmp/it-envf-pwned) `id` #x \"q\" && ü€"
SECOND = "second pw | rm -rf /tmp/it-envf-none & echo $HOME ✓"


def login(password: str):
    return psycopg2.connect(host="127.0.0.1", port=INSTANCE["port"], user="%s_owner" % INSTANCE["database"],
                            password=password, dbname=INSTANCE["database"], connect_timeout=10)


def test_an_awkward_password_converges_and_the_env_file_sourced_by_sh_logs_in(ansible, scratch, instance):
    run = ansible.run(SITE, site_vars(scratch, FIRST))
    assert run.rc == 0, run.explain()
    values = read_sh(instance)
    assert values[b"POSTGRES_PASSWORD"] == FIRST.encode()
    assert not os.path.exists("/tmp/it-envf-pwned")
    login(values[b"POSTGRES_PASSWORD"].decode()).close()


def test_a_rotation_on_docker_puts_no_password_or_verifier_on_any_command_line(ansible, scratch, instance):
    with CommandLines() as lines:
        run = ansible.run(SITE, site_vars(scratch, SECOND))
    assert run.rc == 0, run.explain()
    # The sampler saw the converge's psql processes in the container (it would have caught their
    # arguments): their command lines, and none with a secret.
    assert lines.samples > 50
    # (each session is one psql reading its statements from stdin: no statement in its arguments)
    assert any(b"psql" in line and b"ON_ERROR_STOP=1" in line for line in lines.seen), \
        "no psql of the converge was seen"
    leaks = [line for line in lines.seen
             if b"SCRAM-SHA-256$" in line or SECOND.encode() in line or FIRST.encode() in line
             or b"PASSWORD '" in line]
    assert leaks == []
    assert read_sh(instance)[b"POSTGRES_PASSWORD"] == SECOND.encode()
    login(SECOND).close()
    with pytest.raises(psycopg2.OperationalError):
        login(FIRST)


def test_a_password_the_env_file_cannot_hold_is_refused_by_the_preflight_before_any_change(ansible, scratch, instance):
    before = instance.read_bytes()
    container = docker("inspect", "--format", "{{.Id}} {{.State.StartedAt}}", INSTANCE["container"]).stdout
    run = ansible.run(SITE, site_vars(scratch, "it's a \\ password ${HOME} long enough"))
    assert run.rc != 0
    message = run.task("Check the catalogue, ports and disk before anything changes")["msg"]
    assert "instance 'it_envf': role it_envf_owner" in message
    assert "postgres_owner_passwords.it_envf" in message
    assert "a single quote and a backslash and '${'" in message
    assert "long enough" not in run.stdout + run.stderr
    assert instance.read_bytes() == before
    assert docker("inspect", "--format", "{{.Id}} {{.State.StartedAt}}", INSTANCE["container"]).stdout == container
    login(SECOND).close()


# --------------------------------------------------------------------------- the developer files


def test_the_dev_env_files_hold_an_awkward_password_and_refuse_what_they_cannot(ansible, scratch, readers):
    root = scratch / "dev-envf"
    shutil.rmtree(root, ignore_errors=True)
    extra = {"postgres_instances": [DEV], "postgres_runtime": "docker", "postgres_dev_dir": str(root),
             "postgres_docker_image": "darevel-test/postgres:{version}",
             "postgres_credentials_dir": str(scratch / "credentials"),
             "postgres_owner_passwords": {DEV["name"]: FIRST}}
    run = ansible.run(DEV_FILES, extra)
    assert run.rc == 0, run.explain()
    for name in (".env", "host.env"):
        path = root / "apps" / "envf" / name
        assert read_sh(path)[b"POSTGRES_PASSWORD"] == FIRST.encode()
        assert read_systemd(path)[b"POSTGRES_PASSWORD"] == FIRST.encode()
    compose = read_compose(readers, root / "apps" / "envf" / ".env", ["x"])
    assert compose[b"POSTGRES_PASSWORD"] == FIRST.encode()
    assert not os.path.exists("/tmp/it-envf-pwned")

    shutil.rmtree(root)
    run = ansible.run(DEV_FILES, dict(extra, postgres_owner_passwords={DEV["name"]: "it's\nbad"}))
    assert run.rc != 0
    failed = run.failed_results()[0]["msg"]
    assert "instance 'it_envf_dev': role it_envf_dev_owner" in failed, failed
    assert "a single quote and a control character or line break" in failed
    assert not root.exists()
