"""Unit tests for plugins/plugin_utils/_lifecycle.py: the planned instances turned into one call of
the runtime's lifecycle module (the action plugin darevel.postgres.pg_lifecycle)."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.darevel.postgres.plugins.module_utils import _catalogue
from ansible_collections.darevel.postgres.plugins.module_utils._container import spec
from ansible_collections.darevel.postgres.plugins.plugin_utils import _lifecycle

PLAN, _PROBLEMS = _catalogue.validate(copy.deepcopy(_catalogue.SEED), ["chat", "mail"], 15)
assert not _PROBLEMS
for _item in PLAN:
    _item["docker"] = spec(_item, "postgres:15", "127.0.0.1", None, None)


def args(**given) -> dict:
    """The arguments as the action plugin has them once validated (every option, defaults filled)."""
    out = {key: value.get("default") for key, value in _lifecycle.ARGUMENT_SPEC.items()}
    out.update(given)
    return out


def test_instance_items():
    assert _lifecycle.instance_items(PLAN) == [{"name": "chat", "version": 15, "port": 5434},
                                               {"name": "mail", "version": 15, "port": 5437}]
    assert _lifecycle.instance_items([]) == []


def test_instance_items_reload_only_the_instances_named():
    items = _lifecycle.instance_items(PLAN, reload=["mail", "not-planned"])
    assert [i.get("reload", False) for i in items] == [False, True]
    assert _lifecycle.instance_items(PLAN, reload=[]) == _lifecycle.instance_items(PLAN)


def test_instance_items_without_settings():
    plan = [dict(PLAN[0], settings={"work_mem": "4MB"})]
    assert _lifecycle.instance_items(plan) == [{"name": "chat", "version": 15, "port": 5434,
                                                "settings": {"work_mem": "4MB"}}]
    assert _lifecycle.instance_items(plan, settings=False) == [{"name": "chat", "version": 15, "port": 5434}]


def test_container_items_carry_the_container_description_and_no_password():
    plan = [{"name": "chat", "version": 15, "docker": {"name": "darevel-postgres-chat"}},
            {"name": "mail", "version": 17, "docker": {"name": "darevel-postgres-mail"}}]
    items = _lifecycle.container_items(plan)
    assert items == [{"name": "chat", "version": 15, "spec": {"name": "darevel-postgres-chat"}},
                     {"name": "mail", "version": 17, "spec": {"name": "darevel-postgres-mail"}}]


def test_native_runs_pg_instance_without_the_settings_file():
    plan = [dict(PLAN[0], settings={"work_mem": "4MB"}, hba=[{"type": "local"}])]
    module, call = _lifecycle.module_call(args(instances=plan, state="restarted", workers=3, layout="generic",
                                               data_root="/srv/pg"))
    assert module == "darevel.postgres.pg_instance"
    assert call == {"state": "restarted", "workers": 3, "layout": "generic", "data_root": "/srv/pg",
                    "instances": [{"name": "chat", "version": 15, "port": 5434, "hba": [{"type": "local"}]}]}


def test_docker_runs_pg_container_on_the_engine_named():
    module, call = _lifecycle.module_call(args(instances=PLAN, state="stopped", runtime="docker",
                                               docker_host="tcp://127.0.0.1:2375", data_root="/srv/pg"))
    assert module == "darevel.postgres.pg_container"
    assert call == {"state": "stopped", "docker_host": "tcp://127.0.0.1:2375",
                    "instances": _lifecycle.container_items(PLAN)}
    assert "layout" not in call and "data_root" not in call and "purge" not in call


@pytest.mark.parametrize("runtime", ["native", "docker"])
def test_purge_only_with_absent(runtime):
    assert _lifecycle.module_call(args(instances=PLAN, state="absent", purge=True, runtime=runtime))[1]["purge"] is True
    assert "purge" not in _lifecycle.module_call(args(instances=PLAN, state="stopped", purge=True, runtime=runtime))[1]


def test_the_engine_is_left_to_the_module_when_not_named():
    call = _lifecycle.module_call(args(instances=PLAN, state="stopped", runtime="docker"))[1]
    assert "docker_host" not in call and "workers" not in call


def test_what_a_purge_removes():
    chat = PLAN[0]
    assert _lifecycle.removed("docker", chat) == ["container %s" % chat["docker"]["name"],
                                                  "volume %s" % chat["docker"]["volume"]]
    assert _lifecycle.removed("native", chat) == ["cluster 15/chat", "/var/lib/postgresql/15/chat"]
    assert _lifecycle.removed("native", chat, "/srv/pg/15/chat") == ["cluster 15/chat", "/srv/pg/15/chat"]


def test_the_spec_is_the_shared_runtime_and_engine_options():
    from ansible_collections.darevel.postgres.plugins.module_utils._engine import DOCKER_HOST_SPEC, RUNTIME_SPEC
    for key, value in dict(DOCKER_HOST_SPEC, **RUNTIME_SPEC).items():
        assert _lifecycle.ARGUMENT_SPEC[key] == value
