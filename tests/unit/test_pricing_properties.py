"""Properties of prices and windows that must hold for every order, checked with hypothesis."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from connector.domain.catalog import Catalog
from connector.domain.facts import LicenseFacts, PartnerFacts
from connector.domain.manifest import Manifest, load_manifest
from connector.domain.pricing import Price, change_plan_price, create_price, modify_price
from connector.domain.quote import quote
from connector.domain.rules import create_errors, modify_errors
from connector.settings import Settings

# Loaded once here, since hypothesis re-runs a test body many times per fixture value.
MANIFEST: Manifest = load_manifest(Settings().manifest_path)
CATALOG: Catalog = MANIFEST.catalog
CENT = Decimal("0.01")

products = st.sampled_from([p.code for p in CATALOG.products])
paid_terms = st.sampled_from(sorted(CATALOG.term_factors))
terms = st.sampled_from(sorted(CATALOG.term_factors) + list(CATALOG.trial_terms))
levels = st.sampled_from(sorted(CATALOG.margins))
categories = st.sampled_from(["NONE", *sorted(CATALOG.discounts)])
seat_counts = st.integers(1, CATALOG.max_seats)
days = st.integers(-400, 1200)
days_of_2026_to_2030 = st.dates(date(2026, 1, 1), date(2030, 12, 31))


def new_price(
    product: str,
    seats: int,
    term: int,
    level: str,
    category: str = "NONE",
    crossgrade: bool = False,
) -> Price:
    return create_price(
        CATALOG,
        product,
        seats,
        term,
        margin_percent=CATALOG.margins[level],
        category=category,
        crossgrade=crossgrade,
    )


def license_facts(
    product: str, seats: int, days_left: int, today: date, **more: Any
) -> LicenseFacts:
    expiry = today + timedelta(days=days_left)
    return LicenseFacts(
        product,
        seats,
        more.pop("license_type", "FULL"),
        "Active",
        expiry - timedelta(days=365),
        expiry,
        **more,
    )


def is_exact_in_cents(price: Price) -> bool:
    amounts = [price.list_price, price.discount, price.margin, price.invoice_price]
    amounts += [line.amount for line in price.lines]
    return all(a == a.quantize(CENT) for a in amounts)


@given(products, paid_terms, st.data())
def test_more_seats_never_lower_the_list_price_within_a_band(
    product: str, term: int, data: st.DataObject
) -> None:
    band = data.draw(st.sampled_from(CATALOG.seat_bands))
    fewer = data.draw(st.integers(band.low, band.high))
    more = data.draw(st.integers(fewer, band.high))
    assert (
        new_price(product, fewer, term, "Gold").list_price
        <= new_price(product, more, term, "Gold").list_price
    )


@given(products, seat_counts, terms, levels, categories, st.booleans())
def test_a_discount_never_raises_the_price(
    product: str, seats: int, term: int, level: str, category: str, crossgrade: bool
) -> None:
    plain = new_price(product, seats, term, level)
    discounted = new_price(product, seats, term, level, category, crossgrade)
    assert discounted.list_price == plain.list_price
    assert discounted.discount >= plain.discount
    assert discounted.invoice_price <= plain.invoice_price
    assert discounted.margin <= plain.margin


@given(products, seat_counts, terms, levels, categories, st.booleans())
def test_a_new_licenses_invoice_is_list_less_discount_less_margin(
    product: str, seats: int, term: int, level: str, category: str, crossgrade: bool
) -> None:
    price = new_price(product, seats, term, level, category, crossgrade)
    assert price.invoice_price == price.list_price - price.discount - price.margin
    assert price.list_price == sum((line.amount for line in price.lines), Decimal(0))
    assert is_exact_in_cents(price)
    assert Decimal(0) <= price.invoice_price <= price.list_price


@given(
    products,
    st.integers(1, 5000),
    st.integers(0, 5000),
    st.sampled_from([0, *sorted(CATALOG.term_factors)]),
    days,
    levels,
    categories,
    st.booleans(),
)
def test_a_modify_invoice_is_list_less_discount_less_margin(
    product: str,
    seats: int,
    added: int,
    renew: int,
    days_left: int,
    level: str,
    category: str,
    trial: bool,
) -> None:
    today = date(2026, 11, 27)
    license = license_facts(
        product,
        seats,
        days_left,
        today,
        license_type="TRIAL" if trial else "FULL",
        discount_category="NONE" if trial else category,
    )
    price = modify_price(
        CATALOG, license, seats + added, renew, today=today, margin_percent=CATALOG.margins[level]
    )
    assert price.invoice_price == price.list_price - price.discount - price.margin
    assert is_exact_in_cents(price)
    assert price.list_price >= 0


@given(products, products, st.integers(1, 5000), st.integers(0, 5000), days, levels)
def test_a_product_change_invoice_is_list_less_discount_less_margin_and_never_negative(
    old: str, new: str, seats: int, added: int, days_left: int, level: str
) -> None:
    today = date(2026, 11, 27)
    license = license_facts(old, seats, days_left, today)
    price = change_plan_price(
        CATALOG, license, new, seats + added, 12, today=today, margin_percent=CATALOG.margins[level]
    )
    assert price.invoice_price == price.list_price - price.discount - price.margin
    assert all(line.amount >= 0 for line in price.lines)
    assert is_exact_in_cents(price)


noise = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.floats(allow_nan=True),
    st.lists(st.integers(), max_size=2),
)
other_fields = st.dictionaries(
    st.sampled_from(
        [
            "EligibilityProof",
            "CrossgradeSeats",
            "CrossgradeExpiry",
            "CustomerCompany",
            "CustomerContact",
            "CustomerEmail",
            "CustomerCountry",
            "CustomerVatId",
            "EulaAccepted",
            "EulaVersion",
            "NotifyEmail",
            "Whatever",
        ]
    ),
    noise,
)


@given(products, seat_counts, terms, levels, other_fields, st.booleans())
def test_the_price_is_present_whenever_product_seats_and_term_are_valid(
    product: str, seats: int, term: int, level: str, others: dict[str, Any], as_text: bool
) -> None:
    fields = {
        **others,
        "Product": product,
        "Seats": str(seats) if as_text else seats,
        "TermMonths": str(term) if as_text else term,
    }
    partner = PartnerFacts(level, CATALOG.margins[level])
    answer = quote(
        MANIFEST, "CREATE", fields, partner=partner, license=None, today=date(2026, 11, 27)
    )
    assert answer.price == new_price(product, seats, term, level)


@given(days_of_2026_to_2030, st.integers(-400, 400), st.integers(1, 10000), st.integers(1, 10000))
def test_the_crossgrade_window_and_coverage_flip_exactly_at_their_boundaries(
    today: date, days_ago: int, seats: int, old_seats: int
) -> None:
    fields = {
        "Product": "PROTECT_ENTRY",
        "Seats": seats,
        "TermMonths": 12,
        "LicenseType": "CROSSGRADE",
        "DiscountCategory": "NONE",
        "EligibilityProof": "proof",
        "CrossgradeSeats": old_seats,
        "CrossgradeExpiry": today - timedelta(days=days_ago),
    }
    errors = create_errors(CATALOG, MANIFEST.eula, fields, today=today)
    assert ("CrossgradeExpiry" not in errors) is (days_ago <= 60)
    assert ("CrossgradeSeats" not in errors) is (old_seats * 100 >= seats * 60)


@given(days_of_2026_to_2030, st.integers(-400, 400), st.sampled_from(sorted(CATALOG.term_factors)))
def test_the_renewal_window_flips_exactly_at_60_days_either_side_of_expiry(
    today: date, days_left: int, renew: int
) -> None:
    license = license_facts("PROTECT_ADVANCED", 25, days_left, today)
    errors = modify_errors(CATALOG, license, 25, renew, today=today)
    assert ("RenewTermMonths" not in errors) is (-60 <= days_left <= 60)
