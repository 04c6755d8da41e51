"""CREATE: "New Service → ESET Services", a new license or a trial."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from connector import licenses
from connector.clients.eset import EsetLicense, LicenseType
from connector.errors import PermanentError
from connector.handlers.base import AwaitReview, Done, HandlerContext, OperationInput, Result
from connector.handlers.common import (
    out_arguments,
    push_state,
    record_eset,
    record_price,
    reseller_of,
)
from connector.models import License, Reseller

NEEDS_PROOF = (
    "The order uses a discount category or a crossgrade and waits for an operator to check "
    "the eligibility proof."
)


def handle(op: OperationInput, ctx: HandlerContext) -> Result:
    """Create or reuse the end customer at ESET, order the license once, record it, push it."""
    if op.needs_review and ctx.settings.proof_review and op.review_decision != "approved":
        return AwaitReview(NEEDS_PROOF)
    reseller = reseller_of(op, ctx)
    fields = op.fields
    customer_id = _customer(op, ctx, reseller)
    trial = ctx.manifest.catalog.is_trial_term(fields["TermMonths"])
    eset = ctx.eset.order_license(
        order_reference=op.order_reference,
        partner_id=reseller.eset_partner_id,
        customer_id=customer_id,
        product_code=fields["Product"],
        quantity=fields["Seats"],
        license_type=LicenseType.TRIAL if trial else LicenseType.FULL,
        term_months=fields["TermMonths"],
        discount_category=fields.get("DiscountCategory") or "NONE",
        crossgrade=fields.get("LicenseType") == "CROSSGRADE",
        # ESET mails the license documents here within seconds.
        notify_emails=(notify_email(op, reseller),),
    )
    return Done(out_arguments(eset, op.price), _recorder(op, ctx, eset, customer_id))


def notify_email(op: OperationInput, reseller: Reseller | None) -> str | None:
    """Return where the license documents go: NotifyEmail, else the reseller's e-mail."""
    stored = reseller.email if reseller else None
    address: str | None = op.fields.get("NotifyEmail") or op.reseller.get("email") or stored
    return address


def _customer(op: OperationInput, ctx: HandlerContext, reseller: Reseller) -> str:
    fields = op.fields
    company = fields["CustomerCompany"]
    customer_id: str = ctx.eset.create_customer(
        reseller.eset_partner_id,
        name=company,
        email=fields["CustomerEmail"],
        country=fields["CustomerCountry"],
        vat_id=fields.get("CustomerVatId"),
        # The same customer of the same reseller is one ESET customer, however often ordered.
        custom_identifier=(
            f"{op.reseller_account_id}:{fields['CustomerCountry']}:{licenses.customer_key(company)}"
        )[:200],
    )
    return customer_id


def _recorder(op: OperationInput, ctx: HandlerContext, eset: EsetLicense, customer_id: str) -> Any:
    fields = op.fields
    now = ctx.clock.now()

    def apply(session: Session) -> None:
        license = session.get(License, op.subscription_account_id)
        if license is not None and license.public_license_key != eset.public_license_key:
            raise PermanentError(
                f"Subscription {op.subscription_account_id} already holds license "
                f"{license.public_license_key}; ESET's new license {eset.public_license_key} "
                "was not attached to it. An operator must settle this by hand."
            )
        if license is None:
            license = License(
                subscription_account_id=op.subscription_account_id,
                reseller_account_id=op.reseller_account_id,
                origin="order",
                created_at=now,
            )
            session.add(license)
        record_eset(license, eset, now=now)
        license.eset_customer_id = customer_id
        license.discount_category = fields.get("DiscountCategory") or "NONE"
        license.crossgrade = fields.get("LicenseType") == "CROSSGRADE"
        license.customer_company = fields["CustomerCompany"]
        license.customer_key = licenses.customer_key(fields["CustomerCompany"])
        license.customer_contact = fields["CustomerContact"]
        license.customer_email = fields["CustomerEmail"]
        license.customer_country = fields["CustomerCountry"]
        license.customer_vat_id = fields.get("CustomerVatId")
        license.notify_email = fields.get("NotifyEmail")
        license.eula_version = fields["EulaVersion"]
        license.eula_accepted_at = op.created_at
        license.eula_accepted_by = op.reseller_account_id
        record_price(license, op.price)
        session.flush()
        push_state(session, license, operation_id=op.operation_id, now=now)

    return apply
