"""The typed settings objects: one default and one validator per setting, JSON that is a valid
gate entry, and errors that name where a value was set."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_onepixel.errors import InputError
from pytest_onepixel.settings.gate_settings import GateSettings, GateSource
from pytest_onepixel.settings.session_settings import SessionSettings
from pytest_onepixel.settings.table import MARKER_KEYS, SETTINGS


def test_the_table_is_read_off_the_fields_with_their_defaults() -> None:
    """A setting is declared once: the table's default is the field's default."""
    for cls in (GateSettings, GateSource, SessionSettings):
        for field in dataclasses.fields(cls):
            default = field.default
            if default is dataclasses.MISSING:
                default = field.default_factory()
            assert SETTINGS[field.name].default == default, field.name
    assert set(MARKER_KEYS) == {f.name for f in dataclasses.fields(GateSettings)}


def test_attack_keyword_defaults_are_the_fields() -> None:
    import inspect

    from pytest_onepixel.api import attack

    for name, parameter in inspect.signature(attack).parameters.items():
        if name in MARKER_KEYS:
            assert parameter.default == getattr(GateSettings, name), name


VALUES = {
    "budget": st.integers(1, 10_000),
    "seed": st.integers(0, 2**31),
    "pixels": st.integers(1, 5),
    "popsize": st.none() | st.integers(4, 400),
    "max_success_rate": st.none() | st.floats(0, 1),
    "gate": st.sampled_from(["point", "strict", "lenient"]),
    "pixel_range": st.none() | st.tuples(st.floats(-10, 0), st.floats(1, 300)),
    "max_success_rate_at": st.none() | st.dictionaries(st.integers(1, 99), st.floats(0, 1)),
    "preprocess": st.none() | st.just({"scale": 0.5, "mean": [0.1, 0.2], "std": 2}),
    "targeted": st.booleans(),
    "output": st.none() | st.integers(0, 3) | st.just("logits"),
}


@settings(max_examples=100, deadline=None)
@given(st.fixed_dictionaries(VALUES))
def test_to_json_is_a_valid_input_that_gives_the_same_settings(values) -> None:
    given = {key: value for key, value in values.items() if value is not None}
    asked = GateSettings.from_keywords(lambda key: "test", **given)
    assert GateSettings.from_json(asked.to_json(), lambda key: key) == asked
    assert None not in asked.to_json().values()


def test_changed_lists_only_what_differs_from_the_defaults() -> None:
    assert GateSettings().changed() == {}
    assert GateSettings(budget=100, seed=0, pixel_range=(0.0, 16.0)).changed() == {
        "budget": 100,
        "pixel_range": [0.0, 16.0],
    }


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"budget": 0}, r"attack\(budget=...\): 'budget' must be an integer >= 1; found 0\."),
        ({"gate": "strictest"}, r"'gate' must be one of point, strict, lenient"),
        ({"budgett": 3}, r"unknown key 'budgett'; did you mean 'budget'\?"),
        ({"max_success_rate_at": {"x": 0.1}}, r"'max_success_rate_at' must be a mapping"),
    ],
)
def test_bad_keywords_name_where_they_were_set(values, message) -> None:
    with pytest.raises(InputError, match=message):
        GateSettings.from_keywords(lambda key: f"attack({key}=...)", **values)


def test_a_report_spells_budgets_as_strings_and_they_read_back() -> None:
    read = GateSettings.from_json({"max_success_rate_at": {"100": 0.1}}, lambda key: key)
    assert read.max_success_rate_at == {100: 0.1}


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        GateSettings().budget = 3  # type: ignore[misc]
