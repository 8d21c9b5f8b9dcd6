"""Every role's meta/argument_specs.yml agrees with its defaults/main.yml, keys and values."""

from __future__ import annotations

import pathlib

import pytest
import yaml

from ansible_collections.darevel.postgres.plugins.module_utils import _catalogue

ROLES_DIR = pathlib.Path(__file__).resolve().parents[3] / "roles"
ROLES = sorted(p.name for p in ROLES_DIR.iterdir() if (p / "meta" / "argument_specs.yml").is_file())


def load(path: pathlib.Path):
    with path.open() as handle:
        return yaml.safe_load(handle)


def options(role: str) -> dict:
    return load(ROLES_DIR / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]


def defaults(role: str) -> dict:
    return load(ROLES_DIR / role / "defaults" / "main.yml") or {}


def test_every_role_has_argument_specs():
    roles = sorted(p.name for p in ROLES_DIR.iterdir() if p.is_dir())
    assert roles and ROLES == roles


@pytest.mark.parametrize("role", ROLES)
def test_option_names_equal_defaults(role):
    assert sorted(options(role)) == sorted(defaults(role))


@pytest.mark.parametrize("role", ROLES)
def test_default_values_equal(role):
    # YAML-loaded values compared as they load: Jinja templates stay plain strings on both sides.
    opts, values = options(role), defaults(role)
    mismatched = {name: (opts[name].get("default"), values[name]) for name in opts
                  if name in values and opts[name].get("default") != values[name]}
    assert mismatched == {}


@pytest.mark.parametrize("role", ROLES)
def test_every_option_has_type(role):
    assert [name for name, spec in options(role).items() if "type" not in spec] == []


@pytest.mark.parametrize("role", ROLES)
def test_every_option_has_description(role):
    assert [name for name, spec in options(role).items() if not spec.get("description")] == []


@pytest.mark.parametrize("role", ROLES)
def test_public_variables_carry_prefix(role):
    assert [name for name in defaults(role) if not name.startswith("postgres_")] == []


def test_preflight_catalogue_default_is_the_seed():
    assert defaults("preflight")["postgres_instances"] == _catalogue.SEED


def test_preflight_default_validates():
    values = defaults("preflight")
    plan, problems = _catalogue.validate(values["postgres_instances"], values["postgres_instances_enabled"],
                                         values["postgres_version"])
    assert problems == []
    assert len(plan) == 6
