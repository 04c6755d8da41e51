"""SUSPEND, RESUME and DELETE: the license's state at ESET follows the subscription's."""

from __future__ import annotations

from connector import licenses
from connector.clients.errors import NotSuspended
from connector.domain.facts import CANCELLED
from connector.handlers.base import Done, HandlerContext, OperationInput, Result
from connector.handlers.common import license_of, recorder


def suspend(op: OperationInput, ctx: HandlerContext) -> Result:
    """Suspend the license at ESET (e.g. an unpaid invoice)."""
    license = license_of(op, ctx)
    eset = ctx.eset.suspend(license.public_license_key)
    state = licenses.state_from(eset.state, eset.expiration_date, ctx.clock.today())
    return Done({"State": state}, recorder(op, ctx, eset))


def resume(op: OperationInput, ctx: HandlerContext) -> Result:
    """Reactivate a suspended license at ESET; one that is not suspended stays as it is."""
    license = license_of(op, ctx)
    try:
        eset = ctx.eset.unsuspend(license.public_license_key)
    except NotSuspended:
        eset = ctx.eset.license_detail(license.public_license_key)
    state = licenses.state_from(eset.state, eset.expiration_date, ctx.clock.today())
    return Done({"State": state}, recorder(op, ctx, eset))


def delete(op: OperationInput, ctx: HandlerContext) -> Result:
    """End the subscription: remove a trial at ESET, suspend a full license (ESET keeps it)."""
    license = license_of(op, ctx)
    key = license.public_license_key
    eset = ctx.eset.remove(key) if license.license_type == "TRIAL" else ctx.eset.suspend(key)
    return Done({"State": CANCELLED}, recorder(op, ctx, eset, cancel=True))
