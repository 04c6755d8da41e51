"""Prices of orders, exact to the cent: lines, list price, discount, margin, invoice price.

Each line is rounded half-up to cents; the list price is the sum of the lines; the discount is
``round(list × (1 − (1 − category) × (1 − crossgrade)))``; the margin is
``round((list − discount) × margin%)``; the invoice price is what remains.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from connector.domain.catalog import Catalog
from connector.domain.facts import LicenseFacts

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
DAYS_PER_YEAR = Decimal(365)


def to_cents(amount: Decimal) -> Decimal:
    """Round an amount half-up to whole cents."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def money_text(amount: Decimal) -> str:
    """Write an amount as a decimal string with two places."""
    return str(to_cents(amount))


@dataclass(frozen=True)
class PriceLine:
    description: str
    amount: Decimal

    def as_json(self) -> dict[str, str]:
        """Return the line as the quote answer shows it."""
        return {"description": self.description, "amount": money_text(self.amount)}


@dataclass(frozen=True)
class Price:
    currency: str
    lines: tuple[PriceLine, ...]
    list_price: Decimal
    discount: Decimal
    margin: Decimal
    invoice_price: Decimal

    def as_json(self) -> dict[str, Any]:
        """Return the price as the quote answer shows it, amounts as two-place strings."""
        return {
            "currency": self.currency,
            "listPrice": money_text(self.list_price),
            "discount": money_text(self.discount),
            "margin": money_text(self.margin),
            "invoicePrice": money_text(self.invoice_price),
            "lines": [line.as_json() for line in self.lines],
        }


def total(
    lines: Iterable[PriceLine],
    *,
    currency: str,
    margin_percent: Decimal,
    category_percent: Decimal = ZERO,
    crossgrade_percent: Decimal = ZERO,
) -> Price:
    """Add up priced lines and take off the discount and the reseller's margin."""
    lines = tuple(lines)
    list_price = sum((line.amount for line in lines), ZERO)
    kept = (1 - category_percent / HUNDRED) * (1 - crossgrade_percent / HUNDRED)
    discount = to_cents(list_price * (1 - kept))
    margin = to_cents((list_price - discount) * margin_percent / HUNDRED)
    return Price(currency, lines, list_price, discount, margin, list_price - discount - margin)


def _seats(count: int) -> str:
    return f"{count} seat" if count == 1 else f"{count} seats"


def _months(count: int) -> str:
    return f"{count} month" if count == 1 else f"{count} months"


def term_line(catalog: Catalog, code: str, seats: int, months: int, *, label: str) -> PriceLine:
    """Price ``seats`` seats of a product for a paid term: ``u(S) × S × factor(term)``."""
    unit = catalog.unit_price(code, seats)
    amount = to_cents(unit * seats * catalog.term_factor(months))
    name = catalog.product(code).name
    text = f"{label}: {name}, {_seats(seats)} × {unit} {catalog.currency}/year, {_months(months)}"
    return PriceLine(text, amount)


def new_license_line(catalog: Catalog, code: str, seats: int, months: int) -> PriceLine:
    """Price a new license; a trial term costs nothing."""
    if catalog.is_trial_term(months):
        name = catalog.product(code).name
        return PriceLine(f"Trial: {name}, {_seats(seats)}, {_months(months)}", ZERO)
    return term_line(catalog, code, seats, months, label="New license")


def renewal_line(catalog: Catalog, code: str, seats: int, months: int) -> PriceLine:
    """Price a renewal (or a trial's conversion) of ``seats`` seats for ``months`` months."""
    return term_line(catalog, code, seats, months, label="Renewal")


def extension_line(
    catalog: Catalog, code: str, old_seats: int, new_seats: int, days_left: int
) -> PriceLine:
    """Price added seats pro rata for the days left: ``u(S_new) × ΔS × days / 365``."""
    unit = catalog.unit_price(code, new_seats)
    added = new_seats - old_seats
    amount = to_cents(unit * added * days_left / DAYS_PER_YEAR)
    text = (
        f"Extension: {catalog.product(code).name}, {_seats(added)} more × {unit} "
        f"{catalog.currency}/year, {days_left} of 365 days"
    )
    return PriceLine(text, amount)


def change_line(
    catalog: Catalog,
    old_code: str,
    new_code: str,
    old_seats: int,
    new_seats: int,
    days_left: int,
) -> PriceLine:
    """Price a product change for the days left, crediting the old product's yearly value."""
    new_value = catalog.unit_price(new_code, new_seats) * new_seats
    old_value = catalog.unit_price(old_code, old_seats) * old_seats
    difference = max(Decimal(0), new_value - old_value)
    amount = to_cents(difference * days_left / DAYS_PER_YEAR)
    old, new = catalog.product(old_code).name, catalog.product(new_code).name
    text = (
        f"Product change: {old} ({_seats(old_seats)}, {money_text(old_value)}/year) → "
        f"{new} ({_seats(new_seats)}, {money_text(new_value)}/year), {days_left} of 365 days"
    )
    return PriceLine(text, amount)


# --- the price of each kind of order --------------------------------------------------------


def create_price(
    catalog: Catalog,
    code: str,
    seats: int,
    months: int,
    *,
    margin_percent: Decimal,
    category: str,
    crossgrade: bool,
) -> Price:
    """Price a new license; a trial is free and takes no discount."""
    line = new_license_line(catalog, code, seats, months)
    if catalog.is_trial_term(months):
        return total([line], currency=catalog.currency, margin_percent=margin_percent)
    return total(
        [line],
        currency=catalog.currency,
        margin_percent=margin_percent,
        category_percent=catalog.discount_percent(category),
        crossgrade_percent=catalog.crossgrade_discount if crossgrade else ZERO,
    )


def modify_price(
    catalog: Catalog,
    license: LicenseFacts,
    seats: int,
    renew_months: int,
    *,
    today: date,
    margin_percent: Decimal,
) -> Price:
    """Price a renewal, an extension or both; a trial's conversion is the renewal line alone."""
    lines: list[PriceLine] = []
    if renew_months > 0:
        lines.append(renewal_line(catalog, license.product, seats, renew_months))
    left = license.days_left(today)
    if not license.is_trial and seats > license.seats and left > 0:
        lines.append(extension_line(catalog, license.product, license.seats, seats, left))
    return _license_total(catalog, license, lines, margin_percent)


def change_plan_price(
    catalog: Catalog,
    license: LicenseFacts,
    code: str,
    seats: int,
    renew_months: int,
    *,
    today: date,
    margin_percent: Decimal,
) -> Price:
    """Price a product change for the days left, plus a renewal of the new product if chosen."""
    lines: list[PriceLine] = []
    left = license.days_left(today)
    if left > 0:
        lines.append(change_line(catalog, license.product, code, license.seats, seats, left))
    if renew_months > 0:
        lines.append(renewal_line(catalog, code, seats, renew_months))
    return _license_total(catalog, license, lines, margin_percent)


def _license_total(
    catalog: Catalog, license: LicenseFacts, lines: list[PriceLine], margin_percent: Decimal
) -> Price:
    # The license keeps its discount category; its crossgrade discount is not repeated. A
    # category the catalog no longer lists gives no discount rather than failing the quote.
    category = catalog.discounts.get(license.discount_category, ZERO)
    return total(
        lines,
        currency=catalog.currency,
        margin_percent=margin_percent,
        category_percent=category,
    )
