#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pg_preflight
short_description: Validate the instance catalogue and check the target before anything changes
version_added: 0.1.0
description:
  - Checks the whole catalogue and reports every problem at once, each naming the instance, the
    field, the bad value and the fix; duplicate names, ports, databases, containers and volumes;
    ports outside 1024-65535; names that are not C(^[a-z][a-z0-9_]*$); databases and roles that are
    not valid identifiers; unknown keys (with the closest valid key); enabled names missing from the
    catalogue.
  - On the target, finds ports that something other than the instance itself already listens on,
    naming the process that holds each one, and checks free disk space.
  - Returns the enabled instances with every default filled in; with O(security), also RV(plan),
    those instances with their security settings, which the roles work from.
  - Its action plugin runs on the control node around the module - the checks of O(security)
    before it, the plan after it.
  - Never changes anything.
author:
  - Darevel platform team (@darevel)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - darevel.postgres.attributes
  - darevel.postgres.attributes.no_diff
  - darevel.postgres.attributes.action
options:
  instances:
    description:
      - The catalogue, a list of instance entries (see the catalogue reference in C(docs/)).
      - Validated by the module itself rather than by the argument spec, so that every problem is
        reported in one run.
    type: raw
    required: true
  enabled:
    description: Names of the instances this host runs, a list, a comma-separated string, or V(all).
    type: raw
    default: all
  only:
    description:
      - Restrict the result to these enabled instances (a list or a comma-separated string), as
        the verb playbooks do with C(-e apps=slides,mail). Unknown names are problems.
    type: raw
  default_version:
    description: PostgreSQL major version for entries that do not name one.
    type: int
    default: 15
  check_ports:
    description: Look for other processes that listen on the instances' ports.
    type: bool
    default: true
  docker:
    description:
      - How the docker runtime runs each instance; the plan gets a C(docker) entry per instance with
        the whole container description, which the container role and the compose files share.
    type: dict
    suboptions:
      host:
        description: Docker engine address; the environment (C(DOCKER_HOST)) or the local socket when omitted.
        type: str
      image:
        description: Image; C({version}) is replaced by the instance's major version.
        type: str
        default: "postgres:{version}"
      bind_address:
        description: Host address the port is published on.
        type: str
        default: 127.0.0.1
      settings:
        description: PostgreSQL settings passed as C(-c) arguments (the instance's C(settings) win).
        type: dict
      resources:
        description: Memory and CPU limits and reservations (the instance's C(resources) win).
        type: dict
  tuning:
    description:
      - The multi-instance tuner. With O(tuning.enabled), the host's memory and CPUs (or the
        containers' limits on the docker runtime) less an OS reserve are split across the enabled
        instances by weight, and each instance's settings are planned from its share; pinned
        C(settings) of the catalogue win and are counted. Each planned instance's C(settings) is
        the result, and C(tuning) returns the plan with host totals. A budget too small for the
        instances is a problem naming the memory needed.
    type: dict
    suboptions:
      enabled:
        description: Plan the settings.
        type: bool
        default: true
      memory_mb:
        description: Host memory to plan for; V(0) reads it from the host.
        type: int
        default: 0
      cpus:
        description: CPUs to plan for; V(0) reads them from the host.
        type: float
        default: 0
      reserve_mb:
        description: Memory kept for the OS; V(0) lets the planner choose (an eighth of the memory, 512 MiB to 8 GiB).
        type: int
        default: 0
      others:
        description:
          - The PostgreSQL servers on the host that are not the enabled instances and come back at
            boot (a cluster of either native layout whose start.conf or START is C(auto), such as
            Debian's C(main) or an older instance; a running container that exposes 5432/tcp or
            belongs to another instance, with the restart policy C(always) or C(unless-stopped)).
          - V(share) keeps the share of an instance of weight 1 of the budget for each, V(warn)
            plans without them, V(ignore) does not look for them. Both V(share) and V(warn) name
            them in a warning.
        type: str
        choices: [share, warn, ignore]
        default: share
  runtime:
    description:
      - V(native) (systemd services), V(docker) (containers), or V(auto). V(auto) keeps V(native)
        when a planned instance already exists as a native cluster on the host, else picks V(docker)
        when a Docker engine answers, else V(native). The resolved value is returned.
    type: str
    choices: [auto, native, docker]
    default: auto
  python_libraries:
    description:
      - The Python libraries the runtime's modules import on the target (psycopg2 on V(native), the
        Docker SDK on V(docker)), as seen by the interpreter Ansible uses there.
      - V(install) (a converge installs what is missing, C(python_libraries_missing) lists the Debian
        packages; only a target where that cannot work, such as a virtualenv interpreter, is a
        problem), V(require) (a verb that installs nothing, so a missing library is a problem naming
        the fix), V(ignore).
    type: str
    choices: [install, require, ignore]
    default: install
  min_free_mb:
    description: Free space needed under C(/var/lib/postgresql); V(0) skips the check.
    type: int
    default: 512
  problems:
    description:
      - Problems found before this module runs, reported with the module's own. The checks of
        O(security) add theirs to these.
    type: list
    elements: str
    default: []
  security:
    description:
      - The inputs of the checks and of the plan that the action plugin makes on the control node
        (the module itself does not receive it). When given, before the module runs, the passwords
        (read from the variables C(postgres_owner_passwords) and C(postgres_app_passwords), and on a
        prod inventory from every play host's too, for reuse), the client networks, the
        certificates' validity and O(security.host_vars) are checked, and their problems reported
        with the module's own, so that no password is sent to the target for checking. After it,
        RV(plan) is the plan with each instance's security settings, pg_hba rules and certificate paths.
    type: dict
    suboptions:
      environment:
        description: V(dev) or V(prod).
        type: str
        default: dev
      hba_allow_any:
        description: Accept client networks that admit any address (C(postgres_hba_allow_any)).
        type: bool
        default: false
      env_host:
        description: The env files' C(DB_HOST) (C(postgres_env_host)), checked with the passwords against the env-file rule.
        type: str
        default: localhost
      host_vars:
        description: The host variables that reach files and command lines, as the inventory sets them (null where it does not).
        type: dict
        default: {}
      tls_days:
        description: C(postgres_tls_days), C(postgres_tls_ca_days) and C(postgres_tls_renew_days) as the inventory sets them.
        type: dict
        default: {}
      tls:
        description: TLS on the native runtime's instances (C(postgres_tls)).
        type: bool
        default: false
      listen_addresses:
        description: Addresses the instances listen on (C(postgres_listen_addresses)).
        type: list
        elements: str
        default: []
      tls_certificates:
        description: Certificates brought per instance (C(postgres_tls_certificates)).
        type: dict
        default: {}
      tls_min_protocol:
        description: C(ssl_min_protocol_version) with TLS; V(TLSv1.2) when unset.
        type: str
  entry_points:
    description:
      - Entry points of this collection's roles, as C(role:entry_point) (for example
        V(instance:converge)), whose inputs the action plugin checks on the control node against
        their argument specs, after the module (which only reads) - each variable the host sets,
        templated over those roles' defaults and the facts the preflight role sets from this
        result, as where those roles run. Unlike Ansible's own check when a role starts, an option's
        C(required) does not count (the preflight's facts are not set yet) and the roles' defaults
        are not checked. Their problems are reported with the module's own (the module itself does
        not receive the option).
      - The preflight role passes C(postgres_preflight_entry_points). site.yml lists its converge's
        four entry points there, so that a bad input on any host stops every host before any
        change, and imports those roles with C(rolespec_validate=false).
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Check the catalogue and the ports before changing anything
  darevel.postgres.pg_preflight:
    instances: "{{ postgres_instances }}"
    enabled: "{{ postgres_instances_enabled }}"
  register: preflight
"""

RETURN = r"""
plan:
  description:
    - With O(security), the validated instances (RV(instances)) with each one's security settings
      merged into its settings (or its container's), its pg_hba rules, the settings the instance
      keeps effective, and with TLS its certificate paths - what the other roles converge.
  returned: when O(security) is given and no problem was found
  type: list
  elements: dict
runtime:
  description: The runtime in use on this host, V(native) or V(docker).
  returned: always
  type: str
  sample: native
tuning:
  description: The tuning plan (host totals and each instance's share and settings), or null when disabled.
  returned: always
  type: dict
python_has_docker:
  description: Whether the target's Python can import the Docker SDK.
  returned: always
  type: bool
python_has_psycopg2:
  description: Whether the target's Python can import psycopg2.
  returned: always
  type: bool
python:
  description: The interpreter that ran the module on the target.
  returned: always
  type: str
  sample: /usr/bin/python3
python_libraries_missing:
  description: Debian packages of the runtime's Python libraries that the converge installs (O(python_libraries=install)).
  returned: always
  type: list
  elements: str
  sample: [python3-psycopg2]
instances:
  description:
    - The enabled instances with defaults filled in, each with its container description (C(docker)),
      whose C(settings) stay a mapping until M(darevel.postgres.pg_container) renders its command.
    - On the docker runtime each also has C(in_container), the name of the container it runs in,
      which the modules that reach an instance take as their C(container) option.
  returned: always
  type: list
  elements: dict
problems:
  description: Every problem found (the task fails when there is one).
  returned: always
  type: list
  elements: str
installed_versions:
  description: PostgreSQL major versions whose server binaries are installed on the target.
  returned: always
  type: list
  elements: int
versions_needed:
  description: Major versions the enabled instances need.
  returned: always
  type: list
  elements: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.darevel.postgres.plugins.module_utils._errors import preflight_message
from ansible_collections.darevel.postgres.plugins.module_utils._options import PREFLIGHT_SECURITY_OPTIONS
from ansible_collections.darevel.postgres.plugins.module_utils._preflight import run


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "instances": {"type": "raw", "required": True},
            "enabled": {"type": "raw", "default": "all"},
            "only": {"type": "raw"},
            "default_version": {"type": "int", "default": 15},
            "check_ports": {"type": "bool", "default": True},
            "min_free_mb": {"type": "int", "default": 512},
            "problems": {"type": "list", "elements": "str", "default": []},
            # These two are read by the action plugin on the control node and never sent here (documented above).
            "security": {"type": "dict", "options": PREFLIGHT_SECURITY_OPTIONS},
            "entry_points": {"type": "list", "elements": "str"},
            "runtime": {"type": "str", "default": "auto", "choices": ["auto", "native", "docker"]},
            "python_libraries": {"type": "str", "default": "install", "choices": ["install", "require", "ignore"]},
            "tuning": {"type": "dict", "options": {
                "enabled": {"type": "bool", "default": True},
                "memory_mb": {"type": "int", "default": 0},
                "cpus": {"type": "float", "default": 0},
                "reserve_mb": {"type": "int", "default": 0},
                "others": {"type": "str", "default": "share", "choices": ["share", "warn", "ignore"]},
            }},
            "docker": {"type": "dict", "options": {
                "host": {"type": "str"},
                "image": {"type": "str", "default": "postgres:{version}"},
                "bind_address": {"type": "str", "default": "127.0.0.1"},
                "settings": {"type": "dict"},
                "resources": {"type": "dict"},
            }},
        },
        supports_check_mode=True,
    )
    result = run(module.params)
    docker = module.params.get("docker") or {}
    if docker.get("bind_address") not in (None, "127.0.0.1", "::1", "localhost"):
        module.warn("postgres_docker_bind_address is %s: the docker runtime publishes every instance's port "
                    "beyond this machine; keep it 127.0.0.1 unless other machines must connect"
                    % docker["bind_address"])
    for warning in result.pop("warnings", []):
        module.warn(warning)
    if result["problems"]:
        module.fail_json(msg=preflight_message(result["problems"]), **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
