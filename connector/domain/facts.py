"""What the rules need to know about an existing license and about the reseller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

FULL = "FULL"
TRIAL = "TRIAL"
LICENSE_TYPES = (FULL, TRIAL)

ACTIVE = "Active"
SUSPENDED = "Suspended"
EXPIRED = "Expired"
CANCELLED = "Cancelled"
LICENSE_STATES = (ACTIVE, SUSPENDED, EXPIRED, CANCELLED)

NO_CATEGORY = "NONE"


@dataclass(frozen=True)
class LicenseFacts:
    """An existing license as the connector knows it (the intake reads it from its store)."""

    product: str
    seats: int
    license_type: str
    state: str
    start_date: date
    expiry_date: date
    discount_category: str = NO_CATEGORY

    def __post_init__(self) -> None:
        if self.license_type not in LICENSE_TYPES:
            raise ValueError(
                f"license_type must be one of {LICENSE_TYPES}, not {self.license_type!r}"
            )
        if self.state not in LICENSE_STATES:
            raise ValueError(f"state must be one of {LICENSE_STATES}, not {self.state!r}")
        if self.seats < 1:
            raise ValueError(f"seats must be at least 1, not {self.seats}")

    @property
    def is_trial(self) -> bool:
        return self.license_type == TRIAL

    def days_left(self, today: date) -> int:
        """Return the days until expiry; negative once expired."""
        return (self.expiry_date - today).days

    def is_expired(self, today: date) -> bool:
        """Tell whether the license has expired ("expired" means expiry < today)."""
        return self.state == EXPIRED or self.expiry_date < today


@dataclass(frozen=True)
class PartnerFacts:
    """A subscribed reseller: its ESET partner level and the margin that level earns."""

    level: str
    margin_percent: Decimal
