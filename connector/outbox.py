"""The outbox: messages written with the state change that caused them, delivered afterwards.

Delivery is at least once. A message is claimed with a lease, sent outside any transaction,
and the attempt recorded afterwards; a worker that dies between sending and recording lets the
lease run out and the message is sent again, with the same body.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, aliased

from connector import audit
from connector.models import DeliveryAttempt, OutboxMessage, OutboxStatus

SERIAL_KINDS = ("update_subscription",)
FIRST_RETRY_SECONDS = 5.0
MAX_RETRY_SECONDS = 3600.0

Sender = Callable[[OutboxMessage], int]
"""Sends one message and returns the HTTP status; raises to report a failed attempt."""


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt came to."""

    succeeded: bool
    duration_ms: int
    status_code: int | None = None
    error: str | None = None


def enqueue(
    session: Session,
    *,
    kind: str,
    dedupe_key: str,
    target: str,
    body: str,
    now: datetime,
    operation_id: str | None = None,
    reseller_account_id: str | None = None,
) -> OutboxMessage:
    """Add a message to the session's transaction; the unique ``dedupe_key`` forbids twins."""
    message = OutboxMessage(
        kind=kind,
        dedupe_key=dedupe_key,
        target=target,
        body=body,
        operation_id=operation_id,
        reseller_account_id=reseller_account_id,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(message)
    return message


def claim_due(
    session: Session, *, now: datetime, owner: str, lease_seconds: float
) -> OutboxMessage | None:
    """Lease the next message that is due, skipping those other workers hold."""
    busy = aliased(OutboxMessage)
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.lease_expires_at.is_(None), OutboxMessage.lease_expires_at < now),
            # Messages that replace one another (state pushes of one license) go one at a
            # time: two in flight could be answered in the wrong order.
            ~exists().where(
                OutboxMessage.kind.in_(SERIAL_KINDS),
                busy.kind == OutboxMessage.kind,
                busy.target == OutboxMessage.target,
                busy.id != OutboxMessage.id,
                busy.lease_expires_at > now,
            ),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    message = session.scalars(query).first()
    if message is not None:
        message.lease_owner = owner
        message.lease_expires_at = now + timedelta(seconds=lease_seconds)
    return message


def attempt(message: OutboxMessage, senders: Mapping[str, Sender]) -> Outcome:
    """Send a message once and say how it went; never raises."""
    started = time.monotonic()
    try:
        status_code = senders[message.kind](message)
    except Exception as error:  # every failure is recorded and retried, whatever it was
        elapsed = int((time.monotonic() - started) * 1000)
        code = getattr(error, "status_code", None)
        return Outcome(False, elapsed, code, f"{type(error).__name__}: {error}"[:2000])
    return Outcome(True, int((time.monotonic() - started) * 1000), status_code)


def retry_delay(failures: int, rng: random.Random) -> float:
    """Return the wait after the n-th failure: 5 s doubling to an hour, with jitter."""
    ceiling = min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2.0 ** (failures - 1))
    # "Equal jitter": never less than half the step, so retries stay spread but do not bunch.
    return ceiling / 2 + rng.random() * ceiling / 2


def record(
    session: Session,
    message_id: int,
    outcome: Outcome,
    *,
    owner: str,
    now: datetime,
    give_up_after: timedelta,
    rng: random.Random,
) -> OutboxMessage | None:
    """Record an attempt and decide what comes next: delivered, retry later, or dead."""
    message = session.get(OutboxMessage, message_id, with_for_update=True)
    if message is None or message.status != OutboxStatus.PENDING:
        return message
    message.attempts += 1
    session.add(
        DeliveryAttempt(
            message_id=message.id,
            attempt=message.attempts,
            attempted_at=now,
            duration_ms=outcome.duration_ms,
            status_code=outcome.status_code,
            error=outcome.error,
            succeeded=outcome.succeeded,
        )
    )
    message.lease_owner = None
    message.lease_expires_at = None
    if outcome.succeeded:
        _move(session, message, OutboxStatus.DELIVERED, owner, now)
        message.delivered_at = now
        message.last_error = None
    elif now - message.created_at >= give_up_after:
        message.last_error = outcome.error
        _move(session, message, OutboxStatus.DEAD, owner, now, error=outcome.error)
    else:
        message.last_error = outcome.error
        message.next_attempt_at = now + timedelta(seconds=retry_delay(message.attempts, rng))
    return message


def _move(
    session: Session,
    message: OutboxMessage,
    status: str,
    actor: str,
    now: datetime,
    error: str | None = None,
) -> None:
    audit.record(
        session,
        entity="outbox",
        entity_id=str(message.id),
        from_state=message.status,
        to_state=status,
        actor=actor,
        at=now,
        kind=message.kind,
        attempts=message.attempts,
        **({"error": error} if error else {}),
    )
    message.status = status
