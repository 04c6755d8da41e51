"""Licenses as the connector keeps them: their state, their facts for the rules, their lookups."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from connector.domain.facts import ACTIVE, CANCELLED, EXPIRED, SUSPENDED, LicenseFacts
from connector.models import License

# ESET's license states (eset.md): 0 Error, 1 Normal, 2 Obsolete, 3 Suspended, 4 Warning.
ESET_SUSPENDED = 3
ESET_OBSOLETE = 2


def state_of(license: License, today: date) -> str:
    """Return the state the marketplace sees: Active, Suspended, Expired or Cancelled."""
    return state_from(
        license.eset_state, license.expiry_date, today, cancelled=license.cancelled_at is not None
    )


def state_from(eset_state: int, expiry: date, today: date, *, cancelled: bool = False) -> str:
    """Derive the marketplace state from ESET's state, the expiry and a deleted subscription."""
    if cancelled or eset_state == ESET_OBSOLETE:
        return CANCELLED
    if expiry < today:
        return EXPIRED
    return SUSPENDED if eset_state == ESET_SUSPENDED else ACTIVE


def facts_of(license: License, today: date) -> LicenseFacts:
    """Return what the business rules need to know about a license."""
    return LicenseFacts(
        product=license.product,
        seats=license.seats,
        license_type=license.license_type,
        state=state_of(license, today),
        start_date=license.start_date,
        expiry_date=license.expiry_date,
        discount_category=license.discount_category,
    )


def customer_key(company: str) -> str:
    """Return a company name with case and spacing ignored, as the one-trial rule compares it."""
    return " ".join(company.split()).casefold()


def of_reseller(
    session: Session, reseller_account_id: str, subscription_account_id: str
) -> License | None:
    """Return a reseller's license; another reseller's is as good as unknown."""
    license = session.get(License, subscription_account_id)
    if license is None or license.reseller_account_id != reseller_account_id:
        return None
    return license


def mark_pushed(
    session: Session, subscription_account_id: str, fields: dict[str, str], at: datetime
) -> None:
    """Remember what the marketplace last accepted for a license (the last answer wins)."""
    license = session.get(License, subscription_account_id, with_for_update=True)
    if license is None or (license.pushed_at and license.pushed_at > at):
        return
    # A plain UPDATE that leaves updated_at alone: a push changes nothing about the license,
    # and SYNC reads updated_at to tell whether someone changed the license after it read ESET.
    session.execute(
        update(License)
        .where(License.subscription_account_id == subscription_account_id)
        .values(pushed_fields=fields, pushed_at=at, updated_at=License.updated_at)
    )
