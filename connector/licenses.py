"""Licenses as the connector keeps them: their state, their facts for the rules, their lookups."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from connector.domain.facts import ACTIVE, CANCELLED, EXPIRED, SUSPENDED, LicenseFacts
from connector.models import License

# ESET's license states (eset.md): 0 Error, 1 Normal, 2 Obsolete, 3 Suspended, 4 Warning.
ESET_SUSPENDED = 3
ESET_OBSOLETE = 2


def state_of(license: License, today: date) -> str:
    """Return the state the marketplace sees: Active, Suspended, Expired or Cancelled."""
    if license.cancelled_at is not None or license.eset_state == ESET_OBSOLETE:
        return CANCELLED
    if license.expiry_date < today:
        return EXPIRED
    return SUSPENDED if license.eset_state == ESET_SUSPENDED else ACTIVE


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
