#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pg_database
short_description: Ensure an instance's application database, its owner role and the backend's env file
version_added: 0.1.0
description:
  - For each instance, makes sure the owner role exists with the given password, the database exists
    and belongs to that role, the application role (O(app_role)) exists with least privilege, and
    writes the env file that the application backend reads (C(DB_HOST), C(DB_PORT), C(DB_NAME),
    C(POSTGRES_USER), C(POSTGRES_PASSWORD), and C(DB_APP_USER), C(DB_APP_PASSWORD)) with mode C(0600).
  - The C(postgres) superuser of a native instance has no password (it is reached only as the OS
    user over the socket); a password found on it is removed.
  - The password is sent as a SCRAM-SHA-256 verifier computed by the module, never in clear text,
    so it cannot appear in the server's statement log. An unchanged password is detected by
    recomputing the verifier with the stored salt; nothing is written then.
  - Connects as the C(postgres) superuser over the instance's Unix socket, as root through the ident
    map that M(darevel.postgres.pg_instance) installs.
  - Several instances can be given at once with O(instances); they are handled concurrently.
author:
  - Darevel platform team (@darevel)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - darevel.postgres.instance
  - darevel.postgres.docker
  - darevel.postgres.attributes
  - darevel.postgres.attributes.diff
requirements:
  - psycopg2 on the managed host
options:
  database:
    description: Database name.
    type: str
  owner:
    description: Role that owns the database and logs in from the application.
    type: str
  owner_password:
    description: Password of O(owner).
    type: str
  env_file:
    description: Path of the env file to write on the managed host; none is written when omitted.
    type: path
  env_host:
    description: Value of C(DB_HOST) in the env file.
    type: str
    default: localhost
  env_sslmode:
    description:
      - C(PGSSLMODE) in the env file, the TLS mode the backends' clients use (libpq and PgJDBC
        read the same values); none is written when omitted. The roles give V(verify-full) on
        instances with TLS from the host's CA, V(require) with certificates of your own.
    type: str
    choices: [disable, prefer, require, verify-ca, verify-full]
  env_sslrootcert:
    description: C(PGSSLROOTCERT) in the env file, the CA certificate the clients verify the server with.
    type: path
  connection_limit:
    description:
      - Connections O(owner) and O(app_role) may each hold at once (C(rolconnlimit), CIS 5.5); set when
        it differs. The roles give the catalogue's C(connection_limit), else one derived from the
        instance's C(max_connections).
    type: int
  lock_public_schema:
    description:
      - Revoke every privilege of C(PUBLIC) on schema C(public) in every database of the instance
        (C(template1) included), and grant C(USAGE, CREATE) there to O(owner) explicitly (CIS 4.10).
        The roles set it on prod.
    type: bool
    default: false
  instances:
    description:
      - Several instances at once, handled concurrently. Mutually exclusive with O(name).
    type: list
    elements: dict
    suboptions:
      name:
        description: Instance name.
        type: str
        required: true
      version:
        description: PostgreSQL major version.
        type: int
      port:
        description: TCP port of the instance.
        type: int
      database:
        description: Database name.
        type: str
      owner:
        description: Owner role.
        type: str
      owner_password:
        description: Password of the owner role.
        type: str
      env_file:
        description: Env file path.
        type: path
      env_host:
        description: Value of C(DB_HOST).
        type: str
        default: localhost
      container:
        description: Container of the instance (docker runtime); see O(container).
        type: str
      app_role:
        description: Application role; see O(app_role).
        type: str
      app_password:
        description: Password of the application role.
        type: str
      env_sslmode:
        description: C(PGSSLMODE) in the env file; see O(env_sslmode).
        type: str
        choices: [disable, prefer, require, verify-ca, verify-full]
      env_sslrootcert:
        description: C(PGSSLROOTCERT) in the env file; see O(env_sslrootcert).
        type: path
      connection_limit:
        description: See O(connection_limit).
        type: int
      lock_public_schema:
        description: See O(lock_public_schema).
        type: bool
        default: false
  app_role:
    description:
      - The application's role, with least privilege, C(LOGIN) and nothing else (C(NOSUPERUSER
        NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS)); C(CONNECT) on its database (revoked from
        C(PUBLIC)), C(USAGE) on schema C(public), C(SELECT, INSERT, UPDATE, DELETE) on its tables and
        C(USAGE, SELECT) on its sequences, also by default privileges for what O(owner) creates later.
      - Its password is set as a SCRAM verifier like the owner's, and written to the env file as
        C(DB_APP_USER) and C(DB_APP_PASSWORD).
    type: str
  app_password:
    description: Password of O(app_role).
    type: str
  container:
    description:
      - On the docker runtime, the instance's container. SQL then runs through C(psql) inside the
        container as its superuser (the image's C(POSTGRES_USER)) over the local socket, so the
        password can be rotated without knowing the old one.
    type: str
  file_modes:
    description:
      - The collection's configuration directories on the host, C(/etc/darevel) and
        C(/etc/darevel/postgres), where they exist, back to C(0755) C(root:root), on either runtime;
        the env files and the TLS files below keep their own modes. Nothing is created. An earlier
        version created C(/etc/darevel/postgres) C(0700), where the C(postgres) user cannot reach its
        TLS files.
      - The modes of a native instance's data directory and configuration files are kept by
        M(darevel.postgres.pg_instance) (its C(file_modes) option), which writes them.
    type: bool
    default: true
  socket_dir:
    description: Directory holding the instances' Unix sockets.
    type: path
    default: /var/run/postgresql
  status:
    description:
      - After its work, read the instances given live, as M(darevel.postgres.pg_instance_info) reads
        them (with O(instances[].database) as each one's database, and the size of each data
        directory when not probed), and return the read as RV(status). site.yml's status report
        (M(darevel.postgres.pg_status) with its C(read) option) then needs no module run of its own.
      - Nothing is read when the module fails, or in a check run on a host without psycopg2.
    type: dict
    suboptions:
      runtime:
        description:
          - The instances' runtime, as M(darevel.postgres.pg_instance_info)'s O(darevel.postgres.pg_instance_info#module:runtime);
            when omitted, V(docker) if an instance has a O(instances[].container), else V(native).
        type: str
        choices: [native, docker]
      layout:
        description: The native runtime's layout, as M(darevel.postgres.pg_instance_info)'s O(darevel.postgres.pg_instance_info#module:layout).
        type: str
        choices: [auto, debian, generic]
        default: auto
      probe:
        description: Connect to each instance, as M(darevel.postgres.pg_instance_info)'s O(darevel.postgres.pg_instance_info#module:probe).
        type: bool
        default: true
      backup_root:
        description: Each instance's last backup from here, as M(darevel.postgres.pg_instance_info)'s O(darevel.postgres.pg_instance_info#module:backup_root).
        type: path
notes:
  - The diff has one entry for the roles and the database and one for the env file, a unified diff
    under its path with its passwords masked (a changed one is marked changed after the mask).
  - Managed settings that another file or C(ALTER SYSTEM) overrides are put back by
    M(darevel.postgres.pg_instance) (its C(enforce) option), which owns a
    native instance's configuration.
"""

EXAMPLES = r"""
- name: Database darevel_chat owned by darevel_chat_owner, and /etc/darevel/postgres/chat.env
  darevel.postgres.pg_database:
    name: chat
    port: 5434
    database: darevel_chat
    owner: darevel_chat_owner
    owner_password: "{{ chat_owner_password }}"
    env_file: /etc/darevel/postgres/chat.env
"""

RETURN = r"""
status:
  description:
    - The read that O(status) asks for - C(instances), as M(darevel.postgres.pg_instance_info)
      returns them, and C(msg), the problems met reading, when there were any.
  returned: when O(status) is given and the module did its work
  type: dict
  sample:
    instances:
      - {name: chat, port: 5434, status: started, accepting: true}
host_changes:
  description: The configuration directories whose mode or owner was set back (see O(file_modes)).
  returned: always
  type: list
  elements: path
  sample: [/etc/darevel/postgres]
queries:
  description: Statements that ran (or would run in check mode), passwords masked.
  returned: when O(name) is given
  type: list
  elements: str
  sample: ["CREATE ROLE darevel_chat_owner LOGIN PASSWORD 'SCRAM-SHA-256$********'"]
app_role:
  description: Application role.
  returned: when O(name) is given
  type: str
database:
  description: Database name.
  returned: when O(name) is given
  type: str
owner:
  description: Owner role.
  returned: when O(name) is given
  type: str
env_file:
  description: Env file path.
  returned: when O(name) is given
  type: str
instances:
  description: One result per instance when O(instances) is given.
  returned: when O(instances) is given
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.darevel.postgres.plugins.module_utils._database import DatabaseManager
from ansible_collections.darevel.postgres.plugins.module_utils._engine import docker_argument_spec
from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError
from ansible_collections.darevel.postgres.plugins.module_utils._instance import batch_argument_spec
from ansible_collections.darevel.postgres.plugins.module_utils._module import exit_batch
from ansible_collections.darevel.postgres.plugins.module_utils._ops.status import READ_SPEC, read
from ansible_collections.darevel.postgres.plugins.module_utils._options import LAYOUT_SPEC, RUNTIME_SPEC
from ansible_collections.darevel.postgres.plugins.module_utils._runtime.native import HAS_PSYCOPG2

PER_INSTANCE = {
    "database": {"type": "str"},
    "owner": {"type": "str"},
    "owner_password": {"type": "str", "no_log": True},
    "env_file": {"type": "path"},
    "env_host": {"type": "str", "default": "localhost"},
    "container": {"type": "str"},
    "app_role": {"type": "str"},
    "app_password": {"type": "str", "no_log": True},
    "env_sslmode": {"type": "str", "choices": ["disable", "prefer", "require", "verify-ca", "verify-full"]},
    "env_sslrootcert": {"type": "path"},
    "lock_public_schema": {"type": "bool", "default": False},
    "connection_limit": {"type": "int"},
}


def main() -> None:
    spec = batch_argument_spec(docker_argument_spec({"socket_dir": {"type": "path", "default": "/var/run/postgresql"},
                                                     "file_modes": {"type": "bool", "default": True},
                                                     "status": {"type": "dict", "options": STATUS_OPTIONS}}),
                               PER_INSTANCE)
    module = AnsibleModule(argument_spec=spec, mutually_exclusive=[("name", "instances")],
                           required_one_of=[("name", "instances")], supports_check_mode=True)
    items = module.params["instances"] or [module.params]
    # The docker runtime runs SQL through psql in the container: psycopg2 is for native instances.
    if not HAS_PSYCOPG2 and any(not item.get("container") for item in items):
        if module.check_mode:
            # A check run of a converge that would install python3-psycopg2 first: nothing to read with.
            module.warn("psycopg2 is not installed on this host yet (the converge installs python3-psycopg2 "
                        "first): the databases, roles and env files were not checked")
            module.exit_json(changed=False, instances=[], host_changes=[],
                             msg="not checked: psycopg2 is missing; fix: install python3-psycopg2")
        module.fail_json(msg=missing_required_lib("psycopg2") + "; fix: install python3-psycopg2 "
                         "(playbooks/site.yml installs it)")
    outcome = DatabaseManager(module).run()
    if module.params["status"] and not outcome["errors"]:
        outcome["status"] = status_read(module, items)
    exit_batch(module, outcome)


# pg_instance_info's options of the same names (the shared runtime and layout specs, READ_SPEC);
# the runtime has no default (told by the items' containers) and the probe is on.
STATUS_OPTIONS = {
    "runtime": {"type": "str", "choices": RUNTIME_SPEC["runtime"]["choices"]},
    **LAYOUT_SPEC,
    "probe": dict(READ_SPEC["probe"], default=True),
    "backup_root": READ_SPEC["backup_root"],
}


def status_read(module, items: list) -> dict:
    """O(status): the instances `items` read live after the module's work, with the problems met. A
    read that fails is told in the read's `msg`, never as the module's failure: its work is done."""
    items = [i for i in items if i.get("name")]
    if not items:
        return {"instances": []}
    status = module.params["status"]
    runtime = status.get("runtime") or ("docker" if any(i.get("container") for i in items) else "native")
    params = {"names": [i["name"] for i in items], "databases": {i["name"]: i.get("database") for i in items},
              "runtime": runtime, "docker_host": module.params.get("docker_host"), "layout": status["layout"],
              "probe": status["probe"], "size": not status["probe"], "log_lines": 0,
              "backup_root": status.get("backup_root"), "workers": module.params.get("workers")}
    try:
        instances, errors = read(module, params)
    except DarevelError as exc:
        return {"instances": [], "msg": exc.msg}
    except Exception as exc:  # pylint: disable=broad-exception-caught
        # The Docker SDK's or requests' own errors, say: the read fails, the work stands.
        text = "the instances could not be read after the databases' work: %s: %s; fix: read them with playbooks/status.yml"
        return {"instances": [], "msg": text % (type(exc).__name__, exc)}
    return dict({"instances": instances}, **({"msg": "; ".join(errors)} if errors else {}))


if __name__ == "__main__":
    main()
