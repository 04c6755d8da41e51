"""The real marketplace client against the marketplace sandbox over loopback HTTP (§4, §8)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.wrappers import Response

from connector.clients import errors
from connector.clients.eset import EsetClient
from connector.clients.marketplace import MarketplaceClient
from connector.sandbox import (
    SIMPLE_API,
    EsetSandboxConfig,
    MarketplaceSandbox,
    MarketplaceSandboxConfig,
    create_eset_sandbox,
    create_marketplace_sandbox,
    marketplace_sandbox_of,
)

SECRET = "sandbox-callback-secret"
COLUMNS = ["SubscriptionAccountId", "PublicLicenseKey", "Seats"]
BODY = json.dumps({"requestId": "r-1", "operationId": "o-1", "status": "Completed"}).encode()


def rows(n: int) -> list[list[Any]]:
    return [[str(99000 + i), f"K-{i}", i % 40 + 1] for i in range(n)]


# ---------------------------------------------------------------------- pushes


def test_update_subscription_pushes_are_recorded_with_their_fields(
    marketplace: MarketplaceClient, marketplace_sandbox: MarketplaceSandbox
) -> None:
    marketplace.update_subscription("99001", {"LicenseState": "Active", "Seats": "25"})
    marketplace.update_subscription("99001", {"LicenseState": "Suspended"})

    assert marketplace_sandbox.subscriptions["99001"]["fields"] == {
        "LicenseState": "Suspended",
        "Seats": "25",
    }
    assert [p["fields"] for p in marketplace_sandbox.pushes] == [
        {"LicenseState": "Active", "Seats": "25"},
        {"LicenseState": "Suspended"},
    ]


def test_create_subscription_creates_a_license_once_never_twice(
    marketplace: MarketplaceClient, marketplace_sandbox: MarketplaceSandbox
) -> None:
    first = marketplace.create_subscription("4711", "ESET Services", {"PublicLicenseKey": "3AB"})
    again = marketplace.create_subscription("4711", "ESET Services", {"PublicLicenseKey": "3AB"})
    other = marketplace.create_subscription("4711", "ESET Services", {"PublicLicenseKey": "4CD"})

    assert first == again != other
    assert marketplace_sandbox.subscriptions[first]["parentAccountId"] == "4711"


# ---------------------------------------------------------------------- sessions and faults


def test_an_expired_session_is_renewed_by_logging_in_again_once(
    marketplace: MarketplaceClient,
    marketplace_sandbox: MarketplaceSandbox,
    marketplace_url: str,
    http: requests.Session,
) -> None:
    marketplace.update_subscription("99001", {"Seats": "1"})

    expired = http.post(f"{marketplace_url}/_sandbox/sessions/expire", timeout=5).json()
    marketplace.update_subscription("99001", {"Seats": "2"})

    assert expired == {"expired": 1}
    assert [(c["method"], c["status"]) for c in marketplace_sandbox.calls] == [
        ("GetSessionToken", 200),
        ("UpdateSubscription", 200),
        ("UpdateSubscription", 500),
        ("GetSessionToken", 200),
        ("UpdateSubscription", 200),
    ]


def test_the_expired_session_fault_is_namespaced_xml(
    marketplace_url: str, http: requests.Session
) -> None:
    answer = http.post(
        f"{marketplace_url}{SIMPLE_API}/UpdateSubscription",
        json={"subscription": {"AccountId": "1", "Fields": []}},
        headers={"Authenticate": "CCPSessionId stale"},
        timeout=5,
    )

    assert answer.status_code == 500
    assert answer.headers["Content-Type"].startswith("application/xml")
    assert 'xmlns="http://schemas.microsoft.com/ws/2005/05/envelope/none"' in answer.text
    assert "<IsSessionExpired>true</IsSessionExpired>" in answer.text


def test_an_mfa_enabled_user_is_refused_with_the_fault_message(
    marketplace: MarketplaceClient, marketplace_sandbox: MarketplaceSandbox
) -> None:
    marketplace_sandbox.config.mfa_enabled = True

    with pytest.raises(errors.MarketplaceFault, match="Multi-factor authentication"):
        marketplace.update_subscription("99001", {"Seats": "2"})

    assert len(marketplace_sandbox.calls) == 1


def test_wrong_credentials_are_refused_permanently(marketplace_url: str) -> None:
    with MarketplaceClient(marketplace_url + SIMPLE_API, "sandbox", "wrong") as marketplace:
        with pytest.raises(errors.MarketplaceFault, match="Invalid username or password"):
            marketplace.update_subscription("99001", {"Seats": "2"})


def test_a_malformed_push_is_refused_with_a_fault_that_is_not_retried(
    marketplace: MarketplaceClient, marketplace_sandbox: MarketplaceSandbox
) -> None:
    with pytest.raises(errors.MarketplaceFault, match="ParentAccountId is required"):
        marketplace.create_subscription("", "ESET Services", {"PublicLicenseKey": "3AB"})

    assert [c["method"] for c in marketplace_sandbox.calls] == [
        "GetSessionToken",
        "CreateSubscription",
    ]


def test_random_server_errors_are_retried_for_pushes(
    marketplace: MarketplaceClient, marketplace_sandbox: MarketplaceSandbox, sleeps: list[float]
) -> None:
    marketplace_sandbox.config.error_rate = 0.3
    for n in range(10):
        try:
            marketplace.update_subscription(f"9900{n}", {"Seats": str(n)})
        except errors.MarketplaceUnavailable:
            continue

    assert sleeps, "with a 30% error rate some calls should have been retried"
    assert len(marketplace_sandbox.subscriptions) >= 8


# ---------------------------------------------------------------------- report rows


def test_report_rows_arrive_in_batches_and_a_repeat_is_a_duplicate(
    marketplace: MarketplaceClient, marketplace_sandbox: MarketplaceSandbox
) -> None:
    first = marketplace.import_report_rows("4711", COLUMNS, rows(2300))
    again = marketplace.import_report_rows("4711", COLUMNS, rows(2300))

    assert (first.accepted, first.batches, first.duplicates) == (2300, 3, 0)
    assert (again.accepted, again.batches, again.duplicates) == (0, 3, 3)
    batches = marketplace_sandbox.reports["4711"]
    assert [len(b["rows"]) for b in batches] == [1000, 1000, 300]


def test_the_sandbox_refuses_more_than_1000_rows_in_one_call(
    marketplace_url: str, http: requests.Session
) -> None:
    token = http.post(
        f"{marketplace_url}{SIMPLE_API}/GetSessionToken",
        json={"username": "sandbox", "password": "sandbox"},
        timeout=5,
    ).json()

    answer = http.post(
        f"{marketplace_url}{SIMPLE_API}/ImportReportRows",
        json={
            "reportName": "ESET product report",
            "resellerAccountId": "4711",
            "batchId": "b1",
            "columns": COLUMNS,
            "rows": rows(1001),
        },
        headers={"Authenticate": f"CCPSessionId {token}"},
        timeout=5,
    )

    assert answer.status_code == 500 and "At most 1000 rows" in answer.text


# ---------------------------------------------------------------------- callbacks


def test_a_signed_callback_is_verified_and_recorded(
    marketplace: MarketplaceClient, marketplace_sandbox: MarketplaceSandbox, marketplace_url: str
) -> None:
    status = marketplace.send_callback(f"{marketplace_url}/callbacks/r-1", BODY, SECRET)

    (received,) = marketplace_sandbox.callbacks
    assert status == 200
    assert received["verified"] is True and received["body"]["requestId"] == "r-1"


def test_a_callback_signed_with_another_secret_is_refused(
    marketplace: MarketplaceClient, marketplace_sandbox: MarketplaceSandbox, marketplace_url: str
) -> None:
    with pytest.raises(errors.CallbackFailed) as raised:
        marketplace.send_callback(f"{marketplace_url}/callbacks/r-1", BODY, "not-the-secret")

    assert raised.value.status_code == 401
    assert marketplace_sandbox.callbacks[0]["verified"] is False


def test_a_failing_receiver_fails_the_next_n_callbacks_then_accepts(
    marketplace: MarketplaceClient,
    marketplace_url: str,
    http: requests.Session,
) -> None:
    http.post(
        f"{marketplace_url}/_sandbox/config",
        json={"callback_failures": 2, "callback_failure_status": 502},
        timeout=5,
    )
    url = f"{marketplace_url}/callbacks/r-1"

    statuses: list[int | None] = []
    for _ in range(3):
        try:
            statuses.append(marketplace.send_callback(url, BODY, SECRET))
        except errors.CallbackFailed as failure:
            statuses.append(failure.status_code)

    assert statuses == [502, 502, 200]
    recorded = http.get(f"{marketplace_url}/_sandbox/callbacks", timeout=5).json()
    assert [c["status"] for c in recorded["callbacks"]] == [502, 502, 200]


def test_control_settings_never_show_the_callback_secret(
    marketplace_url: str, http: requests.Session
) -> None:
    shown = http.get(f"{marketplace_url}/_sandbox/config", timeout=5).text

    assert SECRET not in shown and "sandbox-callback" not in shown


# ---------------------------------------------------------------------- mounted, as `connector all`


@pytest.fixture
def mounted(serving: Any) -> Iterator[tuple[str, Flask, Flask]]:
    eset_app = create_eset_sandbox(EsetSandboxConfig(rate_limit_per_second=None))
    marketplace_app = create_marketplace_sandbox(callback_secret=SECRET)
    mounts: dict[str, Any] = {"/sandbox/eset": eset_app, "/sandbox/marketplace": marketplace_app}
    root = Response("connector", mimetype="text/plain")
    with serving(DispatcherMiddleware(root, mounts)) as url:
        yield url, eset_app, marketplace_app


def test_both_sandboxes_work_mounted_under_url_prefixes(
    mounted: tuple[str, Flask, Flask],
) -> None:
    url, _, marketplace_app = mounted
    sandbox = marketplace_sandbox_of(marketplace_app)
    api = f"{url}/sandbox/marketplace{SIMPLE_API}"

    with EsetClient(f"{url}/sandbox/eset", "sandbox", "sandbox") as eset:
        assert eset.partner_detail("P-3344551").level == "Gold"
    with MarketplaceClient(api, "sandbox", "sandbox") as marketplace:
        marketplace.update_subscription("99001", {"LicenseState": "Active"})
        status = marketplace.send_callback(f"{url}/sandbox/marketplace/callbacks/r-9", BODY, SECRET)

    assert status == 200 and sandbox.callbacks[0]["verified"] is True
    assert sandbox.callbacks[0]["path"] == "/sandbox/marketplace/callbacks/r-9"
    assert sandbox.subscriptions["99001"]["fields"] == {"LicenseState": "Active"}


def test_no_password_or_session_reaches_the_logs_over_real_http(
    serving: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    eset_password, marketplace_password = "eset-Pass-Word-42", "mp-Pass-Word-43"
    eset_app = create_eset_sandbox(
        EsetSandboxConfig(password=eset_password, rate_limit_per_second=None)
    )
    marketplace_app = create_marketplace_sandbox(
        MarketplaceSandboxConfig(password=marketplace_password)
    )
    mp = marketplace_sandbox_of(marketplace_app)

    with serving(eset_app) as eset_url, serving(marketplace_app) as mp_url:
        with EsetClient(eset_url, "sandbox", eset_password) as eset:
            list(eset.search_licenses("P-3344551"))
        with MarketplaceClient(mp_url + SIMPLE_API, "sandbox", marketplace_password) as client:
            client.update_subscription("1", {"Seats": "1"})
            session = next(iter(mp.sessions))
            client.send_callback(f"{mp_url}/callbacks/x", BODY, SECRET)

    for secret in (eset_password, marketplace_password, session, SECRET):
        assert secret not in caplog.text
