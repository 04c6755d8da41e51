"""Drift: licenses on which ESET, the connector and the marketplace's last accepted push disagree.

ESET's licenses are read page by page, and each page is matched against the connector's records
in a short read of its own, so no database transaction stays open while ESET answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.clients.errors import EsetError
from connector.clients.eset import EsetLicense
from connector.domain.facts import ACTIVE, CANCELLED
from connector.licenses import state_from, state_of
from connector.models import License
from connector.pushes import SubscribedReseller

PAGE = 100
ATTRIBUTES = ("state", "seats", "expiryDate")
NO_PARTNER_ID = "The reseller has no ESET partner id, so ESET cannot be asked for its licenses."

View = dict[str, Any]
Read = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class Known:
    """A license as the connector holds it: its own view and the marketplace's last push."""

    reseller_account_id: str
    subscription_account_id: str
    public_license_key: str | None
    connector: View
    marketplace: View | None


@dataclass
class Drift:
    """Licenses that disagree, how many licenses were compared, and resellers that failed."""

    items: list[dict[str, Any]] = field(default_factory=list)
    checked: int = 0
    errors: list[dict[str, str | None]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """Return the admin API's view."""
        return {"items": self.items, "checked": self.checked, "errors": self.errors}


def check(
    read: Read, eset_client: Any, resellers: Iterable[SubscribedReseller], today: date
) -> Drift:
    """Compare every license of the resellers at ESET, in the connector and as last pushed."""
    drift = Drift()
    for reseller in resellers:
        try:
            items, checked = check_reseller(read, eset_client, reseller, today)
        except EsetError as error:
            # A reseller ESET will not show (data not released, unknown partner, ESET down)
            # must not hide the others' drift.
            drift.errors.append(_error(reseller, str(error)))
            continue
        drift.items += items
        drift.checked += checked
    return drift


def check_reseller(
    read: Read, eset_client: Any, reseller: SubscribedReseller, today: date
) -> tuple[list[dict[str, Any]], int]:
    """Return one reseller's disagreeing licenses and how many of its licenses were compared."""
    if reseller.eset_partner_id is None:
        raise EsetError(NO_PARTNER_ID)
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for page in _pages(eset_client.search_licenses(reseller.eset_partner_id)):
        with read() as session:
            known = known_by_key(session, [eset.public_license_key for eset in page], today)
        for eset in page:
            seen.add(eset.public_license_key)
            items += _present(compare(reseller.account_id, eset, known, today))
    with read() as session:
        unseen = list(unseen_at_eset(session, reseller.account_id, seen, today))
    items += [compare_unseen(license) for license in unseen]
    return items, len(seen) + len(unseen)


def known_by_key(session: Session, keys: list[str], today: date) -> dict[str, Known]:
    """Return the connector's licenses with these public license keys, by key."""
    query = select(License).where(License.public_license_key.in_(keys))
    return {str(lic.public_license_key): known_of(lic, today) for lic in session.scalars(query)}


def unseen_at_eset(
    session: Session, reseller_account_id: str, seen: set[str], today: date
) -> Iterator[Known]:
    """Yield the reseller's licenses that ESET did not list, but for cancelled ones."""
    # A deleted subscription's license may rightly be gone at ESET (a removed trial).
    query = select(License).where(
        License.reseller_account_id == reseller_account_id, License.cancelled_at.is_(None)
    )
    for license in session.scalars(query.execution_options(yield_per=500)):
        if license.public_license_key not in seen:
            yield known_of(license, today)


def known_of(license: License, today: date) -> Known:
    """Return the connector's view of a license and the view it last pushed."""
    return Known(
        reseller_account_id=license.reseller_account_id,
        subscription_account_id=license.subscription_account_id,
        public_license_key=license.public_license_key,
        connector={
            "state": state_of(license, today),
            "seats": license.seats,
            "expiryDate": license.expiry_date.isoformat(),
        },
        marketplace=pushed_view(license.pushed_fields),
    )


def pushed_view(fields: Mapping[str, str] | None) -> View | None:
    """Return the state, seats and expiry the marketplace last accepted; None if never pushed."""
    if fields is None:
        return None
    seats = fields.get("Seats")
    return {
        "state": fields.get("LicenseState"),
        "seats": int(seats) if seats is not None and seats.isdigit() else seats,
        "expiryDate": fields.get("ExpiryDate"),
    }


def eset_view(eset: EsetLicense, today: date) -> View:
    """Return ESET's state, seats and expiry of a license, in the marketplace's terms."""
    return {
        "state": state_from(eset.state, eset.expiration_date, today),
        "seats": eset.quantity,
        "expiryDate": eset.expiration_date.isoformat(),
    }


def compare(
    reseller_account_id: str, eset: EsetLicense, known: Mapping[str, Known], today: date
) -> dict[str, Any] | None:
    """Return the drift item of a license ESET listed, or None when every side agrees."""
    at_eset = eset_view(eset, today)
    held = known.get(eset.public_license_key)
    if held is None:
        return _item(reseller_account_id, None, eset.public_license_key, at_eset, None, None)
    item = _item(
        held.reseller_account_id,
        held.subscription_account_id,
        eset.public_license_key,
        at_eset,
        held.connector,
        held.marketplace,
    )
    return item if item["differences"] else None


def compare_unseen(known: Known) -> dict[str, Any]:
    """Return the drift item of a license the connector holds and ESET did not list."""
    return _item(
        known.reseller_account_id,
        known.subscription_account_id,
        known.public_license_key,
        None,
        known.connector,
        known.marketplace,
    )


def differences(eset: View | None, connector: View | None, marketplace: View | None) -> list[str]:
    """Name each side that has no record of the license, then each attribute in dispute."""
    # What the connector does not know it cannot have pushed: one gap, not two.
    sides = {"eset": eset, "connector": connector}
    if connector is not None:
        sides["marketplace"] = marketplace
    missing = [name for name, view in sides.items() if view is None]
    if eset is not None and connector is not None:
        eset = _as_expected(eset, connector)
    present = [view for view in (eset, connector, marketplace) if view is not None]
    disputed = [name for name in ATTRIBUTES if len({str(view[name]) for view in present}) > 1]
    return missing + disputed


def _as_expected(at_eset: View, connector: View) -> View:
    # ESET cannot delete a full license: a deleted subscription's license is suspended there
    # (or expires, or is removed for a trial). Only an active one contradicts "Cancelled".
    if connector["state"] == CANCELLED and at_eset["state"] != ACTIVE:
        return {**at_eset, "state": CANCELLED}
    return at_eset


def _item(
    reseller_account_id: str,
    subscription_account_id: str | None,
    public_license_key: str | None,
    eset: View | None,
    connector: View | None,
    marketplace: View | None,
) -> dict[str, Any]:
    return {
        "resellerAccountId": reseller_account_id,
        "subscriptionAccountId": subscription_account_id,
        "publicLicenseKey": public_license_key,
        "eset": eset,
        "connector": connector,
        "marketplace": marketplace,
        "differences": differences(eset, connector, marketplace),
    }


def _error(reseller: SubscribedReseller, message: str) -> dict[str, str | None]:
    return {
        "resellerAccountId": reseller.account_id,
        "esetPartnerId": reseller.eset_partner_id,
        "message": message,
    }


def _present(item: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [] if item is None else [item]


def _pages(licenses: Iterable[EsetLicense]) -> Iterator[list[EsetLicense]]:
    page: list[EsetLicense] = []
    for eset in licenses:
        page.append(eset)
        if len(page) == PAGE:
            yield page
            page = []
    if page:
        yield page
