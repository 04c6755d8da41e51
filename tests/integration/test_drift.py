"""Drift against the database with a stand-in ESET adapter: how sides are compared, and how a
reseller ESET will not show is reported without hiding the others."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from connector import drift
from connector.clients.errors import EsetUnavailable, PartnerDataNotReleased
from connector.clients.eset import EsetLicense
from connector.handlers.common import subscription_fields
from connector.models import License
from connector.pushes import SubscribedReseller
from connector.runtime import Runtime
from tests.factories import TODAY, add, license, reseller

EXPIRY = TODAY + timedelta(days=200)


def at_eset(key: str, *, quantity: int = 25, state: int = 1, expiry: date = EXPIRY) -> EsetLicense:
    return EsetLicense(
        public_license_key=key,
        license_key=f"KEY-{key}",
        partner_id="P-4711",
        customer_id=None,
        customer=None,
        product_code="PROTECT_ADVANCED",
        product_name="ESET PROTECT Advanced",
        quantity=quantity,
        usage=0,
        license_type=1,
        state=state,
        start_date=expiry - timedelta(days=365),
        expiration_date=expiry,
        last_update=None,
    )


class FakeEset:
    """The ESET adapter's license search: pages per partner, or an error after some pages."""

    def __init__(self) -> None:
        self.licenses: dict[str, list[EsetLicense]] = {}
        self.failures: dict[str, tuple[int, Exception]] = {}

    def search_licenses(self, partner_id: str) -> Iterator[EsetLicense]:
        yielded, error = self.failures.get(partner_id, (-1, None))
        for number, found in enumerate(self.licenses.get(partner_id, [])):
            if number == yielded and error is not None:
                raise error
            yield found


@pytest.fixture
def eset(runtime: Runtime) -> FakeEset:
    with runtime.sessions.begin() as session:
        add(
            session,
            reseller("4711"),
            reseller("4712"),
            license("4711", "99001"),
            license("4711", "99002"),
            license("4712", "99003"),
        )
        for found in session.scalars(select(License)):
            found.pushed_fields = subscription_fields(found, TODAY)
    fake = FakeEset()
    fake.licenses["P-4711"] = [at_eset("PLK-99001"), at_eset("PLK-99002")]
    fake.licenses["P-4712"] = [at_eset("PLK-99003")]
    return fake


def check(runtime: Runtime, eset: FakeEset, *accounts: str) -> dict[str, Any]:
    resellers = [SubscribedReseller(account, f"P-{account}") for account in accounts]
    return drift.check(runtime.sessions, eset, resellers, TODAY).as_json()


def test_licenses_every_side_agrees_on_are_no_drift(runtime: Runtime, eset: FakeEset) -> None:
    assert check(runtime, eset, "4711", "4712") == {"items": [], "checked": 3, "errors": []}


def test_a_seat_count_changed_at_eset_is_drift_on_seats(runtime: Runtime, eset: FakeEset) -> None:
    eset.licenses["P-4711"][1] = at_eset("PLK-99002", quantity=30)

    [item] = check(runtime, eset, "4711")["items"]

    assert item == {
        "resellerAccountId": "4711",
        "subscriptionAccountId": "99002",
        "publicLicenseKey": "PLK-99002",
        "eset": {"state": "Active", "seats": 30, "expiryDate": EXPIRY.isoformat()},
        "connector": {"state": "Active", "seats": 25, "expiryDate": EXPIRY.isoformat()},
        "marketplace": {"state": "Active", "seats": 25, "expiryDate": EXPIRY.isoformat()},
        "differences": ["seats"],
    }


def test_a_license_never_pushed_is_drift_on_the_marketplace_side(
    runtime: Runtime, eset: FakeEset
) -> None:
    with runtime.sessions.begin() as session:
        never = session.get(License, "99001")
        assert never is not None
        never.pushed_fields = None

    [item] = check(runtime, eset, "4711")["items"]

    assert (item["subscriptionAccountId"], item["marketplace"]) == ("99001", None)
    assert item["differences"] == ["marketplace"]


def test_a_reseller_eset_fails_on_midway_reports_an_error_and_none_of_its_licenses(
    runtime: Runtime, eset: FakeEset
) -> None:
    # A first page full of licenses the connector does not know, then ESET fails.
    eset.licenses["P-4711"] += [at_eset(f"NEW-{n:03d}") for n in range(drift.PAGE)]
    eset.failures["P-4711"] = (drift.PAGE, EsetUnavailable("ESET did not answer"))
    eset.licenses["P-4712"][0] = at_eset("PLK-99003", state=3)

    found = check(runtime, eset, "4711", "4712")

    assert [item["subscriptionAccountId"] for item in found["items"]] == ["99003"]
    assert found["checked"] == 1
    assert found["errors"] == [
        {"resellerAccountId": "4711", "esetPartnerId": "P-4711", "message": "ESET did not answer"}
    ]


def test_a_partner_whose_data_is_not_released_is_named_in_the_errors(
    runtime: Runtime, eset: FakeEset
) -> None:
    eset.failures["P-4712"] = (0, PartnerDataNotReleased())

    found = check(runtime, eset, "4712")

    [error] = found["errors"]
    assert "released" in error["message"]


def test_a_reseller_without_an_eset_partner_id_is_an_error_not_a_crash(
    runtime: Runtime, eset: FakeEset
) -> None:
    resellers = [SubscribedReseller("4711", None)]

    found = drift.check(runtime.sessions, eset, resellers, TODAY).as_json()

    assert found["errors"][0]["message"] == drift.NO_PARTNER_ID


@pytest.mark.parametrize(
    ("eset_state", "listed"),
    [(3, False), (2, False), (1, True)],
    ids=["suspended", "obsolete", "active"],
)
def test_a_cancelled_license_is_drift_only_while_eset_keeps_it_active(
    runtime: Runtime, eset: FakeEset, eset_state: int, listed: bool
) -> None:
    with runtime.sessions.begin() as session:
        cancelled = session.get(License, "99003")
        assert cancelled is not None
        cancelled.cancelled_at = runtime.clock.now()
        cancelled.pushed_fields = subscription_fields(cancelled, TODAY)
    eset.licenses["P-4712"][0] = at_eset("PLK-99003", state=eset_state)

    items = check(runtime, eset, "4712")["items"]

    assert [item["differences"] for item in items] == ([["state"]] if listed else [])


def test_a_cancelled_license_gone_from_eset_is_no_drift(runtime: Runtime, eset: FakeEset) -> None:
    with runtime.sessions.begin() as session:
        cancelled = session.get(License, "99003")
        assert cancelled is not None
        cancelled.cancelled_at = runtime.clock.now()
    eset.licenses["P-4712"] = []

    assert check(runtime, eset, "4712") == {"items": [], "checked": 0, "errors": []}


def test_pages_of_eset_licenses_are_matched_in_order(runtime: Runtime, eset: FakeEset) -> None:
    keys = [f"NEW-{n:03d}" for n in range(drift.PAGE + 5)]
    eset.licenses["P-4712"] += [at_eset(key) for key in keys]

    found = check(runtime, eset, "4712")

    assert found["checked"] == drift.PAGE + 6
    assert [item["publicLicenseKey"] for item in found["items"]] == keys
    assert {tuple(item["differences"]) for item in found["items"]} == {("connector",)}


def test_an_unreadable_pushed_seat_count_is_shown_as_it_was_pushed() -> None:
    view = drift.pushed_view({"LicenseState": "Active", "Seats": "many", "ExpiryDate": "x"})

    assert view == {"state": "Active", "seats": "many", "expiryDate": "x"}
