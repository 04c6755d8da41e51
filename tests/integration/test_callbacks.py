"""Callbacks leave through the outbox: signed, retried with backoff, never changed, recorded."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import responses
from sqlalchemy import select

from connector import outbox, signing
from connector.clients.marketplace import MarketplaceClient
from connector.clock import FrozenClock
from connector.handlers.base import Done, Fail
from connector.models import AuditEvent, DeliveryAttempt, OutboxMessage
from connector.runtime import Runtime
from connector.worker import Worker
from tests.conftest import Poster
from tests.support import CALLBACK_SECRET, event, serve, wait_for

CALLBACK_URL = "https://marketplace.example/callbacks/req-1"


@pytest.fixture
def worker(runtime: Runtime) -> Iterator[Worker]:
    runtime.marketplace = MarketplaceClient(
        "https://marketplace.example/SimpleAPI/SimpleAPIService.svc/rest",
        "api-user",
        "api-password",
        now=lambda: runtime.clock.now().timestamp(),
    )
    yield Worker(runtime, handlers={"SUBSCRIBE": lambda op, ctx: Done({"EsetPartnerId": "P-1"})})
    runtime.marketplace.close()


def attempts(runtime: Runtime) -> list[DeliveryAttempt]:
    with runtime.sessions() as session:
        query = select(DeliveryAttempt).order_by(DeliveryAttempt.attempt)
        return list(session.scalars(query))


def message(runtime: Runtime) -> OutboxMessage:
    with runtime.sessions() as session:
        return session.scalars(select(OutboxMessage)).one()


@responses.activate
def test_a_receiver_failing_three_times_gets_exactly_one_accepted_unchanged_callback(
    post_event: Poster, runtime: Runtime, worker: Worker, clock: FrozenClock
) -> None:
    for status in (500, 503, 404):
        responses.post(CALLBACK_URL, status=status)
    responses.post(CALLBACK_URL, status=200)
    post_event(event())
    worker.run_next_operation()

    waits = []
    while worker.deliver_next_message() and message(runtime).status == "Pending":
        due = message(runtime).next_attempt_at
        waits.append((due - clock.now()).total_seconds())
        assert not worker.deliver_next_message(), "nothing is sent before it is due"
        clock.set(due)

    bodies = [call.request.body for call in responses.calls]
    assert len(bodies) == 4
    assert len(set(bodies)) == 1
    assert json.loads(bodies[0])["status"] == "Completed"
    assert [a.status_code for a in attempts(runtime)] == [500, 503, 404, 200]
    assert [a.succeeded for a in attempts(runtime)] == [False, False, False, True]
    assert message(runtime).status == "Delivered"
    assert 2.5 <= waits[0] <= 5 and 5 <= waits[1] <= 10 and 10 <= waits[2] <= 20


@responses.activate
def test_callbacks_are_signed_with_the_callback_secret(
    post_event: Poster, worker: Worker, clock: FrozenClock
) -> None:
    responses.post(CALLBACK_URL, status=204)
    post_event(event())
    worker.drain()
    request = responses.calls[0].request
    assert request.headers["Content-Type"] == "application/json"
    body = request.body if isinstance(request.body, bytes) else request.body.encode()
    signing.verify(
        request.headers["X-Connector-Signature"],
        secrets=[CALLBACK_SECRET],
        method="POST",
        path="/callbacks/req-1",
        body=body,
        now=clock.now().timestamp(),
    )


@responses.activate
def test_a_failed_operation_is_called_back_with_its_error_details(
    post_event: Poster, runtime: Runtime, worker: Worker
) -> None:
    responses.post(CALLBACK_URL, status=200)
    post_event(event())
    worker.handlers = {"SUBSCRIBE": lambda op, ctx: Fail("ESET has not released the data.")}
    worker.drain()
    sent = json.loads(responses.calls[0].request.body)
    assert sent["status"] == "Failed"
    assert sent["errorDetails"] == "ESET has not released the data."
    assert "outArguments" not in sent


@responses.activate
def test_a_silent_receiver_is_retried_at_most_an_hour_apart_for_a_day_then_given_up(
    post_event: Poster, runtime: Runtime, worker: Worker, clock: FrozenClock
) -> None:
    responses.post(CALLBACK_URL, status=502)
    post_event(event())
    worker.run_next_operation()
    created = message(runtime).created_at
    last = created
    while worker.deliver_next_message():
        now = clock.now()
        assert now - last <= timedelta(hours=1)
        last = now
        if message(runtime).status != "Pending":
            break
        clock.set(message(runtime).next_attempt_at)
    assert message(runtime).status == "Dead"
    assert last - created >= timedelta(hours=24)
    assert len(attempts(runtime)) == len(responses.calls)
    with runtime.sessions() as session:
        dead = session.scalars(select(AuditEvent).where(AuditEvent.to_state == "Dead")).one()
    assert dead.entity == "outbox"


@responses.activate
def test_a_worker_dying_after_sending_sends_the_same_body_again(
    post_event: Poster,
    runtime: Runtime,
    worker: Worker,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    responses.post(CALLBACK_URL, status=200)
    post_event(event())
    worker.run_next_operation()

    def die_before_recording(*_: Any, **__: Any) -> None:
        raise SystemExit("killed")

    with monkeypatch.context() as patch:
        patch.setattr(outbox, "record", die_before_recording)
        with pytest.raises(SystemExit):
            worker.deliver_next_message()
    assert message(runtime).status == "Pending"
    assert not worker.deliver_next_message(), "the dead worker's lease still holds"
    clock.advance(seconds=301)
    assert worker.deliver_next_message()
    assert len(responses.calls) == 2
    assert responses.calls[0].request.body == responses.calls[1].request.body
    assert message(runtime).status == "Delivered"


def test_a_hanging_receiver_does_not_hold_up_other_callbacks(
    post_event: Poster, runtime: Runtime
) -> None:
    release = threading.Event()
    arrived: dict[str, float] = {}

    def receiver(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"].endswith("slow"):
            release.wait(10)
        arrived[environ["PATH_INFO"]] = time.monotonic()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    with serve(receiver) as base:
        runtime.marketplace = MarketplaceClient(f"{base}/api", "u", "p")
        post_event(event("SUBSCRIBE", "slow", callbackUrl=f"{base}/cb/slow"))
        post_event(event("SUBSCRIBE", "fast", callbackUrl=f"{base}/cb/fast"))
        worker = Worker(runtime, handlers={"SUBSCRIBE": lambda op, ctx: Done()})
        worker.run_next_operation()
        worker.run_next_operation()
        stop = threading.Event()
        threads = worker.start(stop, operation_threads=1, outbox_threads=2)
        try:
            wait_for(lambda: "/cb/fast" in arrived, timeout=5)
            assert "/cb/slow" not in arrived
        finally:
            release.set()
            stop.set()
            runtime.wakeup.notify()
            for thread in threads:
                thread.join(10)
            runtime.marketplace.close()


def test_state_pushes_of_one_license_are_sent_one_at_a_time(
    runtime: Runtime, clock: FrozenClock
) -> None:
    with runtime.sessions.begin() as session:
        for number, target in enumerate(["99001", "99001", "99002"]):
            outbox.enqueue(
                session,
                kind="update_subscription",
                dedupe_key=f"push-{number}",
                target=target,
                body=json.dumps({"AccountId": target, "Fields": {}}),
                now=clock.now(),
            )
        outbox.enqueue(
            session, kind="callback", dedupe_key="cb", target="https://m.example/cb",
            body="{}", now=clock.now(),
        )  # fmt: skip
    claimed = []
    with runtime.sessions.begin() as session:
        while found := outbox.claim_due(session, now=clock.now(), owner="w", lease_seconds=300):
            session.flush()
            claimed.append((found.kind, found.target))
    assert sorted(claimed) == [
        ("callback", "https://m.example/cb"),
        ("update_subscription", "99001"),
        ("update_subscription", "99002"),
    ]
