"""Adapters for the two systems the connector talks to: ESET and the marketplace."""

from connector.clients.eset import (
    EsetClient,
    EsetCustomer,
    EsetLicense,
    EsetOrder,
    LicenseState,
    LicenseType,
    Partner,
    RegisteredPartner,
)
from connector.clients.marketplace import ImportResult, MarketplaceClient

__all__ = [
    "EsetClient",
    "EsetCustomer",
    "EsetLicense",
    "EsetOrder",
    "ImportResult",
    "LicenseState",
    "LicenseType",
    "MarketplaceClient",
    "Partner",
    "RegisteredPartner",
]
