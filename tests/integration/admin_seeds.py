"""Operations and resellers in the states the admin tests start from."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from connector import operations
from connector.handlers.base import AwaitReview, Fail, Handler, Result
from connector.models import Operation, OutboxMessage, Reseller
from connector.runtime import Runtime
from connector.worker import Worker
from tests.support import ADMIN_TOKEN, START, event

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def accepted(
    runtime: Runtime,
    request_id: str = "req-1",
    *,
    action: str = "CREATE",
    reseller: str = "4711",
    subscription: str | None = "99001",
) -> str:
    """Store a pending operation as the intake would, past its checks, and return its id."""
    body = event(action, request_id)
    body["reseller"]["accountId"] = reseller
    if subscription is not None:
        body["subscription"] = {"accountId": subscription}
    with runtime.sessions.begin() as session:
        return operations.accept(
            session,
            request_id=request_id,
            action=action,
            reseller_account_id=reseller,
            subscription_account_id=subscription,
            body_fingerprint=operations.fingerprint(body),
            payload=body,
            callback_url=body["callbackUrl"],
            now=runtime.clock.now(),
        )


def run_once(runtime: Runtime, handler: Handler) -> None:
    """Let a worker run the next due operation, whatever its action, with ``handler``."""
    handlers = dict.fromkeys(("CREATE", "MODIFY", "SYNC"), handler)
    assert Worker(runtime, handlers=handlers, senders={}).run_next_operation()


def answer(result: Result) -> Handler:
    """Return a handler that always answers ``result``."""
    return lambda op, ctx: result


def awaiting_review(runtime: Runtime, request_id: str = "req-1", **seed: Any) -> str:
    """Return an operation the worker held for proof review."""
    operation_id = accepted(runtime, request_id, **seed)
    run_once(runtime, answer(AwaitReview("GOV discount needs its proof checked.")))
    return operation_id


def failed(runtime: Runtime, request_id: str = "req-1", **seed: Any) -> str:
    """Return an operation the worker failed."""
    operation_id = accepted(runtime, request_id, **seed)
    run_once(runtime, answer(Fail("ESET refused the order.")))
    return operation_id


def stored(runtime: Runtime, operation_id: str) -> Operation:
    with runtime.sessions() as session:
        found = session.get(Operation, operation_id)
        assert found is not None
        return found


def callbacks(runtime: Runtime) -> list[dict[str, Any]]:
    with runtime.sessions() as session:
        messages = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    return [json.loads(message.body) for message in messages if message.kind == "callback"]


def syncs(runtime: Runtime) -> list[Operation]:
    with runtime.sessions() as session:
        query = select(Operation).where(Operation.action == "SYNC")
        return list(session.scalars(query.order_by(Operation.reseller_account_id)))


def add_resellers(runtime: Runtime, *subscribed: str, unsubscribed: tuple[str, ...] = ()) -> None:
    """Store resellers, most of them subscribed to ESET Partner Status."""
    with runtime.sessions.begin() as session:
        for account_id in (*subscribed, *unsubscribed):
            session.add(
                Reseller(
                    account_id=account_id,
                    company_name=f"Reseller {account_id} GmbH",
                    subscribed_at=START if account_id in subscribed else None,
                )
            )
