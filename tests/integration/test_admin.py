"""The admin API: the operations list, proof review, retry and resync (marketplace.md §6)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from connector.clock import FrozenClock
from connector.handlers.base import AwaitReview, Done, Fail, Handler, OperationInput, Result
from connector.runtime import Runtime
from tests.integration.admin_seeds import (
    AUTH,
    accepted,
    add_resellers,
    answer,
    awaiting_review,
    callbacks,
    failed,
    run_once,
    stored,
    syncs,
)

ENDPOINTS = [
    ("GET", "/admin/v1/operations"),
    ("POST", "/admin/v1/operations/some-id/approve"),
    ("POST", "/admin/v1/operations/some-id/reject"),
    ("POST", "/admin/v1/operations/some-id/retry"),
    ("POST", "/admin/v1/resync"),
]


def post(client: FlaskClient, path: str, body: dict[str, Any] | None = None) -> TestResponse:
    return client.post(path, json=body, headers=AUTH)


def act(client: FlaskClient, verb: str, operation_id: str, **body: Any) -> TestResponse:
    return post(client, f"/admin/v1/operations/{operation_id}/{verb}", body or None)


def noting_the_decision(seen: list[str | None], result: Result) -> Handler:
    def handle(op: OperationInput, ctx: Any) -> Result:
        seen.append(op.review_decision)
        return result

    return handle


def listed(client: FlaskClient, query: str = "") -> list[str]:
    response = client.get(f"/admin/v1/operations{query}", headers=AUTH)
    assert response.status_code == 200
    return [item["operationId"] for item in response.json["items"]]


# -- who may call -----------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Basic dGVzdA=="}],
    ids=["missing", "wrong", "not-bearer"],
)
def test_admin_endpoints_refuse_a_caller_without_the_admin_token(
    client: FlaskClient, runtime: Runtime, method: str, path: str, headers: dict[str, str]
) -> None:
    seed = accepted(runtime)
    response = client.open(path, method=method, headers=headers, json={"reason": "x"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert set(response.json["error"]) == {"code", "message"}
    assert stored(runtime, seed).status == "Pending"


def test_admin_endpoints_stay_closed_when_no_admin_token_is_configured(
    client: FlaskClient, runtime: Runtime
) -> None:
    runtime.settings = runtime.settings.with_changes(admin_token="")
    response = client.get("/admin/v1/operations", headers={"Authorization": "Bearer "})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


# -- the operations list ----------------------------------------------------------------------


def test_the_list_shows_operations_in_the_asked_status_newest_first(
    client: FlaskClient, runtime: Runtime, clock: FrozenClock
) -> None:
    oldest_failure = failed(runtime, "req-1", subscription="99001")
    clock.advance(minutes=1)
    review = awaiting_review(runtime, "req-2", subscription="99002")
    clock.advance(minutes=1)
    newest_failure = failed(runtime, "req-3", subscription="99003")
    clock.advance(minutes=1)
    pending = accepted(runtime, "req-4", subscription="99004")

    assert listed(client, "?status=Failed") == [newest_failure, oldest_failure]
    assert listed(client, "?status=AwaitingReview") == [review]
    assert listed(client, "?status=Pending") == [pending]
    assert listed(client, "?status=Completed") == []
    assert listed(client) == [pending, newest_failure, review, oldest_failure]
    assert listed(client, "?limit=1") == [pending]


def test_a_listed_operation_shows_what_an_operator_needs_to_act_on_it(
    client: FlaskClient, runtime: Runtime
) -> None:
    operation_id = failed(runtime)
    response = client.get("/admin/v1/operations?status=Failed", headers=AUTH)
    assert response.json == {
        "items": [
            {
                "operationId": operation_id,
                "requestId": "req-1",
                "action": "CREATE",
                "status": "Failed",
                "outArguments": [],
                "errorDetails": "ESET refused the order.",
                "createdAt": "2026-11-27T10:15:00Z",
                "updatedAt": "2026-11-27T10:15:00Z",
                "source": "marketplace",
                "resellerAccountId": "4711",
                "subscriptionAccountId": "99001",
                "attempts": 1,
                "reviewDecision": None,
                "reviewNote": None,
                "fields": {},
            }
        ],
        "status": "Failed",
        "limit": 100,
    }


def test_the_list_can_be_narrowed_to_one_reseller(client: FlaskClient, runtime: Runtime) -> None:
    accepted(runtime, "req-1", reseller="4711", subscription="99001")
    other = accepted(runtime, "req-2", reseller="4712", subscription="99002")
    assert listed(client, "?resellerAccountId=4712") == [other]


@pytest.mark.parametrize(
    "query", ["?status=Done", "?status=failed", "?limit=0", "?limit=501", "?limit=ten"]
)
def test_a_bad_list_filter_is_a_malformed_request(client: FlaskClient, query: str) -> None:
    response = client.get(f"/admin/v1/operations{query}", headers=AUTH)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_request"


# -- proof review -----------------------------------------------------------------------------


def test_an_approved_order_is_run_by_the_worker_with_the_approval_visible(
    client: FlaskClient, runtime: Runtime
) -> None:
    seen: list[str | None] = []

    def review_then_order(op: OperationInput, ctx: Any) -> Result:
        seen.append(op.review_decision)
        if op.review_decision != "approved":
            return AwaitReview("GOV discount needs its proof checked.")
        return Done({"Approved": True})

    operation_id = accepted(runtime)
    run_once(runtime, review_then_order)

    response = act(client, "approve", operation_id)

    assert response.status_code == 200
    assert response.json["status"] == "Pending"
    assert response.json["reviewDecision"] == "approved"
    run_once(runtime, review_then_order)
    assert seen == [None, "approved"]
    assert stored(runtime, operation_id).status == "Completed"
    assert [callback["status"] for callback in callbacks(runtime)] == ["Completed"]


def test_an_approval_wakes_a_waiting_worker_at_once(client: FlaskClient, runtime: Runtime) -> None:
    operation_id = awaiting_review(runtime)
    latch = runtime.wakeup.latch()
    act(client, "approve", operation_id)
    assert latch.is_set()


def test_a_rejected_order_fails_and_the_callback_tells_the_marketplace_why(
    client: FlaskClient, runtime: Runtime
) -> None:
    operation_id = awaiting_review(runtime)

    response = act(client, "reject", operation_id, reason="The GOV certificate has expired.")

    assert response.status_code == 200
    details = "Rejected in proof review: The GOV certificate has expired."
    assert response.json["status"] == "Failed"
    assert response.json["errorDetails"] == details
    operation = stored(runtime, operation_id)
    assert (operation.review_decision, operation.review_note) == (
        "rejected",
        "The GOV certificate has expired.",
    )
    assert callbacks(runtime) == [
        {
            "requestId": "req-1",
            "operationId": operation_id,
            "status": "Failed",
            "errorDetails": details,
        }
    ]


@pytest.mark.parametrize(
    "body",
    [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}, {"reason": 42}],
    ids=["no-reason", "empty", "blank", "too-long", "not-text"],
)
def test_a_rejection_needs_a_reason_of_at_most_500_characters(
    client: FlaskClient, runtime: Runtime, body: dict[str, Any]
) -> None:
    operation_id = awaiting_review(runtime)
    response = client.post(f"/admin/v1/operations/{operation_id}/reject", json=body, headers=AUTH)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_failed"
    assert list(response.json["error"]["fields"]) == ["reason"]
    assert stored(runtime, operation_id).status == "AwaitingReview"


def test_a_rejection_that_is_not_json_is_a_malformed_request(
    client: FlaskClient, runtime: Runtime
) -> None:
    operation_id = awaiting_review(runtime)
    response = client.post(
        f"/admin/v1/operations/{operation_id}/reject", data="expired", headers=AUTH
    )
    assert response.status_code == 400
    assert stored(runtime, operation_id).status == "AwaitingReview"


@pytest.mark.parametrize("verb", ["approve", "reject"])
@pytest.mark.parametrize("result", [None, Done(), Fail("ESET refused the order.")])
def test_only_an_operation_awaiting_review_can_be_approved_or_rejected(
    client: FlaskClient, runtime: Runtime, verb: str, result: Result | None
) -> None:
    operation_id = accepted(runtime)
    if result is not None:
        run_once(runtime, answer(result))
    before = stored(runtime, operation_id).status

    response = act(client, verb, operation_id, reason="No proof.")

    assert response.status_code == 409
    assert response.json["error"]["code"] == "invalid_state"
    assert "awaiting review" in response.json["error"]["message"]
    assert stored(runtime, operation_id).status == before
    assert stored(runtime, operation_id).review_decision is None


# -- retry ------------------------------------------------------------------------------------


class EsetOrderBook:
    """ESET as far as ordering goes: an order is known by its orderReference."""

    def __init__(self) -> None:
        self.orders: dict[str, int] = {}
        self.calls = 0

    def order(self, reference: str, seats: int) -> None:
        self.calls += 1
        self.orders.setdefault(reference, seats)


def test_a_retried_operation_keeps_its_id_so_eset_gets_one_order(
    client: FlaskClient, runtime: Runtime
) -> None:
    eset = EsetOrderBook()

    def order(op: OperationInput, ctx: Any) -> Result:
        eset.order(op.order_reference, 25)
        if eset.calls == 1:  # the order reached ESET, its answer did not reach us
            return Fail("ESET did not answer in time.")
        return Done({"Seats": 25})

    operation_id = accepted(runtime)
    run_once(runtime, order)

    response = act(client, "retry", operation_id)

    assert response.status_code == 200
    assert response.json["operationId"] == operation_id
    assert response.json["status"] == "Pending"
    assert response.json["errorDetails"] is None
    run_once(runtime, order)
    assert eset.calls == 2
    assert eset.orders == {f"ALSO-{operation_id}": 25}
    assert stored(runtime, operation_id).status == "Completed"
    assert [(c["operationId"], c["status"]) for c in callbacks(runtime)] == [
        (operation_id, "Failed"),
        (operation_id, "Completed"),
    ]


def test_a_retry_is_refused_while_another_operation_on_the_license_is_open(
    client: FlaskClient, runtime: Runtime
) -> None:
    operation_id = failed(runtime, "req-1", subscription="99001")
    accepted(runtime, "req-2", subscription="99001")

    response = act(client, "retry", operation_id)

    assert response.status_code == 409
    assert response.json["error"]["code"] == "invalid_state"
    assert "99001" in response.json["error"]["message"]
    operation = stored(runtime, operation_id)
    assert (operation.status, operation.error_details) == ("Failed", "ESET refused the order.")


@pytest.mark.parametrize(
    "result", [None, Done(), AwaitReview("GOV proof")], ids=["Pending", "Completed", "Review"]
)
def test_only_a_failed_operation_can_be_retried(
    client: FlaskClient, runtime: Runtime, result: Result | None
) -> None:
    operation_id = accepted(runtime)
    if result is not None:
        run_once(runtime, answer(result))
    before = stored(runtime, operation_id)

    response = act(client, "retry", operation_id)

    assert response.status_code == 409
    assert response.json["error"]["code"] == "invalid_state"
    assert "Only a Failed operation can be retried" in response.json["error"]["message"]
    after = stored(runtime, operation_id)
    assert (after.status, after.attempts) == (before.status, before.attempts)


def test_a_retried_rejection_goes_back_to_proof_review(
    client: FlaskClient, runtime: Runtime
) -> None:
    operation_id = awaiting_review(runtime)
    act(client, "reject", operation_id, reason="The GOV certificate has expired.")

    act(client, "retry", operation_id)

    seen: list[str | None] = []
    run_once(runtime, noting_the_decision(seen, AwaitReview("GOV proof")))
    assert seen == [None]
    assert stored(runtime, operation_id).status == "AwaitingReview"


def test_a_retry_after_an_approval_does_not_ask_for_review_again(
    client: FlaskClient, runtime: Runtime
) -> None:
    operation_id = awaiting_review(runtime)
    act(client, "approve", operation_id)
    run_once(runtime, answer(Fail("ESET is in maintenance.")))

    act(client, "retry", operation_id)

    seen: list[str | None] = []
    run_once(runtime, noting_the_decision(seen, Done()))
    assert seen == ["approved"]


@pytest.mark.parametrize("verb", ["approve", "reject", "retry"])
def test_an_unknown_operation_is_not_found(client: FlaskClient, verb: str) -> None:
    response = act(client, verb, "00000000-0000-0000-0000-000000000000", reason="No proof.")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


# -- resync -----------------------------------------------------------------------------------


def test_a_resync_of_one_reseller_queues_one_admin_sync(
    client: FlaskClient, runtime: Runtime
) -> None:
    add_resellers(runtime, "4711", "4712")

    response = post(client, "/admin/v1/resync", {"resellerAccountId": "4711"})

    assert response.status_code == 202
    job_id = response.json["jobId"]
    [sync] = syncs(runtime)
    assert (sync.source, sync.reseller_account_id, sync.status) == ("admin", "4711", "Pending")
    assert sync.request_id == f"resync:{job_id}:4711"
    assert sync.subscription_account_id is None
    assert sync.callback_url is None
    assert sync.payload["action"] == "SYNC"
    assert sync.payload["reseller"] == {"accountId": "4711"}
    assert sync.payload["fields"] == {}


def test_a_resync_without_a_reseller_syncs_every_subscribed_one(
    client: FlaskClient, runtime: Runtime
) -> None:
    add_resellers(runtime, "4711", "4712", unsubscribed=("4713",))

    response = client.post("/admin/v1/resync", headers=AUTH)

    assert response.status_code == 202
    job_id = response.json["jobId"]
    assert [(sync.reseller_account_id, sync.request_id) for sync in syncs(runtime)] == [
        ("4711", f"resync:{job_id}:4711"),
        ("4712", f"resync:{job_id}:4712"),
    ]


def test_each_resync_is_a_job_of_its_own(client: FlaskClient, runtime: Runtime) -> None:
    add_resellers(runtime, "4711")
    first = post(client, "/admin/v1/resync", {"resellerAccountId": "4711"})
    run_once(runtime, lambda op, ctx: Done({"LicensesFound": 0}))
    second = post(client, "/admin/v1/resync", {"resellerAccountId": "4711"})
    assert first.json["jobId"] != second.json["jobId"]
    assert len(syncs(runtime)) == 2


def test_a_resync_while_one_is_queued_adds_no_second_sync(
    client: FlaskClient, runtime: Runtime
) -> None:
    add_resellers(runtime, "4711", "4712")
    post(client, "/admin/v1/resync", {"resellerAccountId": "4711"})
    assert post(client, "/admin/v1/resync", {}).status_code == 202
    assert sorted(op.reseller_account_id for op in syncs(runtime)) == ["4711", "4712"]


def test_an_admin_sync_runs_in_the_worker_and_sends_no_callback(
    client: FlaskClient, runtime: Runtime
) -> None:
    add_resellers(runtime, "4711")
    post(client, "/admin/v1/resync", {"resellerAccountId": "4711"})
    seen: list[tuple[str, str]] = []

    def sync(op: OperationInput, ctx: Any) -> Result:
        seen.append((op.action, op.reseller["accountId"]))
        return Done({"LicensesFound": 0})

    run_once(runtime, sync)
    assert seen == [("SYNC", "4711")]
    assert syncs(runtime)[0].status == "Completed"
    assert callbacks(runtime) == []


@pytest.mark.parametrize("reseller", ["9999", "4713"], ids=["unknown", "unsubscribed"])
def test_a_resync_of_a_reseller_that_is_not_subscribed_is_not_found(
    client: FlaskClient, runtime: Runtime, reseller: str
) -> None:
    add_resellers(runtime, "4711", unsubscribed=("4713",))
    response = post(client, "/admin/v1/resync", {"resellerAccountId": reseller})
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    assert syncs(runtime) == []


def test_a_resync_with_a_bad_reseller_id_is_refused(client: FlaskClient, runtime: Runtime) -> None:
    response = post(client, "/admin/v1/resync", {"resellerAccountId": ""})
    assert response.status_code == 422
    assert list(response.json["error"]["fields"]) == ["resellerAccountId"]
    not_an_object = client.post(
        "/admin/v1/resync", data="[]", content_type="application/json", headers=AUTH
    )
    assert not_an_object.status_code == 400


def test_an_order_approved_hours_later_is_due_at_once(
    client: FlaskClient, runtime: Runtime, clock: FrozenClock
) -> None:
    operation_id = awaiting_review(runtime)
    clock.advance(hours=2)
    act(client, "approve", operation_id)
    operation = stored(runtime, operation_id)
    assert operation.next_attempt_at == operation.updated_at == clock.now()
