"""Loading the manifest: the shipped data, the served document, and broken manifests."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from connector.domain.manifest import REPORT_COLUMNS, ManifestError, load_manifest
from connector.errors import ConfigurationError
from connector.settings import Settings

SHIPPED = Settings().manifest_path

# The price table of catalog.md, copied by hand: the shipped catalog must say the same.
CATALOG_MD_PRICES = {
    "PROTECT_ENTRY": ("39.00", "35.00", "31.00", "28.00", "25.00"),
    "PROTECT_ADVANCED": ("52.00", "47.00", "42.00", "38.00", "34.00"),
    "PROTECT_COMPLETE": ("69.00", "62.00", "56.00", "50.00", "45.00"),
    "PROTECT_ELITE": ("89.00", "80.00", "72.00", "65.00", "58.00"),
    "PROTECT_MDR": ("129.00", "116.00", "104.00", "94.00", "85.00"),
}


def test_the_shipped_catalog_has_the_numbers_of_catalog_md() -> None:
    catalog = load_manifest(SHIPPED).catalog
    assert {p.code: tuple(map(str, p.prices)) for p in catalog.products} == CATALOG_MD_PRICES
    assert [p.code for p in catalog.products] == list(CATALOG_MD_PRICES)
    assert [(b.low, b.high) for b in catalog.seat_bands] == [
        (1, 24),
        (25, 49),
        (50, 99),
        (100, 249),
        (250, 10000),
    ]
    assert catalog.term_factors == {12: Decimal("1.0"), 24: Decimal("1.8"), 36: Decimal("2.5")}
    assert catalog.trial_terms == (1, 3)
    assert catalog.discounts == {"GOV": 20, "EDU": 30, "STD": 40}
    assert catalog.crossgrade_discount == 30
    assert catalog.margins == {
        "Registered": 5,
        "Bronze": 10,
        "Silver": 15,
        "Gold": 20,
        "Platinum": 25,
    }
    assert (catalog.crossgrade_min_coverage_percent, catalog.crossgrade_max_days_expired) == (
        60,
        60,
    )
    assert (catalog.renewal_days_before, catalog.renewal_days_after) == (60, 60)


def test_prices_are_exact_decimals_never_floats() -> None:
    catalog = load_manifest(SHIPPED).catalog
    assert all(isinstance(p, Decimal) for product in catalog.products for p in product.prices)
    assert all(isinstance(f, Decimal) for f in catalog.term_factors.values())


def test_the_served_manifest_has_services_fields_custom_actions_report_and_eula() -> None:
    manifest = load_manifest(SHIPPED)
    served = manifest.as_json()
    assert [s["name"] for s in served["services"]] == ["ESET Partner Status", "ESET Services"]
    assert [(c["name"], c["action"]) for c in served["customActions"]] == [
        ("Sync Data", "SYNC"),
        ("Renewal and License Extension", "MODIFY"),
        ("Product Change", "CHANGE_PLAN"),
    ]
    assert served["actions"]["CREATE"]["service"] == "ESET Services"
    assert served["actions"]["SUBSCRIBE"] == {"service": "ESET Partner Status", "fields": []}
    assert [c["Name"] for c in served["report"]["columns"]] == list(REPORT_COLUMNS)
    assert served["eula"] == {"version": manifest.eula.version, "text": manifest.eula.text}


def test_served_fields_follow_the_marketplaces_field_model() -> None:
    served = load_manifest(SHIPPED).as_json()
    term = next(f for f in served["actions"]["CREATE"]["fields"] if f["Name"] == "TermMonths")
    assert term == {
        "Name": "TermMonths",
        "Type": "Integer",
        "DisplayType": "Mandatory",
        "EnumMembers": ["1", "3", "12", "24", "36"],
        "DefaultValue": None,
        "Validator": None,
        "MinValue": None,
        "MaxValue": None,
    }
    renew = next(f for f in served["actions"]["MODIFY"]["fields"] if f["Name"] == "RenewTermMonths")
    assert renew["DefaultValue"] == "0"


def test_a_manifest_error_stops_start_up_as_a_configuration_error() -> None:
    assert issubclass(ManifestError, ConfigurationError)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    folder = tmp_path / "manifest"
    shutil.copytree(SHIPPED, folder)
    return folder


def broken(folder: Path, file: str, old: str, new: str) -> str:
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load_manifest(folder)
    return str(caught.value)


BROKEN = [
    (
        "catalog.toml",
        "[39.00,  35.00,  31.00,",
        "[39.00,  35.00,  -31.00,",
        "catalog.toml: prices.PROTECT_ENTRY[2]: must be the price per seat and year for "
        "50–99 seats: a positive amount with at most two decimal places, not -31.00",
    ),
    (
        "catalog.toml",
        "[39.00,",
        "[39.001,",
        "catalog.toml: prices.PROTECT_ENTRY[0]: must be the price per seat and year for 1–24 seats",
    ),
    (
        "catalog.toml",
        "[39.00,",
        '["39.00",',
        "catalog.toml: prices.PROTECT_ENTRY[0]: must be the price",
    ),
    (
        "catalog.toml",
        "104.00, 94.00,   85.00]",
        "104.00, 94.00]",
        "catalog.toml: prices.PROTECT_MDR: must have 5 prices, one for each seat band, not 4",
    ),
    (
        "catalog.toml",
        "{ from = 25, to = 49 }",
        "{ from = 26, to = 49 }",
        "catalog.toml: seat_bands[1].from: must be 25",
    ),
    (
        "catalog.toml",
        "Gold = 20",
        "Gold = 100",
        "catalog.toml: margins.Gold: must be a percentage from 0 to below 100, not 100",
    ),
    (
        "catalog.toml",
        "[renewal]",
        "[renewals]",
        "catalog.toml: renewals: unknown key",
    ),
    (
        "catalog.toml",
        "PROTECT_MDR      = [",
        "PROTECT_XDR      = [",
        "catalog.toml: prices: missing the prices of PROTECT_MDR",
    ),
    (
        "catalog.toml",
        "24 = 1.8",
        "24 = 0",
        "catalog.toml: term_factors.24: must be a positive factor",
    ),
    (
        "catalog.toml",
        "terms = [1, 3]",
        "terms = [1, 12]",
        "catalog.toml: trial.terms[1]: 12 months is listed twice",
    ),
    (
        "catalog.toml",
        "GOV = 20",
        "NONE = 20",
        "catalog.toml: discounts.NONE: a category must be a code",
    ),
    (
        "catalog.toml",
        'currency = "EUR"',
        'currency = "Euro"',
        "catalog.toml: currency: must be a three-letter currency code",
    ),
    ("catalog.toml", "[prices]", "[prices", "catalog.toml: not valid TOML"),
    (
        "fields.toml",
        '"PROTECT_ELITE", "PROTECT_MDR"]',
        '"PROTECT_ELITE"]',
        "fields.toml: CREATE.Product.EnumMembers: must list the products of catalog.toml",
    ),
    (
        "fields.toml",
        "EnumMembers = [1, 3, 12, 24, 36]",
        "EnumMembers = [1, 3, 12, 24, 48]",
        "fields.toml: CREATE.TermMonths.EnumMembers: must list the trial and paid terms",
    ),
    (
        "fields.toml",
        'DisplayType = "Mandatory"\nMinValue = 1\nMaxValue = 10000',
        'DisplayType = "Required"\nMinValue = 1\nMaxValue = 10000',
        "fields.toml: CREATE.Seats.DisplayType: must be one of Mandatory, Optional, "
        "Readonly, Hidden, not 'Required'",
    ),
    (
        "fields.toml",
        'DisplayType = "Mandatory"\nEnumMembers = ["PROTECT_ENTRY"',
        'DisplayType = "Optional"\nEnumMembers = ["PROTECT_ENTRY"',
        "fields.toml: CREATE.Product.DisplayType: the contract makes this field mandatory",
    ),
    (
        "fields.toml",
        'DefaultValue = "NEW"',
        'DefaultValue = "RENEWAL"',
        "fields.toml: CREATE.LicenseType.DefaultValue: 'RENEWAL' is not one of the EnumMembers",
    ),
    (
        "fields.toml",
        'Validator = "[A-Z]{2}"',
        'Validator = "[A-Z{2}"',
        "fields.toml: CREATE.CustomerCountry.Validator: not a valid regular expression",
    ),
    (
        "fields.toml",
        'Name = "CustomerVatId"\nType = "String"',
        'Name = "CustomerVatId"\nType = "Integer"',
        "fields.toml: CREATE.CustomerVatId.Type: must be String for this field",
    ),
    (
        "fields.toml",
        'Name = "NotifyEmail"',
        'Name = "NotifyMail"',
        "fields.toml: CREATE.NotifyMail: not a field of CREATE",
    ),
    (
        "fields.toml",
        '[[MODIFY]]\nName = "Seats"\nType = "Integer"\nDisplayType = "Optional"\nMinValue = 1\n'
        "MaxValue = 10000",
        '[[MODIFY]]\nName = "Seats"\nType = "Integer"\nDisplayType = "Optional"\nMinValue = 1\n'
        "MaxValue = 5000",
        "fields.toml: MODIFY.Seats.MaxValue: Seats must have MinValue 1 and MaxValue 10000",
    ),
    (
        "service.toml",
        '{ Name = "ProductName", Type = "String" }',
        '{ Name = "Name", Type = "String" }',
        "service.toml: report.columns[3].Name: must be 'ProductName'",
    ),
    (
        "service.toml",
        'actions = ["SUBSCRIBE"]',
        'actions = ["SUBSCRIBE", "CREATE"]',
        "service.toml: CREATE must belong to exactly one service or custom action, not 2",
    ),
    (
        "service.toml",
        'service = "ESET Partner Status"',
        'service = "ESET Partner"',
        "service.toml: custom_actions[0].service: must be one of ESET Partner Status, "
        "ESET Services, not 'ESET Partner'",
    ),
    (
        "eula.toml",
        'version = "2026-11"',
        'version = ""',
        "eula.toml: version: must be a version of 1-50 characters, not ''",
    ),
]


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    BROKEN,
    ids=[expected.split(": ")[1] for _, _, _, expected in BROKEN],
)
def test_a_broken_manifest_is_refused_naming_the_file_the_place_and_the_problem(
    copy: Path, file: str, old: str, new: str, expected: str
) -> None:
    message = broken(copy, file, old, new)
    assert expected in message
    assert message.startswith(str(copy / file))


def test_a_missing_file_is_named(copy: Path) -> None:
    (copy / "eula.toml").unlink()
    with pytest.raises(ManifestError, match=r"eula\.toml: missing"):
        load_manifest(copy)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_new_product_needs_its_prices_and_its_place_in_the_product_fields(copy: Path) -> None:
    mdr = '{ code = "PROTECT_MDR", name = "ESET PROTECT MDR" },'
    ultimate = '{ code = "PROTECT_MDR_ULTIMATE", name = "ESET PROTECT MDR Ultimate" },'
    _edit(copy / "catalog.toml", mdr, f"{mdr}\n  {ultimate}")
    with pytest.raises(ManifestError, match="prices: missing the prices of PROTECT_MDR_ULTIMATE"):
        load_manifest(copy)

    row = "PROTECT_MDR_ULTIMATE = [159.00, 143.00, 128.00, 116.00, 105.00]"
    _edit(copy / "catalog.toml", "PROTECT_MDR      = [", f"{row}\nPROTECT_MDR      = [")
    with pytest.raises(ManifestError, match=r"fields\.toml: CREATE\.Product\.EnumMembers"):
        load_manifest(copy)

    _edit(copy / "fields.toml", '"PROTECT_MDR"]', '"PROTECT_MDR", "PROTECT_MDR_ULTIMATE"]')
    catalog = load_manifest(copy).catalog
    assert catalog.unit_price("PROTECT_MDR_ULTIMATE", 300) == Decimal("105.00")
    assert catalog.product("PROTECT_MDR_ULTIMATE").rank == 5
