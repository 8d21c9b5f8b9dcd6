#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pg_instance
short_description: Create, start, stop, restart or remove native PostgreSQL instances
version_added: 0.1.0
description:
  - Manages one PostgreSQL cluster per instance on the Debian family through postgresql-common
    (C(pg_createcluster VERSION NAME --port PORT)), so that each instance has its own
    C(postgresql@VERSION-NAME) unit.
  - Works with systemd as PID 1 (commands go to the instance's unit) and without it (containers,
    build machines; C(pg_ctlcluster --skip-systemctl-redirect)). It never touches the umbrella
    C(postgresql) service nor another instance.
  - New clusters get data checksums, C(peer) authentication on the local socket and
    C(scram-sha-256) over TCP. The module manages C(pg_hba.conf) and C(pg_ident.conf) of each
    instance; root may act as the C(postgres) superuser over the socket through an ident map.
  - On systemd distributions without postgresql-common, O(layout=generic) runs each instance with
    C(initdb) and the collection's templated unit instead.
  - Several instances can be given at once with O(instances); they are converged concurrently.
author:
  - Darevel platform team (@darevel)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - darevel.postgres.instance
  - darevel.postgres.attributes
  - darevel.postgres.attributes.diff
options:
  instances:
    description:
      - Several instances at once. They are converged concurrently; one failing instance does not
        stop the others, and the task fails naming it. Mutually exclusive with O(name).
    type: list
    elements: dict
    suboptions:
      name:
        description: Instance name.
        type: str
        required: true
      version:
        description: PostgreSQL major version; defaults to O(default_version).
        type: int
      port:
        description: TCP port.
        type: int
      settings:
        description: PostgreSQL settings of the instance; see O(settings).
        type: dict
      hba:
        description: Client authentication rules of the instance; see O(hba).
        type: list
        elements: dict
      reload:
        description:
          - Reload the instance if it runs, even when none of its files changed here (its TLS
            certificate was renewed, and PostgreSQL reads certificate files on reload). A start or
            restart in the same run makes it unnecessary.
        type: bool
        default: false
      enforce:
        description: Settings of the instance to keep effective; see O(enforce).
        type: list
        elements: str
  enforce:
    description:
      - Names of settings the instance's settings file (O(settings)) sets that must stay effective.
        Once the instance runs, when another file or C(ALTER SYSTEM) overrides one, the C(ALTER
        SYSTEM) value is reset or the other file's line is commented out (the diff shows the file),
        and the instance reloads, or restarts when one of them takes effect only at a restart (a
        C(restart) in RV(actions)). RV(settings_repaired) names them.
      - Needs psycopg2 on the target (the instance is read over its socket as C(postgres)). Not
        applied to an instance left stopped, nor in check mode to one that does not run yet; in
        check mode an instance that cannot be read yet (psycopg2 not installed, pg_ident.conf not
        written) gets a warning instead.
    type: list
    elements: str
  file_modes:
    description:
      - Once each instance runs, narrow the modes of its data directory (C(0700)), its configuration
        files (C(postgresql.conf), C(pg_hba.conf), C(pg_ident.conf), the settings file; C(0640)) and
        its TLS key (C(0600)) where they are wider, as the CIS benchmark asks. Each change is listed
        in RV(queries). Needs psycopg2, as O(enforce) does.
    type: bool
    default: false
  hba:
    description:
      - The whole C(pg_hba.conf) of the instance, as rules with the keys C(type) (V(local), V(host),
        V(hostssl)), C(database), C(user), C(address) (empty for V(local)) and C(method); the
        security role builds them from the catalogue.
      - Omitted, the baseline is written (C(peer) on the socket, C(scram-sha-256) on loopback).
        Either way local edits are replaced, the diff shows the file (a unified diff under its
        path), and only an instance whose file changed is reloaded.
    type: list
    elements: dict
  settings:
    description:
      - PostgreSQL settings of the instance, written to C(conf.d/50-darevel-settings.conf) of the
        instance (a file rather than C(ALTER SYSTEM) - written atomically without a connection, so
        a new instance starts with them and check mode needs no server; readable and diffable).
      - When the file changes, a running instance is reloaded, or restarted when a changed setting
        only takes effect at server start; only that instance. C(settings_changed) and
        C(restart_required) say which.
      - Omitted, the file is left as it is.
    type: dict
  reload:
    description:
      - Reload the instance if it runs, even when none of its files changed here (its TLS
        certificate was renewed, and PostgreSQL reads certificate files on reload). A start or restart
        in the same run makes it unnecessary.
    type: bool
    default: false
  state:
    description:
      - V(present) creates the instance if needed and leaves it running or stopped as it is.
      - V(started), V(stopped) and V(restarted) create it if needed, then act on it.
      - V(absent) stops the instance and sets it to manual start; its data is removed only with O(purge=true).
    type: str
    choices: [present, started, stopped, restarted, absent]
    default: started
  purge:
    description: With O(state=absent), drop the cluster and delete its data directory.
    type: bool
    default: false
  locale:
    description: Locale of new clusters.
    type: str
    default: C.UTF-8
  data_checksums:
    description: Initialise new clusters with data checksums.
    type: bool
    default: true
  layout:
    description:
      - V(debian) uses postgresql-common (C(pg_createcluster), unit C(postgresql@VERSION-NAME)).
      - V(generic) is for systemd distributions without postgresql-common; C(initdb) into
        O(data_root)/VERSION/NAME and the collection's templated unit
        C(darevel-postgresql@VERSION-NAME), which reads the registry file
        C(/etc/darevel/postgres/instances/VERSION-NAME.conf). Without systemd as PID 1 it uses
        C(pg_ctl) as the postgres user.
      - V(auto) picks V(debian) when C(pg_createcluster) is present, else V(generic).
    type: str
    choices: [auto, debian, generic]
    default: auto
  data_root:
    description:
      - Parent of the data directories of new instances with O(layout=generic).
      - An instance that exists keeps the data directory its registry file names (C(PGDATA)),
        whatever this option says; every state, V(absent) included, acts on that directory.
      - With O(state=absent) and O(purge=true), that directory is deleted only when it is a
        directory (not a link) holding C(PG_VERSION) of the instance's version, owned by the
        C(postgres) user and with no server running; when one instance fails this check, none is
        purged.
    type: path
    default: /var/lib/postgresql
"""

EXAMPLES = r"""
- name: Start the chat instance on port 5434
  darevel.postgres.pg_instance:
    name: chat
    version: 15
    port: 5434
    state: started

- name: Create and start several instances concurrently
  darevel.postgres.pg_instance:
    instances:
      - {name: infra, port: 5433}
      - {name: chat, port: 5434}
    state: started

- name: Remove an instance and its data
  darevel.postgres.pg_instance:
    name: chat
    version: 15
    state: absent
    purge: true
"""

RETURN = r"""
name:
  description: Instance name (single-instance form).
  returned: when O(name) is given
  type: str
  sample: chat
version:
  description: PostgreSQL major version.
  returned: when O(name) is given
  type: int
  sample: 15
port:
  description: TCP port of the instance.
  returned: when O(name) is given
  type: int
  sample: 5434
status:
  description: V(started), V(stopped) or V(absent) after the run.
  returned: when O(name) is given
  type: str
  sample: started
data_dir:
  description: Data directory; null once purged.
  returned: when O(name) is given
  type: str
  sample: /var/lib/postgresql/15/chat
config_dir:
  description: Configuration directory.
  returned: when O(name) is given
  type: str
  sample: /etc/postgresql/15/chat
socket_dir:
  description: Directory of the Unix socket.
  returned: when O(name) is given
  type: str
  sample: /var/run/postgresql
settings_changed:
  description: Settings whose value changed in the settings file.
  returned: when O(name) is given
  type: list
  elements: str
restart_required:
  description: Of those, the ones that only take effect after a restart (the instance was restarted).
  returned: when O(name) is given
  type: list
  elements: str
settings_repaired:
  description: Settings of O(enforce) that another file or C(ALTER SYSTEM) overrode and that were put back.
  returned: when O(name) is given
  type: list
  elements: str
queries:
  description:
    - What O(enforce) and O(file_modes) did (or would do in check mode) over the instance's session -
      C(ALTER SYSTEM RESET), the line commented out, the reload, each C(chmod).
  returned: when O(name) is given
  type: list
  elements: str
  sample: ["ALTER SYSTEM RESET password_encryption", "SELECT pg_reload_conf()", "-- chmod 0700 /var/lib/postgresql/15/chat (was 0755)"]
layout:
  description: V(debian) or V(generic).
  returned: when O(name) is given
  type: str
  sample: debian
unit:
  description: The instance's systemd unit.
  returned: when O(name) is given
  type: str
  sample: postgresql@15-chat
log_file:
  description: Server log file.
  returned: when O(name) is given
  type: str
  sample: /var/log/postgresql/postgresql-15-chat.log
actions:
  description: What was done (or would be done in check mode), in order.
  returned: when O(name) is given
  type: list
  elements: str
  sample: [create, enable, auth_files, start]
commands:
  description: Commands that ran (or would run in check mode).
  returned: when O(name) is given
  type: list
  elements: str
instances:
  description: One result per instance, each with the keys above, when O(instances) is given.
  returned: when O(instances) is given
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.darevel.postgres.plugins.module_utils._instance import (
    InstanceManager, batch_argument_spec)
from ansible_collections.darevel.postgres.plugins.module_utils._module import exit_batch
from ansible_collections.darevel.postgres.plugins.module_utils._options import LAYOUT_SPEC


def main() -> None:
    module = AnsibleModule(
        argument_spec=batch_argument_spec({
            "state": {"type": "str", "default": "started",
                      "choices": ["present", "started", "stopped", "restarted", "absent"]},
            "purge": {"type": "bool", "default": False},
            "locale": {"type": "str", "default": "C.UTF-8"},
            "data_checksums": {"type": "bool", "default": True},
            **LAYOUT_SPEC,
            "data_root": {"type": "path", "default": "/var/lib/postgresql"},
            "file_modes": {"type": "bool", "default": False},
        }, {"settings": {"type": "dict"}, "hba": {"type": "list", "elements": "dict"},
            "reload": {"type": "bool", "default": False}, "enforce": {"type": "list", "elements": "str"}}),
        mutually_exclusive=[("name", "instances")],
        required_one_of=[("name", "instances")],
        supports_check_mode=True,
    )
    exit_batch(module, InstanceManager(module).run())


if __name__ == "__main__":
    main()
