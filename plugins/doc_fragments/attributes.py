# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The support levels of the collection's modules, next to ansible.builtin.action_common_attributes
    (which describes each attribute). A module's own C(attributes) entry wins over these."""

    # Every module of the collection runs in check mode and on POSIX hosts.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
  platform:
    platforms: posix
"""

    # Modules that change files or objects show each change with --diff.
    DIFF = r"""
attributes:
  diff_mode:
    support: full
"""

    # Modules that read, or whose changes are not files or objects to compare.
    NO_DIFF = r"""
attributes:
  diff_mode:
    support: none
"""

    # Action plugins documented as modules (with ansible.builtin.action_common_attributes.flow).
    ACTION = r"""
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
"""
