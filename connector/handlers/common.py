"""Steps several handlers share: loading what an operation is about, recording what ESET says."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from connector import licenses, outbox
from connector.clients.eset import EsetLicense, LicenseType
from connector.errors import PermanentError
from connector.handlers.base import Apply, HandlerContext, OperationInput
from connector.models import License, Reseller

UPDATE_SUBSCRIPTION = "update_subscription"


def reseller_of(op: OperationInput, ctx: HandlerContext) -> Reseller:
    """Return the subscribed reseller an operation belongs to."""
    with ctx.read() as session:
        reseller = session.get(Reseller, op.reseller_account_id)
    if reseller is None or reseller.eset_partner_id is None:
        raise PermanentError('The reseller has not added "ESET Partner Status" yet.')
    return reseller


def license_of(op: OperationInput, ctx: HandlerContext) -> License:
    """Return the license an operation is about, as the connector last recorded it."""
    with ctx.read() as session:
        license = licenses.of_reseller(
            session, op.reseller_account_id, op.subscription_account_id or ""
        )
    if license is None or license.public_license_key is None:
        raise PermanentError("The connector holds no ESET license for this subscription.")
    return license


def license_type_of(eset: EsetLicense) -> str:
    """Return the contract's FULL or TRIAL for an ESET license type."""
    return "TRIAL" if eset.license_type == LicenseType.TRIAL else "FULL"


def record_eset(license: License, eset: EsetLicense, *, now: datetime) -> None:
    """Copy what ESET says about a license onto the connector's record."""
    license.public_license_key = eset.public_license_key
    license.license_key = eset.license_key
    license.eset_customer_id = eset.customer_id or license.eset_customer_id
    license.product = eset.product_code
    license.product_name = eset.product_name
    license.seats = eset.quantity
    license.license_type = license_type_of(eset)
    license.eset_state = eset.state
    license.start_date = eset.start_date or license.start_date
    license.expiry_date = eset.expiration_date
    license.updated_at = now


def record_price(license: License, price: Mapping[str, Any] | None) -> None:
    """Remember the last price the reseller was invoiced for this license."""
    if price is None:
        return
    license.last_price = dict(price)
    license.last_invoice_price = price["invoicePrice"]
    license.currency = price["currency"]


def out_arguments(eset: EsetLicense, price: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return the contract's outArguments for CREATE, MODIFY and CHANGE_PLAN."""
    return {
        "PublicLicenseKey": eset.public_license_key,
        "LicenseKey": eset.license_key,
        "Product": eset.product_code,
        "Seats": eset.quantity,
        "LicenseType": license_type_of(eset),
        "StartDate": eset.start_date,
        "ExpiryDate": eset.expiration_date,
        "InvoicePrice": price["invoicePrice"] if price else "0.00",
        "Currency": price["currency"] if price else "EUR",
    }


def subscription_fields(license: License, today: date) -> dict[str, str]:
    """Return the fields pushed to the marketplace subscription (marketplace.md §8)."""
    return {
        "PublicLicenseKey": license.public_license_key or "",
        "Product": license.product,
        "Seats": str(license.seats),
        "LicenseType": license.license_type,
        "LicenseState": licenses.state_of(license, today),
        "StartDate": license.start_date.isoformat(),
        "ExpiryDate": license.expiry_date.isoformat(),
    }


def push_state(session: Session, license: License, *, operation_id: str, now: datetime) -> None:
    """Queue an UpdateSubscription push of the license's state, in the caller's transaction."""
    body = {
        "AccountId": license.subscription_account_id,
        "Fields": subscription_fields(license, now.date()),
    }
    outbox.enqueue(
        session,
        kind=UPDATE_SUBSCRIPTION,
        dedupe_key=f"{UPDATE_SUBSCRIPTION}:{license.subscription_account_id}:{operation_id}",
        target=license.subscription_account_id,
        body=json.dumps(body, separators=(",", ":")),
        now=now,
        operation_id=operation_id,
        reseller_account_id=license.reseller_account_id,
    )


def recorder(
    op: OperationInput,
    ctx: HandlerContext,
    eset: EsetLicense,
    *,
    cancel: bool = False,
    with_price: bool = True,
) -> Apply:
    """Return the step that records ESET's answer on the license and queues the state push."""
    now = ctx.clock.now()

    def apply(session: Session) -> None:
        license = licenses.of_reseller(
            session, op.reseller_account_id, op.subscription_account_id or ""
        )
        if license is None:
            raise PermanentError("The license disappeared while the operation ran.")
        record_eset(license, eset, now=now)
        if with_price:
            record_price(license, op.price)
        if cancel:
            license.cancelled_at = license.cancelled_at or now
        push_state(session, license, operation_id=op.operation_id, now=now)

    return apply
