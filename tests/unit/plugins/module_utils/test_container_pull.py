"""Unit tests for the image helpers of plugins/module_utils/_container.py (what a pull did and
what to say when an image cannot be pulled). The pull itself runs against the real engine and
registry in tests/integration/test_docker_pull.py."""

from __future__ import annotations

import pytest

from ansible_collections.darevel.postgres.plugins.module_utils import _container

# A real pull of a one-layer image from the test registry (docker.io 20.10's progress events).
EVENTS = [
    {"status": "Pulling from darevel-scratch/tiny", "id": "1"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "3c42584cca86"},
    {"status": "Already exists", "progressDetail": {}, "id": "aa11bb22cc33"},
    {"status": "Downloading", "progressDetail": {"current": 32768, "total": 3001193}, "id": "3c42584cca86"},
    {"status": "Verifying Checksum", "progressDetail": {}, "id": "3c42584cca86"},
    {"status": "Download complete", "progressDetail": {}, "id": "3c42584cca86"},
    {"status": "Extracting", "progressDetail": {"current": 3001193, "total": 3001193}, "id": "3c42584cca86"},
    {"status": "Pull complete", "progressDetail": {}, "id": "3c42584cca86"},
    {"status": "Digest: sha256:87255d4ed0767140854699c5d7976eb2ad4109a991be9569788364149951d5d3"},
    {"status": "Status: Downloaded newer image for 127.0.0.1:5999/darevel-scratch/tiny:1"},
]


def test_pull_summary_counts_downloaded_and_present_layers():
    assert _container.pull_summary(EVENTS) == {
        "layers": 2, "downloaded": 1, "present": 1, "bytes": 3001193,
        "digest": "sha256:87255d4ed0767140854699c5d7976eb2ad4109a991be9569788364149951d5d3"}


def test_pull_summary_raises_on_an_error_event():
    with pytest.raises(ValueError, match="unexpected EOF"):
        _container.pull_summary(EVENTS[:4] + [{"error": "unexpected EOF", "errorDetail": {"message": "x"}}])


def test_pull_line_names_the_image_the_instances_and_the_size():
    entry = {"image": "postgres:15", "instances": ["chat", "mail"], "layers": 13, "downloaded": 12,
             "present": 1, "bytes": 157286400, "seconds": 41.23}
    assert _container.pull_line(entry) == "pulled postgres:15 for chat, mail: 13 layers, 12 downloaded (150.0 MB), in 41.2 s"
    assert _container.pull_line(dict(entry, downloaded=0)) == \
        "pulled postgres:15 for chat, mail: 13 layers, all already on the engine, in 41.2 s"
    assert _container.pull_line({"image": "postgres:15", "instances": ["chat"], "status": "would pull"}) == \
        "would pull postgres:15 for chat (check mode: nothing pulled)"


def test_images_to_pull_groups_instances_by_missing_image_once_each():
    items = [{"name": n, "spec": {"image": i}} for n, i in (
        ("infra", "postgres:15"), ("chat", "postgres:17"), ("mail", "postgres:15"), ("sheet", "here:15"))]
    assert _container.images_to_pull(items, {"postgres:15", "postgres:17"}) == [
        {"name": "postgres:15", "image": "postgres:15", "instances": ["infra", "mail"]},
        {"name": "postgres:17", "image": "postgres:17", "instances": ["chat"]}]


@pytest.mark.parametrize("image, registry", [
    ("postgres:15", "docker.io"), ("library/postgres:15", "docker.io"), ("darevel-test/postgres:15", "docker.io"),
    ("127.0.0.1:5999/darevel-test/postgres:15", "127.0.0.1:5999"),
    ("registry.example.com/pg/postgres:15", "registry.example.com"),
    ("localhost/pg:15", "localhost"),
])
def test_registry_of(image, registry):
    assert _container.registry_of(image) == registry


# The engine's own words (docker.io 20.10) for each kind of failure, and the fix the message gives.
@pytest.mark.parametrize("error, kind, fix", [
    ("manifest for 127.0.0.1:5999/darevel-test/absent:15 not found: manifest unknown: manifest unknown", "unknown",
     "push the image to 127.0.0.1:5999"),
    ('Get "http://127.0.0.1:5998/v2/": dial tcp 127.0.0.1:5998: connect: connection refused', "unreachable",
     "make 127.0.0.1:5999 reachable from the Docker engine"),
    ("Head \"https://127.0.0.1:5999/v2/darevel-test/postgres/manifests/15\": no basic auth credentials", "auth",
     "`docker login 127.0.0.1:5999`"),
    ("unauthorized: authentication required", "auth", "`docker login 127.0.0.1:5999`"),
    ("something else entirely", None, "run `docker pull 127.0.0.1:5999/darevel-test/postgres:15`"),
])
def test_pull_problem_names_the_instances_the_image_why_and_the_fix(error, kind, fix):
    assert _container.pull_problem_kind(error) == kind
    msg = _container.pull_problem("127.0.0.1:5999/darevel-test/postgres:15", ["chat", "mail"], error)
    assert msg.startswith("instances 'chat', 'mail': image 127.0.0.1:5999/darevel-test/postgres:15 cannot be "
                          "pulled: ")
    assert error in msg and "no container was created or changed on this host; fix: " in msg and fix in msg
    assert _container.pull_problem("postgres:15", ["chat"], error).startswith("instance 'chat': image postgres:15")
