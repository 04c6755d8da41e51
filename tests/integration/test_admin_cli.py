"""``connector operations list|approve|reject|retry`` and ``connector resync``."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine

from connector import cli
from connector.handlers.base import Done
from connector.runtime import Runtime
from connector.wakeup import CHANNEL
from tests.integration.admin_seeds import (
    accepted,
    add_resellers,
    answer,
    awaiting_review,
    failed,
    run_once,
    stored,
    syncs,
)


@pytest.fixture(autouse=True)
def database(monkeypatch: pytest.MonkeyPatch, database_url: str, engine: Engine) -> None:
    """Point the command line at the test database, with no remote systems configured."""
    monkeypatch.setenv("CONNECTOR_DATABASE_URL", database_url)
    for name in ("CONNECTOR_ESET_API_URL", "CONNECTOR_MARKETPLACE_API_URL"):
        monkeypatch.delenv(name, raising=False)


def printed(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_operations_list_prints_a_table_of_the_asked_status(
    runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    failure = failed(runtime, "req-1", subscription="99001")
    review = awaiting_review(runtime, "req-2", subscription="99002")

    assert cli.main(["operations", "list", "--status", "Failed"]) == 0

    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == [
        "OPERATION",
        "ACTION",
        "STATUS",
        "RESELLER",
        "SUBSCRIPTION",
        "ATTEMPTS",
        "UPDATED",
        "DETAILS",
    ]
    assert len(rows) == 1
    assert rows[0].split()[:6] == [failure, "CREATE", "Failed", "4711", "99001", "1"]
    assert rows[0].endswith("ESET refused the order.")
    assert review not in rows[0]


def test_operations_list_prints_json_lines_newest_first(
    runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    older = failed(runtime, "req-1", subscription="99001")
    runtime.clock.advance(minutes=1)  # type: ignore[attr-defined]
    newer = accepted(runtime, "req-2", subscription="99002")

    assert cli.main(["operations", "list", "--json"]) == 0

    assert [(line["operationId"], line["status"]) for line in printed(capsys)] == [
        (newer, "Pending"),
        (older, "Failed"),
    ]


def test_approve_on_the_command_line_lets_the_order_run(
    runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    operation_id = awaiting_review(runtime)

    assert cli.main(["operations", "approve", operation_id]) == 0

    [shown] = printed(capsys)
    assert (shown["operationId"], shown["status"]) == (operation_id, "Pending")
    operation = stored(runtime, operation_id)
    assert (operation.status, operation.review_decision) == ("Pending", "approved")


def test_reject_on_the_command_line_fails_the_order_with_the_reason(
    runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    operation_id = awaiting_review(runtime)

    assert cli.main(["operations", "reject", operation_id, "--reason", "No proof sent."]) == 0

    [shown] = printed(capsys)
    assert shown["errorDetails"] == "Rejected in proof review: No proof sent."
    assert stored(runtime, operation_id).review_note == "No proof sent."


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_reject_on_the_command_line_needs_a_reason(runtime: Runtime, reason: str) -> None:
    operation_id = awaiting_review(runtime)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["operations", "reject", operation_id, "--reason", reason])
    assert exit_.value.code == 2
    assert stored(runtime, operation_id).status == "AwaitingReview"


def test_retry_on_the_command_line_reopens_a_failed_operation(
    runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    operation_id = failed(runtime)

    assert cli.main(["operations", "retry", operation_id]) == 0

    [shown] = printed(capsys)
    assert (shown["operationId"], shown["status"]) == (operation_id, "Pending")
    assert stored(runtime, operation_id).error_details is None


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["operations", "retry", "{completed}"], "Only a Failed operation can be retried"),
        (["operations", "approve", "{completed}"], "Only an operation awaiting review"),
        (["operations", "retry", "no-such-id"], "There is no operation no-such-id"),
        (["resync", "--reseller", "9999"], "There is no subscribed reseller 9999"),
    ],
)
def test_a_refused_command_says_why_and_exits_non_zero(
    runtime: Runtime, capsys: pytest.CaptureFixture[str], command: list[str], message: str
) -> None:
    completed = accepted(runtime)
    run_once(runtime, answer(Done()))

    argv = [part.format(completed=completed) for part in command]
    assert cli.main(argv) == 1

    output = capsys.readouterr()
    assert message in output.err
    assert output.out == ""
    assert stored(runtime, completed).status == "Completed"


def test_resync_on_the_command_line_queues_syncs_for_every_subscribed_reseller(
    runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    add_resellers(runtime, "4711", "4712", unsubscribed=("4713",))

    assert cli.main(["resync"]) == 0

    [shown] = printed(capsys)
    assert [(sync.reseller_account_id, sync.source) for sync in syncs(runtime)] == [
        ("4711", "admin"),
        ("4712", "admin"),
    ]
    assert all(sync.request_id.startswith(f"resync:{shown['jobId']}:") for sync in syncs(runtime))


def test_resync_on_the_command_line_can_name_one_reseller(
    runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    add_resellers(runtime, "4711", "4712")
    assert cli.main(["resync", "--reseller", "4712"]) == 0
    assert [sync.reseller_account_id for sync in syncs(runtime)] == ["4712"]


def test_a_command_line_retry_wakes_workers_listening_on_postgresql(
    runtime: Runtime, engine: Engine
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("other processes hear of new work through PostgreSQL's NOTIFY")
    operation_id = failed(runtime)
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")

        assert cli.main(["operations", "retry", operation_id]) == 0

        heard = list(listener.notifies(timeout=5, stop_after=1))
    assert [notice.channel for notice in heard] == [CHANNEL]
