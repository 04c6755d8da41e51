"""Sync Data: a partner's existing ESET licenses join the marketplace account, once."""

from __future__ import annotations

from sqlalchemy import func, select

from connector.models import License
from tests.e2e.conftest import Shop, arguments


def license_count(shop: Shop) -> int:
    with shop.runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(License)) or 0


def test_sync_attaches_every_eset_license_once(shop: Shop) -> None:
    shop.subscribe()
    first = arguments(shop.run("SYNC", "sync-1"))
    assert first == {"LicensesFound": "12", "LicensesCreated": "12", "LicensesUpdated": "0"}
    created = [p for p in shop.marketplace.pushes if p["method"] == "CreateSubscription"]
    assert len(created) == 12
    assert license_count(shop) == 12

    again = arguments(shop.run("SYNC", "sync-2"))
    assert again == {"LicensesFound": "12", "LicensesCreated": "0", "LicensesUpdated": "0"}
    assert len([p for p in shop.marketplace.pushes if p["method"] == "CreateSubscription"]) == 12


def test_sync_reports_licenses_changed_outside_the_marketplace(shop: Shop) -> None:
    shop.subscribe()
    arguments(shop.run("SYNC", "sync-1"))
    changed = next(iter(shop.eset.world.licenses.values()))
    changed.quantity += 5
    answer = arguments(shop.run("SYNC", "sync-2"))
    assert answer["LicensesUpdated"] == "1"
    with shop.runtime.sessions() as session:
        stored = session.scalars(
            select(License).where(License.public_license_key == changed.public_license_key)
        ).one()
    assert stored.seats == changed.quantity
    assert stored.origin == "sync"


def test_sync_for_a_partner_whose_data_is_not_released_says_so(shop: Shop) -> None:
    shop.subscribe(esetPartnerId="P-5550001")
    callback = shop.run("SYNC", "sync")
    assert callback["status"] == "Failed"
    assert "released" in callback["errorDetails"]
    assert license_count(shop) == 0


def test_synced_licenses_include_the_end_customer(shop: Shop) -> None:
    shop.subscribe()
    shop.run("SYNC", "sync")
    with shop.runtime.sessions() as session:
        licenses = session.scalars(select(License)).all()
    assert all(license.customer_company for license in licenses)
    assert all(len(license.customer_country) == 2 for license in licenses)
