"""Renewal and extension, product change, suspend/resume/delete, on licenses ordered first."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tests.e2e.conftest import Shop, arguments, new_license_fields
from tests.support import sign_request


@pytest.fixture
def ordered(shop: Shop) -> dict[str, str]:
    """A 25-seat, 12-month PROTECT_ADVANCED license on subscription 99001, ordered 2026-11-27."""
    shop.subscribe()
    return arguments(shop.order("99001"))


def test_renewal_and_extension_happen_together_in_one_step(
    shop: Shop, ordered: dict[str, str]
) -> None:
    shop.clock.set(shop.clock.now().replace(year=2027, month=10, day=28))  # 30 days left
    answer = arguments(
        shop.run(
            "MODIFY", "renew", subscription="99001", fields={"Seats": 30, "RenewTermMonths": 12}
        )
    )
    assert answer["Seats"] == "30"
    assert (answer["StartDate"], answer["ExpiryDate"]) == ("2027-11-27", "2028-11-27")
    # renewal 30 x 47.00 = 1410.00; extension 5 x 47.00 x 30/365 = 19.32; list 1429.32
    # margin 20% = 285.86 -> invoice 1143.46
    assert answer["InvoicePrice"] == "1143.46"
    at_eset = shop.eset_license(ordered["PublicLicenseKey"])
    assert (at_eset.quantity, at_eset.expiration_date) == (30, date(2028, 11, 27))


def test_an_extension_alone_is_charged_for_the_days_left(
    shop: Shop, ordered: dict[str, str]
) -> None:
    shop.clock.advance(days=100)  # 265 days left
    answer = arguments(shop.run("MODIFY", "extend", subscription="99001", fields={"Seats": "35"}))
    assert answer["Seats"] == "35"
    assert answer["ExpiryDate"] == "2027-11-27"
    # 10 x 47.00 x 265/365 = 341.23 list; margin 68.25 -> 272.98
    assert answer["InvoicePrice"] == "272.98"


def test_a_renewal_outside_the_window_is_refused_on_the_term(
    shop: Shop, ordered: dict[str, str]
) -> None:
    response = shop.send("MODIFY", "early", subscription="99001", fields={"RenewTermMonths": "12"})
    assert response.status_code == 422
    assert list(response.json["error"]["fields"]) == ["RenewTermMonths"]


def test_a_trial_renewed_becomes_a_full_license_from_today(shop: Shop) -> None:
    shop.subscribe()
    trial = arguments(shop.order("99001", TermMonths="1"))
    shop.clock.advance(days=10)
    answer = arguments(
        shop.run("MODIFY", "convert", subscription="99001", fields={"RenewTermMonths": "12"})
    )
    assert answer["LicenseType"] == "FULL"
    assert (answer["StartDate"], answer["ExpiryDate"]) == ("2026-12-07", "2027-12-07")
    assert answer["PublicLicenseKey"] == trial["PublicLicenseKey"]
    assert answer["InvoicePrice"] == "940.00"


def test_a_product_change_with_more_seats_and_a_renewal(
    shop: Shop, ordered: dict[str, str]
) -> None:
    shop.clock.set(shop.clock.now().replace(year=2027, month=10, day=28))
    answer = arguments(
        shop.run(
            "CHANGE_PLAN",
            "upgrade",
            subscription="99001",
            fields={"Product": "PROTECT_COMPLETE", "Seats": "30", "RenewTermMonths": "12"},
        )
    )
    assert (answer["Product"], answer["Seats"]) == ("PROTECT_COMPLETE", "30")
    assert answer["ExpiryDate"] == "2028-11-27"
    assert answer["PublicLicenseKey"] == ordered["PublicLicenseKey"]
    at_eset = shop.eset_license(ordered["PublicLicenseKey"])
    assert (at_eset.product_code, at_eset.quantity) == ("PROTECT_COMPLETE", 30)


def test_a_downgrade_without_renewal_is_refused_on_the_product(
    shop: Shop, ordered: dict[str, str]
) -> None:
    response = shop.send(
        "CHANGE_PLAN", "down", subscription="99001", fields={"Product": "PROTECT_ENTRY"}
    )
    assert response.status_code == 422
    assert "Product" in response.json["error"]["fields"]


def test_a_trial_cannot_change_product(shop: Shop) -> None:
    shop.subscribe()
    arguments(shop.order("99001", TermMonths="3"))
    response = shop.send(
        "CHANGE_PLAN", "trial-change", subscription="99001", fields={"Product": "PROTECT_ELITE"}
    )
    assert response.status_code == 409
    assert response.json["error"]["code"] == "invalid_state"


def test_suspend_and_resume_follow_the_license_at_eset(shop: Shop, ordered: dict[str, str]) -> None:
    assert arguments(shop.run("SUSPEND", "suspend", subscription="99001")) == {"State": "Suspended"}
    assert shop.eset_license(ordered["PublicLicenseKey"]).state == 3
    assert shop.marketplace.subscriptions["99001"]["fields"]["LicenseState"] == "Suspended"
    assert arguments(shop.run("RESUME", "resume", subscription="99001")) == {"State": "Active"}
    assert shop.eset_license(ordered["PublicLicenseKey"]).state == 1


def test_deleting_a_full_license_suspends_it_at_eset_and_cancels_it(
    shop: Shop, ordered: dict[str, str]
) -> None:
    assert arguments(shop.run("DELETE", "delete", subscription="99001")) == {"State": "Cancelled"}
    assert shop.eset_license(ordered["PublicLicenseKey"]).state == 3
    assert shop.license("99001").cancelled_at is not None
    again = shop.send("MODIFY", "after-delete", subscription="99001", fields={"Seats": "30"})
    assert again.status_code == 409


def test_deleting_a_trial_removes_it_at_eset(shop: Shop) -> None:
    shop.subscribe()
    trial = arguments(shop.order("99001", TermMonths="1"))
    assert arguments(shop.run("DELETE", "delete", subscription="99001")) == {"State": "Cancelled"}
    assert shop.eset_license(trial["PublicLicenseKey"]).state == 2
    # The customer may start a new trial of that product once the old one is gone.
    new_trial = shop.send(
        "CREATE", "new-trial", subscription="99002", fields=new_license_fields(TermMonths="1")
    )
    assert new_trial.status_code == 202


def test_a_second_operation_on_a_busy_license_is_refused(
    shop: Shop, ordered: dict[str, str]
) -> None:
    assert shop.send("SUSPEND", "first", subscription="99001").status_code == 202
    second = shop.send("RESUME", "second", subscription="99001")
    assert second.status_code == 409
    assert second.json["error"]["code"] == "invalid_state"


def test_another_resellers_license_is_not_found(shop: Shop, ordered: dict[str, str]) -> None:
    shop.subscribe("other-subscribe", accountId="4712", esetPartnerId=None, companyName="Other")
    response = shop.send("SUSPEND", "steal", subscription="99001", reseller={"accountId": "4712"})
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("action", "fields"),
    [
        ("MODIFY", {"Seats": "30"}),
        ("CHANGE_PLAN", {"Product": "PROTECT_COMPLETE"}),
        ("SUSPEND", {}),
        ("RESUME", {}),
        ("DELETE", {}),
    ],
)
def test_no_action_reaches_another_resellers_license(
    shop: Shop, ordered: dict[str, str], action: str, fields: dict[str, str]
) -> None:
    shop.subscribe("other-subscribe", accountId="4712", esetPartnerId=None, companyName="Other")
    response = shop.send(
        action,
        f"steal-{action}",
        subscription="99001",
        fields=fields,
        reseller={"accountId": "4712"},
    )
    assert response.status_code == 404
    assert response.json["error"] == {
        "code": "not_found",
        "message": "No license of this reseller has this subscription.",
    }
    assert shop.license("99001").reseller_account_id == "4711"


def test_a_quote_on_another_resellers_license_reveals_nothing(
    shop: Shop, ordered: dict[str, str]
) -> None:
    shop.subscribe("other-subscribe", accountId="4712", esetPartnerId=None, companyName="Other")

    def quote(reseller: str) -> dict[str, object]:
        body = {
            "action": "MODIFY",
            "reseller": {"accountId": reseller},
            "subscription": {"accountId": "99001"},
            "fields": {"Seats": "30"},
        }
        raw = json.dumps(body).encode()
        headers = sign_request("POST", "/api/v1/quote", raw, at=shop.clock.now().timestamp())
        response = shop.client.post(
            "/api/v1/quote", data=raw, headers=headers, content_type="application/json"
        )
        answer: dict[str, object] = response.get_json()
        return answer

    own, foreign = quote("4711"), quote("4712")
    assert own["price"] is not None
    assert foreign["price"] is None
    assert foreign["valid"] is False
    assert foreign["errors"] == {
        "subscription": ["No license of this reseller has this subscription."]
    }
