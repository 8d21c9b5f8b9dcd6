#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pg_container
short_description: Run PostgreSQL instances as Docker containers, one container and volume each
version_added: 0.1.0
description:
  - The docker runtime of darevel.postgres. For each instance, a named volume and a container
    built from the instance's container description, the C(docker) entry of the plan that
    M(darevel.postgres.pg_preflight) returns. It gives the image, the server's settings (the C(-c)
    arguments of the container's command), the port
    published on the bind address, the health check C(pg_isready -h 127.0.0.1), the restart
    policy, the stop timeout, and the memory and CPU limits.
  - Once a container answers (after its health check, or when it runs and is kept), its
    C(pg_hba.conf) and C(pg_ident.conf) are the collection's (the image's C(trust) lines replaced by
    C(peer) on the socket for the image's superuser and C(scram-sha-256) over TCP), then the server
    reloads; as M(darevel.postgres.pg_instance) does for a native instance, each file rewritten is an
    entry of the diff, and check mode reads them and reports what it would rewrite.
  - A container is recreated only when its description changes (a hash label records it); the
    volume stays, so data survives. A container removed by hand is created again with its data.
  - The password is used only when a container is first created (the image's
    C(POSTGRES_PASSWORD)); it is not part of the description, so changing it does not recreate
    the container. Without one, a random password that nobody keeps is used, and
    M(darevel.postgres.pg_database) sets the owner's real password afterwards (what the roles
    do), so C(docker inspect) never shows a password that works.
  - Instances are handled concurrently; with O(wait=true) the module returns once each started
    container reports healthy, or fails with the last lines of its log.
  - With C(--diff), each container is shown as the fields of its description, one per line (image,
    port, volume, environment, command and one line per C(-c) setting, memory and CPU limits,
    restart policy, health check, stop signal and timeout, labels, state), as the engine holds it
    and as it would be, so the diff names the fields that change; secret variables such as
    C(POSTGRES_PASSWORD) show by name only. A kept container changes at most its state; the
    volume has an entry of its own.
  - Before any volume or container changes, the images that containers about to be created need and
    that the engine lacks are pulled, each once however many instances use it. The engine is first
    asked whether its registry has each of them (with the engine's credentials, as C(docker login)
    left them on the managed host); when any cannot be pulled (unknown image, unreachable registry,
    refused login) the module fails with every such image, the instances that use it and the fix,
    and changes nothing. In check mode it asks the registry the same way and pulls nothing.
author:
  - Darevel platform team (@darevel)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - darevel.postgres.docker
  - darevel.postgres.attributes
  - darevel.postgres.attributes.diff
requirements:
  - the Docker SDK for Python (C(docker)) on the managed host
options:
  instances:
    description: The instances.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Instance name.
        type: str
        required: true
      version:
        description: PostgreSQL major version (reported back).
        type: int
      spec:
        description:
          - The container description (the plan's C(docker) entry). Its C(settings), the server's
            settings as a mapping, become the container's command here (C(postgres -c name=value),
            one per setting, sorted); a description that gives C(command) instead is used as it is.
            The hash label is taken over the description so rendered.
        type: dict
        required: true
      password:
        description: Password for the image's C(POSTGRES_PASSWORD) when the container is created.
        type: str
  state:
    description:
      - V(started), V(stopped), V(restarted) and V(present) create what is missing first.
      - V(absent) removes the container; the volume (the data) only with O(purge=true).
      - V(pulled) only pulls the images the engine lacks (see the description) and touches no
        container or volume. It is a task of its own before the converge, so that a long first pull
        shows as such in the output.
    type: str
    choices: [present, started, stopped, restarted, absent, pulled]
    default: started
  purge:
    description: With O(state=absent), also remove the volume and so the data.
    type: bool
    default: false
  wait:
    description: Wait until started containers report healthy.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for a container to become healthy.
    type: int
    default: 180
  workers:
    description: How many instances are handled at the same time.
    type: int
    default: 6
"""

EXAMPLES = r"""
# postgres_plan: the instances that darevel.postgres.pg_preflight returns (the preflight role sets it)
- name: Run the first planned instance as a container
  darevel.postgres.pg_container:
    instances:
      - name: "{{ postgres_plan[0].name }}"
        version: "{{ postgres_plan[0].version }}"
        spec: "{{ postgres_plan[0].docker }}"
    state: started
"""

RETURN = r"""
instances:
  description: One result per instance.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Instance name.
      type: str
    container:
      description: Container name.
      type: str
    volume:
      description: Volume name.
      type: str
    status:
      description: V(started), V(stopped) or V(absent).
      type: str
    health:
      description: Health status once started (V(healthy)), null otherwise.
      type: str
    actions:
      description:
        - What was done (or would be done in check mode); V(pull) when the instance's image was pulled,
          V(auth_files) when its C(pg_hba.conf) or C(pg_ident.conf) was rewritten.
      type: list
      elements: str
images:
  description: With O(state=pulled), one entry per image that was (or in check mode would be) pulled.
  returned: when O(state=pulled)
  type: list
  elements: dict
  contains:
    image:
      description: Image name.
      type: str
    instances:
      description: The instances that use it.
      type: list
      elements: str
    status:
      description: V(pulled), or V(would pull) in check mode.
      type: str
    layers:
      description: Layers of the image.
      type: int
    downloaded:
      description: How many layers were downloaded (the others were on the engine already).
      type: int
    present:
      description: How many layers were on the engine already.
      type: int
    bytes:
      description: Bytes downloaded.
      type: int
    digest:
      description: The digest of what was pulled.
      type: str
    seconds:
      description: How long the pull took.
      type: float
pulled:
  description: With O(state=pulled), one line per entry of RV(images), for the output.
  returned: when O(state=pulled)
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.darevel.postgres.plugins.module_utils import _container, _docker
from ansible_collections.darevel.postgres.plugins.module_utils._batch import run_all
from ansible_collections.darevel.postgres.plugins.module_utils._docker import HAS_DOCKER, ContainerManager
from ansible_collections.darevel.postgres.plugins.module_utils._engine import docker_argument_spec
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.module_utils._module import exit_batch


def needs_image(manager, item: dict) -> bool:
    """Whether the instance's container is about to be created (missing, or its description changed)."""
    dummy, current = manager._current(item["spec"]["name"])  # pylint: disable=protected-access
    return current is None or current["hash"] != _container.config_hash(item["spec"])


def pull_missing(module, manager) -> tuple[list[dict], list[str]]:
    """Pull the images that containers about to be created need and the engine lacks, each once,
    before anything changes: (one entry per image, error messages). Every image is first checked
    with its registry, so that one unknown image fails the module before a long pull of another."""
    items = module.params["instances"]
    if module.params["state"] == "absent":
        return [], []
    missing = {item["spec"]["image"] for item in items if not _docker.image_present(manager.docker, item["spec"]["image"])
               and needs_image(manager, item)}
    groups = _container.images_to_pull(items, missing)
    workers = module.params["workers"]

    def check(group: dict) -> dict:
        problem = _docker.pull_check(manager.docker, group["image"])
        # An answer that says nothing about the image (an engine or a socket proxy that does not
        # offer the registry check) leaves it to the pull itself, except in check mode.
        if problem is not None and (module.check_mode or _container.pull_problem_kind(problem)):
            raise DarevelError(_container.pull_problem(group["image"], group["instances"], problem))
        return dict(group, status="would pull")

    checked, errors = run_all(groups, check, workers)
    if errors or module.check_mode:
        return checked, errors

    def pull(group: dict) -> dict:
        try:
            summary = _docker.pull(module.params.get("docker_host"), group["image"])
        except DarevelError as exc:
            raise DarevelError(_container.pull_problem(group["image"], group["instances"], exc.msg))
        return dict(group, status="pulled", **summary)

    return run_all(groups, pull, workers)


def exit_pulled(module, images: list[dict], errors: list[str]) -> None:
    images = [{k: v for k, v in entry.items() if k != "name"} for entry in images if entry.get("image")]
    using = {name: entry["image"] for entry in images for name in entry["instances"]}
    instances = [{"name": item["name"], "image": item["spec"]["image"],
                  "actions": ["pull"] if item["name"] in using else []} for item in module.params["instances"]]
    result = {"changed": bool(images) and not errors, "images": images, "instances": instances,
              "pulled": [_container.pull_line(entry) for entry in images]}
    if errors:
        module.fail_json(msg="; ".join(errors))
    module.exit_json(**result)


def main() -> None:
    module = AnsibleModule(
        argument_spec=docker_argument_spec({
            "instances": {"type": "list", "elements": "dict", "required": True, "options": {
                "name": {"type": "str", "required": True},
                "version": {"type": "int"},
                "spec": {"type": "dict", "required": True},
                "password": {"type": "str", "no_log": True},
            }},
            "state": {"type": "str", "default": "started",
                      "choices": ["present", "started", "stopped", "restarted", "absent", "pulled"]},
            "purge": {"type": "bool", "default": False},
            "wait": {"type": "bool", "default": True},
            "wait_timeout": {"type": "int", "default": 180},
            "workers": {"type": "int", "default": 6},
        }),
        supports_check_mode=True,
    )
    if not HAS_DOCKER:
        module.fail_json(msg=missing_required_lib("docker"))
    for item in module.params["instances"]:
        item["spec"] = _container.rendered(item["spec"])
    try:
        manager = ContainerManager(module)
        if module.params["state"] != "pulled":
            problems = manager.ownership_problems()
            if problems:
                exit_batch(module, {"results": [], "errors": problems})
        images, errors = pull_missing(module, manager)
    except DarevelError as exc:
        module.fail_json(msg=exc.msg)
    if module.params["state"] == "pulled":
        exit_pulled(module, images, errors)
    if errors:
        exit_batch(module, {"results": [], "errors": errors})
    outcome = manager.run()
    pulled = {name for entry in images for name in entry.get("instances", [])}
    for result in outcome["results"]:
        if result.get("name") in pulled and not result.get("failed"):
            result["actions"] = ["pull"] + result.get("actions", [])
            result["changed"] = True
    exit_batch(module, outcome)


if __name__ == "__main__":
    main()
