"""Adding "ESET Partner Status", then ordering licenses and trials."""

from __future__ import annotations

from datetime import date

import pytest

from tests.e2e.conftest import PARTNER, Shop, arguments, new_license_fields


def test_subscribing_links_the_reseller_to_its_eset_partner(shop: Shop) -> None:
    answer = arguments(shop.subscribe())
    assert answer == {"EsetPartnerId": PARTNER, "PartnerLevel": "Gold", "MarginPercent": "20.00"}


def test_subscribing_without_a_partner_id_registers_a_new_partner_once(shop: Shop) -> None:
    first = arguments(shop.subscribe("sub-1", esetPartnerId=None))
    again = arguments(shop.subscribe("sub-2", esetPartnerId=None))
    assert first["PartnerLevel"] == "Registered"
    assert first["MarginPercent"] == "5.00"
    assert again["EsetPartnerId"] == first["EsetPartnerId"] != PARTNER


def test_subscribing_an_unknown_partner_fails_with_a_reason(shop: Shop) -> None:
    callback = shop.subscribe(esetPartnerId="P-0000000")
    assert callback["status"] == "Failed"
    assert "P-0000000" in callback["errorDetails"] or "partner" in callback["errorDetails"]


def test_nothing_but_subscribing_is_accepted_before_the_reseller_subscribed(shop: Shop) -> None:
    response = shop.send("CREATE", "too-early", subscription="99001", fields=new_license_fields())
    assert response.status_code == 422
    assert list(response.json["error"]["fields"]) == ["reseller"]


def test_a_new_license_is_ordered_once_recorded_pushed_and_called_back(shop: Shop) -> None:
    shop.subscribe()
    answer = arguments(shop.order("99001", NotifyEmail="admin@praxis.example"))

    assert answer["Product"] == "PROTECT_ADVANCED"
    assert answer["Seats"] == "25"
    assert answer["LicenseType"] == "FULL"
    assert (answer["StartDate"], answer["ExpiryDate"]) == ("2026-11-27", "2027-11-27")
    # 25 seats x 47.00 = 1175.00 list; Gold margin 20% = 235.00
    assert (answer["InvoicePrice"], answer["Currency"]) == ("940.00", "EUR")
    at_eset = shop.eset_license(answer["PublicLicenseKey"])
    assert at_eset.quantity == 25
    assert at_eset.notify_emails == ("admin@praxis.example",)
    assert [
        m.to for m in shop.eset.world.mails if m.public_license_key == at_eset.public_license_key
    ] == [("admin@praxis.example",)]
    license = shop.license("99001")
    assert license.eula_version == "2026-11"
    assert str(license.last_invoice_price) == "940.00"
    assert shop.marketplace.subscriptions["99001"]["fields"] == {
        "PublicLicenseKey": answer["PublicLicenseKey"],
        "Product": "PROTECT_ADVANCED",
        "Seats": "25",
        "LicenseType": "FULL",
        "LicenseState": "Active",
        "StartDate": "2026-11-27",
        "ExpiryDate": "2027-11-27",
    }


def test_license_documents_go_to_the_reseller_when_no_notify_email_is_given(shop: Shop) -> None:
    shop.subscribe()
    answer = arguments(shop.order("99001"))
    assert shop.eset_license(answer["PublicLicenseKey"]).notify_emails == (
        "licenses@muster-it.example",
    )


@pytest.mark.parametrize(("months", "expiry"), [("1", "2026-12-27"), ("3", "2027-02-27")])
def test_a_one_or_three_month_term_makes_a_free_trial(shop: Shop, months: str, expiry: str) -> None:
    shop.subscribe()
    answer = arguments(shop.order("99001", TermMonths=months))
    assert answer["LicenseType"] == "TRIAL"
    assert answer["ExpiryDate"] == expiry
    assert answer["InvoicePrice"] == "0.00"
    assert shop.eset_license(answer["PublicLicenseKey"]).license_type == 4


def test_a_customer_gets_one_trial_per_product(shop: Shop) -> None:
    shop.subscribe()
    arguments(shop.order("99001", TermMonths="1"))
    second = shop.send(
        "CREATE",
        "second-trial",
        subscription="99002",
        fields=new_license_fields(TermMonths="3", CustomerCompany="  beispiel PRAXIS gmbh "),
    )
    assert second.status_code == 422
    assert list(second.json["error"]["fields"]) == ["Product"]
    other_product = shop.send(
        "CREATE",
        "other-product",
        subscription="99003",
        fields=new_license_fields(TermMonths="1", Product="PROTECT_ENTRY"),
    )
    assert other_product.status_code == 202


def test_a_subscription_that_already_holds_a_license_cannot_order_again(shop: Shop) -> None:
    shop.subscribe()
    arguments(shop.order("99001"))
    again = shop.send("CREATE", "again", subscription="99001", fields=new_license_fields())
    assert again.status_code == 422
    assert list(again.json["error"]["fields"]) == ["subscription.accountId"]


def test_gov_pricing_without_proof_is_refused_at_intake(shop: Shop) -> None:
    shop.subscribe()
    response = shop.send(
        "CREATE", "gov", subscription="99001", fields=new_license_fields(DiscountCategory="GOV")
    )
    assert response.status_code == 422
    assert list(response.json["error"]["fields"]) == ["EligibilityProof"]


def test_a_gov_order_with_proof_waits_for_review_and_completes_once_approved(shop: Shop) -> None:
    shop.subscribe()
    response = shop.send(
        "CREATE",
        "gov",
        subscription="99001",
        fields=new_license_fields(DiscountCategory="GOV", EligibilityProof="DOC-2026-17"),
    )
    operation_id = response.json["operationId"]
    shop.worker.drain()
    assert shop.operation(operation_id).status == "AwaitingReview"
    assert shop.eset.world.orders == {}
    assert shop.admin("POST", f"/admin/v1/operations/{operation_id}/approve").status_code == 200
    shop.worker.drain()
    answer = arguments(shop.callback("gov"))
    # 1175.00 list, GOV 20% off = 235.00, Gold margin 20% of 940.00 = 188.00
    assert answer["InvoicePrice"] == "752.00"
    assert shop.eset_license(answer["PublicLicenseKey"]).discount_category == "GOV"


def test_proof_review_off_approves_proof_orders_automatically(shop: Shop) -> None:
    shop.runtime.settings = shop.runtime.settings.with_changes(proof_review=False)
    shop.worker.context.settings = shop.runtime.settings
    shop.subscribe()
    callback = shop.order("99001", DiscountCategory="EDU", EligibilityProof="school-letter.pdf")
    assert arguments(callback)["InvoicePrice"] == "658.00"


@pytest.mark.parametrize(
    ("old_seats", "old_expiry", "accepted"),
    [
        ("15", "2026-09-28", True),  # 60% of 25 seats, expired exactly 60 days ago
        ("14", "2026-09-28", False),  # under 60% of the new seats
        ("15", "2026-09-27", False),  # expired 61 days ago
    ],
)
def test_a_crossgrade_needs_60_percent_of_the_seats_and_at_most_60_days_since_expiry(
    shop: Shop, old_seats: str, old_expiry: str, accepted: bool
) -> None:
    shop.runtime.settings = shop.runtime.settings.with_changes(proof_review=False)
    shop.worker.context.settings = shop.runtime.settings
    shop.subscribe()
    fields = new_license_fields(
        LicenseType="CROSSGRADE",
        EligibilityProof="old-license-scan.pdf",
        CrossgradeSeats=old_seats,
        CrossgradeExpiry=old_expiry,
    )
    response = shop.send("CREATE", "crossgrade", subscription="99001", fields=fields)
    if not accepted:
        assert response.status_code == 422
        return
    assert response.status_code == 202
    shop.worker.drain()
    # 1175.00 list, crossgrade 30% off = 352.50, margin 20% of 822.50 = 164.50
    assert arguments(shop.callback("crossgrade"))["InvoicePrice"] == "658.00"
    assert date.fromisoformat(old_expiry)


def test_an_order_whose_answer_was_lost_is_not_placed_twice(shop: Shop) -> None:
    shop.subscribe()
    shop.eset.config.ambiguous_calls = 1  # ESET orders, then the answer is lost (504)
    answer = arguments(shop.order("99001"))
    at_eset = [
        lic
        for lic in shop.eset.world.licenses.values()
        if lic.customer_id and lic.public_license_key == answer["PublicLicenseKey"]
    ]
    assert len(at_eset) == 1
    assert len(shop.eset.world.orders) == 1
