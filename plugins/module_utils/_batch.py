# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one job per instance concurrently; instances are independent. Private to darevel.postgres."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from ansible_collections.darevel.postgres.plugins.module_utils._errors import DarevelError


def run_all(items: list[dict], job: Callable[[dict], dict], workers: int) -> tuple[list[dict], list[str]]:
    """Return (results in input order, error messages); one failed instance does not stop the others."""
    results: list[dict] = [{} for dummy in items]
    errors: list[str] = []
    if not items:
        return results, errors
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as pool:
        futures = [pool.submit(job, item) for item in items]
        for index, future in enumerate(futures):
            try:
                results[index] = future.result()
            except (DarevelError, OSError) as exc:
                name = items[index].get("name")
                msg = exc.msg if isinstance(exc, DarevelError) else "instance '%s': %s; fix: see the error, then run " \
                    "again (nothing else was changed for this instance after it)" % (name, exc)
                errors.append(msg)
                results[index] = {"name": name, "failed": True, "msg": msg}
    return results, errors
