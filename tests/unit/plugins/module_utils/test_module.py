# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""exit_batch: how a batch module's outcome becomes its result."""

from __future__ import annotations

from ansible_collections.darevel.postgres.plugins.module_utils._module import exit_batch


class Exited(Exception):
    pass


class FakeModule:
    def __init__(self, **params) -> None:
        self.params = params
        self.exited = self.failed = None

    def exit_json(self, **payload):
        self.exited = payload
        raise Exited()

    def fail_json(self, **payload):
        self.failed = payload
        raise Exited()


def run(module, outcome):
    try:
        exit_batch(module, outcome)
    except Exited:
        pass
    return module


def test_a_host_change_alone_is_a_change_with_its_diff_before_the_instances():
    outcome = {"results": [{"name": "chat", "changed": False, "diff": [{"before_header": "chat"}]}], "errors": [],
               "host": [{"path": "/etc/darevel/postgres", "before": "mode 0700, uid 0, gid 0",
                         "after": "mode 0755, uid 0, gid 0"}]}
    payload = run(FakeModule(instances=[{}]), outcome).exited
    assert payload["changed"] is True and payload["host_changes"] == ["/etc/darevel/postgres"]
    assert payload["diff"][0] == {"before_header": "/etc/darevel/postgres", "after_header": "/etc/darevel/postgres",
                                  "before": "mode 0700, uid 0, gid 0\n", "after": "mode 0755, uid 0, gid 0\n"}
    assert payload["diff"][1] == {"before_header": "chat"}


def test_no_host_step_no_host_changes_key_and_errors_fail_with_the_payload():
    payload = run(FakeModule(instances=[{}]), {"results": [{"name": "chat", "changed": False}], "errors": []}).exited
    assert payload["changed"] is False and "host_changes" not in payload
    failed = run(FakeModule(instances=[{}]), {"results": [], "errors": ["a", "b"], "host": []}).failed
    assert failed["msg"] == "a; b" and failed["host_changes"] == [] and failed["changed"] is False
