"""The marshmallow schemas of each action's fields, and their agreement with the manifest."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from connector.domain.fields import json_schema, load_fields, schema_for
from connector.domain.manifest import ACTIONS, Manifest


@pytest.mark.parametrize("action", ACTIONS)
def test_each_schema_has_exactly_the_manifests_fields_with_their_requiredness_and_defaults(
    default_manifest: Manifest, action: str
) -> None:
    schema = schema_for(default_manifest, action)
    definitions = default_manifest.fields_of(action)
    assert list(schema.fields) == [d.name for d in definitions]
    for definition in definitions:
        field = schema.fields[definition.name]
        assert field.required is definition.required
        if not definition.required:
            assert field.load_default == definition.default


@pytest.mark.parametrize("action", ["CREATE", "MODIFY", "CHANGE_PLAN"])
def test_the_json_schema_carries_the_manifests_pick_lists_and_bounds(
    default_manifest: Manifest, action: str
) -> None:
    properties = json_schema(schema_for(default_manifest, action))["properties"]
    for definition in default_manifest.fields_of(action):
        described = properties[definition.name]
        if definition.enum_members is not None:
            assert set(definition.enum_members) <= set(described["enum"])
        if definition.type == "Integer" and definition.max_value is not None:
            assert described["anyOf"][0]["maximum"] == definition.max_value
        if definition.type == "String" and definition.max_value is not None:
            assert described["maxLength"] == definition.max_value


def load(manifest: Manifest, action: str, raw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    loaded = load_fields(manifest, action, raw)
    return loaded.data, loaded.errors


@pytest.mark.parametrize("value", ["25", " 25 ", 25, 25.0, Decimal("25"), "+25"])
def test_whole_numbers_arrive_as_numbers_or_text(default_manifest: Manifest, value: Any) -> None:
    data, errors = load(default_manifest, "MODIFY", {"Seats": value})
    assert (data["Seats"], errors) == (25, {})


@pytest.mark.parametrize("value", ["25.5", 25.5, "twenty", True, "1e3", [25], "9" * 40])
def test_anything_but_a_whole_number_is_refused_for_seats(
    default_manifest: Manifest, value: Any
) -> None:
    data, errors = load(default_manifest, "MODIFY", {"Seats": value})
    assert "Seats" not in data
    assert errors == {"Seats": ["Not a whole number."]}


def test_seats_outside_the_bands_are_refused(default_manifest: Manifest) -> None:
    assert "Seats" in load(default_manifest, "MODIFY", {"Seats": 0})[1]
    assert "Seats" in load(default_manifest, "MODIFY", {"Seats": 10001})[1]
    assert load(default_manifest, "MODIFY", {"Seats": 10000})[1] == {}


def test_text_fields_accept_numbers_and_trim_blanks(default_manifest: Manifest) -> None:
    data, _ = load(
        default_manifest, "CREATE", {"CustomerVatId": 123456789, "CustomerContact": " Jo "}
    )
    assert (data["CustomerVatId"], data["CustomerContact"]) == ("123456789", "Jo")


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_a_blank_value_counts_as_absent(default_manifest: Manifest, blank: Any) -> None:
    data, errors = load(
        default_manifest, "CREATE", {"Product": blank, "LicenseType": blank, "CustomerVatId": blank}
    )
    assert errors["Product"] == ["Required."]
    assert (data["LicenseType"], data["CustomerVatId"]) == ("NEW", None)


def test_errors_are_keyed_by_the_contracts_field_names(default_manifest: Manifest) -> None:
    _, errors = load(
        default_manifest,
        "CREATE",
        {"Product": "protect_entry", "TermMonths": "6", "CustomerEmail": "nobody", "Seats": 3},
    )
    assert {"Product", "TermMonths", "CustomerEmail"} <= set(errors)
    assert "Seats" not in errors


def test_unknown_fields_are_ignored(default_manifest: Manifest) -> None:
    data, errors = load(default_manifest, "MODIFY", {"Colour": "blue", "RenewTermMonths": "24"})
    assert (data, errors) == ({"Seats": None, "RenewTermMonths": 24}, {})


@pytest.mark.parametrize("action", ["SUBSCRIBE", "SYNC", "SUSPEND", "RESUME", "DELETE"])
def test_actions_without_fields_ignore_whatever_fields_arrive(
    default_manifest: Manifest, action: str
) -> None:
    assert load(default_manifest, action, {"Seats": "x", "y": [1]}) == ({}, {})
    assert load(default_manifest, action, None) == ({}, {})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-10-31", date(2026, 10, 31)),
        ("2026-02-30", None),
        ("20261031", None),
        (20261031, None),
    ],
)
def test_dates_are_written_year_month_day(
    default_manifest: Manifest, value: Any, expected: date | None
) -> None:
    data, errors = load(default_manifest, "CREATE", {"CrossgradeExpiry": value})
    assert data.get("CrossgradeExpiry") == expected
    assert ("CrossgradeExpiry" in errors) is (expected is None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), (True, True), ("false", False), (0, False), ("yes", None)],
)
def test_the_eula_acceptance_is_a_boolean(
    default_manifest: Manifest, value: Any, expected: bool | None
) -> None:
    data, _ = load(default_manifest, "CREATE", {"EulaAccepted": value})
    assert data.get("EulaAccepted") is expected


def test_fields_that_are_not_an_object_are_one_error(default_manifest: Manifest) -> None:
    assert load(default_manifest, "CREATE", ["Product"]) == (
        {},
        {"fields": ["Must be an object of field values."]},
    )


def test_the_country_must_be_two_capital_letters(default_manifest: Manifest) -> None:
    assert "CustomerCountry" in load(default_manifest, "CREATE", {"CustomerCountry": "de"})[1]
    assert "CustomerCountry" not in load(default_manifest, "CREATE", {"CustomerCountry": "AT"})[1]
