"""SUBSCRIBE: the reseller adds "ESET Partner Status"."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from connector.domain.pricing import money_text
from connector.handlers.base import Done, HandlerContext, OperationInput, Result
from connector.models import Reseller


def handle(op: OperationInput, ctx: HandlerContext) -> Result:
    """Link the reseller to its ESET partner, or register it as a new one, and keep its level."""
    partner_id, level = _eset_partner(op, ctx)
    margin = ctx.manifest.catalog.partner(level).margin_percent
    now = ctx.clock.now()

    def apply(session: Session) -> None:
        reseller = session.get(Reseller, op.reseller_account_id) or _new_reseller(op, now)
        session.add(reseller)
        reseller.company_name = op.reseller.get("companyName") or reseller.company_name
        reseller.also_partner_id = op.reseller.get("alsoPartnerId") or reseller.also_partner_id
        reseller.country = op.reseller.get("country") or reseller.country
        reseller.email = op.reseller.get("email") or reseller.email
        reseller.eset_partner_id = partner_id
        reseller.level = level
        reseller.margin_percent = margin
        reseller.subscribed_at = reseller.subscribed_at or now
        reseller.updated_at = now

    arguments = {
        "EsetPartnerId": partner_id,
        "PartnerLevel": level,
        "MarginPercent": money_text(margin),
    }
    return Done(arguments, apply)


def _eset_partner(op: OperationInput, ctx: HandlerContext) -> tuple[str, str]:
    partner_id = op.reseller.get("esetPartnerId") or _linked_partner(op, ctx)
    if partner_id:
        partner = ctx.eset.partner_detail(partner_id)
        return partner.partner_id, partner.level
    registered = ctx.eset.register_partner(
        name=op.reseller["companyName"],
        country=op.reseller["country"],
        email=op.reseller["email"],
        # One reseller, one partner: repeating the registration returns the same partner.
        distributor_reference=f"ALSO-{op.reseller_account_id}",
    )
    return registered.partner_id, registered.level


def _linked_partner(op: OperationInput, ctx: HandlerContext) -> str | None:
    # Subscribing again without a partner id keeps the partner the account already has.
    with ctx.read() as session:
        reseller = session.get(Reseller, op.reseller_account_id)
        return reseller.eset_partner_id if reseller else None


def _new_reseller(op: OperationInput, now: datetime) -> Reseller:
    return Reseller(
        account_id=op.reseller_account_id,
        company_name=op.reseller.get("companyName") or op.reseller_account_id,
        created_at=now,
    )
