"""POST /api/v1/events: signed, validated, idempotent, durable."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from connector import admission
from connector.db import make_engine, make_session_factory
from connector.models import AuditEvent, Operation
from connector.runtime import Runtime
from connector.settings import Settings
from tests.conftest import Poster
from tests.support import OLD_WEBHOOK_SECRET, START, event, sign_request


def count_operations(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(Operation)) or 0


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    error: dict[str, Any] = response.json["error"]
    assert error["code"] == code
    assert error["message"]
    assert "Traceback" not in response.get_data(as_text=True)
    return error


def test_a_valid_signed_event_is_stored_once_and_answered_202(
    post_event: Poster, runtime: Runtime
) -> None:
    response = post_event(event())
    assert response.status_code == 202
    assert response.json["status"] == "Pending"
    with runtime.sessions() as session:
        operation = session.scalars(select(Operation)).one()
        audit = session.scalars(select(AuditEvent)).one()
    assert operation.id == response.json["operationId"]
    assert operation.request_id == "req-1"
    assert operation.action == "SUBSCRIBE"
    assert operation.reseller_account_id == "4711"
    assert operation.payload["reseller"]["companyName"] == "Muster IT GmbH"
    assert operation.status == "Pending"
    assert (audit.entity, audit.entity_id, audit.to_state) == ("operation", operation.id, "Pending")


def test_a_repeated_request_gets_the_same_answer_and_no_second_operation(
    post_event: Poster, runtime: Runtime
) -> None:
    first = post_event(event())
    second = post_event(event())
    assert second.status_code == 202
    assert second.json == first.json
    assert count_operations(runtime) == 1


def test_a_repeat_that_only_differs_in_layout_is_the_same_request(
    post_event: Poster, runtime: Runtime
) -> None:
    body = event()
    first = post_event(json.dumps(body).encode())
    second = post_event(json.dumps(body, indent=2, sort_keys=True).encode())
    assert second.json == first.json
    assert count_operations(runtime) == 1


def test_a_request_id_reused_with_another_body_is_a_conflict(
    post_event: Poster, runtime: Runtime
) -> None:
    post_event(event())
    changed = event(occurredAt="2026-11-27T10:16:00Z")
    assert_error(post_event(changed), 409, "idempotency_conflict")
    assert count_operations(runtime) == 1


def test_twenty_concurrent_copies_of_a_request_make_exactly_one_operation(
    app: Flask, runtime: Runtime
) -> None:
    raw = json.dumps(event()).encode()
    headers = sign_request("POST", "/api/v1/events", raw)
    barrier = threading.Barrier(20)
    answers: list[tuple[int, Any]] = []

    def send() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(
            "/api/v1/events", data=raw, headers=headers, content_type="application/json"
        )
        answers.append((response.status_code, response.json))

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for status, _ in answers} == {202}
    assert len({body["operationId"] for _, body in answers}) == 1
    assert count_operations(runtime) == 1


def test_an_unsigned_event_is_refused(client: Any, runtime: Runtime) -> None:
    response = client.post("/api/v1/events", json=event())
    assert_error(response, 401, "unauthorized")
    assert count_operations(runtime) == 0


def test_a_signature_older_than_300_seconds_is_refused(post_event: Poster) -> None:
    assert_error(post_event(event(), at=START.timestamp() - 301), 401, "unauthorized")


def test_a_signature_from_300_seconds_ago_or_ahead_is_accepted(post_event: Poster) -> None:
    assert post_event(event("SUBSCRIBE", "a"), at=START.timestamp() - 300).status_code == 202
    assert post_event(event("SUBSCRIBE", "b"), at=START.timestamp() + 300).status_code == 202


def test_a_signature_from_the_future_beyond_300_seconds_is_refused(post_event: Poster) -> None:
    assert_error(post_event(event(), at=START.timestamp() + 301), 401, "unauthorized")


def test_a_signature_made_with_an_unknown_secret_is_refused(post_event: Poster) -> None:
    assert_error(post_event(event(), secret="not-the-secret"), 401, "unauthorized")


def test_a_signature_made_with_the_previous_secret_is_accepted_during_rotation(
    post_event: Poster,
) -> None:
    assert post_event(event(), secret=OLD_WEBHOOK_SECRET).status_code == 202


def test_one_good_v1_among_several_is_enough(client: Any) -> None:
    raw = json.dumps(event()).encode()
    good = sign_request("POST", "/api/v1/events", raw)["X-Marketplace-Signature"]
    header = good.replace("v1=", "v1=" + "0" * 64 + ",v1=")
    response = client.post(
        "/api/v1/events",
        data=raw,
        headers={"X-Marketplace-Signature": header},
        content_type="application/json",
    )
    assert response.status_code == 202


def test_a_signature_over_another_body_is_refused(client: Any) -> None:
    headers = sign_request("POST", "/api/v1/events", json.dumps(event()).encode())
    tampered = json.dumps(event(request_id="req-2")).encode()
    response = client.post(
        "/api/v1/events", data=tampered, headers=headers, content_type="application/json"
    )
    assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize("header", ["garbage", "t=abc,v1=00", "v1=00", "t=1764238500"])
def test_a_malformed_signature_header_is_refused(client: Any, header: str) -> None:
    response = client.post(
        "/api/v1/events",
        data=json.dumps(event()),
        headers={"X-Marketplace-Signature": header},
        content_type="application/json",
    )
    assert_error(response, 401, "unauthorized")


def test_a_body_over_256_kib_is_refused_as_too_large(post_event: Poster, runtime: Runtime) -> None:
    body = event(fields={"padding": "x" * (256 * 1024)})
    assert_error(post_event(body), 413, "payload_too_large")
    assert count_operations(runtime) == 0


def test_a_body_that_is_not_json_is_malformed(post_event: Poster) -> None:
    assert_error(post_event(b"{not json"), 400, "malformed_request")


def test_a_json_array_is_malformed(post_event: Poster) -> None:
    assert_error(post_event(b"[1, 2]"), 400, "malformed_request")


def test_a_wrong_content_type_is_malformed(client: Any) -> None:
    raw = json.dumps(event()).encode()
    response = client.post(
        "/api/v1/events",
        data=raw,
        headers=sign_request("POST", "/api/v1/events", raw),
        content_type="text/plain",
    )
    assert_error(response, 400, "malformed_request")


def test_invalid_envelope_fields_are_named_one_by_one_and_nothing_is_stored(
    post_event: Poster, runtime: Runtime
) -> None:
    body = event("CREATE", request_id="")
    body["callbackUrl"] = "ftp://marketplace.example/x"
    body["reseller"]["email"] = "not-an-address"
    del body["occurredAt"]
    error = assert_error(post_event(body), 422, "validation_failed")
    assert set(error["fields"]) == {"requestId", "callbackUrl", "reseller.email", "occurredAt"}
    assert count_operations(runtime) == 0


def test_an_unknown_action_is_a_validation_error(post_event: Poster) -> None:
    error = assert_error(post_event(event("REFUND")), 422, "validation_failed")
    assert list(error["fields"]) == ["action"]


def test_a_license_action_without_subscription_is_a_validation_error(post_event: Poster) -> None:
    body = event("SUSPEND")
    del body["subscription"]
    error = assert_error(post_event(body), 422, "validation_failed")
    assert list(error["fields"]) == ["subscription.accountId"]


def test_a_callback_to_an_unlisted_host_is_refused(
    app: Flask, runtime: Runtime, post_event: Poster
) -> None:
    runtime.settings = runtime.settings.with_changes(callback_hosts=("marketplace.example",))
    assert post_event(event("SUBSCRIBE", "ok")).status_code == 202
    body = event("SUBSCRIBE", "elsewhere", callbackUrl="https://attacker.example/cb")
    error = assert_error(post_event(body), 422, "validation_failed")
    assert list(error["fields"]) == ["callbackUrl"]


def test_an_unexpected_failure_answers_503_in_the_contract_shape_and_stores_nothing(
    post_event: Poster, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_: Any) -> None:
        raise RuntimeError("boom with a secret inside")

    monkeypatch.setattr(admission, "admit", explode)
    response = post_event(event())
    error = assert_error(response, 503, "unavailable")
    assert "boom" not in error["message"]
    assert count_operations(runtime) == 0


def test_unknown_paths_and_methods_answer_in_the_contract_shape(client: Any) -> None:
    assert_error(client.get("/nowhere"), 404, "not_found")
    assert_error(client.get("/api/v1/events"), 405, "malformed_request")


def test_an_operation_can_be_read_back(post_event: Poster, get_signed: Any) -> None:
    operation_id = post_event(event()).json["operationId"]
    response = get_signed(f"/api/v1/operations/{operation_id}")
    assert response.status_code == 200
    assert response.json == {
        "operationId": operation_id,
        "requestId": "req-1",
        "action": "SUBSCRIBE",
        "status": "Pending",
        "outArguments": [],
        "errorDetails": None,
        "createdAt": "2026-11-27T10:15:00Z",
        "updatedAt": "2026-11-27T10:15:00Z",
    }


def test_reading_an_unknown_operation_is_not_found(get_signed: Any) -> None:
    assert_error(get_signed("/api/v1/operations/nope"), 404, "not_found")


def test_reads_need_a_signature_that_covers_the_query(client: Any, post_event: Poster) -> None:
    operation_id = post_event(event()).json["operationId"]
    path = f"/api/v1/operations/{operation_id}"
    headers = sign_request("GET", path)
    assert_error(client.get(path + "?x=1", headers=headers), 401, "unauthorized")
    headers = sign_request("GET", path + "?x=1")
    assert client.get(path + "?x=1", headers=headers).status_code == 200


def test_health_needs_no_signature(client: Any) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").status_code == 200


def test_with_the_database_down_events_get_503_and_readyz_says_not_ready(
    runtime: Runtime, post_event: Poster, client: Any
) -> None:
    down = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    runtime.engine = make_engine(down)
    runtime.sessions = make_session_factory(runtime.engine)
    try:
        assert_error(post_event(event()), 503, "unavailable")
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200
    finally:
        runtime.engine.dispose()
