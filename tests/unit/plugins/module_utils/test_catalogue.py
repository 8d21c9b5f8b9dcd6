"""Unit tests for plugins/module_utils/_catalogue.py (pure functions)."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.darevel.postgres.plugins.module_utils import _catalogue

SEED_NAMES = ["infra", "chat", "slides", "suite", "mail", "sheet"]


def entry(**overrides):
    """A minimal valid entry; a value of None removes the key."""
    base = {"name": "app", "port": 5500, "database": "app_db"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def seed_with(index, **overrides):
    entries = copy.deepcopy(_catalogue.SEED)
    entries[index].update(overrides)
    return entries


def problems_of(instances, enabled="all"):
    plan, problems = _catalogue.validate(instances, enabled, 15)
    if problems:
        assert plan == []
    return problems


def test_seed_validates_without_problems():
    plan, problems = _catalogue.validate(copy.deepcopy(_catalogue.SEED))
    assert problems == []
    assert [i["name"] for i in plan] == SEED_NAMES


def test_validate_does_not_modify_its_input():
    seed = copy.deepcopy(_catalogue.SEED)
    _catalogue.validate(seed)
    assert seed == _catalogue.SEED


@pytest.mark.parametrize("name, port, database", [
    ("infra", 5433, "keycloak"),
    ("chat", 5434, "darevel_chat"),
    ("slides", 5435, "darevel_slides"),
    ("suite", 5436, "darevel_suite"),
    ("mail", 5437, "darevel_mail"),
    ("sheet", 5438, "darevel_sheet"),
])
def test_seed_table(name, port, database):
    plan, dummy = _catalogue.validate(copy.deepcopy(_catalogue.SEED))
    inst = {i["name"]: i for i in plan}[name]
    assert inst["port"] == port
    assert inst["database"] == database
    assert inst["container"] == "darevel-postgres-%s" % name
    assert inst["owner"] == "%s_owner" % database
    assert inst["version"] == 15
    expected_volume = "darevel-postgres-infra" if name == "infra" else "darevel-postgres-%s-data" % name
    assert inst["volume"] == expected_volume


def test_seed_ports_are_5433_to_5438():
    assert [e["port"] for e in _catalogue.SEED] == list(range(5433, 5439))


def test_infra_volume_has_no_data_suffix():
    infra = _catalogue.SEED[0]
    assert infra["name"] == "infra"
    assert not infra["volume"].endswith("-data")
    assert all(e["volume"].endswith("-data") for e in _catalogue.SEED[1:])


@pytest.mark.parametrize("key, value", [
    ("name", "chat"),
    ("port", 5434),
    ("database", "darevel_chat"),
    ("container", "darevel-postgres-chat"),
    ("volume", "darevel-postgres-chat-data"),
])
def test_duplicate_value_is_reported(key, value):
    problems = problems_of(seed_with(2, **{key: value}))
    assert len(problems) == 1
    msg = problems[0]
    assert "%s %r is already used by instance 'chat'" % (key, value) in msg
    assert "fix: give each instance its own %s" % key in msg


def test_duplicate_port_given_as_string_is_reported():
    problems = problems_of(seed_with(2, port="5434"))
    assert problems == ["instance 'slides': port 5434 is already used by instance 'chat'; "
                        "fix: give each instance its own port"]


def test_duplicate_default_volume_is_reported():
    # Defaults are filled before the uniqueness check: an explicit volume may clash with a derived one.
    problems = problems_of([entry(name="a", port=5500, database="a"),
                            entry(name="b", port=5501, database="b", volume="darevel-postgres-a-data")])
    assert len(problems) == 1
    assert "instance 'b': volume 'darevel-postgres-a-data' is already used by instance 'a'" in problems[0]


@pytest.mark.parametrize("port", [1023, 65536, 0, -1])
def test_port_out_of_range(port):
    problems = problems_of([entry(name="chat", port=port)])
    assert len(problems) == 1
    assert "instance 'chat': port %d is outside 1024-65535" % port in problems[0]
    assert "fix: choose a free port" in problems[0]


@pytest.mark.parametrize("port", [1024, 5432, 65535])
def test_port_range_bounds_accepted(port):
    assert problems_of([entry(port=port)]) == []


@pytest.mark.parametrize("name, suggestion", [
    ("chat-app", "chat_app"),
    ("Chat", "chat"),
    ("1chat", "chat"),
    ("chat app", "chat_app"),
])
def test_bad_name(name, suggestion):
    problems = problems_of([entry(name=name)])
    assert len(problems) == 1
    msg = problems[0]
    assert "instance '%s': name %r must match ^[a-z][a-z0-9_]*$" % (name, name) in msg
    assert "fix: use e.g. %r" % suggestion in msg


@pytest.mark.parametrize("name", ["a", "chat", "chat_2", "x9"])
def test_good_names(name):
    assert problems_of([entry(name=name)]) == []


@pytest.mark.parametrize("key, value", [
    ("database", "darevel-chat"),
    ("database", "Chat"),
    ("database", "1chat"),
    ("database", "a" * 64),
    ("database", "\u00e9" * 32),  # 32 characters, 64 bytes
    ("owner", "chat-owner"),
    ("owner", "o" * 64),
])
def test_bad_identifier(key, value):
    problems = problems_of([entry(name="chat", **{key: value})])
    assert len(problems) == 1
    msg = problems[0]
    assert "instance 'chat': %s %r is not a valid PostgreSQL identifier" % (key, value) in msg
    assert "at most 63 bytes" in msg


@pytest.mark.parametrize("value", ["a" * 63, "_chat", "chat1", "darevel_chat"])
def test_identifier_accepted(value):
    assert problems_of([entry(database=value, owner="own", app_role="app")]) == []
    assert problems_of([entry(owner=value)]) == []


def test_derived_owner_longer_than_63_bytes_is_reported():
    # BUG: the owner default "<database>_owner" is never checked. A 63-byte database name is valid,
    # but its default owner is 69 bytes; PostgreSQL truncates it to 63 and the role created is not
    # the one the collection compares against afterwards.
    problems = problems_of([entry(name="chat", database="d" * 63)])
    assert len(problems) == 2  # <database>_owner and <database>_app, both too long
    assert "owner (derived" in problems[0] and "63 bytes" in problems[0]


@pytest.mark.parametrize("key, close", [("prot", "port"), ("databse", "database"), ("volum", "volume")])
def test_unknown_key_suggests_closest(key, close):
    e = entry(name="chat")
    e[key] = e.pop(close) if close in e else "x"
    problems = problems_of([e])
    assert "instance 'chat': unknown key '%s'; fix: remove it or rename it (did you mean '%s'?)" % (
        key, close) in problems


def test_unknown_key_without_close_match_lists_valid_keys():
    problems = problems_of([entry(name="chat", zzzzzz=1)])
    assert len(problems) == 1
    assert "unknown key 'zzzzzz'" in problems[0]
    assert "valid keys: " + ", ".join(sorted(_catalogue.FIELDS)) in problems[0]


def test_prot_typo_also_reports_missing_port():
    e = entry(name="chat", port=None)
    e["prot"] = 5434
    problems = problems_of([e])
    assert len(problems) == 2
    assert "instance 'chat': missing required key 'port'; fix: add 'port' to the entry" in problems


@pytest.mark.parametrize("missing", ["name", "port", "database"])
def test_missing_required_key(missing):
    problems = problems_of([entry(name="chat", **{missing: None}) if missing != "name" else
                            entry(name=None)])
    label = "instance #1" if missing == "name" else "instance 'chat'"
    assert "%s: missing required key '%s'; fix: add '%s' to the entry" % (label, missing, missing) in problems


@pytest.mark.parametrize("key", ["name", "port", "database"])
def test_required_key_set_to_null_is_reported(key):
    # BUG: `port:` (YAML null) counts as present, passes every check and the plan carries port None
    # (or drops the entry silently when the name is null, or derives owner "None_owner").
    e = entry(name="chat")
    e[key] = None
    problems = problems_of([e])
    assert len(problems) == 1
    assert repr(key) in problems[0]


@pytest.mark.parametrize("key, value, kind", [
    ("port", "abc", "an integer"),
    ("port", True, "an integer"),
    ("port", 5434.0, "an integer"),
    ("version", "fifteen", "an integer"),
    ("version", False, "an integer"),
    ("database", 5, "a string"),
    ("owner", True, "a string"),
    ("purpose", 1, "a string"),
])
def test_wrong_type(key, value, kind):
    problems = problems_of([entry(name="chat", **{key: value})])
    assert len(problems) == 1
    assert "instance 'chat': %s %r must be %s" % (key, value, kind) in problems[0]
    assert "fix: write it as" in problems[0]


@pytest.mark.parametrize("key, value", [("port", [5434]), ("database", {"name": "x"}), ("name", ["chat"])])
def test_unhashable_value_is_reported_not_raised(key, value):
    # BUG: a list or mapping where a scalar belongs (`port: [5434]`) raises TypeError
    # ("unhashable type") from the uniqueness check instead of returning a problem message.
    problems = problems_of([entry(**{key: value})])
    assert any("%s %r must be" % (key, value) in p for p in problems)


@pytest.mark.parametrize("version", [12, 19])
def test_unsupported_version(version):
    problems = problems_of([entry(name="chat", version=version)])
    assert problems == ["instance 'chat': version %d is not a supported PostgreSQL major version; "
                        "fix: use 13-18" % version]


@pytest.mark.parametrize("enabled, suggestion", [(["chatt"], "did you mean 'chat'?"),
                                                 ("mail,shet", "did you mean 'sheet'?"),
                                                 (["zzz"], "use one of infra, chat, slides, suite, mail, sheet")])
def test_enabled_name_not_in_catalogue(enabled, suggestion):
    problems = problems_of(copy.deepcopy(_catalogue.SEED), enabled)
    assert len(problems) == 1
    assert problems[0].startswith("postgres_instances_enabled: ")
    assert "is not in the catalogue; fix: %s" % suggestion in problems[0]


@pytest.mark.parametrize("value, type_name", [({"name": "chat"}, "dict"), ("chat", "str"), (None, "NoneType")])
def test_catalogue_not_a_list(value, type_name):
    plan, problems = _catalogue.validate(value)
    assert plan == []
    assert problems == ["postgres_instances must be a list of instance entries, got %s; fix: write it as "
                        "a YAML list" % type_name]


@pytest.mark.parametrize("raw", ["chat", 5434, ["chat", 5434], None])
def test_entry_not_a_mapping(raw):
    problems = problems_of([entry(name="chat"), raw])
    assert problems == ["instance #2: entry must be a mapping, got %r; fix: write it as "
                        "'name: ..., port: ...'" % (raw,)]


def test_all_problems_reported_at_once():
    instances = [
        {"name": "Chat", "prot": 5434, "database": "darevel-chat"},   # name, unknown key, missing port, database
        {"name": "mail", "port": 80, "database": "darevel_mail", "owner": 7},  # port range, owner type
        "sheet",                                                       # not a mapping
        {"name": "slides", "port": 80, "database": "darevel_mail"},   # port range, dup port, dup database
    ]
    plan, problems = _catalogue.validate(instances, ["chat", "mail"])
    assert plan == []
    expected_fragments = [
        "instance 'Chat': unknown key 'prot'",
        "instance 'Chat': missing required key 'port'",
        "instance 'Chat': name 'Chat' must match",
        "instance 'Chat': database 'darevel-chat' is not a valid PostgreSQL identifier",
        "instance 'mail': owner 7 must be a string",
        "instance 'mail': port 80 is outside 1024-65535",
        "instance #3: entry must be a mapping",
        "instance 'slides': port 80 is outside 1024-65535",
        "instance 'slides': port 80 is already used by instance 'mail'",
        "instance 'slides': database 'darevel_mail' is already used by instance 'mail'",
        "postgres_instances_enabled: 'chat' is not in the catalogue; fix: did you mean 'Chat'?",
    ]
    assert len(problems) == len(expected_fragments) == 11
    for fragment in expected_fragments:
        assert sum(fragment in p for p in problems) == 1, fragment


@pytest.mark.parametrize("enabled, names", [
    ("all", SEED_NAMES),
    (None, SEED_NAMES),
    (["all"], SEED_NAMES),
    (["mail", "chat"], ["chat", "mail"]),  # catalogue order, not the order asked
    ("chat,mail", ["chat", "mail"]),
    (" chat , mail ,", ["chat", "mail"]),
    ("infra", ["infra"]),
    ([], []),
])
def test_enabled_forms(enabled, names):
    plan, problems = _catalogue.validate(copy.deepcopy(_catalogue.SEED), enabled)
    assert problems == []
    assert [i["name"] for i in plan] == names


@pytest.mark.parametrize("enabled, expected", [
    ("all", ["a", "b"]),
    ("b, a", ["b", "a"]),
    (["a"], ["a"]),
    ("", []),
])
def test_enabled_names(enabled, expected):
    assert _catalogue.enabled_names(enabled, [{"name": "a"}, {"name": "b"}, "junk"]) == expected


def test_defaults_filled():
    plan, problems = _catalogue.validate([{"name": "wiki", "port": "5440", "database": "darevel_wiki"}],
                                         version=16)
    assert problems == []
    assert plan == [{
        "name": "wiki", "port": 5440, "database": "darevel_wiki", "owner": "darevel_wiki_owner",
        "container": "darevel-postgres-wiki", "volume": "darevel-postgres-wiki-data", "purpose": "",
        "used_by": "", "backend_ports": "N/A", "compose_file": "apps/wiki/backend/postgres-compose.yml",
        "version": 16, "profile": "mixed", "storage": "ssd", "app_role": "darevel_wiki_app", "loopback_tls": True,
    }]


@pytest.mark.parametrize("value", ["false", 0, "yes", "on"])
def test_loopback_tls_is_a_boolean(value):
    _plan, problems = _catalogue.validate([{"name": "wiki", "port": 5440, "database": "w", "loopback_tls": value}])
    assert problems and "loopback_tls" in problems[0] and "must be true or false" in problems[0]


@pytest.mark.parametrize("key, value, expected", [
    ("profile", "oltpp", "profile 'oltpp' is not one of web, oltp, dw, mixed, desktop; fix: did you mean 'oltp'?"),
    ("storage", "nvme", "storage 'nvme' is not one of ssd, hdd, san"),
    ("weight", 0, "weight 0 must be positive"),
    ("weight", "heavy", "weight 'heavy' must be a number"),
    ("max_connections", -5, "max_connections -5 must be positive"),
])
def test_tuning_fields_are_checked(key, value, expected):
    plan, problems = _catalogue.validate([entry(**{key: value})])
    assert plan == []
    assert len(problems) == 1 and expected in problems[0], problems


def test_tuning_fields_accepted():
    plan, problems = _catalogue.validate([entry(profile="oltp", weight=2.5, max_connections=300, storage="hdd")])
    assert problems == []
    assert (plan[0]["profile"], plan[0]["weight"], plan[0]["max_connections"], plan[0]["storage"]) == \
        ("oltp", 2.5, 300, "hdd")


@pytest.mark.parametrize("given, expected", [({}, 15), ({"version": 17}, 17), ({"version": "13"}, 13)])
def test_version_default_and_override(given, expected):
    plan, problems = _catalogue.validate([entry(**given)], version=15)
    assert problems == []
    assert plan[0]["version"] == expected


@pytest.mark.parametrize("port", ["5434", " 5434 ", 5434])
def test_string_port_accepted_as_int(port):
    plan, problems = _catalogue.validate([entry(port=port)])
    assert problems == []
    assert plan[0]["port"] == 5434
    assert isinstance(plan[0]["port"], int)


def test_explicit_values_not_overwritten_by_defaults():
    e = entry(owner="me", container="c1", volume="v1", compose_file="x.yml")
    plan, dummy = _catalogue.validate([e])
    assert {k: plan[0][k] for k in ("owner", "container", "volume", "compose_file")} == {
        "owner": "me", "container": "c1", "volume": "v1", "compose_file": "x.yml"}


def test_with_defaults_on_broken_entry_uses_placeholder():
    filled = _catalogue.with_defaults({"port": "5434"}, 15)
    assert filled["port"] == 5434
    assert filled["owner"] == "?_owner"
    assert filled["container"] == "darevel-postgres-?"


def test_derived_app_role_longer_than_63_bytes_is_reported():
    problems = problems_of([entry(name="chat", database="d" * 60, owner="own")])
    assert len(problems) == 1
    assert "app_role (derived from the database)" in problems[0] and "63 bytes" in problems[0]


@pytest.mark.parametrize("key, good", [("clients", "10.0.0.0/8"), ("listen_addresses", "10.0.0.5")])
def test_list_fields_must_be_lists_of_strings(key, good):
    problems = problems_of([entry(name="chat", **{key: good})])
    assert problems == ["instance 'chat': %s %r must be a list of strings; fix: write it as a "
                        "YAML list" % (key, good)]
    assert problems_of([entry(name="chat", **{key: [good]})]) == []
