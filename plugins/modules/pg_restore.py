#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pg_restore
short_description: Restore a verified backup of an instance, and check its row counts
version_added: 0.1.0
description:
  - Restores a backup written by M(darevel.postgres.pg_backup) (the latest, or one by id) into the same
    instance under a new database name, into another instance, or into an external server given by
    O(target_dsn) (a managed PostgreSQL service).
  - Before any database is touched, every file the manifest lists is checked for its size and sha256;
    one corrupted byte refuses the whole backup. An existing target database is refused unless its
    name is listed in O(confirm_replace); a replaced database is restored under a temporary name
    first and swapped in only once its row counts match, so a failed restore leaves it unchanged.
  - After each database is restored, the row count of every table in the manifest is compared with
    the restored database; any difference fails the task and the restored database is dropped.
  - Globals (roles) are restored with O(globals=missing), which creates only the roles the target lacks;
    roles that exist keep their passwords and attributes. External servers get none by default.
  - On the docker runtime (O(container)) the files are copied into the container and C(pg_restore)
    runs there, so the client is the server's own version; this holds for O(target_dsn) too, which is
    then reached from the source's container (its network, where C(localhost) is the container itself).
    Native instances are reached as C(postgres) over the Unix socket with the instance's own
    C(pg_restore); O(target_dsn) from the managed host with its newest client that reads the archive.
author:
  - Darevel platform team (@darevel)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - darevel.postgres.instance
  - darevel.postgres.docker
  - darevel.postgres.attributes
  - darevel.postgres.attributes.no_diff
requirements:
  - psycopg2 on the managed host (native runtime, O(target_dsn) included)
  - the Docker SDK for Python on the managed host (docker runtime)
options:
  container:
    description: The source instance's container (docker runtime); also the target when restoring into the same instance.
    type: str
  backup_root:
    description: Directory holding C(<instance>/<backup_id>/) backups.
    type: path
    default: /var/backups/darevel-postgres
  backup_id:
    description: Backup to restore, C(YYYYMMDDTHHMMSSZ) (with C(-N) when several were taken that second), or C(latest).
    type: str
    default: latest
  databases:
    description: Databases of the backup to restore; all of them when omitted.
    type: list
    elements: str
  target_database:
    description: Name of the restored database (only when one database is restored); the source name when omitted.
    type: str
  target_suffix:
    description: Appended to every source database name to form the target name (for example C(_drill)).
    type: str
  target_instance:
    description: Another instance to restore into (its name, for messages and reports); the source instance when omitted.
    type: str
  target_port:
    description: Port of O(target_instance) (native runtime).
    type: int
  target_version:
    description: Major version of O(target_instance) (native runtime); O(default_version) when omitted.
    type: int
  target_container:
    description: Container of O(target_instance) (docker runtime).
    type: str
  target_dsn:
    description:
      - An external server to restore into instead of an instance. Its user needs C(CREATEDB).
      - Objects are restored without owners and privileges (the connecting user owns them) unless
        O(no_owner=false); no globals are restored unless O(globals=missing).
    type: dict
    suboptions:
      host:
        description: Server host name or address.
        type: str
        required: true
      port:
        description: Server port.
        type: int
        default: 5432
      user:
        description: Login role.
        type: str
        required: true
      password:
        description: Password of O(target_dsn.user); passed to the clients in C(PGPASSWORD), never on a command line.
        type: str
      sslmode:
        description: libpq C(sslmode), for example C(verify-full) for a managed service.
        type: str
        choices: [disable, allow, prefer, require, verify-ca, verify-full]
      sslrootcert:
        description:
          - CA certificate file on the managed host for C(verify-ca) and C(verify-full).
          - On the docker runtime it is copied into the source's container for the restore and removed afterwards.
        type: path
      connect_timeout:
        description: Seconds to wait for a connection.
        type: int
        default: 10
  confirm_replace:
    description: Target databases that may be replaced; any other existing target database is refused.
    type: list
    elements: str
    default: []
  globals:
    description:
      - C(missing) creates the roles of C(globals.sql) that the target lacks; C(none) restores no
        globals; C(auto) is C(missing) for instances and C(none) for O(target_dsn).
    type: str
    choices: [auto, missing, none]
    default: auto
  no_owner:
    description: Restore without owners and privileges (C(--no-owner --no-acl)); the default is true for O(target_dsn) only.
    type: bool
  jobs:
    description: Parallel C(pg_restore) jobs per database.
    type: int
    default: 1
  drop_after:
    description: Drop each restored database once its row counts matched (a restore drill).
    type: bool
    default: false
  env_file:
    description:
      - With O(target_dsn) and one instance, rewrite this env file to point at the target once every
        database is verified (C(DB_HOST), C(DB_PORT), C(DB_NAME), C(POSTGRES_USER), C(POSTGRES_PASSWORD),
        and C(PGSSLMODE), C(PGSSLROOTCERT) when set); mode C(0600).
    type: path
  env_backup:
    description: Keep the old env file as C(<env_file>.<UTC time>.bak) (mode C(0600)) before rewriting it.
    type: bool
    default: true
  socket_dir:
    description: Directory holding the native instances' Unix sockets.
    type: path
    default: /var/run/postgresql
  instances:
    description: Several instances at once, restored concurrently (O(workers) at a time).
    type: list
    elements: dict
    suboptions:
      name:
        description: Instance whose backup is restored.
        type: str
        required: true
      version:
        description: Major version.
        type: int
      port:
        description: Port.
        type: int
      container:
        description: Container (docker runtime).
        type: str
      backup_id:
        description: Backup id or C(latest); O(backup_id) when omitted.
        type: str
      databases:
        description: Databases to restore.
        type: list
        elements: str
      target_database:
        description: Target database name.
        type: str
      target_suffix:
        description: Suffix of the target database names.
        type: str
      target_instance:
        description: Instance to restore into.
        type: str
      target_port:
        description: Its port.
        type: int
      target_version:
        description: Its major version.
        type: int
      target_container:
        description: Its container.
        type: str
notes:
  - Check mode reads and verifies the backup and the target, and returns what would be restored.
  - Database-level settings (C(ALTER DATABASE ... SET)) and the database's encoding and locale are
    those of the target's defaults; the database owner is the backup's when that role exists on the target.
"""

EXAMPLES = r"""
- name: Restore mail's latest backup next to the live database, as darevel_mail_restored
  darevel.postgres.pg_restore:
    name: mail
    port: 5437
    target_database: darevel_mail_restored

- name: Replace darevel_mail from a given backup (explicitly confirmed)
  darevel.postgres.pg_restore:
    name: mail
    port: 5437
    backup_id: 20261126T020000Z
    confirm_replace: [darevel_mail]

- name: Restore into a managed service over TLS
  darevel.postgres.pg_restore:
    name: mail
    port: 5437
    target_dsn:
      host: mail.example.rds.amazonaws.com
      user: darevel_admin
      password: "{{ vault_rds_password }}"
      sslmode: verify-full
      sslrootcert: /etc/ssl/certs/rds-global-bundle.pem
"""

RETURN = r"""
backup_id:
  description: The backup restored.
  returned: when O(name) is given
  type: str
  sample: 20261126T020000Z
path:
  description: Its directory.
  returned: when O(name) is given
  type: str
target:
  description: Where it went (no password).
  returned: when O(name) is given
  type: str
databases:
  description: One row per database.
  returned: when O(name) is given
  type: list
  elements: dict
  sample:
    - {database: darevel_mail, target_database: darevel_mail_restored, format: custom, size_bytes: 52311,
       seconds: 0.42, tables: 3, rows: 1200, replaced: false, verified: true, extra_tables: []}
globals:
  description: What was done with globals.sql (action, roles created, roles that existed).
  returned: when O(name) is given
  type: dict
env_file:
  description: The rewritten env file and the copy of the old one.
  returned: when O(env_file) is given
  type: dict
instances:
  description: One result per instance when O(instances) is given.
  returned: when O(instances) is given
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.darevel.postgres.plugins.module_utils._engine import docker_argument_spec
from ansible_collections.darevel.postgres.plugins.module_utils._instance import batch_argument_spec
from ansible_collections.darevel.postgres.plugins.module_utils._module import exit_batch
from ansible_collections.darevel.postgres.plugins.module_utils._restore import RestoreManager

PER_INSTANCE = {
    "container": {"type": "str"},
    "backup_id": {"type": "str"},
    "databases": {"type": "list", "elements": "str"},
    "target_database": {"type": "str"},
    "target_suffix": {"type": "str"},
    "target_instance": {"type": "str"},
    "target_port": {"type": "int"},
    "target_version": {"type": "int"},
    "target_container": {"type": "str"},
}
DSN = {
    "host": {"type": "str", "required": True},
    "port": {"type": "int", "default": 5432},
    "user": {"type": "str", "required": True},
    "password": {"type": "str", "no_log": True},
    "sslmode": {"type": "str", "choices": ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]},
    "sslrootcert": {"type": "path"},
    "connect_timeout": {"type": "int", "default": 10},
}
EXTRA = {
    "backup_root": {"type": "path", "default": "/var/backups/darevel-postgres"},
    "backup_id": {"type": "str", "default": "latest"},
    "target_dsn": {"type": "dict", "options": DSN},
    "confirm_replace": {"type": "list", "elements": "str", "default": []},
    "globals": {"type": "str", "choices": ["auto", "missing", "none"], "default": "auto"},
    "no_owner": {"type": "bool"},
    "jobs": {"type": "int", "default": 1},
    "drop_after": {"type": "bool", "default": False},
    "env_file": {"type": "path"},
    "env_backup": {"type": "bool", "default": True},
    "socket_dir": {"type": "path", "default": "/var/run/postgresql"},
}


def main() -> None:
    per_instance = dict(PER_INSTANCE)
    per_instance.pop("backup_id")
    spec = batch_argument_spec(docker_argument_spec(EXTRA), per_instance)
    spec["instances"]["options"]["backup_id"] = {"type": "str"}
    module = AnsibleModule(argument_spec=spec, mutually_exclusive=[("name", "instances"), ("target_database", "target_suffix")],
                           required_one_of=[("name", "instances")], supports_check_mode=True)
    exit_batch(module, RestoreManager(module).run())


if __name__ == "__main__":
    main()
