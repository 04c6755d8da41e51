"""Worked price examples from catalog.md, pinned to the cent (computed by hand, not by the code)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest

from connector.domain.catalog import Catalog
from connector.domain.dates import add_months
from connector.domain.facts import LicenseFacts
from connector.domain.pricing import (
    Price,
    change_plan_price,
    create_price,
    modify_price,
    to_cents,
    total,
)

TODAY = date(2026, 11, 27)
MakeLicense = Callable[..., LicenseFacts]


def amounts(price: Price) -> tuple[str, str, str, str]:
    return (
        str(price.list_price),
        str(price.discount),
        str(price.margin),
        str(price.invoice_price),
    )


def new_license(
    catalog: Catalog,
    product: str,
    seats: int,
    months: int,
    level: str,
    category: str = "NONE",
    crossgrade: bool = False,
) -> Price:
    return create_price(
        catalog,
        product,
        seats,
        months,
        margin_percent=catalog.partner(level).margin_percent,
        category=category,
        crossgrade=crossgrade,
    )


@pytest.mark.parametrize(
    ("seats", "expected"),
    [
        (1, ("39.00", "0.00", "1.95", "37.05")),
        (24, ("936.00", "0.00", "46.80", "889.20")),
        (25, ("875.00", "0.00", "43.75", "831.25")),
        (49, ("1715.00", "0.00", "85.75", "1629.25")),
        (50, ("1550.00", "0.00", "77.50", "1472.50")),
        (99, ("3069.00", "0.00", "153.45", "2915.55")),
        (100, ("2800.00", "0.00", "140.00", "2660.00")),
        (249, ("6972.00", "0.00", "348.60", "6623.40")),
        (250, ("6250.00", "0.00", "312.50", "5937.50")),
        (10000, ("250000.00", "0.00", "12500.00", "237500.00")),
    ],
)
def test_each_seat_band_edge_uses_the_band_of_the_total_seats(
    default_catalog: Catalog, seats: int, expected: tuple[str, ...]
) -> None:
    price = new_license(default_catalog, "PROTECT_ENTRY", seats, 12, "Registered")
    assert amounts(price) == expected


@pytest.mark.parametrize(
    ("months", "expected"),
    [
        (12, ("1410.00", "0.00", "282.00", "1128.00")),
        (24, ("2538.00", "0.00", "507.60", "2030.40")),
        (36, ("3525.00", "0.00", "705.00", "2820.00")),
        (1, ("0.00", "0.00", "0.00", "0.00")),
        (3, ("0.00", "0.00", "0.00", "0.00")),
    ],
)
def test_each_term_multiplies_the_yearly_price_by_its_factor_and_trials_are_free(
    default_catalog: Catalog, months: int, expected: tuple[str, ...]
) -> None:
    price = new_license(default_catalog, "PROTECT_ADVANCED", 30, months, "Gold")
    assert amounts(price) == expected


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("NONE", ("690.00", "0.00", "103.50", "586.50")),
        ("GOV", ("690.00", "138.00", "82.80", "469.20")),
        ("EDU", ("690.00", "207.00", "72.45", "410.55")),
        ("STD", ("690.00", "276.00", "62.10", "351.90")),
    ],
)
def test_each_discount_category_comes_off_the_list_price_before_the_margin(
    default_catalog: Catalog, category: str, expected: tuple[str, ...]
) -> None:
    price = new_license(default_catalog, "PROTECT_COMPLETE", 10, 12, "Silver", category)
    assert amounts(price) == expected


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("NONE", ("1121.40", "336.42", "78.50", "706.48")),
        ("GOV", ("1121.40", "493.42", "62.80", "565.18")),
        ("EDU", ("1121.40", "571.91", "54.95", "494.54")),
        ("STD", ("1121.40", "650.41", "47.10", "423.89")),
    ],
)
def test_a_crossgrade_multiplies_its_discount_with_the_category(
    default_catalog: Catalog, category: str, expected: tuple[str, ...]
) -> None:
    price = new_license(default_catalog, "PROTECT_ELITE", 7, 24, "Bronze", category, True)
    assert amounts(price) == expected


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("Registered", ("645.00", "0.00", "32.25", "612.75")),
        ("Bronze", ("645.00", "0.00", "64.50", "580.50")),
        ("Silver", ("645.00", "0.00", "96.75", "548.25")),
        ("Gold", ("645.00", "0.00", "129.00", "516.00")),
        ("Platinum", ("645.00", "0.00", "161.25", "483.75")),
    ],
)
def test_each_partner_level_earns_its_margin(
    default_catalog: Catalog, level: str, expected: tuple[str, ...]
) -> None:
    price = new_license(default_catalog, "PROTECT_MDR", 5, 12, level)
    assert amounts(price) == expected


def test_the_margin_rounds_half_up_not_to_even(default_catalog: Catalog) -> None:
    # 97.50 × 15 % = 14.625: half-up gives 14.63 where banker's rounding would give 14.62.
    price = new_license(default_catalog, "PROTECT_ENTRY", 1, 36, "Silver")
    assert amounts(price) == ("97.50", "0.00", "14.63", "82.87")


def test_rounding_to_cents_is_half_up() -> None:
    assert to_cents(Decimal("0.005")) == Decimal("0.01")
    assert to_cents(Decimal("2.675")) == Decimal("2.68")
    assert to_cents(Decimal("2.6749")) == Decimal("2.67")


def test_the_list_price_is_the_sum_of_lines_each_already_in_cents() -> None:
    from connector.domain.pricing import PriceLine

    lines = [PriceLine("a", Decimal("10.01")), PriceLine("b", Decimal("0.99"))]
    price = total(lines, currency="EUR", margin_percent=Decimal(10))
    assert amounts(price) == ("11.00", "0.00", "1.10", "9.90")


# --- MODIFY -------------------------------------------------------------------------------


def modify(
    catalog: Catalog,
    make_license: MakeLicense,
    *,
    seats: int,
    renew: int,
    days_left: int,
    level: str = "Gold",
    old_seats: int = 25,
    **license: object,
) -> Price:
    expiry = TODAY + timedelta(days=days_left)
    facts = make_license(seats=old_seats, expiry=expiry, **license)
    margin = catalog.partner(level).margin_percent
    return modify_price(catalog, facts, seats, renew, today=TODAY, margin_percent=margin)


def test_an_extension_is_charged_pro_rata_for_the_days_left(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    # 47.00 × 5 seats × 94 / 365 = 60.5205… → 60.52
    price = modify(default_catalog, make_license, seats=30, renew=0, days_left=94)
    assert amounts(price) == ("60.52", "0.00", "12.10", "48.42")
    assert [line.amount for line in price.lines] == [Decimal("60.52")]


def test_an_extension_into_a_higher_band_prices_the_added_seats_at_the_new_band(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    # 42.00 (50–99 seats) × 25 added × 94 / 365 = 270.4109… → 270.41
    price = modify(default_catalog, make_license, seats=50, renew=0, days_left=94)
    assert price.list_price == Decimal("270.41")


def test_an_extension_keeps_the_licenses_discount_category(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    price = modify(default_catalog, make_license, seats=30, renew=0, days_left=94, category="EDU")
    assert amounts(price) == ("60.52", "18.16", "8.47", "33.89")


def test_a_renewal_prices_the_new_term_for_all_seats(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    price = modify(default_catalog, make_license, seats=25, renew=12, days_left=30)
    assert amounts(price) == ("1175.00", "0.00", "235.00", "940.00")


def test_a_renewal_with_fewer_seats_uses_the_unit_price_of_the_smaller_band(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    price = modify(default_catalog, make_license, seats=20, renew=12, days_left=30)
    assert price.list_price == Decimal("1040.00")


def test_a_renewal_keeps_the_category_but_not_a_crossgrade_discount(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    price = modify(default_catalog, make_license, seats=25, renew=12, days_left=30, category="EDU")
    assert amounts(price) == ("1175.00", "352.50", "164.50", "658.00")


def test_renewal_and_extension_together_charge_both_lines(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    # renewal 30 × 47.00 × 1.8 = 2538.00; extension 47.00 × 5 × 30 / 365 = 19.3150… → 19.32
    price = modify(default_catalog, make_license, seats=30, renew=24, days_left=30)
    assert [line.amount for line in price.lines] == [Decimal("2538.00"), Decimal("19.32")]
    assert amounts(price) == ("2557.32", "0.00", "511.46", "2045.86")


def test_a_late_renewal_with_more_seats_has_no_extension_line(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    price = modify(default_catalog, make_license, seats=30, renew=12, days_left=-10)
    assert [line.amount for line in price.lines] == [Decimal("1410.00")]


def test_a_trial_becomes_full_for_the_price_of_the_renewal_line_alone(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    price = modify(
        default_catalog,
        make_license,
        seats=15,
        renew=12,
        days_left=10,
        product="PROTECT_COMPLETE",
        old_seats=10,
        license_type="TRIAL",
    )
    assert amounts(price) == ("1035.00", "0.00", "207.00", "828.00")
    assert len(price.lines) == 1


# --- CHANGE_PLAN --------------------------------------------------------------------------


def change(
    catalog: Catalog,
    make_license: MakeLicense,
    *,
    product: str,
    seats: int,
    renew: int,
    days_left: int,
    level: str = "Gold",
) -> Price:
    facts = make_license(expiry=TODAY + timedelta(days=days_left))
    margin = catalog.partner(level).margin_percent
    return change_plan_price(
        catalog, facts, product, seats, renew, today=TODAY, margin_percent=margin
    )


def test_a_product_change_charges_the_difference_in_yearly_value_for_the_days_left(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    # (25 × 62.00 − 25 × 47.00) × 94 / 365 = 96.5753… → 96.58
    price = change(
        default_catalog, make_license, product="PROTECT_COMPLETE", seats=25, renew=0, days_left=94
    )
    assert amounts(price) == ("96.58", "0.00", "19.32", "77.26")


def test_a_product_change_with_more_seats_credits_the_old_licenses_value(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    # (30 × 62.00 − 25 × 47.00) × 94 / 365 = 685 × 94 / 365 = 176.4109… → 176.41
    price = change(
        default_catalog, make_license, product="PROTECT_COMPLETE", seats=30, renew=0, days_left=94
    )
    assert price.list_price == Decimal("176.41")


def test_a_product_change_with_a_renewal_adds_the_new_products_renewal_line(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    # change (1860 − 1175) × 23 / 365 = 43.1643… → 43.16; renewal 30 × 62.00 = 1860.00
    price = change(
        default_catalog, make_license, product="PROTECT_COMPLETE", seats=30, renew=12, days_left=23
    )
    assert [line.amount for line in price.lines] == [Decimal("43.16"), Decimal("1860.00")]
    assert amounts(price) == ("1903.16", "0.00", "380.63", "1522.53")


def test_a_downgrade_never_pays_money_back(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    price = change(
        default_catalog, make_license, product="PROTECT_ENTRY", seats=25, renew=12, days_left=30
    )
    assert [line.amount for line in price.lines] == [Decimal("0.00"), Decimal("875.00")]


def test_lines_describe_what_is_charged(
    default_catalog: Catalog, make_license: MakeLicense
) -> None:
    price = modify(default_catalog, make_license, seats=30, renew=24, days_left=30)
    assert [line.description for line in price.lines] == [
        "Renewal: ESET PROTECT Advanced, 30 seats × 47.00 EUR/year, 24 months",
        "Extension: ESET PROTECT Advanced, 5 seats more × 47.00 EUR/year, 30 of 365 days",
    ]


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2026, 11, 27), 12, date(2027, 11, 27)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 8, 31), 36, date(2029, 8, 31)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
    ],
)
def test_adding_months_keeps_the_day_clamped_to_the_end_of_a_shorter_month(
    start: date, months: int, expected: date
) -> None:
    assert add_months(start, months) == expected
