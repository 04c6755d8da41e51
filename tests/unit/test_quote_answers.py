"""The live quote (marketplace.md §5) and the intake's field check built on the same rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from connector.domain.facts import LicenseFacts, PartnerFacts
from connector.domain.manifest import Manifest
from connector.domain.quote import (
    Checked,
    QuoteResult,
    UnknownAction,
    check_event,
    quote,
    trial_key,
)

MakeLicense = Callable[..., LicenseFacts]
TODAY = date(2026, 11, 27)


@pytest.fixture(scope="module")
def gold(default_manifest: Manifest) -> PartnerFacts:
    return default_manifest.catalog.partner("Gold")


def full_order(manifest: Manifest, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "Product": "PROTECT_ADVANCED",
        "Seats": "24",
        "TermMonths": "12",
        "CustomerCompany": "Beispiel Bau AG",
        "CustomerContact": "Erika Mustermann",
        "CustomerEmail": "it@beispiel-bau.example",
        "CustomerCountry": "DE",
        "EulaAccepted": "true",
        "EulaVersion": manifest.eula.version,
    }
    fields.update(changes)
    return fields


def ask(
    manifest: Manifest,
    action: str,
    fields: dict[str, Any],
    partner: PartnerFacts | None,
    license: LicenseFacts | None = None,
    trial_exists: bool = False,
) -> QuoteResult:
    return quote(
        manifest,
        action,
        fields,
        partner=partner,
        license=license,
        today=TODAY,
        trial_exists=trial_exists,
    )


def check(
    manifest: Manifest,
    action: str,
    fields: dict[str, Any],
    partner: PartnerFacts | None,
    license: LicenseFacts | None = None,
) -> Checked:
    return check_event(manifest, action, fields, partner=partner, license=license, today=TODAY)


def test_the_price_shows_as_soon_as_product_seats_and_term_are_chosen(
    default_manifest: Manifest, gold: PartnerFacts
) -> None:
    fields = {"Product": "PROTECT_ADVANCED", "Seats": "24", "TermMonths": "12"}
    answer = ask(default_manifest, "CREATE", fields, gold).as_json()
    assert answer["valid"] is False
    assert "CustomerCompany" in answer["errors"]
    assert answer["price"] == {
        "currency": "EUR",
        "listPrice": "1248.00",
        "discount": "0.00",
        "margin": "249.60",
        "invoicePrice": "998.40",
        "lines": [
            {
                "description": "New license: ESET PROTECT Advanced, 24 seats × 52.00 EUR/year, "
                "12 months",
                "amount": "1248.00",
            }
        ],
    }


def test_there_is_no_price_while_the_term_is_missing(
    default_manifest: Manifest, gold: PartnerFacts
) -> None:
    answer = ask(default_manifest, "CREATE", {"Product": "PROTECT_ADVANCED", "Seats": 5}, gold)
    assert answer.price is None
    assert answer.errors["TermMonths"] == ["Required."]


def test_a_complete_order_is_valid(default_manifest: Manifest, gold: PartnerFacts) -> None:
    answer = ask(default_manifest, "CREATE", full_order(default_manifest), gold)
    assert (answer.valid, answer.errors) == (True, {})


def test_the_price_reflects_category_and_crossgrade_before_their_proof(
    default_manifest: Manifest, gold: PartnerFacts
) -> None:
    fields = full_order(default_manifest, DiscountCategory="GOV", LicenseType="CROSSGRADE")
    answer = ask(default_manifest, "CREATE", fields, gold)
    assert not answer.valid
    assert answer.price is not None
    assert str(answer.price.discount) == "549.12"  # 1248.00 × 0.44


def test_a_reseller_that_has_not_subscribed_gets_only_a_reseller_error(
    default_manifest: Manifest,
) -> None:
    answer = ask(default_manifest, "CREATE", full_order(default_manifest), None).as_json()
    assert answer == {
        "valid": False,
        "errors": {"reseller": [answer["errors"]["reseller"][0]]},
        "price": None,
    }


def test_strings_and_numbers_give_the_same_answer(
    default_manifest: Manifest, gold: PartnerFacts
) -> None:
    as_text = ask(default_manifest, "CREATE", full_order(default_manifest), gold)
    as_numbers = ask(
        default_manifest, "CREATE", full_order(default_manifest, Seats=24, TermMonths=12), gold
    )
    assert as_text == as_numbers


def test_unknown_fields_are_ignored(default_manifest: Manifest, gold: PartnerFacts) -> None:
    fields = full_order(default_manifest, Colour="blue", seats="999")
    assert ask(default_manifest, "CREATE", fields, gold).valid


def test_the_one_trial_rule_names_the_product(
    default_manifest: Manifest, gold: PartnerFacts
) -> None:
    fields = full_order(default_manifest, TermMonths="1")
    answer = ask(default_manifest, "CREATE", fields, gold, trial_exists=True)
    assert list(answer.errors) == ["Product"]
    assert answer.price is not None and str(answer.price.invoice_price) == "0.00"


def test_a_renewal_outside_its_window_names_renew_term_months(
    default_manifest: Manifest, gold: PartnerFacts, make_license: MakeLicense
) -> None:
    license = make_license(expiry=TODAY + timedelta(days=61))
    answer = ask(default_manifest, "MODIFY", {"RenewTermMonths": "12"}, gold, license)
    assert list(answer.errors) == ["RenewTermMonths"]
    assert answer.price is not None


def test_a_downgrade_without_renewal_names_the_product(
    default_manifest: Manifest, gold: PartnerFacts, make_license: MakeLicense
) -> None:
    license = make_license(expiry=TODAY + timedelta(days=30))
    answer = ask(default_manifest, "CHANGE_PLAN", {"Product": "PROTECT_ENTRY"}, gold, license)
    assert list(answer.errors) == ["Product"]


def test_modify_seats_default_to_the_current_seats(
    default_manifest: Manifest, gold: PartnerFacts, make_license: MakeLicense
) -> None:
    license = make_license(seats=25, expiry=TODAY + timedelta(days=30))
    checked = check(default_manifest, "MODIFY", {"RenewTermMonths": 12}, gold, license)
    assert checked.valid
    assert checked.fields == {"Seats": 25, "RenewTermMonths": 12}
    assert checked.price is not None and str(checked.price.list_price) == "1175.00"


def test_a_state_that_forbids_the_action_is_a_refusal_not_a_field_error(
    default_manifest: Manifest, gold: PartnerFacts, make_license: MakeLicense
) -> None:
    license = make_license(state="Suspended")
    checked = check(default_manifest, "CHANGE_PLAN", {"Product": "PROTECT_MDR"}, gold, license)
    assert checked.refusal is not None
    assert checked.errors == {}
    assert not checked.valid
    answer = ask(default_manifest, "CHANGE_PLAN", {"Product": "PROTECT_MDR"}, gold, license)
    assert list(answer.errors) == ["subscription"]
    assert answer.price is None


def test_an_unknown_license_gets_a_subscription_error_and_no_price(
    default_manifest: Manifest, gold: PartnerFacts
) -> None:
    answer = ask(default_manifest, "MODIFY", {"RenewTermMonths": 12}, gold, None)
    assert (list(answer.errors), answer.price) == (["subscription"], None)


@pytest.mark.parametrize(
    ("changes", "review"),
    [
        ({}, False),
        ({"DiscountCategory": "EDU", "EligibilityProof": "school register"}, True),
        (
            {
                "LicenseType": "CROSSGRADE",
                "EligibilityProof": "old invoice",
                "CrossgradeSeats": 20,
                "CrossgradeExpiry": "2026-11-01",
            },
            True,
        ),
    ],
)
def test_orders_with_a_category_or_a_crossgrade_need_a_proof_review(
    default_manifest: Manifest, gold: PartnerFacts, changes: dict[str, Any], review: bool
) -> None:
    checked = check(default_manifest, "CREATE", full_order(default_manifest, **changes), gold)
    assert checked.valid
    assert checked.needs_proof_review is review


def test_checked_fields_are_coerced_with_defaults_and_turn_into_json(
    default_manifest: Manifest, gold: PartnerFacts
) -> None:
    fields = full_order(
        default_manifest,
        LicenseType="CROSSGRADE",
        EligibilityProof="old invoice",
        CrossgradeSeats="20",
        CrossgradeExpiry="2026-11-01",
    )
    checked = check(default_manifest, "CREATE", fields, gold)
    assert checked.fields["Seats"] == 24
    assert checked.fields["EulaAccepted"] is True
    assert checked.fields["DiscountCategory"] == "NONE"
    assert checked.fields["CrossgradeExpiry"] == date(2026, 11, 1)
    assert checked.fields_json()["CrossgradeExpiry"] == "2026-11-01"


def test_actions_without_fields_check_only_the_reseller_and_the_license_state(
    default_manifest: Manifest, gold: PartnerFacts, make_license: MakeLicense
) -> None:
    assert check(default_manifest, "SUBSCRIBE", {"x": 1}, None).valid
    assert check(default_manifest, "SUSPEND", {}, None).errors == {
        "reseller": ['Add the service "ESET Partner Status" before ordering.']
    }
    cancelled = make_license(state="Cancelled")
    assert check(default_manifest, "DELETE", {}, gold, cancelled).refusal is not None
    assert check(default_manifest, "SUSPEND", {"anything": "ignored"}, gold, make_license()).valid


def test_only_create_modify_and_change_plan_have_quotes(
    default_manifest: Manifest, gold: PartnerFacts
) -> None:
    with pytest.raises(UnknownAction):
        ask(default_manifest, "SUSPEND", {}, gold)
    with pytest.raises(UnknownAction):
        check(default_manifest, "UPGRADE", {}, gold)


def test_the_trial_key_ignores_case_and_spacing_of_the_company(
    default_manifest: Manifest,
) -> None:
    fields = full_order(default_manifest, TermMonths="3", CustomerCompany="  Beispiel   BAU ag ")
    key = trial_key(default_manifest, fields)
    assert key is not None
    assert (key.product, key.company, key.country) == ("PROTECT_ADVANCED", "beispiel bau ag", "DE")
    assert trial_key(default_manifest, full_order(default_manifest)) is None
