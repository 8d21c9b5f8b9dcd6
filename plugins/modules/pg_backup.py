#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pg_backup
short_description: Verified backups of PostgreSQL instances, with retention
version_added: 0.1.0
description:
  - Backs up one instance, or several concurrently with O(instances) - the globals
    (C(pg_dumpall --globals-only)) and each database (C(pg_dump), custom or directory format).
  - Each database's per-table row counts are taken in the snapshot its dump uses (an exported
    snapshot passed to C(pg_dump --snapshot)).
  - A run writes into C(ROOT/INSTANCE/.BACKUP_ID.partial/), fsyncs every file, records sha256 and
    size of each in C(manifest.json) (written last), then renames the directory to
    C(ROOT/INSTANCE/BACKUP_ID). A failed run removes its partial directory and deletes nothing.
    Layout and manifest are described in C(docs/backups.md).
  - On the docker runtime the tools run inside the instance's container (so client and server
    versions match) and their output is streamed to the host.
  - After a verified backup, retention keeps the last O(retention.keep_last) backups plus the
    newest of each of the last O(retention.daily) days and O(retention.weekly) ISO weeks; the
    newest verified backup is never deleted.
  - Every run writes a new backup, so the task always reports a change.
author:
  - Darevel platform team (@darevel)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - darevel.postgres.instance
  - darevel.postgres.docker
  - darevel.postgres.docker.runtime
  - darevel.postgres.instance.connection
  - darevel.postgres.attributes
  - darevel.postgres.attributes.no_diff
options:
  instances:
    description:
      - Several instances at once, backed up concurrently (at most O(workers) at a time); one
        failing instance does not stop the others, and the task fails naming it. Mutually
        exclusive with O(name).
    type: list
    elements: dict
    suboptions:
      name:
        description: Instance name.
        type: str
        required: true
      version:
        description: PostgreSQL major version (native runtime, picks the client tools).
        type: int
      port:
        description: TCP port (native runtime, with the Unix socket).
        type: int
      container:
        description: Container name (docker runtime).
        type: str
      user:
        description: Superuser to connect as; C(postgres) natively, the container's C(POSTGRES_USER) on docker.
        type: str
      databases:
        description: Databases to back up; every non-template database except C(postgres) when omitted.
        type: list
        elements: str
  databases:
    description: Databases to back up; every non-template database except C(postgres) when omitted.
    type: list
    elements: str
  root:
    description: Backup root on the host; each instance gets its own directory under it (0700).
    type: path
    default: /var/backups/darevel-postgres
  format:
    description: C(pg_dump) archive format per database.
    type: str
    choices: [custom, directory]
    default: custom
  jobs:
    description: Parallel C(pg_dump) jobs per database; more than 1 needs O(format=directory).
    type: int
    default: 1
  compression:
    description:
      - V(auto) (C(zstd:3) from PostgreSQL 16, C(gzip:6) before), V(none), C(gzip[:1-9]),
        C(lz4[:1-12]) or C(zstd[:1-22]); lz4 and zstd need PostgreSQL 16 or later.
    type: str
    default: auto
  retention:
    description: How many backups to keep after a verified backup.
    type: dict
    default: {}
    suboptions:
      keep_last:
        description: The last N backups.
        type: int
        default: 7
      daily:
        description: The newest backup of each of the last N days that have one.
        type: int
        default: 7
      weekly:
        description: The newest backup of each of the last N ISO weeks that have one.
        type: int
        default: 4
  prune:
    description: Apply O(retention) after a verified backup; V(false) deletes nothing.
    type: bool
    default: true
  workers:
    description: How many instances are backed up at the same time; V(0) means the host's CPU count.
    type: int
    default: 0
attributes:
  check_mode:
    details: Connects to read the server version and the databases; writes and deletes nothing.
notes:
  - Files are 0600 and directories 0700, owned by the user the module runs as (root).
  - A killed run leaves only C(.BACKUP_ID.partial); the next run of that instance removes it.
"""

EXAMPLES = r"""
- name: Back up the mail instance (native)
  darevel.postgres.pg_backup:
    name: mail
    version: 15
    port: 5437

- name: Back up two containers concurrently, directory format with 2 jobs each
  darevel.postgres.pg_backup:
    runtime: docker
    instances:
      - {name: mail, container: darevel-postgres-mail}
      - {name: chat, container: darevel-postgres-chat}
    format: directory
    jobs: 2
    retention: {keep_last: 3, daily: 7, weekly: 4}
"""

RETURN = r"""
name:
  description: Instance name (single-instance form).
  returned: when O(name) is given
  type: str
  sample: mail
backup_id:
  description: Id (directory name) of the backup written.
  returned: when O(name) is given
  type: str
  sample: 20261126T063000Z
path:
  description: Directory of the backup.
  returned: when O(name) is given
  type: str
  sample: /var/backups/darevel-postgres/mail/20261126T063000Z
server_version:
  description: Server version, from the server.
  returned: when O(name) is given
  type: str
  sample: "15.10"
compression:
  description: Compression used (manifest's label).
  returned: when O(name) is given
  type: str
  sample: gzip:6
duration_seconds:
  description: From the start to the manifest's end time.
  returned: success, when O(name) is given
  type: float
size_bytes:
  description: Total size of the backup's files.
  returned: success, when O(name) is given
  type: int
databases:
  description: Per database - name, format, path, size_bytes, duration_seconds, tables, rows.
  returned: when O(name) is given
  type: list
  elements: dict
verified:
  description: Every file is there with the manifest's size and each archive reads (null in check mode).
  returned: when O(name) is given
  type: bool
retention:
  description: C(policy), C(kept) and C(deleted) backup ids, and why each kept one is kept (C(reasons)).
  returned: when O(name) is given
  type: dict
removed_leftovers:
  description: Partial directories of killed runs removed before this run.
  returned: when O(name) is given
  type: list
  elements: str
instances:
  description: One result per instance (the keys above), or C(failed) and C(msg) for a failed one.
  returned: when O(instances) is given
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.darevel.postgres.plugins.module_utils._backup import run_batch
from ansible_collections.darevel.postgres.plugins.module_utils._engine import docker_argument_spec
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.module_utils._instance import batch_argument_spec, batch_items
from ansible_collections.darevel.postgres.plugins.module_utils._module import exit_batch

ELEMENT = {"container": {"type": "str"}, "user": {"type": "str"}, "databases": {"type": "list", "elements": "str"}}
OPTIONS = ("runtime", "root", "format", "jobs", "compression", "retention", "prune", "docker_host", "socket_dir",
           "databases")


def main() -> None:
    module = AnsibleModule(
        argument_spec=batch_argument_spec(docker_argument_spec({
            "root": {"type": "path", "default": "/var/backups/darevel-postgres"},
            "format": {"type": "str", "default": "custom", "choices": ["custom", "directory"]},
            "jobs": {"type": "int", "default": 1},
            "compression": {"type": "str", "default": "auto"},
            "retention": {"type": "dict", "default": {}, "options": {
                "keep_last": {"type": "int", "default": 7}, "daily": {"type": "int", "default": 7},
                "weekly": {"type": "int", "default": 4}}},
            "prune": {"type": "bool", "default": True},
            "socket_dir": {"type": "path", "default": "/var/run/postgresql"},
            "workers": {"type": "int", "default": 0},
        }, runtime=True), ELEMENT),
        mutually_exclusive=[("name", "instances")],
        required_one_of=[("name", "instances")],
        supports_check_mode=True,
    )
    items = batch_items(module.params, ["name", "version", "port"] + list(ELEMENT))
    try:
        outcome = run_batch(items, {k: module.params[k] for k in OPTIONS}, module.params["workers"], module.check_mode)
    except DarevelError as exc:
        module.fail_json(msg=exc.msg)
    exit_batch(module, outcome)


if __name__ == "__main__":
    main()
