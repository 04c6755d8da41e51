"""The price list: products in upgrade order, seat bands, terms, discounts and margins."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from connector.domain.facts import NO_CATEGORY, PartnerFacts


class UnknownEntry(LookupError):
    """A product, term, category or partner level the catalog does not list."""


@dataclass(frozen=True)
class SeatBand:
    low: int
    high: int

    def __contains__(self, seats: object) -> bool:
        return isinstance(seats, int) and self.low <= seats <= self.high


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    rank: int
    """Position in the upgrade order, 0 for the lowest product."""
    prices: tuple[Decimal, ...]
    """List price per seat per year, one for each seat band."""


@dataclass(frozen=True, eq=False)
class Catalog:
    """Prices and rule parameters, as read from ``catalog.toml``."""

    currency: str
    products: tuple[Product, ...]
    seat_bands: tuple[SeatBand, ...]
    term_factors: Mapping[int, Decimal]
    trial_terms: tuple[int, ...]
    discounts: Mapping[str, Decimal]
    crossgrade_discount: Decimal
    crossgrade_min_coverage_percent: int
    crossgrade_max_days_expired: int
    margins: Mapping[str, Decimal]
    renewal_days_before: int
    renewal_days_after: int

    @cached_property
    def _by_code(self) -> dict[str, Product]:
        return {product.code: product for product in self.products}

    @property
    def max_seats(self) -> int:
        return self.seat_bands[-1].high

    def product(self, code: str) -> Product:
        """Return the product with this code."""
        try:
            return self._by_code[code]
        except KeyError:
            raise UnknownEntry(f"unknown product {code!r}") from None

    def band_index(self, seats: int) -> int:
        """Return the index of the seat band holding a license of ``seats`` seats."""
        for index, band in enumerate(self.seat_bands):
            if seats in band:
                return index
        raise UnknownEntry(f"no seat band holds {seats} seats")

    def unit_price(self, code: str, seats: int) -> Decimal:
        """Return the list price per seat per year of a license with ``seats`` total seats."""
        return self.product(code).prices[self.band_index(seats)]

    def is_trial_term(self, months: int) -> bool:
        """Tell whether a new license of ``months`` months is a free trial."""
        return months in self.trial_terms

    def term_factor(self, months: int) -> Decimal:
        """Return the factor on the yearly price for a paid term of ``months`` months."""
        try:
            return self.term_factors[months]
        except KeyError:
            raise UnknownEntry(f"no paid term of {months} months") from None

    def discount_percent(self, category: str) -> Decimal:
        """Return the discount of a category in percent (0 for ``NONE``)."""
        if category == NO_CATEGORY:
            return Decimal(0)
        try:
            return self.discounts[category]
        except KeyError:
            raise UnknownEntry(f"unknown discount category {category!r}") from None

    def is_downgrade(self, old_code: str, new_code: str) -> bool:
        """Tell whether moving from ``old_code`` to ``new_code`` goes down the upgrade order."""
        return self.product(new_code).rank < self.product(old_code).rank

    def min_crossgrade_seats(self, seats: int) -> int:
        """Return the fewest old-license seats that allow a crossgrade to ``seats`` seats."""
        return -(-seats * self.crossgrade_min_coverage_percent // 100)

    def partner(self, level: str) -> PartnerFacts:
        """Return the facts of a reseller at ESET partner level ``level``."""
        try:
            return PartnerFacts(level=level, margin_percent=self.margins[level])
        except KeyError:
            raise UnknownEntry(f"unknown partner level {level!r}") from None
