"""The marketplace client against canned answers (``responses``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import requests
import responses

from connector import signing
from connector.clients import errors
from connector.clients.marketplace import MarketplaceClient, batch_id, parse_fault
from connector.errors import PermanentError, TransientError

BASE = "https://marketplace.test/SimpleAPI/SimpleAPIService.svc/rest"
PASSWORD = "pw-Marketplace-7"
SECRET = "callback-secret-31"
NOW = 1_795_000_000
COLUMNS = ["SubscriptionAccountId", "PublicLicenseKey", "Seats"]


def url(method: str) -> str:
    return f"{BASE}/{method}"


def fault(message: str, *, expired: bool) -> str:
    flag = "true" if expired else "false"
    return (
        '<Fault xmlns="http://schemas.microsoft.com/ws/2005/05/envelope/none">'
        "<Code><Value>Sender</Value></Code>"
        f'<Reason><Text xml:lang="en-US">{message}</Text></Reason>'
        "<Detail>"
        '<ServiceException xmlns="http://schemas.datacontract.org/2004/07/Nervogrid.Platform.API"'
        ' xmlns:i="http://www.w3.org/2001/XMLSchema-instance">'
        f"<IsSessionExpired>{flag}</IsSessionExpired><IssueToken>x1</IssueToken>"
        f"<Message>{message}</Message>"
        "</ServiceException></Detail></Fault>"
    )


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps: list[float]) -> Iterator[MarketplaceClient]:
    with MarketplaceClient(
        BASE, "api-user", PASSWORD, sleep=sleeps.append, now=lambda: NOW
    ) as marketplace:
        yield marketplace


@pytest.fixture
def logged_in(mock: responses.RequestsMock) -> responses.RequestsMock:
    mock.post(url("GetSessionToken"), json="session-1")
    return mock


def calls_to(mock: responses.RequestsMock, method: str) -> list[Any]:
    return [call for call in mock.calls if call.request.url == url(method)]


def body_of(call: Any) -> Any:
    return json.loads(call.request.body)


def timeout_of(call: Any) -> Any:
    return call.request.req_kwargs["timeout"]


# ---------------------------------------------------------------------- SimpleAPI calls


def test_logs_in_once_and_sends_the_session_in_the_authenticate_header(
    client: MarketplaceClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("UpdateSubscription"), json={})

    client.update_subscription("99001", {"LicenseState": "Active"})
    client.update_subscription("99001", {"Seats": "30"})

    (login,) = calls_to(logged_in, "GetSessionToken")
    assert body_of(login) == {"username": "api-user", "password": PASSWORD}
    headers = [c.request.headers["Authenticate"] for c in calls_to(logged_in, "UpdateSubscription")]
    assert headers == ["CCPSessionId session-1"] * 2


def test_update_subscription_sends_fields_as_name_value_pairs(
    client: MarketplaceClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("UpdateSubscription"), json={})

    client.update_subscription("99001", {"LicenseState": "Active", "Seats": "25"})

    assert body_of(calls_to(logged_in, "UpdateSubscription")[0]) == {
        "subscription": {
            "AccountId": "99001",
            "Fields": [
                {"Name": "LicenseState", "Value": "Active"},
                {"Name": "Seats", "Value": "25"},
            ],
        }
    }


def test_create_subscription_returns_the_new_account_id(
    client: MarketplaceClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("CreateSubscription"), json={"AccountId": "200001"})

    account_id = client.create_subscription("4711", "ESET Services", {"PublicLicenseKey": "3AB"})

    assert account_id == "200001"
    assert body_of(calls_to(logged_in, "CreateSubscription")[0]) == {
        "subscriptionAccount": {
            "ParentAccountId": "4711",
            "ServiceName": "ESET Services",
            "Fields": [{"Name": "PublicLicenseKey", "Value": "3AB"}],
        }
    }


def test_every_call_has_a_timeout(
    client: MarketplaceClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("UpdateSubscription"), json={})

    client.update_subscription("99001", {"LicenseState": "Active"})

    assert all(timeout_of(call) == (5.0, 30.0) for call in logged_in.calls)


# ---------------------------------------------------------------------- sessions and faults


def test_logs_in_again_once_when_the_session_expired(
    client: MarketplaceClient, mock: responses.RequestsMock
) -> None:
    mock.post(url("GetSessionToken"), json="session-1")
    mock.post(url("GetSessionToken"), json="session-2")
    mock.post(url("UpdateSubscription"), json={})
    mock.post(
        url("UpdateSubscription"),
        status=500,
        body=fault("Session expired", expired=True),
        content_type="application/xml",
    )
    mock.post(url("UpdateSubscription"), json={})

    client.update_subscription("99001", {"Seats": "1"})
    client.update_subscription("99001", {"Seats": "2"})

    headers = [c.request.headers["Authenticate"] for c in calls_to(mock, "UpdateSubscription")]
    assert headers == ["CCPSessionId session-1", "CCPSessionId session-1", "CCPSessionId session-2"]


def test_an_expired_session_right_after_logging_in_again_is_transient(
    client: MarketplaceClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(
        url("UpdateSubscription"), status=500, body=fault("Session expired", expired=True)
    )

    with pytest.raises(errors.MarketplaceUnavailable) as raised:
        client.update_subscription("99001", {"Seats": "2"})

    assert isinstance(raised.value, TransientError)
    assert len(calls_to(logged_in, "UpdateSubscription")) == 2
    assert len(calls_to(logged_in, "GetSessionToken")) == 2


def test_other_faults_fail_permanently_with_their_message_and_are_not_retried(
    client: MarketplaceClient, logged_in: responses.RequestsMock, sleeps: list[float]
) -> None:
    logged_in.post(
        url("UpdateSubscription"),
        status=500,
        body=fault("Subscription 99001 does not exist", expired=False),
    )

    with pytest.raises(errors.MarketplaceFault) as raised:
        client.update_subscription("99001", {"Seats": "2"})

    assert isinstance(raised.value, PermanentError)
    assert "Subscription 99001 does not exist" in str(raised.value)
    assert len(calls_to(logged_in, "UpdateSubscription")) == 1 and sleeps == []


def test_a_refused_login_is_permanent_and_reports_the_fault_message(
    client: MarketplaceClient, mock: responses.RequestsMock
) -> None:
    mock.post(
        url("GetSessionToken"),
        status=500,
        body=fault("Multi-factor authentication is enabled for this user", expired=False),
    )

    with pytest.raises(errors.MarketplaceFault) as raised:
        client.update_subscription("99001", {"Seats": "2"})

    assert "Multi-factor authentication is enabled" in str(raised.value)
    assert len(calls_to(mock, "GetSessionToken")) == 1


def test_server_errors_without_a_fault_are_retried_for_idempotent_pushes(
    client: MarketplaceClient, logged_in: responses.RequestsMock, sleeps: list[float]
) -> None:
    logged_in.post(url("UpdateSubscription"), status=502, body="Bad Gateway")
    logged_in.post(url("UpdateSubscription"), body=requests.ConnectionError("reset"))
    logged_in.post(url("UpdateSubscription"), json={})

    client.update_subscription("99001", {"Seats": "2"})

    assert sleeps == [0.5, 1.0]


def test_create_subscription_is_not_repeated_after_a_lost_answer(
    client: MarketplaceClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("CreateSubscription"), body=requests.ReadTimeout("no answer"))

    with pytest.raises(errors.MarketplaceUnavailable) as raised:
        client.create_subscription("4711", "ESET Services", {"PublicLicenseKey": "3AB"})

    assert isinstance(raised.value, TransientError)
    assert len(calls_to(logged_in, "CreateSubscription")) == 1


def test_a_client_error_without_a_fault_is_permanent(
    client: MarketplaceClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("UpdateSubscription"), status=404, body="Endpoint not found.")

    with pytest.raises(errors.MarketplaceRejected) as raised:
        client.update_subscription("99001", {"Seats": "2"})

    assert "404" in str(raised.value)


@pytest.mark.parametrize(
    "document",
    [
        fault("Session expired", expired=True),
        '<s:Envelope xmlns:s="urn:e"><s:Body><a:Fault xmlns:a="urn:f"><a:Detail>'
        '<b:ServiceException xmlns:b="urn:x"><b:IsSessionExpired> True </b:IsSessionExpired>'
        "</b:ServiceException></a:Detail></a:Fault></s:Body></s:Envelope>",
    ],
    ids=["default-namespaces", "prefixed-in-an-envelope"],
)
def test_fault_parsing_ignores_namespaces(document: str) -> None:
    parsed = parse_fault(document.encode())

    assert parsed is not None and parsed.session_expired


def test_fault_parsing_refuses_what_is_not_a_fault() -> None:
    assert parse_fault(b"<html><body>Bad Gateway</body></html>") is None
    assert parse_fault(b"Internal Server Error") is None
    assert parse_fault(b"<Fault><unclosed>") is None


# ---------------------------------------------------------------------- report rows


def rows(n: int, start: int = 0) -> list[list[Any]]:
    return [[str(99000 + i), f"K-{i}", i % 50 + 1] for i in range(start, start + n)]


def test_report_rows_are_sent_in_batches_of_at_most_1000(
    client: MarketplaceClient, logged_in: responses.RequestsMock
) -> None:
    def accept(request: Any) -> tuple[int, dict[str, str], str]:
        return 200, {}, json.dumps({"accepted": len(json.loads(request.body)["rows"])})

    logged_in.add_callback(responses.POST, url("ImportReportRows"), callback=accept)

    result = client.import_report_rows("4711", COLUMNS, rows(2500))

    bodies = [body_of(c) for c in calls_to(logged_in, "ImportReportRows")]
    assert [len(b["rows"]) for b in bodies] == [1000, 1000, 500]
    assert (result.accepted, result.batches, result.duplicates) == (2500, 3, 0)
    assert all(b["reportName"] == "ESET product report" for b in bodies)
    assert all(b["resellerAccountId"] == "4711" and b["columns"] == COLUMNS for b in bodies)
    assert len({b["batchId"] for b in bodies}) == 3


def test_the_same_rows_always_get_the_same_batch_id(
    client: MarketplaceClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("ImportReportRows"), json={"accepted": 3})

    client.import_report_rows("4711", COLUMNS, rows(3))
    client.import_report_rows("4711", COLUMNS, rows(3))
    client.import_report_rows("4711", COLUMNS, rows(3, start=1))
    client.import_report_rows("4712", COLUMNS, rows(3))

    ids = [body_of(c)["batchId"] for c in calls_to(logged_in, "ImportReportRows")]
    assert ids[0] == ids[1]
    assert len({ids[0], ids[2], ids[3]}) == 3
    assert ids[0] == batch_id("ESET product report", "4711", COLUMNS, rows(3))


def test_a_duplicate_batch_answer_counts_as_delivered(
    client: MarketplaceClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("ImportReportRows"), json={"accepted": 0, "duplicate": True})

    result = client.import_report_rows("4711", COLUMNS, rows(10))

    assert (result.accepted, result.batches, result.duplicates) == (0, 1, 1)


def test_an_empty_report_is_sent_once_so_the_marketplace_learns_it_is_empty(
    client: MarketplaceClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("ImportReportRows"), json={"accepted": 0})

    result = client.import_report_rows("4711", COLUMNS, [])

    assert [body_of(c)["rows"] for c in calls_to(logged_in, "ImportReportRows")] == [[]]
    assert result.batches == 1


def test_report_cells_travel_as_json_values(
    client: MarketplaceClient, logged_in: responses.RequestsMock
) -> None:
    logged_in.post(url("ImportReportRows"), json={"accepted": 1})

    client.import_report_rows(
        "4711",
        ["Price", "Expiry", "Seats", "Note"],
        [[Decimal("998.40"), date(2027, 11, 27), 25, None]],
    )

    assert body_of(calls_to(logged_in, "ImportReportRows")[0])["rows"] == [
        ["998.40", "2027-11-27", 25, None]
    ]


# ---------------------------------------------------------------------- callbacks

CALLBACK_URL = "https://marketplace.test/callbacks/3f0c2d1e?attempt=1"
CALLBACK_BODY = b'{"requestId": "r-1", "status": "Completed", "outArguments": []}'


def test_a_callback_posts_the_exact_bytes_with_a_valid_signature(
    client: MarketplaceClient, mock: responses.RequestsMock
) -> None:
    mock.post(CALLBACK_URL, status=204)

    status = client.send_callback(CALLBACK_URL, CALLBACK_BODY, SECRET)

    (call,) = mock.calls
    assert status == 204
    assert call.request.body == CALLBACK_BODY
    assert call.request.headers["Content-Type"] == "application/json"
    assert "Authenticate" not in call.request.headers
    assert timeout_of(call) == 10.0
    signing.verify(
        call.request.headers["X-Connector-Signature"],
        secrets=[SECRET],
        method="POST",
        path="/callbacks/3f0c2d1e?attempt=1",
        body=CALLBACK_BODY,
        now=NOW,
    )


@pytest.mark.parametrize("status", [301, 400, 500, 503])
def test_a_callback_answered_without_2xx_fails_transiently_with_the_status(
    client: MarketplaceClient, mock: responses.RequestsMock, status: int
) -> None:
    mock.post(CALLBACK_URL, status=status, headers={"Location": "https://elsewhere.test/"})

    with pytest.raises(errors.CallbackFailed) as raised:
        client.send_callback(CALLBACK_URL, CALLBACK_BODY, SECRET)

    assert isinstance(raised.value, TransientError)
    assert raised.value.status_code == status
    assert len(mock.calls) == 1


def test_a_callback_without_an_answer_in_time_fails_transiently(
    client: MarketplaceClient, mock: responses.RequestsMock
) -> None:
    mock.post(CALLBACK_URL, body=requests.ReadTimeout("10 s passed"))

    with pytest.raises(errors.CallbackFailed) as raised:
        client.send_callback(CALLBACK_URL, CALLBACK_BODY, SECRET)

    assert raised.value.status_code is None
    assert "attempt=1" not in str(raised.value)


# ---------------------------------------------------------------------- secrets


def test_never_logs_or_shows_the_password_session_or_callback_secret(
    client: MarketplaceClient, mock: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    mock.post(url("GetSessionToken"), json="session-1")
    mock.post(url("GetSessionToken"), json="session-2")
    mock.post(url("UpdateSubscription"), status=500, body=fault("Session expired", expired=True))
    mock.post(url("UpdateSubscription"), json={})
    mock.post(url("ImportReportRows"), status=500, body=fault("Rows rejected", expired=False))
    mock.post(CALLBACK_URL, status=500)

    client.update_subscription("99001", {"Seats": "2"})
    with pytest.raises(errors.MarketplaceFault) as fault_raised:
        client.import_report_rows("4711", COLUMNS, rows(1))
    with pytest.raises(errors.CallbackFailed) as callback_raised:
        client.send_callback(CALLBACK_URL, CALLBACK_BODY, SECRET)

    shown = caplog.text + str(fault_raised.value) + str(callback_raised.value) + repr(client)
    assert caplog.records, "the client should log its calls at DEBUG"
    for secret in (PASSWORD, "session-1", "session-2", SECRET):
        assert secret not in shown
    assert repr(client) == f"MarketplaceClient(base_url='{BASE}', username='api-user')"
