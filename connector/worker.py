"""The worker: runs pending operations and delivers the outbox, in loops that wake on new work.

An operation moves through these steps, each committed before the next begins:

1. claim: lease the row (``attempts`` + 1) so no other worker runs it meanwhile;
2. run the handler outside any transaction (it calls ESET with the operation's
   ``orderReference``, which makes a repeated call harmless);
3. finish: one transaction applies the handler's changes, sets the final status and writes the
   callback into the outbox;
4. deliver the callback from the outbox, recording every attempt.

A crash after 1 or 2 leaves a lease that runs out, and the operation runs again; a crash after 3
leaves the callback in the outbox; a crash during 4 sends the same callback body again.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from itertools import count
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from connector import licenses, operations, outbox
from connector.clock import Clock
from connector.domain.manifest import Manifest
from connector.errors import PermanentError, TransientError
from connector.handlers import HANDLERS
from connector.handlers.base import Fail, Handler, OperationInput, Reschedule, Result
from connector.handlers.common import UPDATE_SUBSCRIPTION, subscription_fields
from connector.models import License, Operation, OutboxMessage
from connector.runtime import Runtime
from connector.settings import Settings

log = logging.getLogger(__name__)
_serial = count(1)
# Longer than a client's worst case (three tries of a 5 s connect + 30 s read, with back-off),
# so a slow send is never claimed a second time while it is still going on.
MESSAGE_LEASE_SECONDS = 300.0
INTERNAL_ERROR = (
    "The connector hit an internal error while carrying out this operation; "
    "an operator has been alerted and can retry it."
)


@dataclass
class WorkerContext:
    """What handlers get: settings, clock, adapters, and read access to the database."""

    settings: Settings
    clock: Clock
    eset: Any
    marketplace: Any
    manifest: Manifest
    runtime: Runtime

    def read(self) -> AbstractContextManager[Session]:
        """Open a session for reading."""
        return self.runtime.sessions()

    def write(self) -> AbstractContextManager[Session]:
        """Open a transaction that commits at once, for a step that must outlive a rerun.

        Handlers otherwise write only through their result, applied when they finish.
        """
        return self.runtime.sessions.begin()


class Worker:
    """Runs operations and outbox deliveries for one process."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        handlers: Mapping[str, Handler] | None = None,
        senders: Mapping[str, outbox.Sender] | None = None,
        name: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.handlers = HANDLERS if handlers is None else handlers
        self.senders = default_senders(runtime) if senders is None else senders
        self.owner = name or f"worker:{socket.gethostname()}:{os.getpid()}:{next(_serial)}"
        self.context = WorkerContext(
            settings=runtime.settings,
            clock=runtime.clock,
            eset=runtime.eset,
            marketplace=runtime.marketplace,
            manifest=runtime.manifest,
            runtime=runtime,
        )

    # -- operations -------------------------------------------------------------------------

    def run_next_operation(self) -> bool:
        """Claim, run and finish one operation; False when none was due."""
        settings = self.runtime.settings
        with self.runtime.sessions.begin() as session:
            operation = operations.claim_next(
                session,
                now=self.runtime.clock.now(),
                owner=self.owner,
                lease_seconds=settings.operation_lease_seconds,
            )
            if operation is None:
                return False
            job = operations.as_input(operation)
        with self._holding_lease(job.operation_id):
            result = self._run_handler(job)
        try:
            finished = self._finish(job.operation_id, result)
        except (OperationalError, InterfaceError):
            # The database is away, not the result wrong: ESET may well have acted, so never
            # call this a failure. The lease runs out and the operation runs again; its ESET
            # calls repeat harmlessly (orderReference) and the result is recorded then.
            raise
        except Exception as error:
            # Recording the handler's result failed (a bug, or data the records refuse): its
            # changes rolled back, so fail the operation rather than leave it to loop.
            log.exception("operation %s: recording the result failed", job.operation_id)
            details = str(error) if isinstance(error, PermanentError) else INTERNAL_ERROR
            finished = self._finish(job.operation_id, Fail(details))
        if finished is None:
            log.warning("operation %s: lease lost before finishing; left to its new owner", job)
        self.runtime.wakeup.notify()
        return True

    def _finish(self, operation_id: str, result: Result) -> Operation | None:
        with self.runtime.sessions.begin() as session:
            return operations.finish(
                session,
                operation_id,
                result,
                owner=self.owner,
                now=self.runtime.clock.now(),
                rng=self.runtime.rng,
            )

    def _run_handler(self, job: OperationInput) -> Result:
        handler = self.handlers.get(job.action)
        if handler is None:
            return Fail(f"The connector cannot carry out {job.action} operations yet.")
        try:
            return handler(job, self.context)
        except TransientError as error:
            return Reschedule(str(error), error.retry_after, unsettled=error.unsettled)
        except (OperationalError, InterfaceError):
            log.warning("operation %s: the database failed; trying again later", job.operation_id)
            return Reschedule("The connector's database was unavailable.")
        except PermanentError as error:
            return Fail(str(error))
        except Exception:
            log.exception("operation %s (%s) failed unexpectedly", job.operation_id, job.action)
            return Fail(INTERNAL_ERROR)

    @contextmanager
    def _holding_lease(self, operation_id: str) -> Iterator[None]:
        """Keep extending the lease while a handler runs, so a long call is not run twice."""
        done = threading.Event()
        interval = self.runtime.settings.operation_lease_seconds / 3

        def heartbeat() -> None:
            while not done.wait(interval):
                try:
                    with self.runtime.sessions.begin() as session:
                        held = operations.extend_lease(
                            session,
                            operation_id,
                            owner=self.owner,
                            now=self.runtime.clock.now(),
                            lease_seconds=self.runtime.settings.operation_lease_seconds,
                        )
                except SQLAlchemyError:
                    log.warning("could not extend the lease of %s", operation_id, exc_info=True)
                    continue
                if not held:
                    return

        beat = threading.Thread(target=heartbeat, name=f"lease-{operation_id}", daemon=True)
        beat.start()
        try:
            yield
        finally:
            done.set()
            beat.join()

    # -- outbox -----------------------------------------------------------------------------

    def deliver_next_message(self) -> bool:
        """Send one due outbox message and record the attempt; False when none was due."""
        with self.runtime.sessions.begin() as session:
            message = outbox.claim_due(
                session,
                now=self.runtime.clock.now(),
                owner=self.owner,
                lease_seconds=MESSAGE_LEASE_SECONDS,
            )
            if message is None:
                return False
        outcome = outbox.attempt(message, self.senders)
        if not outcome.succeeded:
            log.warning("delivery of %s #%s failed: %s", message.kind, message.id, outcome.error)
        with self.runtime.sessions.begin() as session:
            recorded = outbox.record(
                session,
                message.id,
                outcome,
                owner=self.owner,
                now=self.runtime.clock.now(),
                give_up_after=timedelta(hours=self.runtime.settings.callback_retry_hours),
                rng=self.runtime.rng,
            )
            if recorded is None:
                log.warning("outbox message %s vanished while being sent", message.id)
        return True

    # -- loops ------------------------------------------------------------------------------

    def drain(self, limit: int = 1000) -> int:
        """Run everything due now, operations first; return how many steps were taken."""
        steps = 0
        while steps < limit and (self.run_next_operation() or self.deliver_next_message()):
            steps += 1
        return steps

    def start(
        self, stop: threading.Event, *, operation_threads: int = 1, outbox_threads: int = 2
    ) -> list[threading.Thread]:
        """Start the operation and delivery loops in threads that end when ``stop`` is set."""
        # Several delivery loops, so one receiver that hangs until its timeout does not hold
        # up every other callback.
        loops = [("operations", self.run_next_operation)] * operation_threads
        loops += [("outbox", self.deliver_next_message)] * outbox_threads
        threads = [
            threading.Thread(target=self._loop, args=(step, stop), name=f"{name}-{i}", daemon=True)
            for i, (name, step) in enumerate(loops)
        ]
        for thread in threads:
            thread.start()
        return threads

    def _loop(self, step: Callable[[], bool], stop: threading.Event) -> None:
        latch = self.runtime.wakeup.latch()
        while not stop.is_set():
            latch.clear()
            try:
                worked = step()
            except Exception:  # a loop that dies silently stops all work: log and go on
                log.exception("a worker step failed; trying again shortly")
                stop.wait(1.0)
                continue
            if not worked:
                latch.wait(self.runtime.settings.worker_poll_seconds)
        self.runtime.wakeup.notify()  # let sibling loops see ``stop`` at once


def default_senders(runtime: Runtime) -> dict[str, outbox.Sender]:
    """Return how each kind of outbox message is sent."""
    secret = runtime.settings.callback_secret

    def send_callback(message: OutboxMessage) -> int:
        body = message.body.encode()
        status: int = runtime.marketplace.send_callback(message.target, body, secret)
        return status

    def update_subscription(message: OutboxMessage) -> int:
        # Always the license's state as it is now, not as it was when the push was queued:
        # pushes then cannot overtake one another, whatever order retries deliver them in.
        account_id = json.loads(message.body)["AccountId"]
        with runtime.sessions() as session:
            license = session.get(License, account_id)
            if license is None:
                return 200  # nothing to push any more
            fields = subscription_fields(license, runtime.clock.today())
        runtime.marketplace.update_subscription(account_id, fields)
        with runtime.sessions.begin() as session:
            licenses.mark_pushed(session, account_id, fields, runtime.clock.now())
        return 200

    return {"callback": send_callback, UPDATE_SUBSCRIPTION: update_subscription}
