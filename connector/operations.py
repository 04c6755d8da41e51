"""The life of an operation: accepted, claimed by a worker, finished once, answered by callback.

Every function works inside the caller's transaction; the entry points (the intake, the worker,
the admin API) own the transactions.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, or_, select
from sqlalchemy.orm import Session

from connector import audit, outbox
from connector.handlers.base import AwaitReview, Done, Fail, OperationInput, Reschedule, Result
from connector.models import Base, Operation, OperationStatus, new_id

MARKETPLACE = "marketplace"
MAX_ATTEMPTS = 12
FIRST_RESCHEDULE_SECONDS = 10.0
MAX_RESCHEDULE_SECONDS = 1800.0


def fingerprint(body: Mapping[str, Any]) -> str:
    """Hash a parsed body so that only a change of content, not of layout, tells it apart."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


# Built once: the intake runs these on every request, and building a statement costs more
# than sending it.
_FIND = select(Operation.id, Operation.body_fingerprint).where(
    Operation.source == bindparam("source"), Operation.request_id == bindparam("request_id")
)
_INSERT_OPERATION = insert(Base.metadata.tables["operations"])
_INSERT_AUDIT = insert(Base.metadata.tables["audit_events"])


@dataclass(frozen=True)
class Seen:
    """The operation a request id already made, as much as a replay needs."""

    id: str
    body_fingerprint: str


def find(session: Session, source: str, request_id: str) -> Seen | None:
    """Return the operation a request id already made, if any."""
    row = session.execute(_FIND, {"source": source, "request_id": request_id}).first()
    return Seen(row.id, row.body_fingerprint) if row else None


def accept(
    session: Session,
    *,
    request_id: str,
    action: str,
    reseller_account_id: str,
    subscription_account_id: str | None,
    body_fingerprint: str,
    payload: Mapping[str, Any],
    callback_url: str | None,
    now: datetime,
    source: str = MARKETPLACE,
) -> str:
    """Store a new pending operation in the session's transaction and return its id."""
    operation_id = new_id()
    # Core INSERTs on the session's connection: this is the intake's hot path, and the ORM's
    # unit of work would cost more than the round trips.
    connection = session.connection()
    connection.execute(
        _INSERT_OPERATION,
        {
            "id": operation_id,
            "source": source,
            "request_id": request_id,
            "action": action,
            "reseller_account_id": reseller_account_id,
            "subscription_account_id": subscription_account_id,
            "body_fingerprint": body_fingerprint,
            "payload": dict(payload),
            "callback_url": callback_url,
            "status": OperationStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        },
    )
    connection.execute(
        _INSERT_AUDIT,
        {
            "entity": "operation",
            "entity_id": operation_id,
            "from_state": None,
            "to_state": OperationStatus.PENDING,
            "actor": source,
            "at": now,
            "detail": {"action": action, "attempts": 0},
        },
    )
    return operation_id


def claim_next(
    session: Session, *, now: datetime, owner: str, lease_seconds: float
) -> Operation | None:
    """Lease the next runnable operation, skipping those another worker holds."""
    query = (
        select(Operation)
        .where(
            Operation.status == OperationStatus.PENDING,
            Operation.next_attempt_at <= now,
            or_(Operation.lease_expires_at.is_(None), Operation.lease_expires_at < now),
        )
        .order_by(Operation.next_attempt_at, Operation.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    operation = session.scalars(query).first()
    if operation is not None:
        operation.lease_owner = owner
        operation.lease_expires_at = now + timedelta(seconds=lease_seconds)
        operation.attempts += 1
    return operation


def extend_lease(
    session: Session, operation_id: str, *, owner: str, now: datetime, lease_seconds: float
) -> bool:
    """Push a held lease further out; False when the lease is no longer ours."""
    operation = session.get(Operation, operation_id, with_for_update=True)
    if operation is None or operation.lease_owner != owner:
        return False
    operation.lease_expires_at = now + timedelta(seconds=lease_seconds)
    return True


def as_input(operation: Operation) -> OperationInput:
    """Return what a handler gets to see of an operation."""
    payload = operation.payload
    return OperationInput(
        operation_id=operation.id,
        request_id=operation.request_id,
        action=operation.action,
        reseller_account_id=operation.reseller_account_id,
        subscription_account_id=operation.subscription_account_id,
        reseller=payload.get("reseller") or {},
        fields=payload.get("fields") or {},
        attempts=operation.attempts,
        created_at=operation.created_at,
        review_decision=operation.review_decision,
    )


def finish(
    session: Session,
    operation_id: str,
    result: Result,
    *,
    owner: str,
    now: datetime,
    rng: random.Random,
) -> Operation | None:
    """Apply a handler's result, unless the lease was lost to another worker meanwhile."""
    operation = session.get(Operation, operation_id, with_for_update=True)
    if operation is None or operation.lease_owner != owner:
        return None
    if operation.status != OperationStatus.PENDING:
        return operation
    operation.lease_owner = None
    operation.lease_expires_at = None
    operation.updated_at = now
    match result:
        case Done(out_arguments=arguments, apply=apply):
            if apply is not None:
                apply(session)
            complete(session, operation, out_arguments=arguments, actor=owner, now=now)
        case Fail(error_details=details, apply=apply):
            if apply is not None:
                apply(session)
            fail(session, operation, details, actor=owner, now=now)
        case AwaitReview(reason=reason):
            operation.status = OperationStatus.AWAITING_REVIEW
            _audit(
                session, operation, OperationStatus.PENDING, operation.status, owner, now, reason
            )
        case Reschedule(reason=reason, delay_seconds=delay):
            _reschedule(session, operation, reason, delay, owner=owner, now=now, rng=rng)
    return operation


def _reschedule(
    session: Session,
    operation: Operation,
    reason: str,
    delay: float | None,
    *,
    owner: str,
    now: datetime,
    rng: random.Random,
) -> None:
    if operation.attempts >= MAX_ATTEMPTS:
        details = f"Gave up after {operation.attempts} attempts; the last one said: {reason}"
        fail(session, operation, details, actor=owner, now=now)
        return
    if delay is None:
        ceiling = min(MAX_RESCHEDULE_SECONDS, FIRST_RESCHEDULE_SECONDS * 2**operation.attempts)
        delay = ceiling / 2 + rng.random() * ceiling / 2
    operation.next_attempt_at = now + timedelta(seconds=delay)
    _audit(session, operation, operation.status, operation.status, owner, now, reason)


def complete(
    session: Session,
    operation: Operation,
    *,
    out_arguments: Mapping[str, Any],
    actor: str,
    now: datetime,
) -> None:
    """Mark an operation Completed and queue its callback, in the caller's transaction."""
    arguments = [{"Name": name, "Value": _value(value)} for name, value in out_arguments.items()]
    operation.out_arguments = arguments
    operation.error_details = None
    _end(session, operation, OperationStatus.COMPLETED, actor, now, {"outArguments": arguments})


def fail(
    session: Session, operation: Operation, details: str, *, actor: str, now: datetime
) -> None:
    """Mark an operation Failed and queue its callback, in the caller's transaction."""
    operation.error_details = details
    _end(session, operation, OperationStatus.FAILED, actor, now, {"errorDetails": details})


def _end(
    session: Session,
    operation: Operation,
    status: str,
    actor: str,
    now: datetime,
    result: dict[str, Any],
) -> None:
    previous = operation.status
    operation.status = status
    operation.completed_at = now
    operation.updated_at = now
    operation.lease_owner = None
    operation.lease_expires_at = None
    _audit(session, operation, previous, status, actor, now, operation.error_details)
    if operation.callback_url:
        body = {
            "requestId": operation.request_id,
            "operationId": operation.id,
            "status": status,
            **result,
        }
        outbox.enqueue(
            session,
            kind="callback",
            # One callback per operation and outcome: a retried operation that ends again
            # (after an admin retry) sends its new outcome, never the same one twice.
            dedupe_key=f"callback:{operation.id}:{operation.attempts}:{status}",
            target=operation.callback_url,
            body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
            now=now,
            operation_id=operation.id,
            reseller_account_id=operation.reseller_account_id,
        )


def describe(operation: Operation) -> dict[str, Any]:
    """Return the contract's JSON view of an operation."""
    return {
        "operationId": operation.id,
        "requestId": operation.request_id,
        "action": operation.action,
        "status": operation.status,
        "outArguments": operation.out_arguments or [],
        "errorDetails": operation.error_details,
        "createdAt": iso(operation.created_at),
        "updatedAt": iso(operation.updated_at),
    }


def iso(moment: datetime) -> str:
    """Format an aware UTC datetime as ``2026-11-27T10:15:00Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return "" if value is None else str(value)


def _audit(
    session: Session,
    operation: Operation,
    from_state: str | None,
    to_state: str,
    actor: str,
    now: datetime,
    reason: str | None = None,
) -> None:
    detail: dict[str, Any] = {"action": operation.action, "attempts": operation.attempts}
    if reason:
        detail["reason"] = reason
    audit.record(
        session,
        entity="operation",
        entity_id=operation.id,
        from_state=from_state,
        to_state=to_state,
        actor=actor,
        at=now,
        **detail,
    )
