"""The ESET client against canned answers (``responses``): every call, tokens, limits, errors."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import requests
import responses

from connector.clients import errors
from connector.clients._http import RetryPolicy
from connector.clients.eset import EsetClient, EsetLicense, LicenseState, LicenseType
from connector.errors import PermanentError, TransientError

BASE = "https://eset.test"
PASSWORD = "pw-Correct-Horse-9"
KEY = "3AB-C4D-E5F"
REFERENCE = "ALSO-6d1f0c2e"


def url(path: str) -> str:
    return f"{BASE}/api/{path}"


def license_json(**changes: Any) -> dict[str, Any]:
    data = {
        "publicLicenseKey": KEY,
        "licenseKey": "AB12-CD34-EF56-GH78-IJ90",
        "partnerId": "P-3344551",
        "customerId": "C-1001",
        "customer": {
            "name": "Kunde AG",
            "email": "it@kunde.example",
            "country": "DE",
            "vatId": None,
        },
        "productCode": "PROTECT_ADVANCED",
        "productName": "ESET PROTECT Advanced",
        "quantity": 25,
        "usage": 17,
        "licenseType": 1,
        "state": 1,
        "startDate": "2026-11-27",
        "expirationDate": "2027-11-27",
        "lastUpdate": "2026-11-27T10:15:03Z",
    }
    return {**data, **changes}


def eset_error(code: int, sub_code: int, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "subCode": sub_code, "message": message, **extra}}


def tokens(n: int, expires_in: int = 60) -> dict[str, Any]:
    return {"accessToken": f"access-{n}", "refreshToken": f"refresh-{n}", "expiresIn": expires_in}


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


@pytest.fixture
def client(sleeps: list[float], clock: FakeTime) -> Iterator[EsetClient]:
    with EsetClient(BASE, "distributor", PASSWORD, sleep=sleeps.append, monotonic=clock) as eset:
        yield eset


@pytest.fixture
def logged_in(mock: responses.RequestsMock) -> responses.RequestsMock:
    mock.post(url("Token/Get"), json=tokens(1))
    return mock


def calls_to(mock: responses.RequestsMock, path: str) -> list[Any]:
    return [call for call in mock.calls if call.request.url == url(path)]


def body_of(call: Any) -> Any:
    return json.loads(call.request.body)


def timeout_of(call: Any) -> Any:
    return call.request.req_kwargs["timeout"]


# ---------------------------------------------------------------------- every call


def test_partner_detail_returns_the_partner_with_its_level(
    client: EsetClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(
        url("Partner/Detail"),
        json={
            "partnerId": "P-3344551",
            "name": "Muster IT GmbH",
            "country": "DE",
            "level": "Gold",
            "releasedToDistributor": False,
        },
    )

    partner = client.partner_detail("P-3344551")

    assert (partner.partner_id, partner.level, partner.released_to_distributor) == (
        "P-3344551",
        "Gold",
        False,
    )
    assert body_of(calls_to(logged_in, "Partner/Detail")[0]) == {"partnerId": "P-3344551"}


def test_register_partner_sends_the_distributor_reference(
    client: EsetClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("Partner/Register"), json={"partnerId": "P-9", "level": "Registered"})

    registered = client.register_partner(
        name="Neu GmbH", country="DE", email="a@neu.example", distributor_reference="4711"
    )

    assert (registered.partner_id, registered.level) == ("P-9", "Registered")
    assert body_of(calls_to(logged_in, "Partner/Register")[0]) == {
        "name": "Neu GmbH",
        "country": "DE",
        "email": "a@neu.example",
        "distributorReference": "4711",
    }


def test_create_customer_returns_the_customer_id(
    client: EsetClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("Customer/Create"), json={"customerId": "C-1001"})

    customer_id = client.create_customer(
        "P-1", name="Kunde AG", email="it@kunde.example", country="DE", custom_identifier="op-1"
    )

    assert customer_id == "C-1001"
    assert body_of(calls_to(logged_in, "Customer/Create")[0]) == {
        "partnerId": "P-1",
        "name": "Kunde AG",
        "email": "it@kunde.example",
        "country": "DE",
        "vatId": None,
        "customIdentifier": "op-1",
    }


def test_order_license_sends_every_field_and_returns_the_parsed_license(
    client: EsetClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("License/Order"), json=license_json())

    placed = client.order_license(
        order_reference=REFERENCE,
        partner_id="P-3344551",
        customer_id="C-1001",
        product_code="PROTECT_ADVANCED",
        quantity=25,
        license_type=LicenseType.FULL,
        term_months=12,
        discount_category="EDU",
        crossgrade=True,
        notify_emails=["it@kunde.example"],
    )

    assert placed.expiration_date == date(2027, 11, 27)
    assert placed.customer is not None and placed.customer.name == "Kunde AG"
    assert placed.license_type == LicenseType.FULL and placed.state == LicenseState.NORMAL
    assert body_of(calls_to(logged_in, "License/Order")[0]) == {
        "orderReference": REFERENCE,
        "partnerId": "P-3344551",
        "customerId": "C-1001",
        "productCode": "PROTECT_ADVANCED",
        "quantity": 25,
        "licenseType": 1,
        "termMonths": 12,
        "discountCategory": "EDU",
        "crossgrade": True,
        "notifyEmails": ["it@kunde.example"],
    }


@pytest.mark.parametrize(
    ("method", "kwargs", "path", "body"),
    [
        (
            "renew_license",
            {
                "order_reference": REFERENCE,
                "public_license_key": KEY,
                "term_months": 24,
                "quantity": 30,
            },
            "License/Renew",
            {
                "orderReference": REFERENCE,
                "publicLicenseKey": KEY,
                "termMonths": 24,
                "quantity": 30,
            },
        ),
        (
            "update_quantity",
            {"order_reference": REFERENCE, "public_license_key": KEY, "quantity": 40},
            "License/UpdateQuantity",
            {"orderReference": REFERENCE, "publicLicenseKey": KEY, "quantity": 40},
        ),
        (
            "change_product",
            {
                "order_reference": REFERENCE,
                "public_license_key": KEY,
                "new_product_code": "PROTECT_ELITE",
                "quantity": 25,
            },
            "License/ChangeProduct",
            {
                "orderReference": REFERENCE,
                "publicLicenseKey": KEY,
                "newProductCode": "PROTECT_ELITE",
                "quantity": 25,
            },
        ),
        ("suspend", {"public_license_key": KEY}, "License/Suspend", {"publicLicenseKey": KEY}),
        ("unsuspend", {"public_license_key": KEY}, "License/Unsuspend", {"publicLicenseKey": KEY}),
        ("remove", {"public_license_key": KEY}, "License/Remove", {"publicLicenseKey": KEY}),
        (
            "license_detail",
            {"public_license_key": KEY},
            "License/Detail",
            {"publicLicenseKey": KEY},
        ),
    ],
)
def test_each_license_call_posts_its_body_and_returns_the_license(
    client: EsetClient,
    logged_in: responses.RequestsMock,
    method: str,
    kwargs: dict[str, Any],
    path: str,
    body: dict[str, Any],
) -> None:
    logged_in.post(url(path), json=license_json(quantity=31))

    result = getattr(client, method)(**kwargs)

    assert isinstance(result, EsetLicense) and result.quantity == 31
    assert body_of(calls_to(logged_in, path)[0]) == body


def test_search_licenses_streams_pages_of_100_as_the_caller_iterates(
    client: EsetClient, logged_in: responses.RequestsMock
) -> None:
    def page(skip: int, size: int) -> dict[str, Any]:
        items = [license_json(publicLicenseKey=f"K-{skip + i}") for i in range(size)]
        return {"totalCount": 250, "search": items}

    for skip, size in ((0, 100), (100, 100), (200, 50)):
        logged_in.post(url("Search/Licenses"), json=page(skip, size))

    stream = client.search_licenses("P-1")
    first = next(stream)
    assert first.public_license_key == "K-0"
    assert len(calls_to(logged_in, "Search/Licenses")) == 1

    rest = list(stream)

    assert len(rest) == 249 and rest[-1].public_license_key == "K-249"
    bodies = [body_of(c) for c in calls_to(logged_in, "Search/Licenses")]
    assert bodies == [{"partnerId": "P-1", "skip": s, "take": 100} for s in (0, 100, 200)]


def test_search_licenses_of_a_partner_without_licenses_yields_nothing(
    client: EsetClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("Search/Licenses"), json={"totalCount": 0, "search": []})

    assert list(client.search_licenses("P-1")) == []


def test_search_orders_tells_what_became_of_a_reference(
    client: EsetClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(
        url("Search/Orders"),
        json={
            "orders": [
                {"orderReference": REFERENCE, "publicLicenseKey": KEY, "status": "Completed"}
            ]
        },
    )

    (order,) = client.search_orders(REFERENCE)

    assert (order.order_reference, order.public_license_key, order.status) == (
        REFERENCE,
        KEY,
        "Completed",
    )


def test_every_request_carries_the_bearer_token_and_a_timeout(
    client: EsetClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("License/Detail"), json=license_json())

    client.license_detail(KEY)
    client.license_detail(KEY)

    assert len(calls_to(logged_in, "Token/Get")) == 1
    for call in calls_to(logged_in, "License/Detail"):
        assert call.request.headers["Authorization"] == "Bearer access-1"
    assert all(timeout_of(call) == (5.0, 30.0) for call in logged_in.calls)


def test_an_unreadable_answer_fails_permanently(
    client: EsetClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("License/Detail"), json={"publicLicenseKey": KEY})

    with pytest.raises(errors.UnexpectedAnswer) as raised:
        client.license_detail(KEY)

    assert isinstance(raised.value, PermanentError)


# ---------------------------------------------------------------------- tokens


def test_renews_the_token_shortly_before_it_expires(
    client: EsetClient, logged_in: responses.RequestsMock, clock: FakeTime
) -> None:
    logged_in.post(url("Token/Renew"), json=tokens(2))
    logged_in.post(url("License/Detail"), json=license_json())

    client.license_detail(KEY)
    clock.now += 51  # 9 s before a 60 s token runs out
    client.license_detail(KEY)

    assert body_of(calls_to(logged_in, "Token/Renew")[0]) == {"refreshToken": "refresh-1"}
    last = calls_to(logged_in, "License/Detail")[-1]
    assert last.request.headers["Authorization"] == "Bearer access-2"


def test_a_token_that_expires_mid_sequence_is_renewed_and_the_call_repeated_once(
    client: EsetClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("Token/Renew"), json=tokens(2))
    logged_in.post(url("License/Detail"), json=license_json())
    logged_in.post(url("License/Detail"), status=401, json=eset_error(1, 1, "TokenExpired"))
    logged_in.post(url("License/Detail"), json=license_json(quantity=99))

    client.license_detail(KEY)
    second = client.license_detail(KEY)

    assert second.quantity == 99
    auth = [c.request.headers["Authorization"] for c in calls_to(logged_in, "License/Detail")]
    assert auth == ["Bearer access-1", "Bearer access-1", "Bearer access-2"]


def test_logs_in_again_when_eset_refuses_to_renew(
    client: EsetClient, mock: responses.RequestsMock
) -> None:
    mock.post(url("Token/Get"), json=tokens(1))
    mock.post(url("Token/Get"), json=tokens(3))
    mock.post(url("Token/Renew"), status=401, json=eset_error(1, 4, "InvalidRefreshToken"))
    mock.post(url("License/Detail"), status=401, json=eset_error(1, 1, "TokenExpired"))
    mock.post(url("License/Detail"), json=license_json())

    client.license_detail(KEY)

    assert len(calls_to(mock, "Token/Get")) == 2
    assert (
        calls_to(mock, "License/Detail")[-1].request.headers["Authorization"] == "Bearer access-3"
    )


def test_a_token_rejected_twice_is_not_repeated_a_third_time(
    client: EsetClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("Token/Renew"), json=tokens(2))
    logged_in.post(url("License/Detail"), status=401, json=eset_error(1, 1, "TokenExpired"))

    with pytest.raises(errors.TokenRejected):
        client.license_detail(KEY)

    assert len(calls_to(logged_in, "License/Detail")) == 2


def test_wrong_credentials_fail_permanently_naming_the_settings(
    client: EsetClient, mock: responses.RequestsMock
) -> None:
    mock.post(url("Token/Get"), status=401, json=eset_error(1, 3, "InvalidCredentials"))

    with pytest.raises(errors.AuthenticationFailed) as raised:
        client.partner_detail("P-1")

    assert isinstance(raised.value, PermanentError)
    assert "CONNECTOR_ESET_PASSWORD" in str(raised.value)


# ---------------------------------------------------------------------- limits and failures


def test_waits_out_a_short_rate_limit_and_repeats_the_call(
    client: EsetClient, logged_in: responses.RequestsMock, sleeps: list[float]
) -> None:
    limited = eset_error(99, 1, "TooManyRequests")
    logged_in.post(url("License/Detail"), status=429, json=limited, headers={"Retry-After": "2"})
    logged_in.post(url("License/Detail"), json=license_json())

    assert client.license_detail(KEY).public_license_key == KEY
    assert sleeps == [2.0]


def test_a_long_rate_limit_goes_back_to_the_worker_with_its_retry_after(
    client: EsetClient, logged_in: responses.RequestsMock, sleeps: list[float]
) -> None:
    logged_in.post(
        url("License/Order"),
        status=429,
        json=eset_error(99, 1, "TooManyRequests"),
        headers={"Retry-After": "120"},
    )

    with pytest.raises(errors.RateLimited) as raised:
        client.order_license(
            order_reference=REFERENCE,
            partner_id="P-1",
            customer_id="C-1",
            product_code="PROTECT_ENTRY",
            quantity=5,
            license_type=1,
            term_months=12,
        )

    assert isinstance(raised.value, TransientError) and raised.value.retry_after == 120.0
    assert sleeps == []
    assert len(calls_to(logged_in, "License/Order")) == 1


def test_an_endless_rate_limit_stops_waiting_after_three_waits(
    client: EsetClient, logged_in: responses.RequestsMock, sleeps: list[float]
) -> None:
    limited = eset_error(99, 1, "TooManyRequests")
    logged_in.post(url("License/Detail"), status=429, json=limited, headers={"Retry-After": "1"})

    with pytest.raises(errors.RateLimited):
        client.license_detail(KEY)

    assert sleeps == [1.0, 1.0, 1.0]


def test_maintenance_is_transient_and_not_waited_out_in_place(
    client: EsetClient, logged_in: responses.RequestsMock, sleeps: list[float]
) -> None:
    logged_in.post(url("License/Detail"), status=503, json=eset_error(99, 2, "Maintenance"))

    with pytest.raises(errors.Maintenance) as raised:
        client.license_detail(KEY)

    assert isinstance(raised.value, TransientError)
    assert "maintenance" in str(raised.value)
    assert len(calls_to(logged_in, "License/Detail")) == 1 and sleeps == []


def test_reads_are_retried_with_backoff_after_server_errors_and_lost_connections(
    client: EsetClient, logged_in: responses.RequestsMock, sleeps: list[float]
) -> None:
    logged_in.post(url("License/Detail"), status=502, body="Bad Gateway")
    logged_in.post(url("License/Detail"), body=requests.ConnectionError("reset"))
    logged_in.post(url("License/Detail"), json=license_json())

    assert client.license_detail(KEY).public_license_key == KEY
    assert sleeps == [0.5, 1.0]


def test_reads_that_keep_failing_become_a_transient_error(
    client: EsetClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("Search/Orders"), body=requests.ReadTimeout("slow"))

    with pytest.raises(errors.EsetUnavailable) as raised:
        client.search_orders(REFERENCE)

    assert isinstance(raised.value, TransientError)
    assert len(calls_to(logged_in, "Search/Orders")) == 3


# ---------------------------------------------------------------------- ordering exactly once


def order(client: EsetClient) -> EsetLicense:
    return client.order_license(
        order_reference=REFERENCE,
        partner_id="P-3344551",
        customer_id="C-1001",
        product_code="PROTECT_ADVANCED",
        quantity=25,
        license_type=1,
        term_months=12,
    )


def found_order() -> dict[str, Any]:
    return {
        "orders": [{"orderReference": REFERENCE, "publicLicenseKey": KEY, "status": "Completed"}]
    }


def test_an_order_that_timed_out_is_looked_up_instead_of_ordered_again(
    client: EsetClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("License/Order"), body=requests.ReadTimeout("no answer"))
    logged_in.post(url("Search/Orders"), json=found_order())
    logged_in.post(url("License/Detail"), json=license_json())

    placed = order(client)

    assert placed.public_license_key == KEY
    assert len(calls_to(logged_in, "License/Order")) == 1
    assert body_of(calls_to(logged_in, "Search/Orders")[0]) == {"orderReference": REFERENCE}


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 500, "json": eset_error(99, 1, "InternalError")},
        {"status": 504, "body": "Gateway Timeout"},
        {"body": requests.ConnectionError("connection reset by peer")},
    ],
    ids=["500", "504", "connection-reset"],
)
def test_an_ambiguous_order_failure_is_never_repeated_blindly(
    client: EsetClient, logged_in: responses.RequestsMock, failure: dict[str, Any]
) -> None:
    logged_in.post(url("License/Order"), **failure)
    logged_in.post(url("Search/Orders"), json=found_order())
    logged_in.post(url("License/Detail"), json=license_json())

    assert order(client).public_license_key == KEY
    assert len(calls_to(logged_in, "License/Order")) == 1


def test_an_order_eset_never_received_is_placed_again_with_the_same_reference(
    client: EsetClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("License/Order"), body=requests.ConnectionError("refused"))
    logged_in.post(url("License/Order"), json=license_json())
    logged_in.post(url("Search/Orders"), json={"orders": []})

    assert order(client).public_license_key == KEY

    paths = [(c.request.url or "").rsplit("/api/", 1)[1] for c in logged_in.calls]
    assert paths == ["Token/Get", "License/Order", "Search/Orders", "License/Order"]
    references = {body_of(c)["orderReference"] for c in calls_to(logged_in, "License/Order")}
    assert references == {REFERENCE}


def test_a_retried_operation_asks_search_orders_before_it_orders_again(
    logged_in: responses.RequestsMock, sleeps: list[float]
) -> None:
    logged_in.post(url("License/Order"), body=requests.ReadTimeout("no answer"))
    logged_in.post(url("Search/Orders"), json=found_order())
    logged_in.post(url("License/Detail"), json=license_json())
    policy = RetryPolicy(attempts=1)

    with EsetClient(BASE, "distributor", PASSWORD, retry=policy, sleep=sleeps.append) as eset:
        with pytest.raises(errors.OrderOutcomeUnknown) as raised:
            order(eset)
        assert isinstance(raised.value, TransientError)
        assert REFERENCE in str(raised.value)

        assert order(eset).public_license_key == KEY

    assert len(calls_to(logged_in, "License/Order")) == 1


def test_already_ordered_means_done_and_returns_the_existing_license(
    client: EsetClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(
        url("License/Order"),
        status=409,
        json=eset_error(8, 20, "AlreadyOrdered", publicLicenseKey=KEY),
    )
    logged_in.post(url("License/Detail"), json=license_json())

    placed = order(client)

    assert placed.public_license_key == KEY
    assert body_of(calls_to(logged_in, "License/Detail")[0]) == {"publicLicenseKey": KEY}
    assert len(calls_to(logged_in, "License/Order")) == 1


def test_a_rerun_after_a_crash_with_a_fresh_client_never_creates_a_second_license(
    logged_in: responses.RequestsMock,
) -> None:
    logged_in.post(url("License/Order"), json=license_json())
    logged_in.post(
        url("License/Order"),
        status=409,
        json=eset_error(8, 20, "AlreadyOrdered", publicLicenseKey=KEY),
    )
    logged_in.post(url("License/Detail"), json=license_json())

    with EsetClient(BASE, "distributor", PASSWORD) as before_crash:
        first = order(before_crash)
    with EsetClient(BASE, "distributor", PASSWORD) as after_crash:
        second = order(after_crash)

    assert first.public_license_key == second.public_license_key == KEY


def test_an_order_eset_is_still_processing_is_not_ordered_again(
    client: EsetClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("License/Renew"), status=503, body="Service Unavailable")
    pending = {"orderReference": REFERENCE, "publicLicenseKey": None, "status": "Processing"}
    logged_in.post(url("Search/Orders"), json={"orders": [pending]})

    with pytest.raises(errors.OrderPending) as raised:
        client.renew_license(
            order_reference=REFERENCE, public_license_key=KEY, term_months=12, quantity=25
        )

    assert isinstance(raised.value, TransientError)
    assert len(calls_to(logged_in, "License/Renew")) == 1


def test_an_expired_token_on_an_order_is_renewed_and_the_order_sent_once_more(
    client: EsetClient, logged_in: responses.RequestsMock
) -> None:
    # A 401 means ESET did not act, so repeating the order is safe.
    logged_in.post(url("Token/Renew"), json=tokens(2))
    logged_in.post(url("License/Order"), status=401, json=eset_error(1, 1, "TokenExpired"))
    logged_in.post(url("License/Order"), json=license_json())

    assert order(client).public_license_key == KEY
    assert len(calls_to(logged_in, "Search/Orders")) == 0


def test_unsuspend_whose_first_answer_was_lost_returns_the_reactivated_license(
    client: EsetClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("License/Unsuspend"), body=requests.ConnectionError("reset"))
    logged_in.post(url("License/Unsuspend"), status=403, json=eset_error(8, 36, "NotSuspended"))
    logged_in.post(url("License/Detail"), json=license_json(state=1))

    assert client.unsuspend(KEY).state == LicenseState.NORMAL


def test_remove_whose_first_answer_was_lost_returns_the_removed_trial(
    client: EsetClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("License/Remove"), status=502, body="Bad Gateway")
    logged_in.post(url("License/Remove"), status=403, json=eset_error(8, 23, "NotActive"))
    logged_in.post(url("License/Detail"), json=license_json(licenseType=4, state=2))

    assert client.remove(KEY).state == LicenseState.OBSOLETE


def test_a_refusal_after_a_lost_answer_stands_when_the_work_was_not_done(
    client: EsetClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("License/Remove"), body=requests.ConnectionError("reset"))
    logged_in.post(url("License/Remove"), status=403, json=eset_error(8, 24, "NotTrial"))
    logged_in.post(url("License/Detail"), json=license_json(state=1))

    with pytest.raises(errors.NotTrial):
        client.remove(KEY)


def test_unsuspend_of_a_license_that_is_not_suspended_says_so(
    client: EsetClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("License/Unsuspend"), status=403, json=eset_error(8, 36, "NotSuspended"))

    with pytest.raises(errors.NotSuspended):
        client.unsuspend(KEY)


# ---------------------------------------------------------------------- error mapping


@pytest.mark.parametrize(
    ("status", "code", "sub_code", "expected", "branch"),
    [
        (404, 6, 1, errors.PartnerNotFound, PermanentError),
        (403, 6, 2, errors.PartnerDataNotReleased, PermanentError),
        (404, 7, 1, errors.CustomerNotFound, PermanentError),
        (404, 8, 2, errors.LicenseNotFound, PermanentError),
        (400, 8, 18, errors.InvalidQuantity, PermanentError),
        (403, 8, 23, errors.NotActive, PermanentError),
        (403, 8, 24, errors.NotTrial, PermanentError),
        (400, 8, 27, errors.ProductNotAvailable, PermanentError),
        (400, 8, 30, errors.QuantityOutOfRange, PermanentError),
        (403, 8, 32, errors.TrialNotAllowed, PermanentError),
        (403, 8, 36, errors.NotSuspended, PermanentError),
        (403, 8, 37, errors.Expired, PermanentError),
        (403, 8, 45, errors.ChangeOfProductUnavailable, PermanentError),
        (400, 8, 48, errors.QuantityEqualToPrevious, PermanentError),
        (403, 8, 99, errors.LicenseError, PermanentError),
        (400, 2, 1, errors.InvalidRequest, PermanentError),
        (403, 5, 5, errors.NotAllowed, PermanentError),
        (503, 99, 2, errors.Maintenance, TransientError),
    ],
)
def test_eset_errors_map_by_code_and_sub_code_to_the_exception_tree(
    client: EsetClient,
    logged_in: responses.RequestsMock,
    status: int,
    code: int,
    sub_code: int,
    expected: type[Exception],
    branch: type[Exception],
) -> None:
    logged_in.post(url("Search/Licenses"), status=status, json=eset_error(code, sub_code, "Name"))

    with pytest.raises(expected) as raised:
        list(client.search_licenses("P-3344551"))

    error = raised.value
    assert isinstance(error, branch) and type(error) is expected
    assert isinstance(error, errors.EsetError)
    assert (error.code, error.sub_code, error.status) == (code, sub_code, status)
    assert "P-3344551" in str(error)


def test_the_code_decides_even_when_the_http_status_says_otherwise(
    client: EsetClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("License/Detail"), status=400, json=eset_error(8, 2, "LicenseNotFound"))

    with pytest.raises(errors.LicenseNotFound):
        client.license_detail(KEY)


def test_unreleased_partner_data_is_explained_for_a_person(
    client: EsetClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(
        url("Search/Licenses"), status=403, json=eset_error(6, 2, "PartnerDataNotReleased")
    )

    with pytest.raises(errors.PartnerDataNotReleased) as raised:
        list(client.search_licenses("P-5550001"))

    message = str(raised.value)
    assert "has not released" in message and "distributor" in message and "P-5550001" in message


# ---------------------------------------------------------------------- secrets


def test_never_logs_or_shows_the_password_or_tokens(
    client: EsetClient,
    logged_in: responses.RequestsMock,
    clock: FakeTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    logged_in.post(url("Token/Renew"), json=tokens(2))
    logged_in.post(url("License/Detail"), json=license_json())
    logged_in.post(url("License/Detail"), status=401, json=eset_error(1, 1, "TokenExpired"))
    logged_in.post(url("License/Detail"), json=license_json())
    logged_in.post(url("License/Order"), body=requests.ReadTimeout("no answer"))
    logged_in.post(url("Search/Orders"), json={"orders": []})
    logged_in.post(url("License/Order"), status=403, json=eset_error(8, 27, "ProductNotAvailable"))

    client.license_detail(KEY)
    client.license_detail(KEY)
    clock.now += 59
    with pytest.raises(errors.ProductNotAvailable) as raised:
        order(client)

    shown = caplog.text + str(raised.value) + repr(client)
    assert caplog.records, "the client should log its calls at DEBUG"
    for secret in (PASSWORD, "access-1", "refresh-1", "access-2", "refresh-2"):
        assert secret not in shown
    assert repr(client) == f"EsetClient(base_url='{BASE}', username='distributor')"
