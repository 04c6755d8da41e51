"""SYNC: "Sync Data" — attach the partner's existing ESET licenses to the marketplace account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector import licenses
from connector.clients.eset import EsetLicense
from connector.handlers.base import Done, HandlerContext, OperationInput, Result
from connector.handlers.common import push_state, record_eset, reseller_of, subscription_fields
from connector.models import License

SERVICE = "ESET Services"


@dataclass(frozen=True)
class _Found:
    eset: EsetLicense
    subscription_account_id: str
    known: bool


def handle(op: OperationInput, ctx: HandlerContext) -> Result:
    """Fetch the partner's licenses, create subscriptions for new ones, update known ones."""
    reseller = reseller_of(op, ctx)
    # PartnerDataNotReleased fails the operation with a message saying so, never "0 found".
    at_eset = list(ctx.eset.search_licenses(reseller.eset_partner_id))
    now = ctx.clock.now()
    known = _known(ctx, op.reseller_account_id, at_eset, now)
    taken = _taken_elsewhere(ctx, op.reseller_account_id, at_eset)
    new = [eset for eset in at_eset if eset.public_license_key not in known.keys() | taken]
    changed = [
        _Found(eset, known[eset.public_license_key][0], known=True)
        for eset in at_eset
        if eset.public_license_key in known
        and known[eset.public_license_key][1] != _fields_of(eset, now)
    ]
    created = [_Found(eset, _create_subscription(op, ctx, eset, now), known=False) for eset in new]

    def apply(session: Session) -> None:
        for item in created + changed:
            _record(session, op, item, now)

    arguments = {
        "LicensesFound": len(at_eset),
        "LicensesCreated": len(created),
        "LicensesUpdated": len(changed),
    }
    return Done(arguments, apply)


def _known(
    ctx: HandlerContext, reseller_id: str, at_eset: list[EsetLicense], now: datetime
) -> dict[str, tuple[str, dict[str, str]]]:
    keys = [eset.public_license_key for eset in at_eset]
    with ctx.read() as session:
        query = select(License).where(
            License.reseller_account_id == reseller_id, License.public_license_key.in_(keys)
        )
        return {
            str(license.public_license_key): (
                license.subscription_account_id,
                subscription_fields(license, now.date()),
            )
            for license in session.scalars(query)
        }


def _taken_elsewhere(ctx: HandlerContext, reseller_id: str, at_eset: list[EsetLicense]) -> set[str]:
    # A key already held by another marketplace account stays with it.
    keys = [eset.public_license_key for eset in at_eset]
    with ctx.read() as session:
        query = select(License.public_license_key).where(
            License.reseller_account_id != reseller_id, License.public_license_key.in_(keys)
        )
        return {str(key) for key in session.scalars(query)}


def _create_subscription(
    op: OperationInput, ctx: HandlerContext, eset: EsetLicense, now: datetime
) -> str:
    account: str = ctx.marketplace.create_subscription(
        op.reseller_account_id, SERVICE, _fields_of(eset, now)
    )
    return account


def _fields_of(eset: EsetLicense, now: datetime) -> dict[str, str]:
    draft = License(
        subscription_account_id="",
        product=eset.product_code,
        seats=eset.quantity,
        eset_state=eset.state,
        start_date=eset.start_date or now.date(),
        expiry_date=eset.expiration_date,
    )
    record_eset(draft, eset, now=now)
    return subscription_fields(draft, now.date())


def _record(session: Session, op: OperationInput, item: _Found, now: datetime) -> None:
    license = session.get(License, item.subscription_account_id)
    if license is None:
        session.add(_new_license(op, item, now))
        return
    record_eset(license, item.eset, now=now)
    push_state(session, license, operation_id=op.operation_id, now=now)


def _new_license(op: OperationInput, item: _Found, now: datetime) -> License:
    customer = item.eset.customer
    company = customer.name if customer else ""
    license = License(
        subscription_account_id=item.subscription_account_id,
        reseller_account_id=op.reseller_account_id,
        origin="sync",
        discount_category="NONE",
        crossgrade=False,
        customer_company=company,
        customer_key=licenses.customer_key(company),
        customer_email=customer.email if customer else None,
        customer_country=(customer.country or "") if customer else "",
        customer_vat_id=customer.vat_id if customer else None,
        created_at=now,
    )
    record_eset(license, item.eset, now=now)
    return license
