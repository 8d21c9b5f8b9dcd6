# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Operations over a runtime (module_utils/_runtime): each written once for both runtimes.
Private to darevel.postgres."""
