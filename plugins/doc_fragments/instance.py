# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Options shared by the per-instance modules (single form, or a list under instances)."""

    DOCUMENTATION = r"""
options:
  name:
    description:
      - Instance name (the catalogue's C(name)); also the cluster name.
      - Exactly one of O(name) and O(instances) is required.
    type: str
  version:
    description: PostgreSQL major version of the instance; defaults to O(default_version).
    type: int
  port:
    description: TCP port of the instance.
    type: int
  default_version:
    description: Version used when an instance does not give one.
    type: int
    default: 15
  workers:
    description: How many instances are handled at the same time.
    type: int
    default: 6
"""

    # How a module reaches one instance on either runtime (module_utils/_runtime.select_runtime).
    CONNECTION = r"""
options:
  container:
    description: Container name of the instance (docker runtime).
    type: str
  user:
    description: Superuser to connect as; C(postgres) natively, the container's C(POSTGRES_USER) on docker.
    type: str
  socket_dir:
    description: Directory of the native instances' Unix sockets.
    type: path
    default: /var/run/postgresql
"""
