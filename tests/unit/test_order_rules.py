"""The business rules of catalog.md: windows, crossgrades, trials, proofs, states and dates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from connector.domain.catalog import Catalog
from connector.domain.facts import LicenseFacts
from connector.domain.manifest import Manifest
from connector.domain.rules import (
    blocks_new_trial,
    change_plan_errors,
    create_errors,
    is_renewable,
    license_after,
    modify_errors,
    needs_proof,
    state_refusal,
)

MakeLicense = Callable[..., LicenseFacts]
TODAY = date(2026, 11, 27)


def expiring_in(make_license: MakeLicense, days: int, **facts: Any) -> LicenseFacts:
    return make_license(expiry=TODAY + timedelta(days=days), **facts)


def new_order(manifest: Manifest, **fields: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "Product": "PROTECT_ADVANCED",
        "Seats": 25,
        "TermMonths": 12,
        "LicenseType": "NEW",
        "DiscountCategory": "NONE",
        "EligibilityProof": None,
        "CrossgradeSeats": None,
        "CrossgradeExpiry": None,
        "CustomerCompany": "Beispiel Bau AG",
        "CustomerContact": "Erika Mustermann",
        "CustomerEmail": "it@beispiel-bau.example",
        "CustomerCountry": "DE",
        "CustomerVatId": None,
        "EulaAccepted": True,
        "EulaVersion": manifest.eula.version,
        "NotifyEmail": None,
    }
    order.update(fields)
    return order


def create_problems(
    manifest: Manifest, *, trial_exists: bool = False, **fields: Any
) -> dict[str, list[str]]:
    data = new_order(manifest, **fields)
    return create_errors(
        manifest.catalog, manifest.eula, data, today=TODAY, trial_exists=trial_exists
    )


# --- renewal window -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_left", "allowed"),
    [(61, False), (60, True), (0, True), (-1, True), (-60, True), (-61, False)],
)
def test_a_renewal_is_allowed_from_60_days_before_to_60_days_after_expiry(
    default_catalog: Catalog, make_license: MakeLicense, days_left: int, allowed: bool
) -> None:
    license = expiring_in(make_license, days_left)
    errors = modify_errors(default_catalog, license, 25, 12, today=TODAY)
    assert ("RenewTermMonths" not in errors) is allowed
    assert is_renewable(default_catalog, license, TODAY) is allowed


@pytest.mark.parametrize(("days_left", "allowed"), [(200, True), (-60, True), (-61, False)])
def test_a_trial_converts_while_active_or_up_to_60_days_after_expiry(
    default_catalog: Catalog, make_license: MakeLicense, days_left: int, allowed: bool
) -> None:
    trial = expiring_in(make_license, days_left, license_type="TRIAL")
    errors = modify_errors(default_catalog, trial, 40, 12, today=TODAY)
    assert (errors == {}) is allowed


def test_a_trial_changes_only_by_becoming_a_full_license(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    trial = expiring_in(make_license, 20, license_type="TRIAL")
    errors = modify_errors(default_catalog, trial, 30, 0, today=TODAY)
    assert list(errors) == ["RenewTermMonths"]


def test_a_modify_that_changes_nothing_is_refused_on_both_fields(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    errors = modify_errors(default_catalog, expiring_in(make_license, 20), 25, 0, today=TODAY)
    assert set(errors) == {"Seats", "RenewTermMonths"}


def test_seats_go_down_only_together_with_a_renewal(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    license = expiring_in(make_license, 20)
    assert list(modify_errors(default_catalog, license, 20, 0, today=TODAY)) == ["Seats"]
    assert modify_errors(default_catalog, license, 20, 12, today=TODAY) == {}


def test_seats_can_be_added_any_time_before_expiry(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    license = expiring_in(make_license, 300)
    assert modify_errors(default_catalog, license, 40, 0, today=TODAY) == {}


def test_seats_cannot_be_added_to_an_expired_license_without_a_renewal(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    license = expiring_in(make_license, -1)
    assert list(modify_errors(default_catalog, license, 40, 0, today=TODAY)) == ["Seats"]
    assert modify_errors(default_catalog, license, 40, 12, today=TODAY) == {}


# --- crossgrade ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seats", "old_seats", "allowed"),
    [
        (25, 15, True),
        (25, 14, False),
        (10, 6, True),
        (10, 5, False),
        (1, 1, True),
        (3, 2, True),
        (3, 1, False),
        (7, 5, True),
        (7, 4, False),
    ],
)
def test_a_crossgrade_needs_the_old_license_to_cover_60_percent_of_the_seats_rounded_up(
    default_manifest: Manifest, seats: int, old_seats: int, allowed: bool
) -> None:
    errors = create_problems(
        default_manifest,
        Seats=seats,
        LicenseType="CROSSGRADE",
        EligibilityProof="old license invoice",
        CrossgradeSeats=old_seats,
        CrossgradeExpiry=TODAY,
    )
    assert ("CrossgradeSeats" not in errors) is allowed


@pytest.mark.parametrize(("days_ago", "allowed"), [(-30, True), (0, True), (60, True), (61, False)])
def test_a_crossgrade_needs_the_old_license_expired_at_most_60_days_ago(
    default_manifest: Manifest, days_ago: int, allowed: bool
) -> None:
    errors = create_problems(
        default_manifest,
        LicenseType="CROSSGRADE",
        EligibilityProof="old license invoice",
        CrossgradeSeats=25,
        CrossgradeExpiry=TODAY - timedelta(days=days_ago),
    )
    assert ("CrossgradeExpiry" not in errors) is allowed


def test_a_crossgrade_requires_the_old_licenses_seats_expiry_and_a_proof(
    default_manifest: Manifest,
) -> None:
    errors = create_problems(default_manifest, LicenseType="CROSSGRADE")
    assert set(errors) == {"CrossgradeSeats", "CrossgradeExpiry", "EligibilityProof"}


# --- proof, trials, customer, EULA ---------------------------------------------------------


@pytest.mark.parametrize("category", ["GOV", "EDU", "STD"])
def test_a_discount_category_requires_a_proof(default_manifest: Manifest, category: str) -> None:
    assert list(create_problems(default_manifest, DiscountCategory=category)) == [
        "EligibilityProof"
    ]
    assert create_problems(default_manifest, DiscountCategory=category, EligibilityProof="x") == {}


def test_an_order_without_category_or_crossgrade_needs_no_proof(
    default_manifest: Manifest,
) -> None:
    assert create_problems(default_manifest) == {}
    assert not needs_proof(new_order(default_manifest))
    assert needs_proof(new_order(default_manifest, DiscountCategory="EDU"))
    assert needs_proof(new_order(default_manifest, LicenseType="CROSSGRADE"))


def test_a_trial_takes_no_discount_category_and_no_crossgrade(default_manifest: Manifest) -> None:
    errors = create_problems(
        default_manifest, TermMonths=1, DiscountCategory="GOV", LicenseType="CROSSGRADE"
    )
    assert set(errors) == {"DiscountCategory", "LicenseType"}


def test_a_second_trial_of_the_same_product_is_refused_on_the_product_field(
    default_manifest: Manifest,
) -> None:
    assert list(create_problems(default_manifest, TermMonths=3, trial_exists=True)) == ["Product"]
    assert create_problems(default_manifest, TermMonths=3, trial_exists=False) == {}


def test_an_existing_trial_does_not_block_a_full_license(default_manifest: Manifest) -> None:
    assert create_problems(default_manifest, TermMonths=12, trial_exists=True) == {}


def test_an_unassigned_country_code_is_refused(default_manifest: Manifest) -> None:
    assert list(create_problems(default_manifest, CustomerCountry="XX")) == ["CustomerCountry"]


def test_the_eula_must_be_accepted_in_its_current_version(default_manifest: Manifest) -> None:
    assert list(create_problems(default_manifest, EulaAccepted=False)) == ["EulaAccepted"]
    assert list(create_problems(default_manifest, EulaVersion="2020-01")) == ["EulaVersion"]


# --- product change -----------------------------------------------------------------------


def change_problems(
    catalog: Catalog,
    make_license: MakeLicense,
    product: str,
    *,
    seats: int = 25,
    renew: int = 0,
    days_left: int = 200,
) -> dict[str, list[str]]:
    license = expiring_in(make_license, days_left)
    return change_plan_errors(catalog, license, product, seats, renew, today=TODAY)


def test_a_product_change_must_change_the_product(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    errors = change_problems(default_catalog, make_license, "PROTECT_ADVANCED", seats=30)
    assert list(errors) == ["Product"]


def test_an_upgrade_is_allowed_at_any_time_without_a_renewal(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    assert change_problems(default_catalog, make_license, "PROTECT_MDR", days_left=300) == {}


def test_a_downgrade_without_a_renewal_is_refused_on_the_product_field(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    errors = change_problems(default_catalog, make_license, "PROTECT_ENTRY", days_left=30)
    assert list(errors) == ["Product"]


@pytest.mark.parametrize(("days_left", "allowed"), [(61, False), (60, True), (0, True)])
def test_a_downgrade_with_a_renewal_is_allowed_only_in_the_60_days_before_expiry(
    default_catalog: Catalog, make_license: MakeLicense, days_left: int, allowed: bool
) -> None:
    errors = change_problems(
        default_catalog, make_license, "PROTECT_ENTRY", renew=12, days_left=days_left
    )
    assert (errors == {}) is allowed
    assert set(errors) <= {"RenewTermMonths"}


def test_a_product_change_keeps_at_least_the_current_seats(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    errors = change_problems(default_catalog, make_license, "PROTECT_COMPLETE", seats=24)
    assert list(errors) == ["Seats"]


# --- license states -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "refused"),
    [
        ({}, False),
        ({"license_type": "TRIAL"}, True),
        ({"state": "Suspended"}, True),
        ({"state": "Cancelled"}, True),
        ({"state": "Expired"}, True),
        ({"expiry": TODAY - timedelta(days=1)}, True),
        ({"expiry": TODAY}, False),
    ],
)
def test_only_an_active_full_license_can_change_product(
    make_license: MakeLicense, facts: dict[str, Any], refused: bool
) -> None:
    license = make_license(**facts)
    assert (state_refusal("CHANGE_PLAN", license, TODAY) is not None) is refused


@pytest.mark.parametrize("action", ["MODIFY", "SUSPEND", "RESUME", "DELETE"])
def test_a_cancelled_license_takes_no_further_action(
    make_license: MakeLicense, action: str
) -> None:
    assert state_refusal(action, make_license(state="Cancelled"), TODAY) is not None


@pytest.mark.parametrize("state", ["Active", "Suspended", "Expired"])
def test_a_renewal_is_not_refused_for_its_state_unless_cancelled(
    make_license: MakeLicense, state: str
) -> None:
    assert state_refusal("MODIFY", make_license(state=state), TODAY) is None


def test_a_trial_blocks_another_only_while_it_runs(make_license: MakeLicense) -> None:
    running = expiring_in(make_license, 10, license_type="TRIAL")
    assert blocks_new_trial(running, TODAY)
    assert not blocks_new_trial(expiring_in(make_license, -1, license_type="TRIAL"), TODAY)
    assert not blocks_new_trial(
        expiring_in(make_license, 10, license_type="TRIAL", state="Cancelled"), TODAY
    )
    assert not blocks_new_trial(expiring_in(make_license, 10), TODAY)


def test_license_facts_refuse_unknown_types_and_states() -> None:
    with pytest.raises(ValueError, match="license_type"):
        LicenseFacts("PROTECT_ENTRY", 1, "PERPETUAL", "Active", TODAY, TODAY)
    with pytest.raises(ValueError, match="state"):
        LicenseFacts("PROTECT_ENTRY", 1, "FULL", "Normal", TODAY, TODAY)


# --- the license after an order -----------------------------------------------------------


def test_a_new_license_starts_today_and_runs_for_its_term(default_manifest: Manifest) -> None:
    order = new_order(default_manifest, TermMonths=24, DiscountCategory="EDU")
    after = license_after(default_manifest.catalog, "CREATE", order, None, date(2027, 1, 31))
    assert (after.start_date, after.expiry_date) == (date(2027, 1, 31), date(2029, 1, 31))
    assert (after.license_type, after.discount_category) == ("FULL", "EDU")


def test_a_trial_is_a_trial_license_without_category(default_manifest: Manifest) -> None:
    order = new_order(default_manifest, TermMonths=1)
    after = license_after(default_manifest.catalog, "CREATE", order, None, date(2027, 1, 31))
    assert (after.license_type, after.expiry_date) == ("TRIAL", date(2027, 2, 28))


def test_a_renewal_adds_the_term_to_the_old_expiry_even_when_late(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    license = make_license(expiry=date(2026, 10, 31), state="Expired")
    fields = {"Seats": 25, "RenewTermMonths": 12}
    after = license_after(default_catalog, "MODIFY", fields, license, TODAY)
    assert (after.start_date, after.expiry_date) == (date(2026, 10, 31), date(2027, 10, 31))
    assert after.state == "Active"


def test_a_converted_trial_starts_its_full_term_on_the_conversion_day(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    trial = expiring_in(make_license, 10, license_type="TRIAL")
    fields = {"Seats": 30, "RenewTermMonths": 12}
    after = license_after(default_catalog, "MODIFY", fields, trial, TODAY)
    assert (after.license_type, after.seats) == ("FULL", 30)
    assert (after.start_date, after.expiry_date) == (TODAY, date(2027, 11, 27))


def test_an_extension_or_product_change_keeps_the_dates(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    license = expiring_in(make_license, 100)
    fields = {"Product": "PROTECT_ELITE", "Seats": 40, "RenewTermMonths": 0}
    after = license_after(default_catalog, "CHANGE_PLAN", fields, license, TODAY)
    assert (after.product, after.seats, after.expiry_date) == (
        "PROTECT_ELITE",
        40,
        license.expiry_date,
    )
