"""CHANGE_PLAN: "Product Change" — another product, optionally more seats and a renewal."""

from __future__ import annotations

from connector.handlers.base import Done, HandlerContext, OperationInput, Result
from connector.handlers.common import license_of, out_arguments, recorder


def handle(op: OperationInput, ctx: HandlerContext) -> Result:
    """Change the product (and seats) at ESET, then renew when asked; each call exactly once."""
    license = license_of(op, ctx)
    product, seats, months = (op.fields[k] for k in ("Product", "Seats", "RenewTermMonths"))
    # Two ordering calls, so two references: each stays the same on every retry.
    eset = ctx.eset.change_product(
        order_reference=f"{op.order_reference}-change",
        public_license_key=license.public_license_key,
        new_product_code=product,
        quantity=seats,
    )
    if months:
        eset = ctx.eset.renew_license(
            order_reference=f"{op.order_reference}-renew",
            public_license_key=license.public_license_key,
            term_months=months,
            quantity=seats,
        )
    return Done(out_arguments(eset, op.price), recorder(op, ctx, eset))
