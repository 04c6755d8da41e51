"""A worker process killed in the middle of an operation: the operation still ends once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from connector.clock import FrozenClock
from connector.handlers.base import Done, OperationInput
from connector.models import Operation, OutboxMessage
from connector.runtime import Runtime
from connector.worker import Worker
from tests.conftest import Poster
from tests.support import event, wait_for

# The doomed worker "orders" (writes the operation's orderReference to a ledger standing in for
# ESET), then hangs until it is killed, before it can record anything.
DOOMED_WORKER = textwrap.dedent(
    """
    import os, sys, time
    from connector.handlers.base import Done
    from connector.runtime import Runtime
    from connector.settings import Settings
    from connector.worker import Worker

    def order_then_hang(op, ctx):
        with open(sys.argv[1], "a") as ledger:
            ledger.write(op.order_reference + "\\n")
        time.sleep(3600)
        return Done()

    runtime = Runtime.build(Settings.from_env(os.environ))
    Worker(runtime, handlers={"SUBSCRIBE": order_then_hang}, senders={}).drain()
    """
)


@pytest.mark.slow
def test_killing_the_worker_mid_operation_and_restarting_completes_it_once(
    post_event: Poster, runtime: Runtime, clock: FrozenClock, tmp_path: Path
) -> None:
    operation_id = post_event(event()).json["operationId"]
    ledger = tmp_path / "eset-orders.txt"
    env = {
        **os.environ,
        "CONNECTOR_DATABASE_URL": runtime.settings.database_url,
        "CONNECTOR_OPERATION_LEASE_SECONDS": "10",
    }
    doomed = subprocess.Popen([sys.executable, "-c", DOOMED_WORKER, str(ledger)], env=env)
    try:
        wait_for(lambda: ledger.exists() and ledger.read_text().strip() != "", timeout=30)
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()

    def order_once(op: OperationInput, ctx: Any) -> Done:
        # What the ESET client does with an orderReference it has already used.
        if op.order_reference not in ledger.read_text().split():
            with ledger.open("a") as entries:
                entries.write(op.order_reference + "\n")
        return Done({"OrderReference": op.order_reference})

    restarted = Worker(runtime, handlers={"SUBSCRIBE": order_once}, senders={})
    clock.set(datetime.now(UTC))
    assert not restarted.run_next_operation(), "the dead worker's lease still holds"
    clock.set(datetime.now(UTC) + timedelta(seconds=11))
    assert restarted.run_next_operation()

    assert ledger.read_text().split() == [f"ALSO-{operation_id}"]
    with runtime.sessions() as session:
        stored = session.get(Operation, operation_id)
        assert stored is not None
        assert (stored.status, stored.attempts) == ("Completed", 2)
        sent = session.scalars(select(OutboxMessage.kind)).all()
    assert sent == ["callback"]
