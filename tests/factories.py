"""Rows for the read side's tests, written straight through the models."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from connector.models import License, Operation, Reseller
from tests.support import START

TODAY = START.date()


def reseller(account_id: str, *, subscribed: bool = True, **overrides: Any) -> Reseller:
    """Return a reseller, subscribed as an ESET Gold partner unless told otherwise."""
    values: dict[str, Any] = {
        "account_id": account_id,
        "company_name": f"Reseller {account_id} GmbH",
        "also_partner_id": f"DE-{account_id}",
        "country": "DE",
        "email": f"licenses@{account_id}.example",
        "eset_partner_id": f"P-{account_id}",
        "level": "Gold",
        "margin_percent": Decimal("20"),
        "subscribed_at": START if subscribed else None,
    }
    return Reseller(**(values | overrides))


def license(
    reseller_account_id: str,
    subscription_account_id: str,
    *,
    expires_in_days: int = 200,
    **overrides: Any,
) -> License:
    """Return an active full license of ESET PROTECT Advanced expiring ``expires_in_days`` on."""
    expiry = TODAY + timedelta(days=expires_in_days)
    values: dict[str, Any] = {
        "subscription_account_id": subscription_account_id,
        "reseller_account_id": reseller_account_id,
        "public_license_key": f"PLK-{subscription_account_id}",
        "license_key": f"KEY-{subscription_account_id}",
        "product": "PROTECT_ADVANCED",
        "product_name": "ESET PROTECT Advanced",
        "seats": 25,
        "license_type": "FULL",
        "eset_state": 1,
        "start_date": expiry - timedelta(days=365),
        "expiry_date": expiry,
        "customer_company": f"Customer of {subscription_account_id} AG",
        "customer_key": f"customer of {subscription_account_id} ag",
        "customer_contact": "Erika Mustermann",
        "customer_email": "it@customer.example",
        "customer_country": "DE",
        "customer_vat_id": None,
        "last_invoice_price": Decimal("998.40"),
        "currency": "EUR",
    }
    return License(**(values | overrides))


def operation(
    reseller_account_id: str,
    subscription_account_id: str,
    *,
    request_id: str,
    action: str = "MODIFY",
    created_at: datetime = START,
    **overrides: Any,
) -> Operation:
    """Return a completed operation on a license."""
    values: dict[str, Any] = {
        "source": "marketplace",
        "request_id": request_id,
        "action": action,
        "reseller_account_id": reseller_account_id,
        "subscription_account_id": subscription_account_id,
        "body_fingerprint": "0" * 64,
        "payload": {},
        "status": "Completed",
        "created_at": created_at,
        "updated_at": created_at,
        "next_attempt_at": created_at,
    }
    return Operation(**(values | overrides))


def add(session: Session, *rows: Any) -> None:
    """Store rows, resellers first so that licenses find their owner."""
    session.add_all([row for row in rows if isinstance(row, Reseller)])
    session.flush()
    session.add_all([row for row in rows if not isinstance(row, Reseller)])
