"""Write the control table of docs/security.md from plugins/module_utils/_audit.py.

    .venv/bin/python scripts/gen-security-docs.py           rewrite the table between the markers
    .venv/bin/python scripts/gen-security-docs.py --check   exit 1 when out of date (tests/unit/test_audit.py checks it too)
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from ansible_collections.darevel.postgres.plugins.module_utils import _audit  # noqa: E402

TARGET = os.path.join(ROOT, "docs", "security.md")
START, END = "<!-- controls:start -->", "<!-- controls:end -->"


def render(text: str) -> str:
    head, rest = text.split(START, 1)
    _old, tail = rest.split(END, 1)
    return "%s%s\n%s\n%s%s" % (head, START, _audit.docs_table(), END, tail)


def main() -> int:
    with open(TARGET) as handle:
        current = handle.read()
    wanted = render(current)
    if "--check" in sys.argv[1:]:
        if wanted != current:
            sys.stderr.write("%s is out of date; run scripts/gen-security-docs.py\n" % TARGET)
            return 1
        return 0
    with open(TARGET, "w") as handle:
        handle.write(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
