"""The life of an operation: accepted, claimed by a worker, finished once, answered by callback.

Every function works inside the caller's transaction; the entry points (the intake, the worker,
the admin API) own the transactions.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector import audit, outbox
from connector.errors import ConnectorError
from connector.handlers.base import AwaitReview, Done, Fail, OperationInput, Reschedule, Result
from connector.models import (
    Base,
    License,
    Operation,
    OperationStatus,
    OutboxMessage,
    Reseller,
    new_id,
)
from connector.wakeup import announce

MARKETPLACE = "marketplace"
MAX_ATTEMPTS = 12
UNSETTLED_DAYS = 3
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
    fields: Mapping[str, Any] | None = None,
    price: Mapping[str, Any] | None = None,
    needs_review: bool = False,
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
            "fields": dict(fields) if fields is not None else None,
            "price": dict(price) if price is not None else None,
            "needs_review": needs_review,
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
        fields=operation.fields if operation.fields is not None else payload.get("fields") or {},
        price=operation.price,
        needs_review=operation.needs_review,
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
        case Reschedule(reason=reason, delay_seconds=delay, unsettled=unsettled):
            _reschedule(session, operation, reason, delay, unsettled, owner=owner, now=now, rng=rng)
    return operation


def _reschedule(
    session: Session,
    operation: Operation,
    reason: str,
    delay: float | None,
    unsettled: bool,
    *,
    owner: str,
    now: datetime,
    rng: random.Random,
) -> None:
    if _gives_up(operation, unsettled, now):
        details = f"Gave up after {operation.attempts} attempts; the last one said: {reason}"
        fail(session, operation, details, actor=owner, now=now)
        return
    if delay is None:
        ceiling = min(MAX_RESCHEDULE_SECONDS, FIRST_RESCHEDULE_SECONDS * 2**operation.attempts)
        delay = ceiling / 2 + rng.random() * ceiling / 2
    operation.next_attempt_at = now + timedelta(seconds=delay)
    _audit(session, operation, operation.status, operation.status, owner, now, reason)


def _gives_up(operation: Operation, unsettled: bool, now: datetime) -> bool:
    if unsettled:  # an order ESET may have placed: never call it Failed too soon
        return now - operation.created_at >= timedelta(days=UNSETTLED_DAYS)
    return operation.attempts >= MAX_ATTEMPTS


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
            # One callback per ending: an operation that ends again after an operator's retry
            # sends its new outcome; the same ending is never queued twice.
            dedupe_key=f"callback:{operation.id}:{_endings(session, operation.id) + 1}",
            target=operation.callback_url,
            body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
            now=now,
            operation_id=operation.id,
            reseller_account_id=operation.reseller_account_id,
        )


def _endings(session: Session, operation_id: str) -> int:
    query = select(func.count()).where(
        OutboxMessage.operation_id == operation_id, OutboxMessage.kind == "callback"
    )
    return session.scalar(query) or 0


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


# -- admin: proof review, retry, the operations list, resync --------------------------------

ADMIN = "admin"
APPROVED = "approved"
REJECTED = "rejected"
REQUEST_ID_LENGTH = 100


class NotFound(ConnectorError):
    """The operation or reseller an operator named does not exist."""


class InvalidState(ConnectorError):
    """The operation cannot take this action in the status it is in."""


class LicenseBusy(InvalidState):
    """Another operation on the same license is still open."""


def approve(session: Session, operation_id: str, *, actor: str, now: datetime) -> Operation:
    """Let an operation that waits for proof review run."""
    operation = _awaiting_review(session, operation_id, "approved")
    operation.review_decision = APPROVED
    _reopen(operation, now)
    _audit(
        session,
        operation,
        OperationStatus.AWAITING_REVIEW,
        OperationStatus.PENDING,
        actor,
        now,
        "Approved in proof review.",
    )
    announce(session)
    return operation


def reject(
    session: Session, operation_id: str, reason: str, *, actor: str, now: datetime
) -> Operation:
    """Fail an operation that waits for proof review and queue the callback saying why."""
    operation = _awaiting_review(session, operation_id, "rejected")
    operation.review_decision = REJECTED
    operation.review_note = reason
    fail(session, operation, f"Rejected in proof review: {reason}", actor=actor, now=now)
    announce(session)  # the callback waits in the outbox
    return operation


def retry(session: Session, operation_id: str, *, actor: str, now: datetime) -> Operation:
    """Run a failed operation again under its own id, so ESET sees the same orderReference."""
    operation = _locked(session, operation_id)
    if operation.status != OperationStatus.FAILED:
        raise InvalidState(
            f"Only a Failed operation can be retried; operation {operation_id} is "
            f"{operation.status}."
        )
    _check_still_current(session, operation)
    try:
        # The open-operation index is the arbiter, also against an event arriving right now.
        with session.begin_nested():
            _reopen_failed(operation, now)
            session.flush()
    except IntegrityError:
        raise LicenseBusy(
            f"Another operation on license {operation.subscription_account_id} is still open; "
            f"retry operation {operation_id} once it has finished."
        ) from None
    _audit(
        session,
        operation,
        OperationStatus.FAILED,
        OperationStatus.PENDING,
        actor,
        now,
        "Retried by an operator.",
    )
    announce(session)
    return operation


def list_operations(
    session: Session,
    status: str | None = None,
    *,
    reseller_account_id: str | None = None,
    limit: int = 100,
) -> Sequence[Operation]:
    """Return operations newest first, optionally only one status or one reseller's."""
    query = select(Operation).order_by(Operation.created_at.desc(), Operation.id.desc())
    if status is not None:
        query = query.where(Operation.status == status)
    if reseller_account_id is not None:
        query = query.where(Operation.reseller_account_id == reseller_account_id)
    return session.scalars(query.limit(limit)).all()


def describe_for_admin(operation: Operation) -> dict[str, Any]:
    """Return the contract's view of an operation plus what an operator needs to act on it."""
    fields = operation.fields if operation.fields is not None else operation.payload.get("fields")
    return {
        **describe(operation),
        "source": operation.source,
        "resellerAccountId": operation.reseller_account_id,
        "subscriptionAccountId": operation.subscription_account_id,
        "attempts": operation.attempts,
        "reviewDecision": operation.review_decision,
        "reviewNote": operation.review_note,
        "fields": fields or {},
    }


def request_resync(session: Session, *, reseller_account_id: str | None, now: datetime) -> str:
    """Queue a SYNC for one subscribed reseller, or for every one; return the job's id."""
    job_id = new_id()
    for account_id in _resellers_to_sync(session, reseller_account_id):
        request_id = _resync_request_id(job_id, account_id)
        payload = {
            "requestId": request_id,
            "action": "SYNC",
            "occurredAt": iso(now),
            "callbackUrl": None,
            "reseller": {"accountId": account_id},
            "fields": {},
        }
        try:
            with session.begin_nested():
                accept(
                    session,
                    request_id=request_id,
                    action="SYNC",
                    reseller_account_id=account_id,
                    subscription_account_id=None,
                    body_fingerprint=fingerprint(payload),
                    payload=payload,
                    callback_url=None,
                    now=now,
                    source=ADMIN,
                )
        except IntegrityError:
            continue  # a sync of this reseller is already queued: it does the job
    announce(session)
    return job_id


def _check_still_current(session: Session, operation: Operation) -> None:
    """Refuse to rerun an operation that later ones on its license have overtaken."""
    subscription = operation.subscription_account_id
    if subscription is None:
        return
    newer = select(Operation.id).where(
        Operation.subscription_account_id == subscription,
        Operation.created_at > operation.created_at,
        Operation.id != operation.id,
    )
    if session.scalars(newer.limit(1)).first() is not None:
        raise InvalidState(
            f"A newer operation has run on license {subscription} since; rerunning this one "
            "would act on an outdated request. Send a new request instead."
        )
    if operation.action == "CREATE" and session.get(License, subscription) is not None:
        raise InvalidState(f"Subscription {subscription} already holds a license.")


def _locked(session: Session, operation_id: str) -> Operation:
    operation = session.get(Operation, operation_id, with_for_update=True)
    if operation is None:
        raise NotFound(f"There is no operation {operation_id}.")
    return operation


def _awaiting_review(session: Session, operation_id: str, decision: str) -> Operation:
    operation = _locked(session, operation_id)
    if operation.status != OperationStatus.AWAITING_REVIEW:
        raise InvalidState(
            f"Only an operation awaiting review can be {decision}; operation {operation_id} is "
            f"{operation.status}."
        )
    return operation


def _reopen(operation: Operation, now: datetime) -> None:
    operation.status = OperationStatus.PENDING
    operation.next_attempt_at = now
    operation.lease_owner = None
    operation.lease_expires_at = None
    operation.updated_at = now


def _reopen_failed(operation: Operation, now: datetime) -> None:
    operation.error_details = None
    operation.completed_at = None
    # A fresh allowance of attempts: an operation that gave up on a long outage gets a full
    # round of retries again, not a single one.
    operation.attempts = 0
    if operation.review_decision == REJECTED:
        # A retry is no way round a rejected proof: the proof is checked again.
        operation.review_decision = None
        operation.review_note = None
    _reopen(operation, now)


def _resellers_to_sync(session: Session, account_id: str | None) -> Sequence[str]:
    query = (
        select(Reseller.account_id)
        .where(Reseller.subscribed_at.is_not(None))
        .order_by(Reseller.account_id)
    )
    if account_id is not None:
        query = query.where(Reseller.account_id == account_id)
    found = session.scalars(query).all()
    if account_id is not None and not found:
        raise NotFound(f"There is no subscribed reseller {account_id}.")
    return found


def _resync_request_id(job_id: str, account_id: str) -> str:
    request_id = f"resync:{job_id}:{account_id}"
    if len(request_id) <= REQUEST_ID_LENGTH:
        return request_id
    # An account id may be as long as the whole column; a digest keeps the id unique and short.
    return f"resync:{job_id}:{hashlib.sha256(account_id.encode()).hexdigest()[:40]}"
