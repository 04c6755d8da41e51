"""The scheduled jobs against the database: state push, report push, nightly sync; their
admin endpoint, their command and their registration with APScheduler."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, text, update

from connector import cli, jobs, operations, pushes
from connector.clients.errors import MarketplaceUnavailable
from connector.clients.marketplace import ImportResult
from connector.clock import FrozenClock
from connector.handlers.base import Done
from connector.handlers.common import UPDATE_SUBSCRIPTION, push_state, subscription_fields
from connector.models import License, Operation, OutboxMessage, OutboxStatus
from connector.reports import COLUMNS
from connector.runtime import Runtime
from connector.worker import Worker
from tests.factories import add, license, operation, reseller
from tests.integration.admin_seeds import AUTH, answer, run_once
from tests.support import START

T = TypeVar("T")


# -- helpers ------------------------------------------------------------------------------------


def store(runtime: Runtime, *rows: Any) -> None:
    with runtime.sessions.begin() as session:
        add(session, *rows)


def queued_pushes(runtime: Runtime) -> list[tuple[str, dict[str, str]]]:
    """Return every state push in the outbox as (subscription, fields), oldest first."""
    with runtime.sessions() as session:
        query = select(OutboxMessage).where(OutboxMessage.kind == UPDATE_SUBSCRIPTION)
        messages = session.scalars(query.order_by(OutboxMessage.id)).all()
    return [(message.target, json.loads(message.body)["Fields"]) for message in messages]


def stored_license(runtime: Runtime, subscription: str) -> License:
    with runtime.sessions() as session:
        found = session.get(License, subscription)
        assert found is not None
        return found


def mark_as_pushed(runtime: Runtime, subscription: str) -> None:
    """Record the license's current fields as the marketplace's, as a delivered push does."""
    with runtime.sessions.begin() as session:
        found = session.get(License, subscription)
        assert found is not None
        found.pushed_fields = subscription_fields(found, runtime.clock.today())
        found.pushed_at = runtime.clock.now()


def change_seats(runtime: Runtime, subscription: str, seats: int) -> None:
    with runtime.sessions.begin() as session:
        session.execute(
            update(License)
            .where(License.subscription_account_id == subscription)
            .values(seats=seats)
        )


def pushed_by_an_operation(runtime: Runtime, subscription: str) -> None:
    """Queue the push a completed operation queues for its license."""
    with runtime.sessions.begin() as session:
        found = session.get(License, subscription)
        assert found is not None
        done = operation(found.reseller_account_id, subscription, request_id="modify")
        add(session, done)
        session.flush()
        push_state(session, found, operation_id=done.id, now=runtime.clock.now())


def deliver_pushes(runtime: Runtime) -> list[tuple[str, dict[str, str]]]:
    """Let a worker deliver every due push to a marketplace that accepts them; return them."""
    marketplace = FakeMarketplace()
    runtime.marketplace = marketplace
    Worker(runtime, handlers={}).drain()
    return marketplace.updates


def in_background(work: Callable[[], T]) -> Future[T]:
    executor = ThreadPoolExecutor(max_workers=1)
    future = executor.submit(work)
    executor.shutdown(wait=False)
    return future


def wait_until_blocked(engine: Engine, future: Future[Any]) -> None:
    """Wait until the other run is stuck behind this test's open transaction."""
    if engine.dialect.name != "postgresql":
        # SQLite's writers queue on the lock (BEGIN IMMEDIATE); nothing to watch but time.
        time.sleep(0.3)
        return
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not future.done():
        with engine.connect() as connection:
            if connection.scalar(query):
                return
        time.sleep(0.02)
    raise AssertionError("the second run never waited for the first")


class FakeMarketplace:
    """The marketplace adapter: records subscription updates and report rows, fails when told."""

    def __init__(self, failing: Sequence[str] = ()) -> None:
        self.failing = set(failing)
        self.updates: list[tuple[str, dict[str, str]]] = []
        self.received: dict[str, list[list[Any]]] = {}
        self.columns: dict[str, Sequence[str]] = {}

    def update_subscription(self, account_id: str, fields: dict[str, str]) -> None:
        self.updates.append((account_id, dict(fields)))

    def import_report_rows(
        self, reseller_account_id: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> ImportResult:
        if reseller_account_id in self.failing:
            raise MarketplaceUnavailable("The marketplace did not answer ImportReportRows")
        duplicate = self.received.get(reseller_account_id) == [list(row) for row in rows]
        self.received[reseller_account_id] = [list(row) for row in rows]
        self.columns[reseller_account_id] = columns
        return ImportResult(
            accepted=0 if duplicate else len(rows), batches=1, duplicates=int(duplicate)
        )


def syncs(runtime: Runtime) -> list[Operation]:
    with runtime.sessions() as session:
        query = select(Operation).where(Operation.action == "SYNC")
        return list(session.scalars(query.order_by(Operation.created_at, Operation.id)))


# -- state push ---------------------------------------------------------------------------------


def test_state_push_queues_nothing_for_a_license_the_marketplace_already_has(
    runtime: Runtime,
) -> None:
    store(runtime, reseller("4711"), license("4711", "99001"))
    mark_as_pushed(runtime, "99001")

    assert jobs.run_state_push(runtime) == {"licenses": 1, "queued": 0}
    assert queued_pushes(runtime) == []


def test_state_push_sends_a_license_that_was_never_pushed(runtime: Runtime) -> None:
    store(runtime, reseller("4711"), license("4711", "99001"), license("4711", "99002"))
    mark_as_pushed(runtime, "99002")

    assert jobs.run_state_push(runtime) == {"licenses": 2, "queued": 1}
    [(target, fields)] = queued_pushes(runtime)
    assert target == "99001"
    assert fields == subscription_fields(stored_license(runtime, "99001"), START.date())


def test_an_expiry_passing_makes_the_next_state_push_send_expired(
    runtime: Runtime, clock: FrozenClock
) -> None:
    store(runtime, reseller("4711"), license("4711", "99001", expires_in_days=3))
    mark_as_pushed(runtime, "99001")
    clock.advance(days=3)
    assert jobs.run_state_push(runtime)["queued"] == 0  # the expiry day itself is still Active

    clock.advance(days=1)
    assert jobs.run_state_push(runtime)["queued"] == 1

    [(_, fields)] = queued_pushes(runtime)
    assert fields["LicenseState"] == "Expired"


def test_running_the_state_push_twice_queues_a_change_once(runtime: Runtime) -> None:
    store(runtime, reseller("4711"), license("4711", "99001"))

    assert jobs.run_state_push(runtime)["queued"] == 1
    assert jobs.run_state_push(runtime)["queued"] == 0
    assert len(queued_pushes(runtime)) == 1


def test_a_change_while_a_push_waits_is_carried_by_that_push(runtime: Runtime) -> None:
    store(runtime, reseller("4711"), license("4711", "99001"))
    jobs.run_state_push(runtime)  # waits in the outbox: the marketplace is down
    change_seats(runtime, "99001", 30)

    assert jobs.run_state_push(runtime)["queued"] == 0
    sent = deliver_pushes(runtime)
    assert [fields["Seats"] for _, fields in sent] == ["30"]
    change_seats(runtime, "99001", 35)
    assert jobs.run_state_push(runtime)["queued"] == 1


def test_a_push_waiting_in_the_outbox_with_the_same_fields_is_not_queued_again(
    runtime: Runtime,
) -> None:
    store(runtime, reseller("4711"), license("4711", "99001"))
    pushed_by_an_operation(runtime, "99001")

    assert jobs.run_state_push(runtime)["queued"] == 0
    assert len(queued_pushes(runtime)) == 1


def test_a_push_the_outbox_gave_up_on_is_queued_again(runtime: Runtime) -> None:
    store(runtime, reseller("4711"), license("4711", "99001"))
    pushed_by_an_operation(runtime, "99001")
    with runtime.sessions.begin() as session:
        session.execute(update(OutboxMessage).values(status=OutboxStatus.DEAD))

    assert jobs.run_state_push(runtime)["queued"] == 1


def test_delivering_a_state_push_records_what_the_marketplace_accepted(
    runtime: Runtime, clock: FrozenClock
) -> None:
    store(runtime, reseller("4711"), license("4711", "99001", expires_in_days=0))
    jobs.run_state_push(runtime)
    clock.advance(days=1)
    jobs.run_state_push(runtime)

    sent = deliver_pushes(runtime)

    assert sent[-1] == (
        "99001",
        subscription_fields(stored_license(runtime, "99001"), clock.today()),
    )
    assert sent[-1][1]["LicenseState"] == "Expired"
    accepted = stored_license(runtime, "99001")
    assert accepted.pushed_fields is not None
    assert accepted.pushed_fields["LicenseState"] == "Expired"
    assert jobs.run_state_push(runtime)["queued"] == 0


def test_a_license_back_in_an_earlier_state_the_same_day_is_pushed_again(
    runtime: Runtime, clock: FrozenClock
) -> None:
    store(
        runtime,
        reseller("4711"),
        license("4711", "99001"),
        license("4711", "99002"),
        license("4711", "99003"),
    )
    jobs.run_state_push(runtime)
    deliver_pushes(runtime)
    change_seats(runtime, "99002", 30)
    jobs.run_state_push(runtime)
    deliver_pushes(runtime)
    change_seats(runtime, "99002", 25)
    change_seats(runtime, "99003", 40)

    counts = pushes.queue_state_pushes(runtime.sessions, now=clock.now(), batch_size=1)

    assert counts == {"licenses": 3, "queued": 2}
    assert sorted((t, f["Seats"]) for t, f in queued_pushes(runtime)[-2:]) == [
        ("99002", "25"),
        ("99003", "40"),
    ]


def test_the_state_push_pages_through_every_license(runtime: Runtime) -> None:
    subscriptions = [f"9900{n}" for n in range(5)]
    store(runtime, reseller("4711"), *(license("4711", s) for s in subscriptions))

    counts = pushes.queue_state_pushes(runtime.sessions, now=runtime.clock.now(), batch_size=2)

    assert counts == {"licenses": 5, "queued": 5}
    assert sorted(target for target, _ in queued_pushes(runtime)) == subscriptions


def test_two_state_pushes_at_once_queue_a_change_once(runtime: Runtime) -> None:
    store(runtime, reseller("4711"), license("4711", "99001"))

    first = in_background(lambda: jobs.run_state_push(runtime))
    second = in_background(lambda: jobs.run_state_push(runtime))

    queued = first.result(timeout=30)["queued"] + second.result(timeout=30)["queued"]
    assert queued == 1
    assert len(queued_pushes(runtime)) == 1


def test_the_state_push_key_differs_by_last_push_day_and_content() -> None:
    fields = {"Seats": "25", "LicenseState": "Active"}
    today = START.date()
    key = pushes.state_push_key("99001", fields, None, today)

    assert key == pushes.state_push_key("99001", dict(reversed(fields.items())), None, today)
    assert key != pushes.state_push_key("99001", {**fields, "Seats": "30"}, None, today)
    assert key != pushes.state_push_key("99001", fields, None, today + timedelta(days=1))
    assert key != pushes.state_push_key("99001", fields, START, today)
    assert len(pushes.state_push_key("9" * 100, fields, START, today)) <= 200


def test_a_scheduled_push_the_outbox_gave_up_on_is_queued_again_the_next_day(
    runtime: Runtime, clock: FrozenClock
) -> None:
    store(runtime, reseller("4711"), license("4711", "99001"))
    assert jobs.run_state_push(runtime)["queued"] == 1
    with runtime.sessions.begin() as session:
        session.execute(update(OutboxMessage).values(status=OutboxStatus.DEAD))
    assert jobs.run_state_push(runtime)["queued"] == 0  # the same day: the same key
    clock.advance(days=1)
    assert jobs.run_state_push(runtime)["queued"] == 1


# -- report push --------------------------------------------------------------------------------


def test_report_push_sends_every_subscribed_resellers_rows(runtime: Runtime) -> None:
    runtime.marketplace = FakeMarketplace()
    store(
        runtime,
        reseller("4711"),
        reseller("4712"),
        reseller("4799", subscribed=False),
        license("4711", "99001"),
        license("4711", "99002", expires_in_days=10),
        license("4712", "99003"),
        license("4799", "99004"),
    )

    counts = jobs.run_report_push(runtime)

    assert counts == {"resellers": 2, "rows": 3, "batches": 2, "duplicates": 0, "failed": 0}
    received = runtime.marketplace.received
    assert set(received) == {"4711", "4712"}
    assert runtime.marketplace.columns["4711"] == COLUMNS
    assert [row[0] for row in received["4711"]] == ["99002", "99001"]  # soonest expiry first
    assert received["4711"][1][COLUMNS.index("ExpiryDate")] == "2027-06-15"
    assert received["4711"][1][COLUMNS.index("LastInvoicePrice")] == "998.40"


def test_a_second_report_push_is_recognised_as_a_duplicate(runtime: Runtime) -> None:
    runtime.marketplace = FakeMarketplace()
    store(runtime, reseller("4711"), license("4711", "99001"))
    jobs.run_report_push(runtime)

    assert jobs.run_report_push(runtime)["duplicates"] == 1


def test_a_reseller_whose_report_push_fails_is_counted_and_the_others_still_go(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    runtime.marketplace = FakeMarketplace(failing=["4711"])
    store(runtime, reseller("4711"), reseller("4712"), license("4712", "99003"))

    counts = jobs.run_report_push(runtime)

    assert counts == {"resellers": 2, "rows": 1, "batches": 1, "duplicates": 0, "failed": 1}
    assert set(runtime.marketplace.received) == {"4712"}
    assert "report push for reseller 4711 failed" in caplog.text


# -- nightly sync -------------------------------------------------------------------------------


def test_nightly_sync_queues_a_sync_for_every_subscribed_reseller(runtime: Runtime) -> None:
    store(runtime, reseller("4711"), reseller("4712"), reseller("4799", subscribed=False))
    latch = runtime.wakeup.latch()

    assert jobs.run_nightly_sync(runtime) == {"queued": 2}

    queued = syncs(runtime)
    assert sorted(op.reseller_account_id for op in queued) == ["4711", "4712"]
    assert {(op.status, op.callback_url) for op in queued} == {("Pending", None)}
    assert latch.is_set()  # a worker in this process starts at once


def test_nightly_sync_skips_a_reseller_whose_sync_is_still_open(runtime: Runtime) -> None:
    store(runtime, reseller("4711"), reseller("4712"))
    with runtime.sessions.begin() as session:
        operations.request_resync(session, reseller_account_id="4711", now=runtime.clock.now())

    assert jobs.run_nightly_sync(runtime) == {"queued": 1}
    assert jobs.run_nightly_sync(runtime) == {"queued": 0}
    assert len(syncs(runtime)) == 2


def test_nightly_sync_queues_again_once_the_earlier_syncs_have_finished(
    runtime: Runtime, clock: FrozenClock
) -> None:
    store(runtime, reseller("4711"))
    jobs.run_nightly_sync(runtime)
    run_once(runtime, answer(Done({"LicensesFound": 0})))
    clock.advance(days=1)

    assert jobs.run_nightly_sync(runtime) == {"queued": 1}
    assert [op.status for op in syncs(runtime)] == ["Completed", "Pending"]


def test_two_nightly_syncs_at_once_queue_each_reseller_once(runtime: Runtime) -> None:
    store(runtime, reseller("4711"), reseller("4712"))

    with runtime.sessions.begin() as first:
        assert jobs.queue_syncs(first, now=runtime.clock.now()) == 2
        second = in_background(lambda: jobs.run_nightly_sync(runtime))
        wait_until_blocked(runtime.engine, second)

    assert second.result(timeout=30) == {"queued": 0}
    assert len(syncs(runtime)) == 2


# -- admin endpoint and command line ------------------------------------------------------------


def test_running_a_job_over_the_admin_api_answers_its_counts(
    client: FlaskClient, runtime: Runtime
) -> None:
    store(runtime, reseller("4711"), license("4711", "99001"))

    response = client.post("/admin/v1/jobs/state-push/run", headers=AUTH)

    assert response.status_code == 200
    assert response.json == {"job": "state-push", "result": {"licenses": 1, "queued": 1}}
    assert len(queued_pushes(runtime)) == 1


def test_an_unknown_job_is_not_found(client: FlaskClient) -> None:
    response = client.post("/admin/v1/jobs/cleanup/run", headers=AUTH)

    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    assert "state-push" in response.json["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/admin/v1/jobs/state-push/run"), ("GET", "/admin/v1/drift")],
)
def test_jobs_and_drift_refuse_a_caller_without_the_admin_token(
    client: FlaskClient, runtime: Runtime, method: str, path: str
) -> None:
    store(runtime, reseller("4711"), license("4711", "99001"))

    response = client.open(path, method=method, headers={"Authorization": "Bearer wrong"})

    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert queued_pushes(runtime) == []


def test_report_push_without_a_marketplace_answers_unavailable(
    client: FlaskClient, runtime: Runtime
) -> None:
    store(runtime, reseller("4711"))

    response = client.post("/admin/v1/jobs/report-push/run", headers=AUTH)

    assert response.status_code == 503
    assert "CONNECTOR_MARKETPLACE_API_URL" in response.json["error"]["message"]


def test_drift_without_eset_answers_unavailable(client: FlaskClient) -> None:
    response = client.get("/admin/v1/drift", headers=AUTH)

    assert response.status_code == 503
    assert "CONNECTOR_ESET_API_URL" in response.json["error"]["message"]


def test_drift_refuses_an_overlong_reseller_id(client: FlaskClient, runtime: Runtime) -> None:
    runtime.eset = object()  # never asked: the query is refused first

    response = client.get(f"/admin/v1/drift?resellerAccountId={'1' * 101}", headers=AUTH)

    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_request"


@pytest.fixture
def command_line(monkeypatch: pytest.MonkeyPatch, database_url: str, engine: Engine) -> None:
    """Point the command line at the test database, with no remote systems configured."""
    monkeypatch.setenv("CONNECTOR_DATABASE_URL", database_url)
    for name in ("CONNECTOR_ESET_API_URL", "CONNECTOR_MARKETPLACE_API_URL"):
        monkeypatch.delenv(name, raising=False)


def test_jobs_run_on_the_command_line_prints_the_counts(
    command_line: None, runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    store(runtime, reseller("4711"), reseller("4712"))

    assert cli.main(["jobs", "run", "nightly-sync"]) == 0

    assert json.loads(capsys.readouterr().out) == {"queued": 2}
    assert len(syncs(runtime)) == 2


def test_jobs_run_names_the_jobs_when_given_an_unknown_one(
    command_line: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["jobs", "run", "cleanup"]) == 2

    assert "state-push, nightly-sync, report-push" in capsys.readouterr().err


# -- scheduling ---------------------------------------------------------------------------------


def test_schedule_registers_the_three_jobs_with_their_utc_triggers(runtime: Runtime) -> None:
    scheduler = BackgroundScheduler(timezone="Europe/Berlin")
    jobs.schedule(scheduler, runtime)
    scheduled = {job.id: job for job in scheduler.get_jobs()}
    midnight = datetime(2026, 11, 27, tzinfo=UTC)

    assert set(scheduled) == {"state-push", "report-push", "nightly-sync"}
    state_push = scheduled["state-push"].trigger
    assert isinstance(state_push, IntervalTrigger)
    assert state_push.interval == timedelta(minutes=15)
    for name, due in (("nightly-sync", "01:30"), ("report-push", "02:30")):
        trigger = scheduled[name].trigger
        assert isinstance(trigger, CronTrigger)
        next_run = trigger.get_next_fire_time(None, midnight)
        assert next_run is not None
        assert next_run.astimezone(UTC).strftime("%H:%M") == due
    assert {job.max_instances for job in scheduled.values()} == {1}


def test_a_scheduled_job_runs_the_named_job(runtime: Runtime) -> None:
    store(runtime, reseller("4711"), license("4711", "99001"))
    scheduler = BackgroundScheduler(timezone="UTC")
    jobs.schedule(scheduler, runtime)
    [state_push] = [job for job in scheduler.get_jobs() if job.id == "state-push"]

    assert state_push.func(*state_push.args) == {"licenses": 1, "queued": 1}


def test_the_scheduler_starts_and_stops_with_the_jobs_in_it(runtime: Runtime) -> None:
    scheduler = BackgroundScheduler(timezone="UTC")
    jobs.schedule(scheduler, runtime)
    scheduler.start(paused=True)
    try:
        assert {job.id for job in scheduler.get_jobs()} == set(jobs.JOBS)
        assert all(job.next_run_time is not None for job in scheduler.get_jobs())
    finally:
        scheduler.shutdown(wait=False)
