"""What a handler receives and what it returns.

A handler is a function ``handle(op: OperationInput, ctx: HandlerContext) -> Result``. It reads
as the steps of its flow: it reads state through ``ctx.read()``, talks to ESET and the
marketplace through the clients on ``ctx``, and returns a result. The worker applies the
result (the handler's ``apply`` function, the operation's new status, the callback in the
outbox and the audit trail) in one transaction, so a crash before that commit leaves the
operation to be run again; every external call a handler makes must therefore be safe to
repeat (ESET orders carry the operation's ``orderReference``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from connector.clock import Clock
from connector.domain.manifest import Manifest
from connector.settings import Settings

Apply = Callable[[Session], None]


def order_reference(operation_id: str) -> str:
    """Return the ESET orderReference of an operation: the same on every run of it."""
    return f"ALSO-{operation_id}"


@dataclass(frozen=True)
class OperationInput:
    """The accepted request, as validated at intake."""

    operation_id: str
    request_id: str
    action: str
    reseller_account_id: str
    subscription_account_id: str | None
    reseller: Mapping[str, Any]
    fields: Mapping[str, Any]
    attempts: int
    created_at: datetime
    review_decision: str | None = None
    price: Mapping[str, Any] | None = None
    """The price the reseller was quoted at intake (``Price.as_json()``), if the action costs."""
    needs_review: bool = False

    @property
    def order_reference(self) -> str:
        """A reference for ESET that stays the same across every retry of this operation."""
        return order_reference(self.operation_id)


@dataclass(frozen=True)
class Done:
    """The operation succeeded; ``out_arguments`` go into the callback as strings."""

    out_arguments: Mapping[str, Any] = field(default_factory=dict)
    apply: Apply | None = None


@dataclass(frozen=True)
class Fail:
    """The operation cannot succeed; ``error_details`` is shown to a person."""

    error_details: str
    apply: Apply | None = None


@dataclass(frozen=True)
class Reschedule:
    """Try again after ``delay_seconds`` (a maintenance window, a rate limit)."""

    reason: str
    delay_seconds: float | None = None
    unsettled: bool = False
    """The remote side may have acted already (an order whose outcome is unknown): keep trying
    for ``UNSETTLED_DAYS`` rather than a number of attempts, since giving up would call an
    order Failed that ESET may have placed."""


@dataclass(frozen=True)
class AwaitReview:
    """Hold the operation until an admin approves or rejects it."""

    reason: str


Result = Done | Fail | Reschedule | AwaitReview


class HandlerContext(Protocol):
    settings: Settings
    clock: Clock
    eset: Any
    marketplace: Any
    manifest: Manifest

    def read(self) -> AbstractContextManager[Session]: ...

    def write(self) -> AbstractContextManager[Session]: ...


Handler = Callable[[OperationInput, HandlerContext], Result]
