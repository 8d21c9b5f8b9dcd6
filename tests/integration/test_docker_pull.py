# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docker runtime pulls the image it lacks, from a real registry: Debian's docker-registry on
127.0.0.1 (scripts/registry.sh, started by scripts/run-tests.sh), holding the PostgreSQL test image
under a name the engine does not have. Two scratch instances (containers it-dp-a/it-dp-b, volumes
it-dp-*-data, ports 26641-26642) share the image: it is pulled once, before any container is
created; an image the registry lacks, or a registry nobody runs, fails the converge with the
instances, the image and the fix, and creates nothing; check mode pulls nothing."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request

import pytest

from conftest import REPO, need_docker

SITE = REPO / "playbooks" / "site.yml"
REGISTRY = "127.0.0.1:%s" % os.environ.get("DAREVEL_REGISTRY_PORT", "5999")
IMAGE = "%s/darevel-test/postgres:15" % REGISTRY
A = {"name": "it_dp_a", "port": 26641, "database": "it_dp_a", "container": "it-dp-a", "volume": "it-dp-a-data"}
B = {"name": "it_dp_b", "port": 26642, "database": "it_dp_b", "container": "it-dp-b", "volume": "it-dp-b-data"}
PULL_TASK = "Pull once per image"


def docker(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=120, check=False)


def on_engine(name: str) -> bool:
    return docker("image", "inspect", name).returncode == 0


def exists(kind: str, name: str) -> bool:
    return docker(kind, "inspect", name).returncode == 0


def need_registry() -> None:
    """The registry answers and holds the image; skipped outside scripts/run-tests.sh, failed in it."""
    need_docker()
    request = urllib.request.Request("http://%s/v2/darevel-test/postgres/manifests/15" % REGISTRY, headers={
        "Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            json.load(response)
    except OSError as exc:
        what = "the test registry on %s lacks %s (%s): scripts/registry.sh darevel-test/postgres:15 puts it there" % (
            REGISTRY, IMAGE, exc)
        if os.environ.get("DAREVEL_TESTS_NEED_DOCKER") == "1":
            pytest.fail(what + ", and scripts/run-tests.sh runs it")
        pytest.skip(what)


def remove_scratch() -> None:
    for item in (A, B):
        docker("rm", "-f", item["container"])
        docker("volume", "rm", item["volume"])
    # Only the registry may hold this name, so that the converge has to pull it.
    docker("rmi", IMAGE)
    assert not on_engine(IMAGE), "%s is still on the engine" % IMAGE


def pull_vars(scratch, image: str = "%s/darevel-test/postgres:{version}" % REGISTRY) -> dict:
    return {"postgres_instances": [dict(A), dict(B)], "postgres_runtime": "docker", "postgres_docker_image": image,
            "postgres_credentials_dir": str(scratch / "credentials"), "postgres_env_dir": str(scratch / "env"),
            "postgres_reports_dir": str(scratch / "reports")}


@pytest.fixture
def clean():
    need_registry()
    remove_scratch()
    yield
    remove_scratch()


def assert_nothing_created() -> None:
    for item in (A, B):
        assert not exists("container", item["container"]), item["container"]
        assert not exists("volume", item["volume"]), item["volume"]


def test_an_image_only_in_the_registry_is_pulled_once_and_the_converge_succeeds(clean, ansible, scratch):
    # The default callback, as a user sees it: the pull's own task, then one line per pulled image.
    first = ansible.run(SITE, pull_vars(scratch), callback="default")
    assert first.rc == 0, first.explain()
    banner = [line for line in first.stdout.splitlines() if line.startswith("TASK [") and PULL_TASK in line]
    assert banner and IMAGE in banner[0], first.explain()
    lines = first.stdout.splitlines()
    assert lines.index(banner[0]) < next(i for i, line in enumerate(lines) if "Run one container" in line)
    pulled = [line for line in lines if "pulled %s for it_dp_a, it_dp_b:" % IMAGE in line]
    assert len(pulled) == 1, first.explain()
    assert on_engine(IMAGE)
    for item in (A, B):
        assert docker("inspect", "--format", "{{.Config.Image}} {{.State.Health.Status}}",
                      item["container"]).stdout.split() == [IMAGE, "healthy"]

    again = ansible.run(SITE, pull_vars(scratch))
    assert again.rc == 0 and again.changed == 0, again.explain()
    assert again.task(PULL_TASK)["images"] == []


def test_check_mode_pulls_nothing(clean, ansible, scratch):
    check = ansible.run(SITE, pull_vars(scratch), check=True)
    assert check.rc == 0, check.explain()
    task = check.task(PULL_TASK)
    assert task["changed"] and [(i["image"], i["instances"], i["status"]) for i in task["images"]] == [
        (IMAGE, ["it_dp_a", "it_dp_b"], "would pull")]
    assert task["pulled"] == ["would pull %s for it_dp_a, it_dp_b (check mode: nothing pulled)" % IMAGE]
    assert not on_engine(IMAGE)
    assert_nothing_created()


@pytest.mark.parametrize("image, why, fix", [
    ("%s/darevel-test/absent:{version}" % REGISTRY, "has no such image", "push the image to %s" % REGISTRY),
    # Nothing listens on port 9 (discard) of the loopback address.
    ("127.0.0.1:9/darevel-test/postgres:{version}", "cannot reach the registry 127.0.0.1:9",
     "make 127.0.0.1:9 reachable from the Docker engine"),
])
def test_an_image_that_cannot_be_pulled_fails_early_and_creates_nothing(clean, ansible, scratch, image, why, fix):
    wanted = image.format(version=15)
    for check in (True, False):
        run = ansible.run(SITE, pull_vars(scratch, image), check=check)
        assert run.rc != 0, run.explain()
        failed = run.failed_results()
        assert len(failed) == 1 and PULL_TASK in failed[0]["_task"], run.explain()
        msg = failed[0]["msg"]
        assert msg.startswith("instances 'it_dp_a', 'it_dp_b': image %s cannot be pulled: " % wanted), msg
        assert why in msg and "fix: " in msg and fix in msg, msg
        assert "no container was created or changed on this host" in msg, msg
        assert_nothing_created()
        assert not on_engine(wanted)
