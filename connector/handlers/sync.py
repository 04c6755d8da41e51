"""SYNC: "Sync Data" — attach the partner's existing ESET licenses to the marketplace account."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector import licenses
from connector.clients.errors import MarketplaceFault, MarketplaceRejected, MarketplaceUnavailable
from connector.clients.eset import EsetLicense
from connector.handlers.base import (
    Done,
    HandlerContext,
    OperationInput,
    Result,
    order_reference,
)
from connector.handlers.common import push_state, record_eset, reseller_of, subscription_fields
from connector.models import License, Operation, OperationStatus, SubscriptionClaim

SERVICE = "ESET Services"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Known:
    subscription_account_id: str
    fields: dict[str, str]
    cancelled: bool


def handle(op: OperationInput, ctx: HandlerContext) -> Result:
    """Fetch the partner's licenses, create subscriptions for new ones, update known ones."""
    reseller = reseller_of(op, ctx)
    read_at = ctx.clock.now()
    # PartnerDataNotReleased fails the operation with a message saying so, never "0 found".
    at_eset = list(ctx.eset.search_licenses(reseller.eset_partner_id))
    # In this order: an order still open now is skipped; one that finished before this
    # point has recorded its license, which the next read sees.
    in_flight = _in_flight(ctx, op)
    known = _known(ctx, op.reseller_account_id, at_eset, read_at)
    skip = _taken_elsewhere(ctx, op.reseller_account_id, at_eset) | in_flight
    for eset in at_eset:
        if eset.public_license_key not in known.keys() | skip:
            _attach(op, ctx, eset, read_at)
    changed = [
        (known[eset.public_license_key].subscription_account_id, eset)
        for eset in at_eset
        if eset.public_license_key in known
        and known[eset.public_license_key].fields
        != _fields_of(eset, read_at, cancelled=known[eset.public_license_key].cancelled)
    ]

    def apply(session: Session) -> None:
        for subscription_account_id, eset in changed:
            _update(session, op, subscription_account_id, eset, read_at)

    arguments = {
        "LicensesFound": len(at_eset),
        "LicensesCreated": _created_by(op, ctx),
        "LicensesUpdated": len(changed),
    }
    return Done(arguments, apply)


def _attach(op: OperationInput, ctx: HandlerContext, eset: EsetLicense, now: datetime) -> None:
    key = eset.public_license_key
    with ctx.read() as session:
        if _recorded(session, key):
            return  # recorded a moment ago (an order finishing): nothing to create
    if not _claim(op, ctx, key, now):
        log.warning("license %s: an earlier CreateSubscription may have created it; left", key)
        return
    fields = _fields_of(eset, now)
    try:
        account: str = ctx.marketplace.create_subscription(op.reseller_account_id, SERVICE, fields)
    except (MarketplaceFault, MarketplaceRejected):
        _release(ctx, key)  # refused outright: nothing was created
        raise
    except MarketplaceUnavailable as error:
        if error.unsent:
            _release(ctx, key)
        raise
    # Recorded at once, not with the result: a rerun of this SYNC (after a crash or a
    # transient error further on) must find it known and never create it a second time.
    with ctx.write() as session:
        license = _new_license(op, account, eset, now)
        license.pushed_fields, license.pushed_at = fields, now  # CreateSubscription carried them
        session.add(license)
        claim = session.get(SubscriptionClaim, key)
        if claim is not None:
            claim.subscription_account_id = account


def _created_by(op: OperationInput, ctx: HandlerContext) -> int:
    """Count the subscriptions this operation created, over all its attempts."""
    with ctx.read() as session:
        query = select(func.count()).where(
            SubscriptionClaim.operation_id == op.operation_id,
            SubscriptionClaim.subscription_account_id.is_not(None),
        )
        return session.scalar(query) or 0


def _claim(op: OperationInput, ctx: HandlerContext, key: str, now: datetime) -> bool:
    """Claim a license before creating its subscription; False if it was claimed before."""
    claim = SubscriptionClaim(
        public_license_key=key,
        reseller_account_id=op.reseller_account_id,
        operation_id=op.operation_id,
        claimed_at=now,
    )
    try:
        with ctx.write() as session:
            session.add(claim)
    except IntegrityError:
        return False
    return True


def _release(ctx: HandlerContext, key: str) -> None:
    with ctx.write() as session:
        session.execute(
            delete(SubscriptionClaim).where(SubscriptionClaim.public_license_key == key)
        )


def _recorded(session: Session, public_license_key: str) -> bool:
    query = select(License.subscription_account_id).where(
        License.public_license_key == public_license_key
    )
    return session.scalars(query).first() is not None


def _known(
    ctx: HandlerContext, reseller_id: str, at_eset: list[EsetLicense], now: datetime
) -> dict[str, _Known]:
    keys = [eset.public_license_key for eset in at_eset]
    with ctx.read() as session:
        query = select(License).where(
            License.reseller_account_id == reseller_id, License.public_license_key.in_(keys)
        )
        return {
            str(license.public_license_key): _Known(
                license.subscription_account_id,
                subscription_fields(license, now.date()),
                license.cancelled_at is not None,
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


def _in_flight(ctx: HandlerContext, op: OperationInput) -> set[str]:
    """Return keys ESET issued for this reseller's orders that are not recorded yet."""
    with ctx.read() as session:
        query = select(Operation.id).where(
            Operation.reseller_account_id == op.reseller_account_id,
            Operation.action == "CREATE",
            Operation.status == OperationStatus.PENDING,
        )
        open_orders = list(session.scalars(query))
    return {
        order.public_license_key
        for operation_id in open_orders
        for order in ctx.eset.search_orders(order_reference(operation_id))
        if order.public_license_key
    }


def _fields_of(eset: EsetLicense, now: datetime, *, cancelled: bool = False) -> dict[str, str]:
    draft = License(
        subscription_account_id="",
        product=eset.product_code,
        seats=eset.quantity,
        eset_state=eset.state,
        start_date=eset.start_date or now.date(),
        expiry_date=eset.expiration_date,
        cancelled_at=now if cancelled else None,
    )
    record_eset(draft, eset, now=now)
    return subscription_fields(draft, now.date())


def _update(
    session: Session,
    op: OperationInput,
    subscription_account_id: str,
    eset: EsetLicense,
    read_at: datetime,
) -> None:
    license = session.get(License, subscription_account_id)
    if license is None or license.updated_at > read_at:
        return  # changed by another operation since ESET was read: that one is newer
    record_eset(license, eset, now=read_at)
    push_state(session, license, operation_id=op.operation_id, now=read_at)


def _new_license(
    op: OperationInput, subscription_account_id: str, eset: EsetLicense, now: datetime
) -> License:
    customer = eset.customer
    company = customer.name if customer else ""
    license = License(
        subscription_account_id=subscription_account_id,
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
    record_eset(license, eset, now=now)
    return license
