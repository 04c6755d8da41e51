"""The worker runs each operation to one end, once, and answers it by callback."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from connector import operations
from connector.clients.errors import OrderOutcomeUnknown
from connector.clock import FrozenClock
from connector.errors import PermanentError, TransientError
from connector.handlers.base import AwaitReview, Done, Fail, OperationInput
from connector.models import AuditEvent, Operation, OutboxMessage
from connector.runtime import Runtime
from connector.wakeup import PostgresListener, Wakeup
from connector.worker import Worker
from tests.conftest import Poster
from tests.support import START, event


def worker(runtime: Runtime, handlers: dict[str, Any], name: str = "w1") -> Worker:
    return Worker(runtime, handlers=handlers, senders={}, name=name)


def operation(runtime: Runtime, operation_id: str) -> Operation:
    with runtime.sessions() as session:
        found = session.get(Operation, operation_id)
        assert found is not None
        return found


def callbacks(runtime: Runtime) -> list[dict[str, Any]]:
    with runtime.sessions() as session:
        messages = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    return [json.loads(message.body) for message in messages if message.kind == "callback"]


def test_a_completed_operation_gets_string_out_arguments_and_one_callback(
    post_event: Poster, runtime: Runtime
) -> None:
    operation_id = post_event(event()).json["operationId"]
    done = Done({"EsetPartnerId": "P-1", "MarginPercent": "20.00", "Seats": 25, "Trial": False})

    assert worker(runtime, {"SUBSCRIBE": lambda op, ctx: done}).run_next_operation()

    stored = operation(runtime, operation_id)
    assert stored.status == "Completed"
    assert stored.out_arguments == [
        {"Name": "EsetPartnerId", "Value": "P-1"},
        {"Name": "MarginPercent", "Value": "20.00"},
        {"Name": "Seats", "Value": "25"},
        {"Name": "Trial", "Value": "false"},
    ]
    assert callbacks(runtime) == [
        {
            "requestId": "req-1",
            "operationId": operation_id,
            "status": "Completed",
            "outArguments": stored.out_arguments,
        }
    ]


@pytest.mark.usefixtures("subscribed")
def test_an_action_without_a_handler_fails_with_a_clear_reason(
    post_event: Poster, runtime: Runtime
) -> None:
    operation_id = post_event(event("SYNC")).json["operationId"]
    worker(runtime, {}).run_next_operation()
    stored = operation(runtime, operation_id)
    assert stored.status == "Failed"
    assert stored.error_details == "The connector cannot carry out SYNC operations yet."
    assert callbacks(runtime)[0]["errorDetails"] == stored.error_details


def test_a_permanent_error_fails_the_operation_with_its_message(
    post_event: Poster, runtime: Runtime
) -> None:
    def refuse(op: OperationInput, ctx: Any) -> Done:
        raise PermanentError("ESET does not know partner P-1.")

    operation_id = post_event(event()).json["operationId"]
    worker(runtime, {"SUBSCRIBE": refuse}).run_next_operation()
    assert operation(runtime, operation_id).error_details == "ESET does not know partner P-1."


def test_an_unexpected_exception_fails_the_operation_without_leaking_it(
    post_event: Poster, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    def crash(op: OperationInput, ctx: Any) -> Done:
        raise KeyError("internal detail")

    operation_id = post_event(event()).json["operationId"]
    worker(runtime, {"SUBSCRIBE": crash}).run_next_operation()
    stored = operation(runtime, operation_id)
    assert stored.status == "Failed"
    assert "internal detail" not in (stored.error_details or "")
    assert "internal detail" in caplog.text


def test_a_transient_error_reschedules_with_growing_delays_then_gives_up(
    post_event: Poster, runtime: Runtime, clock: FrozenClock
) -> None:
    def maintenance(op: OperationInput, ctx: Any) -> Done:
        raise TransientError("ESET is in maintenance.")

    operation_id = post_event(event()).json["operationId"]
    runner = worker(runtime, {"SUBSCRIBE": maintenance})
    delays = []
    while operation(runtime, operation_id).status == "Pending":
        assert runner.run_next_operation()
        assert not runner.run_next_operation(), "not due again before its time"
        stored = operation(runtime, operation_id)
        delays.append((stored.next_attempt_at - clock.now()).total_seconds())
        clock.set(stored.next_attempt_at)
    stored = operation(runtime, operation_id)
    assert stored.status == "Failed"
    assert stored.attempts == operations.MAX_ATTEMPTS
    assert "ESET is in maintenance." in (stored.error_details or "")
    assert delays[1] > delays[0]
    assert max(delays) <= operations.MAX_RESCHEDULE_SECONDS


def test_a_retry_after_from_the_remote_side_is_honoured(
    post_event: Poster, runtime: Runtime, clock: FrozenClock
) -> None:
    def limited(op: OperationInput, ctx: Any) -> Done:
        raise TransientError("Rate limited.", retry_after=42)

    operation_id = post_event(event()).json["operationId"]
    worker(runtime, {"SUBSCRIBE": limited}).run_next_operation()
    stored = operation(runtime, operation_id)
    assert (stored.next_attempt_at - clock.now()).total_seconds() == 42


def test_an_order_needing_review_waits_without_a_callback(
    post_event: Poster, runtime: Runtime
) -> None:
    operation_id = post_event(event()).json["operationId"]
    worker(runtime, {"SUBSCRIBE": lambda op, ctx: AwaitReview("GOV proof")}).run_next_operation()
    assert operation(runtime, operation_id).status == "AwaitingReview"
    assert callbacks(runtime) == []
    assert not worker(runtime, {}).run_next_operation()


def test_the_handlers_changes_commit_with_the_final_status(
    post_event: Poster, runtime: Runtime
) -> None:
    def remember(session: Any) -> None:
        session.add(AuditEvent(entity="test", entity_id="x", actor="handler"))

    operation_id = post_event(event()).json["operationId"]
    worker(runtime, {"SUBSCRIBE": lambda op, ctx: Fail("no", apply=remember)}).run_next_operation()
    with runtime.sessions() as session:
        entities = session.scalars(select(AuditEvent.entity)).all()
    assert "test" in entities
    assert operation(runtime, operation_id).status == "Failed"


def test_an_operation_whose_worker_died_runs_again_once_its_lease_runs_out(
    post_event: Poster, runtime: Runtime, clock: FrozenClock
) -> None:
    operation_id = post_event(event()).json["operationId"]
    with runtime.sessions.begin() as session:  # worker A claims, then dies
        operations.claim_next(session, now=clock.now(), owner="dead", lease_seconds=30)
    survivor = worker(runtime, {"SUBSCRIBE": lambda op, ctx: Done({"Run": op.attempts})})
    assert not survivor.run_next_operation(), "the lease still protects it"
    clock.advance(seconds=31)
    assert survivor.run_next_operation()
    stored = operation(runtime, operation_id)
    assert stored.status == "Completed"
    assert stored.attempts == 2
    assert len(callbacks(runtime)) == 1


def test_a_worker_that_lost_its_lease_does_not_finish_the_operation_again(
    post_event: Poster, runtime: Runtime, clock: FrozenClock
) -> None:
    operation_id = post_event(event()).json["operationId"]
    slow = worker(runtime, {}, name="slow")
    with runtime.sessions.begin() as session:
        operations.claim_next(session, now=clock.now(), owner="slow", lease_seconds=30)
    clock.advance(seconds=31)
    worker(runtime, {"SUBSCRIBE": lambda op, ctx: Done({"By": "fast"})}, "fast").drain()
    with runtime.sessions.begin() as session:
        late = operations.finish(
            session,
            operation_id,
            Done({"By": "slow"}),
            owner=slow.owner,
            now=clock.now(),
            rng=runtime.rng,
        )
    assert late is None
    assert operation(runtime, operation_id).out_arguments == [{"Name": "By", "Value": "fast"}]
    assert len(callbacks(runtime)) == 1


def test_a_long_handler_keeps_its_lease_alive(post_event: Poster, runtime: Runtime) -> None:
    # The handler outlasts the lease (4 x 0.35 s > 0.9 s): only the heartbeat keeps rivals off.
    runtime.settings = runtime.settings.with_changes(operation_lease_seconds=0.9)
    operation_id = post_event(event()).json["operationId"]
    seen: list[bool] = []

    def slow(op: OperationInput, ctx: Any) -> Done:
        for _ in range(4):
            threading.Event().wait(0.35)
            runtime.clock.advance(seconds=0.35)  # type: ignore[attr-defined]
            rival = worker(runtime, {}, "rival")
            seen.append(rival.run_next_operation())
        return Done()

    worker(runtime, {"SUBSCRIBE": slow}).run_next_operation()
    assert seen == [False, False, False, False]
    assert operation(runtime, operation_id).status == "Completed"


def test_many_workers_run_every_operation_exactly_once(
    post_event: Poster, runtime: Runtime
) -> None:
    for number in range(40):
        assert post_event(event("SUBSCRIBE", f"req-{number}")).status_code == 202
    runs: Counter[str] = Counter()
    lock = threading.Lock()

    def count(op: OperationInput, ctx: Any) -> Done:
        with lock:
            runs[op.operation_id] += 1
        return Done()

    workers = [worker(runtime, {"SUBSCRIBE": count}, f"w{i}") for i in range(4)]
    threads = [threading.Thread(target=w.drain) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(runs) == 40
    assert set(runs.values()) == {1}
    assert len(callbacks(runtime)) == 40


def test_new_work_wakes_a_waiting_worker_at_once(post_event: Poster, runtime: Runtime) -> None:
    runtime.settings = runtime.settings.with_changes(worker_poll_seconds=30)
    handled = threading.Event()

    def note(op: OperationInput, ctx: Any) -> Done:
        handled.set()
        return Done()

    stop = threading.Event()
    threads = worker(runtime, {"SUBSCRIBE": note}).start(stop)
    try:
        threading.Event().wait(0.1)  # let the loops go to sleep on their latch
        post_event(event())
        assert handled.wait(5), "the worker slept through new work"
    finally:
        stop.set()
        runtime.wakeup.notify()
        for thread in threads:
            thread.join(5)


def test_an_operation_retried_after_giving_up_gets_a_full_round_of_attempts_again(
    post_event: Poster, runtime: Runtime, clock: FrozenClock
) -> None:
    def maintenance(op: OperationInput, ctx: Any) -> Done:
        raise TransientError("ESET is in maintenance.")

    operation_id = post_event(event()).json["operationId"]
    runner = worker(runtime, {"SUBSCRIBE": maintenance})
    while operation(runtime, operation_id).status == "Pending":
        runner.run_next_operation()
        clock.set(operation(runtime, operation_id).next_attempt_at)
    with runtime.sessions.begin() as session:
        operations.retry(session, operation_id, actor="admin", now=clock.now())
    runner.run_next_operation()
    stored = operation(runtime, operation_id)
    assert (stored.status, stored.attempts) == ("Pending", 1)
    assert len(callbacks(runtime)) == 1, "only the first ending was called back so far"


def test_on_postgresql_a_new_operation_wakes_workers_in_other_processes(
    post_event: Poster, runtime: Runtime
) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("other processes hear of new work through PostgreSQL's NOTIFY")
    elsewhere = Wakeup()  # another process's latch, fed only by its own LISTEN connection
    latch = elsewhere.latch()
    stop = threading.Event()
    listener = PostgresListener(runtime.engine, elsewhere, stop)
    listener.start()
    try:
        # The listener needs a moment to LISTEN; each new event notifies again until it hears.
        for number in range(50):
            latch.clear()
            assert post_event(event("SUBSCRIBE", f"req-{number}")).status_code == 202
            if latch.wait(0.2):
                break
        else:
            raise AssertionError("no notification reached the other process")
    finally:
        stop.set()
        listener.join(5)


def test_an_order_with_an_unknown_outcome_is_not_given_up_after_a_dozen_attempts(
    post_event: Poster, runtime: Runtime, clock: FrozenClock
) -> None:
    def unknown(op: OperationInput, ctx: Any) -> Done:
        raise OrderOutcomeUnknown("ESET did not confirm the order.", path="License/Order")

    operation_id = post_event(event()).json["operationId"]
    runner = worker(runtime, {"SUBSCRIBE": unknown})
    for _ in range(operations.MAX_ATTEMPTS + 5):
        runner.run_next_operation()
        clock.set(operation(runtime, operation_id).next_attempt_at)
    assert operation(runtime, operation_id).status == "Pending"
    clock.set(START + timedelta(days=operations.UNSETTLED_DAYS, seconds=1))
    runner.run_next_operation()
    assert operation(runtime, operation_id).status == "Failed"
