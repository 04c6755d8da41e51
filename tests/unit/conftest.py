"""Fixtures for the catalog, pricing and rules tests: the manifest the connector ships with."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from connector.domain.catalog import Catalog
from connector.domain.facts import LicenseFacts
from connector.domain.manifest import Manifest, load_manifest
from connector.settings import Settings


@pytest.fixture(scope="session")
def default_manifest() -> Manifest:
    return load_manifest(Settings().manifest_path)


@pytest.fixture(scope="session")
def default_catalog(default_manifest: Manifest) -> Catalog:
    return default_manifest.catalog


def _license(
    *,
    product: str = "PROTECT_ADVANCED",
    seats: int = 25,
    license_type: str = "FULL",
    state: str = "Active",
    expiry: date = date(2027, 3, 1),
    category: str = "NONE",
) -> LicenseFacts:
    """Return license facts with sensible defaults (a year-long term ending on ``expiry``)."""
    start = date(expiry.year - 1, expiry.month, min(expiry.day, 28))
    return LicenseFacts(product, seats, license_type, state, start, expiry, category)


MakeLicense = Callable[..., LicenseFacts]


@pytest.fixture(scope="session")
def make_license() -> MakeLicense:
    """Return a maker of license facts: ``make_license(seats=30, expiry=date(...))``."""
    return _license
