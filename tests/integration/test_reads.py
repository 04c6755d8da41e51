"""The reseller reads: partner status, the license list and a license's detail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from connector.runtime import Runtime
from tests import factories as make
from tests.support import OLD_WEBHOOK_SECRET, START, sign_request

Get = Callable[[str], TestResponse]

A = "4711"
B = "4812"
LIST_A = f"/api/v1/resellers/{A}/licenses"


def seed(runtime: Runtime, *rows: Any) -> None:
    with runtime.sessions.begin() as session:
        make.add(session, *rows)


def assert_error(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    error: dict[str, Any] = response.json["error"]  # type: ignore[index]
    assert error["code"] == code
    assert error["message"]
    return error


def ids(response: TestResponse) -> list[str]:
    return [item["subscriptionAccountId"] for item in body(response)["items"]]


def body(response: TestResponse) -> Any:
    """Return the JSON of a successful answer."""
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def paging(response: TestResponse) -> tuple[int, int, int]:
    """Return a list answer's page, page size and total."""
    page = body(response)
    return page["page"], page["pageSize"], page["total"]


@pytest.fixture
def two_resellers(runtime: Runtime) -> None:
    seed(runtime, make.reseller(A), make.reseller(B))


# --- signatures ------------------------------------------------------------------------------

READS = [
    f"/api/v1/resellers/{A}/partner-status",
    LIST_A,
    f"{LIST_A}/99001",
    f"/api/v1/resellers/{A}/report?format=csv",
]


@pytest.mark.parametrize("path", READS)
def test_an_unsigned_read_is_unauthorized(client: FlaskClient, path: str) -> None:
    assert_error(client.get(path), 401, "unauthorized")


@pytest.mark.parametrize("path", READS)
def test_a_read_signed_with_an_unknown_secret_is_unauthorized(
    client: FlaskClient, path: str
) -> None:
    headers = sign_request("GET", path, secret="not-the-secret")
    assert_error(client.get(path, headers=headers), 401, "unauthorized")


def test_a_read_signed_for_another_query_is_unauthorized(client: FlaskClient) -> None:
    headers = sign_request("GET", f"{LIST_A}?state=all")
    assert_error(client.get(f"{LIST_A}?state=renewable", headers=headers), 401, "unauthorized")


def test_a_read_signed_with_the_previous_secret_is_answered(
    client: FlaskClient, two_resellers: None
) -> None:
    headers = sign_request("GET", LIST_A, secret=OLD_WEBHOOK_SECRET)
    assert client.get(LIST_A, headers=headers).status_code == 200


# --- partner status --------------------------------------------------------------------------


def test_partner_status_shows_the_partner_link_level_and_margin(
    get_signed: Get, runtime: Runtime
) -> None:
    seed(runtime, make.reseller(A, margin_percent=Decimal("12.5"), level="Silver"))
    response = get_signed(f"/api/v1/resellers/{A}/partner-status")
    assert response.status_code == 200
    assert response.json == {
        "esetPartnerId": f"P-{A}",
        "alsoPartnerId": f"DE-{A}",
        "companyName": f"Reseller {A} GmbH",
        "level": "Silver",
        "marginPercent": "12.50",
        "subscribedAt": "2026-11-27T10:15:00Z",
    }


def test_partner_status_of_a_reseller_that_has_not_subscribed_is_not_found(
    get_signed: Get, runtime: Runtime
) -> None:
    seed(runtime, make.reseller(A), make.reseller(B, subscribed=False))
    assert_error(get_signed(f"/api/v1/resellers/{B}/partner-status"), 404, "not_found")


def test_partner_status_of_an_unknown_reseller_is_not_found(get_signed: Get) -> None:
    assert_error(get_signed("/api/v1/resellers/0000/partner-status"), 404, "not_found")


def test_partner_status_shows_only_the_reseller_in_the_path(
    get_signed: Get, two_resellers: None
) -> None:
    response = get_signed(f"/api/v1/resellers/{B}/partner-status")
    assert body(response)["esetPartnerId"] == f"P-{B}"


# --- the license list ------------------------------------------------------------------------


def test_licenses_are_listed_by_expiry_then_subscription_id(
    get_signed: Get, runtime: Runtime, two_resellers: None
) -> None:
    seed(
        runtime,
        make.license(A, "99003", expires_in_days=30),
        make.license(A, "99002", expires_in_days=10),
        make.license(A, "99005", expires_in_days=10),
        make.license(A, "99001", expires_in_days=300),
        make.license(A, "99004", expires_in_days=10),
    )
    assert ids(get_signed(LIST_A)) == ["99002", "99004", "99005", "99003", "99001"]


def test_a_license_is_shown_as_the_contract_describes_it(
    get_signed: Get, runtime: Runtime, two_resellers: None
) -> None:
    seed(runtime, make.license(A, "99001", expires_in_days=30, customer_vat_id="DE123456789"))
    [item] = body(get_signed(LIST_A))["items"]
    assert item == {
        "subscriptionAccountId": "99001",
        "publicLicenseKey": "PLK-99001",
        "product": "PROTECT_ADVANCED",
        "productName": "ESET PROTECT Advanced",
        "seats": 25,
        "licenseType": "FULL",
        "state": "Active",
        "esetState": 1,
        "startDate": "2025-12-27",
        "expiryDate": "2026-12-27",
        "renewable": True,
        "lastInvoicePrice": "998.40",
        "currency": "EUR",
        "endCustomer": {
            "companyName": "Customer of 99001 AG",
            "contactName": "Erika Mustermann",
            "email": "it@customer.example",
            "country": "DE",
            "vatId": "DE123456789",
        },
    }


@pytest.fixture
def licenses_in_every_state(runtime: Runtime, two_resellers: None) -> None:
    seed(
        runtime,
        make.license(A, "active-far", expires_in_days=200),
        make.license(A, "active-soon", expires_in_days=30),
        make.license(A, "expires-today", expires_in_days=0),
        make.license(A, "suspended", expires_in_days=100, eset_state=3),
        make.license(A, "warning", expires_in_days=150, eset_state=4),
        make.license(A, "expired-60", expires_in_days=-60),
        make.license(A, "expired-61", expires_in_days=-61),
        make.license(A, "suspended-expired-61", expires_in_days=-61, eset_state=3),
        make.license(A, "deleted", expires_in_days=100, cancelled_at=START - timedelta(days=1)),
        make.license(A, "obsolete", expires_in_days=100, eset_state=2),
    )


def test_the_default_list_holds_active_suspended_and_lately_expired_licenses(
    get_signed: Get, licenses_in_every_state: None
) -> None:
    response = get_signed(LIST_A)
    states = {item["subscriptionAccountId"]: item["state"] for item in body(response)["items"]}
    assert states == {
        "expired-60": "Expired",
        "expires-today": "Active",
        "active-soon": "Active",
        "suspended": "Suspended",
        "warning": "Active",
        "active-far": "Active",
    }
    assert body(response)["total"] == 6


def test_state_renewable_is_the_default(get_signed: Get, licenses_in_every_state: None) -> None:
    assert ids(get_signed(f"{LIST_A}?state=renewable")) == ids(get_signed(LIST_A))


def test_state_all_also_holds_cancelled_and_long_expired_licenses(
    get_signed: Get, licenses_in_every_state: None
) -> None:
    response = get_signed(f"{LIST_A}?state=all")
    states = {item["subscriptionAccountId"]: item["state"] for item in body(response)["items"]}
    assert states["expired-61"] == "Expired"
    assert states["suspended-expired-61"] == "Expired"
    assert states["deleted"] == "Cancelled"
    assert states["obsolete"] == "Cancelled"
    assert body(response)["total"] == len(states) == 10


def test_renewable_tells_whether_a_renewal_would_be_accepted_today(
    get_signed: Get, licenses_in_every_state: None
) -> None:
    response = get_signed(f"{LIST_A}?state=all")
    renewable = {i["subscriptionAccountId"]: i["renewable"] for i in body(response)["items"]}
    assert renewable == {
        "active-far": False,  # the renewal window opens 60 days before expiry
        "active-soon": True,
        "expires-today": True,
        "suspended": False,
        "warning": False,
        "expired-60": True,
        "expired-61": False,
        "suspended-expired-61": False,
        "deleted": False,
        "obsolete": False,
    }


def test_the_raw_eset_state_stays_visible(get_signed: Get, licenses_in_every_state: None) -> None:
    items = body(get_signed(f"{LIST_A}?state=all"))["items"]
    raw = {item["subscriptionAccountId"]: item["esetState"] for item in items}
    assert (raw["warning"], raw["suspended"], raw["obsolete"]) == (4, 3, 2)


@pytest.fixture
def seven_licenses(runtime: Runtime, two_resellers: None) -> list[str]:
    numbers = [f"9900{n}" for n in range(1, 8)]
    seed(runtime, *(make.license(A, n, expires_in_days=10 * i) for i, n in enumerate(numbers)))
    return numbers


def test_pages_split_the_list_and_total_counts_all_of_it(
    get_signed: Get, seven_licenses: list[str]
) -> None:
    pages = [get_signed(f"{LIST_A}?page={page}&pageSize=3") for page in (1, 2, 3)]
    assert [ids(page) for page in pages] == [
        seven_licenses[0:3],
        seven_licenses[3:6],
        seven_licenses[6:7],
    ]
    assert [paging(page) for page in pages] == [(1, 3, 7), (2, 3, 7), (3, 3, 7)]


def test_a_page_past_the_end_is_empty_but_still_counts(
    get_signed: Get, seven_licenses: list[str]
) -> None:
    response = get_signed(f"{LIST_A}?page=4&pageSize=3")
    assert ids(response) == []
    assert body(response)["total"] == 7


def test_page_and_page_size_default_to_1_and_50(
    get_signed: Get, runtime: Runtime, two_resellers: None
) -> None:
    seed(runtime, *(make.license(A, f"9{n:04}", expires_in_days=n) for n in range(51)))
    response = get_signed(LIST_A)
    assert len(ids(response)) == 50
    assert paging(response) == (1, 50, 51)


def test_a_page_size_of_500_is_accepted(get_signed: Get, seven_licenses: list[str]) -> None:
    response = get_signed(f"{LIST_A}?pageSize=500")
    assert ids(response) == seven_licenses
    assert body(response)["pageSize"] == 500


@pytest.mark.parametrize("size", ["501", "0", "-1", "ten", "2.5", ""])
def test_a_page_size_outside_1_to_500_is_a_malformed_request(get_signed: Get, size: str) -> None:
    error = assert_error(get_signed(f"{LIST_A}?pageSize={size}"), 400, "malformed_request")
    assert "pageSize" in error["message"]


@pytest.mark.parametrize("page", ["0", "-1", "first", "1.0", "", "+2", "99999999999"])
def test_a_page_that_is_not_a_positive_whole_number_is_a_malformed_request(
    get_signed: Get, page: str
) -> None:
    error = assert_error(get_signed(f"{LIST_A}?page={page}"), 400, "malformed_request")
    assert "page" in error["message"]


@pytest.mark.parametrize("state", ["active", "ALL", ""])
def test_an_unknown_state_filter_is_a_malformed_request(get_signed: Get, state: str) -> None:
    assert_error(get_signed(f"{LIST_A}?state={state}"), 400, "malformed_request")


def test_a_reseller_without_licenses_gets_an_empty_list(get_signed: Get) -> None:
    response = get_signed("/api/v1/resellers/0000/licenses")
    assert response.json == {"items": [], "page": 1, "pageSize": 50, "total": 0}


# --- the license detail ----------------------------------------------------------------------


def test_a_license_detail_holds_its_end_customer_and_history_newest_first(
    get_signed: Get, runtime: Runtime, two_resellers: None
) -> None:
    seed(
        runtime,
        make.license(A, "99001"),
        make.license(A, "99002"),
        make.operation(A, "99001", request_id="create", action="CREATE", created_at=START),
        make.operation(
            A, "99001", request_id="renew", created_at=START + timedelta(days=2), status="Failed"
        ),
        make.operation(
            A, "99001", request_id="suspend", action="SUSPEND", created_at=START + timedelta(days=1)
        ),
        make.operation(A, "99002", request_id="other-license", created_at=START),
    )
    response = get_signed(f"{LIST_A}/99001")
    assert response.status_code == 200
    detail = body(response)
    assert detail["subscriptionAccountId"] == "99001"
    assert detail["endCustomer"]["companyName"] == "Customer of 99001 AG"
    history = detail["history"]
    assert [(h["requestId"], h["action"], h["status"]) for h in history] == [
        ("renew", "MODIFY", "Failed"),
        ("suspend", "SUSPEND", "Completed"),
        ("create", "CREATE", "Completed"),
    ]
    assert history[2]["createdAt"] == "2026-11-27T10:15:00Z"
    assert set(history[0]) == {
        "operationId",
        "requestId",
        "action",
        "status",
        "outArguments",
        "errorDetails",
        "createdAt",
        "updatedAt",
    }


def test_a_deleted_license_stays_readable_as_cancelled(
    get_signed: Get, runtime: Runtime, two_resellers: None
) -> None:
    seed(runtime, make.license(A, "99001", cancelled_at=START, eset_state=3))
    detail = body(get_signed(f"{LIST_A}/99001"))
    assert (detail["state"], detail["esetState"], detail["renewable"]) == ("Cancelled", 3, False)


def test_an_unknown_license_is_not_found(get_signed: Get, two_resellers: None) -> None:
    assert_error(get_signed(f"{LIST_A}/55555"), 404, "not_found")


# --- tenant isolation ------------------------------------------------------------------------


@pytest.fixture
def a_and_b_licenses(runtime: Runtime, two_resellers: None) -> None:
    seed(
        runtime,
        make.license(A, "99001", expires_in_days=5),
        make.license(A, "99002", expires_in_days=-10, cancelled_at=START),
        make.operation(A, "99001", request_id="a-create", action="CREATE"),
        make.license(B, "88001", expires_in_days=50),
    )


def test_another_resellers_license_is_not_found_just_like_an_unknown_one(
    get_signed: Get, a_and_b_licenses: None
) -> None:
    foreign = assert_error(get_signed(f"/api/v1/resellers/{B}/licenses/99001"), 404, "not_found")
    unknown = assert_error(get_signed(f"/api/v1/resellers/{B}/licenses/55555"), 404, "not_found")
    assert foreign == unknown


def test_a_resellers_list_never_shows_another_resellers_licenses(
    get_signed: Get, a_and_b_licenses: None
) -> None:
    response = get_signed(f"/api/v1/resellers/{B}/licenses?state=all")
    assert ids(response) == ["88001"]
    assert body(response)["total"] == 1
    assert ids(get_signed(f"{LIST_A}?state=all")) == ["99002", "99001"]


def test_a_license_detail_is_read_only_through_its_own_reseller(
    get_signed: Get, a_and_b_licenses: None
) -> None:
    assert get_signed(f"{LIST_A}/99001").status_code == 200
    assert get_signed(f"/api/v1/resellers/{B}/licenses/88001").status_code == 200
    assert_error(get_signed(f"{LIST_A}/88001"), 404, "not_found")
