"""CHANGE_PLAN: "Product Change" — another product, optionally more seats and a renewal."""

from __future__ import annotations

from connector.errors import PermanentError
from connector.handlers.base import Done, Fail, HandlerContext, OperationInput, Result
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
        try:
            eset = ctx.eset.renew_license(
                order_reference=f"{op.order_reference}-renew",
                public_license_key=license.public_license_key,
                term_months=months,
                quantity=seats,
            )
        except PermanentError as error:
            # The product did change at ESET: record that, and say exactly what happened.
            details = (
                f"The license was changed to {eset.product_name} with {eset.quantity} seats at "
                f"ESET, but the renewal was refused: {error}"
            )
            return Fail(details, recorder(op, ctx, eset, with_price=False))
    return Done(out_arguments(eset, op.price), recorder(op, ctx, eset))
