# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the unit tests' fake runtimes share: the parts of the runtime interface that the code under
test must not use. A call of one fails the test, so a new dependency shows."""

from __future__ import annotations


class UnusedParts:
    """Put before the runtime interface in a fake's bases; define what the code under test uses."""

    def tool(self, name, args, what, stdin=None, dest=None):
        raise AssertionError("unexpected client tool: %s %s" % (name, args))

    def command(self, argv, what, user="postgres"):
        raise AssertionError("unexpected command: %s" % argv)

    def read_file(self, path):
        raise AssertionError("unexpected read of %s" % path)

    def write_file(self, path, content, like, mode=0o600):
        raise AssertionError("unexpected write of %s" % path)

    def private_file(self, data, name):
        raise AssertionError("unexpected private file %s" % name)
