"""MODIFY: "Renewal and License Extension" — more or fewer seats, a new term, or both."""

from __future__ import annotations

from connector.handlers.base import Done, HandlerContext, OperationInput, Result
from connector.handlers.common import license_of, out_arguments, recorder


def handle(op: OperationInput, ctx: HandlerContext) -> Result:
    """Renew (with the new seat count) or change the seats now; a renewed trial becomes full."""
    license = license_of(op, ctx)
    seats, months = op.fields["Seats"], op.fields["RenewTermMonths"]
    if months:
        eset = ctx.eset.renew_license(
            order_reference=op.order_reference,
            public_license_key=license.public_license_key,
            term_months=months,
            quantity=seats,
        )
    else:
        eset = ctx.eset.update_quantity(
            order_reference=op.order_reference,
            public_license_key=license.public_license_key,
            quantity=seats,
        )
    return Done(out_arguments(eset, op.price), recorder(op, ctx, eset))
