"""The connector's manifest: services, fields, catalog and EULA, read and checked at start-up.

The manifest is a folder of four TOML files a distributor can edit without a release:
``service.toml`` (services, custom actions, report), ``fields.toml`` (each action's fields in
the marketplace's field model), ``catalog.toml`` (prices and rule parameters) and ``eula.toml``.
``load_manifest`` refuses a broken manifest with a ``ManifestError`` naming the file, the place
in it and the problem, so the connector never starts with prices it would misread.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

from connector.domain.catalog import Catalog, Product, SeatBand
from connector.domain.facts import NO_CATEGORY
from connector.errors import ConfigurationError

SERVICE_FILE = "service.toml"
FIELDS_FILE = "fields.toml"
CATALOG_FILE = "catalog.toml"
EULA_FILE = "eula.toml"

ACTIONS = ("SUBSCRIBE", "CREATE", "MODIFY", "CHANGE_PLAN", "SYNC", "SUSPEND", "RESUME", "DELETE")
QUOTABLE_ACTIONS = ("CREATE", "MODIFY", "CHANGE_PLAN")
FIELD_TYPES = ("String", "Integer", "Boolean", "Date", "Email")
DISPLAY_TYPES = ("Mandatory", "Optional", "Readonly", "Hidden")
REPORT_COLUMNS = (
    "SubscriptionAccountId",
    "PublicLicenseKey",
    "Product",
    "ProductName",
    "LicenseType",
    "Seats",
    "State",
    "StartDate",
    "ExpiryDate",
    "DaysToExpiry",
    "CustomerCompany",
    "CustomerCountry",
    "LastInvoicePrice",
    "Currency",
)
REPORT_COLUMN_TYPES = ("String", "Integer", "Decimal", "Date")

# The fields the contract (catalog.md) defines for each action, with their types; the code
# relies on these names and types, so the manifest may present them but not change them.
CONTRACT_FIELDS: Mapping[str, Mapping[str, str]] = {
    "CREATE": {
        "Product": "String",
        "Seats": "Integer",
        "TermMonths": "Integer",
        "LicenseType": "String",
        "DiscountCategory": "String",
        "EligibilityProof": "String",
        "CrossgradeSeats": "Integer",
        "CrossgradeExpiry": "Date",
        "CustomerCompany": "String",
        "CustomerContact": "String",
        "CustomerEmail": "Email",
        "CustomerCountry": "String",
        "CustomerVatId": "String",
        "EulaAccepted": "Boolean",
        "EulaVersion": "String",
        "NotifyEmail": "Email",
    },
    "MODIFY": {"Seats": "Integer", "RenewTermMonths": "Integer"},
    "CHANGE_PLAN": {"Product": "String", "Seats": "Integer", "RenewTermMonths": "Integer"},
}
CONTRACT_MANDATORY: Mapping[str, frozenset[str]] = {
    "CREATE": frozenset(
        {
            "Product",
            "Seats",
            "TermMonths",
            "CustomerCompany",
            "CustomerContact",
            "CustomerEmail",
            "CustomerCountry",
            "EulaAccepted",
            "EulaVersion",
        }
    ),
    "MODIFY": frozenset(),
    "CHANGE_PLAN": frozenset({"Product"}),
}
LICENSE_KINDS = ("NEW", "CROSSGRADE")

_FIELD_KEYS = (
    "Name",
    "Type",
    "DisplayType",
    "EnumMembers",
    "DefaultValue",
    "Validator",
    "MinValue",
    "MaxValue",
    "Required",
)
_CODE = re.compile(r"[A-Z][A-Z0-9_]*")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_CURRENCY = re.compile(r"[A-Z]{3}")
_MONTHS = re.compile(r"[1-9][0-9]{0,2}")

FieldValue = str | int | bool


class ManifestError(ConfigurationError):
    """The manifest is missing or wrong; the message names the file, the place and the problem."""


@dataclass(frozen=True)
class FieldDef:
    """One configuration field in the marketplace's field model."""

    name: str
    type: str
    display_type: str
    enum_members: tuple[FieldValue, ...] | None = None
    default: FieldValue | None = None
    validator: str | None = None
    min_value: int | None = None
    max_value: int | None = None
    required: bool = False

    def as_json(self) -> dict[str, Any]:
        """Return the field as the marketplace's field model describes it."""
        members = None if self.enum_members is None else [_text(m) for m in self.enum_members]
        return {
            "Name": self.name,
            "Type": self.type,
            "DisplayType": self.display_type,
            "EnumMembers": members,
            "DefaultValue": None if self.default is None else _text(self.default),
            "Validator": self.validator,
            "MinValue": self.min_value,
            "MaxValue": self.max_value,
        }


@dataclass(frozen=True)
class Service:
    name: str
    description: str
    actions: tuple[str, ...]


@dataclass(frozen=True)
class CustomAction:
    name: str
    service: str
    action: str
    description: str


@dataclass(frozen=True)
class ReportColumn:
    name: str
    type: str


@dataclass(frozen=True)
class Report:
    name: str
    columns: tuple[ReportColumn, ...]


@dataclass(frozen=True)
class Eula:
    version: str
    text: str


@dataclass(frozen=True, eq=False)
class Manifest:
    """Everything the connector says about itself, plus the catalog behind its prices."""

    services: tuple[Service, ...]
    custom_actions: tuple[CustomAction, ...]
    fields: Mapping[str, tuple[FieldDef, ...]]
    report: Report
    eula: Eula
    catalog: Catalog

    def fields_of(self, action: str) -> tuple[FieldDef, ...]:
        """Return the configuration fields of an action (none for most actions)."""
        return self.fields.get(action, ())

    def service_of(self, action: str) -> str:
        """Return the name of the service an action belongs to."""
        for service in self.services:
            if action in service.actions:
                return service.name
        return next(c.service for c in self.custom_actions if c.action == action)

    def as_json(self) -> dict[str, Any]:
        """Return the document served at ``GET /api/v1/manifest``."""
        return {
            "services": [
                {
                    "name": s.name,
                    "description": s.description,
                    "actions": list(s.actions),
                    "customActions": [c.name for c in self.custom_actions if c.service == s.name],
                }
                for s in self.services
            ],
            "actions": {
                action: {
                    "service": self.service_of(action),
                    "fields": [f.as_json() for f in self.fields_of(action)],
                }
                for action in ACTIONS
            },
            "customActions": [
                {
                    "name": c.name,
                    "service": c.service,
                    "action": c.action,
                    "description": c.description,
                }
                for c in self.custom_actions
            ],
            "report": {
                "name": self.report.name,
                "columns": [{"Name": c.name, "Type": c.type} for c in self.report.columns],
            },
            "products": [{"code": p.code, "name": p.name} for p in self.catalog.products],
            "eula": {"version": self.eula.version, "text": self.eula.text},
        }


def load_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Read and check the manifest folder at ``path``; raise ``ManifestError`` if it is broken."""
    folder = Path(path)
    catalog = _read_catalog(_open(folder / CATALOG_FILE))
    eula = _read_eula(_open(folder / EULA_FILE))
    services, custom_actions, report = _read_service(_open(folder / SERVICE_FILE))
    fields = _read_fields(_open(folder / FIELDS_FILE), catalog, eula)
    return Manifest(services, custom_actions, fields, report, eula, catalog)


# --- reading TOML with the place of every value -------------------------------------------


def _text(value: FieldValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _show(value: object) -> str:
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return str(value)
    return repr(value)


@dataclass(frozen=True)
class _Node:
    """A value read from a manifest file, with where it stands there."""

    file: str
    place: str
    value: object

    def fail(self, problem: str) -> NoReturn:
        where = f"{self.file}: {self.place}" if self.place else self.file
        raise ManifestError(f"{where}: {problem}")

    def child(self, key: str, value: object) -> _Node:
        return _Node(self.file, f"{self.place}.{key}" if self.place else key, value)

    def renamed(self, place: str) -> _Node:
        return _Node(self.file, place, self.value)

    def table(self, allowed: Collection[str] | None = None) -> dict[str, _Node]:
        if not isinstance(self.value, dict):
            self.fail(f"must be a table, not {_show(self.value)}")
        for key in self.value:
            if allowed is not None and key not in allowed:
                self.child(key, None).fail(f"unknown key; expected one of {', '.join(allowed)}")
        return {key: self.child(key, value) for key, value in self.value.items()}

    def at(self, key: str) -> _Node:
        found = self.get(key)
        if found is None:
            self.fail(f"missing {key!r}")
        return found

    def get(self, key: str) -> _Node | None:
        if not isinstance(self.value, dict):
            self.fail(f"must be a table, not {_show(self.value)}")
        return self.child(key, self.value[key]) if key in self.value else None

    def items(self, *, allow_empty: bool = False) -> list[_Node]:
        if not isinstance(self.value, list):
            self.fail(f"must be a list, not {_show(self.value)}")
        if not self.value and not allow_empty:
            self.fail("must not be empty")
        return [_Node(self.file, f"{self.place}[{i}]", v) for i, v in enumerate(self.value)]

    def text(self, pattern: re.Pattern[str] | None = None, what: str = "text") -> str:
        if not isinstance(self.value, str) or not self.value.strip():
            self.fail(f"must be {what}, not {_show(self.value)}")
        if pattern is not None and not pattern.fullmatch(self.value):
            self.fail(f"must be {what}, not {_show(self.value)}")
        return self.value

    def choice(self, choices: Collection[str]) -> str:
        if self.value not in choices:
            self.fail(f"must be one of {', '.join(choices)}, not {_show(self.value)}")
        return str(self.value)

    def integer(self, low: int = 0, high: int | None = None) -> int:
        value = self.value
        in_range = isinstance(value, int) and low <= value and (high is None or value <= high)
        if isinstance(value, bool) or not isinstance(value, int) or not in_range:
            bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
            self.fail(f"must be a whole number {bounds}, not {_show(value)}")
        return value

    def number(self, what: str) -> Decimal:
        value = self.value
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            self.fail(f"must be {what}, not {_show(value)}")
        number = Decimal(value)
        if not number.is_finite():
            self.fail(f"must be {what}, not {_show(value)}")
        return number

    def boolean(self) -> bool:
        if not isinstance(self.value, bool):
            self.fail(f"must be true or false, not {_show(self.value)}")
        return self.value


def _open(path: Path) -> _Node:
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(f"{path}: missing; the manifest folder needs this file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ManifestError(f"{path}: cannot be read: {error}") from None
    try:
        # Decimals, not floats: a price must be exactly what the distributor wrote.
        data = tomllib.loads(content, parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        raise ManifestError(f"{path}: not valid TOML: {error}") from None
    return _Node(str(path), "", data)


# --- catalog.toml -------------------------------------------------------------------------


def _read_catalog(root: _Node) -> Catalog:
    root.table(
        allowed=(
            "currency",
            "products",
            "seat_bands",
            "prices",
            "term_factors",
            "trial",
            "discounts",
            "crossgrade",
            "margins",
            "renewal",
        )
    )
    bands = _seat_bands(root.at("seat_bands"))
    factors = _term_factors(root.at("term_factors"))
    crossgrade = root.at("crossgrade")
    crossgrade.table(allowed=("discount", "min_coverage_percent", "max_days_expired"))
    renewal = root.at("renewal")
    renewal.table(allowed=("days_before_expiry", "days_after_expiry"))
    return Catalog(
        currency=root.at("currency").text(_CURRENCY, "a three-letter currency code such as EUR"),
        products=_products(root.at("products"), root.at("prices"), bands),
        seat_bands=bands,
        term_factors=factors,
        trial_terms=_trial_terms(root.at("trial"), factors),
        discounts=_discounts(root.at("discounts")),
        crossgrade_discount=_percent(crossgrade.at("discount")),
        crossgrade_min_coverage_percent=crossgrade.at("min_coverage_percent").integer(0, 100),
        crossgrade_max_days_expired=crossgrade.at("max_days_expired").integer(0, 3660),
        margins=_margins(root.at("margins")),
        renewal_days_before=renewal.at("days_before_expiry").integer(0, 366),
        renewal_days_after=renewal.at("days_after_expiry").integer(0, 366),
    )


def _seat_bands(node: _Node) -> tuple[SeatBand, ...]:
    bands: list[SeatBand] = []
    for item in node.items():
        item.table(allowed=("from", "to"))
        expected = bands[-1].high + 1 if bands else 1
        low = item.at("from").integer(1)
        if low != expected:
            after = f"right after the band before it ends at {expected - 1}" if bands else "1"
            item.at("from").fail(f"must be {expected} ({after}), not {low}")
        high = item.at("to").integer(low)
        bands.append(SeatBand(low, high))
    return tuple(bands)


def _products(node: _Node, prices: _Node, bands: tuple[SeatBand, ...]) -> tuple[Product, ...]:
    products: list[Product] = []
    price_table = prices.table()
    for rank, item in enumerate(node.items()):
        item.table(allowed=("code", "name"))
        code = item.at("code").text(_CODE, "a product code in capitals such as PROTECT_ENTRY")
        if any(p.code == code for p in products):
            item.at("code").fail(f"{code} is listed twice")
        if code not in price_table:
            prices.fail(f"missing the prices of {code}")
        name = item.at("name").text(what="the product's name")
        products.append(Product(code, name, rank, _price_row(price_table[code], bands)))
    codes = {p.code for p in products}
    for code, row in price_table.items():
        if code not in codes:
            row.fail("not a product listed in products")
    return tuple(products)


def _price_row(node: _Node, bands: tuple[SeatBand, ...]) -> tuple[Decimal, ...]:
    items = node.items()
    if len(items) != len(bands):
        node.fail(f"must have {len(bands)} prices, one for each seat band, not {len(items)}")
    return tuple(_price(item, band) for item, band in zip(items, bands, strict=True))


def _price(node: _Node, band: SeatBand) -> Decimal:
    what = (
        f"the price per seat and year for {band.low}–{band.high} seats: "
        "a positive amount with at most two decimal places"
    )
    price = node.number(what)
    exponent = price.as_tuple().exponent
    if price <= 0 or not isinstance(exponent, int) or exponent < -2:
        node.fail(f"must be {what}, not {_show(node.value)}")
    return price.quantize(Decimal("0.01"))


def _term_factors(node: _Node) -> dict[int, Decimal]:
    factors: dict[int, Decimal] = {}
    for key, value in node.table().items():
        if not _MONTHS.fullmatch(key):
            value.fail("the key must be a number of months such as 12")
        factor = value.number("a positive factor such as 1.8")
        if factor <= 0:
            value.fail(f"must be a positive factor such as 1.8, not {_show(value.value)}")
        factors[int(key)] = factor
    if not factors:
        node.fail("must list at least one paid term")
    return factors


def _trial_terms(node: _Node, factors: Mapping[int, Decimal]) -> tuple[int, ...]:
    node.table(allowed=("terms",))
    terms: list[int] = []
    for item in node.at("terms").items(allow_empty=True):
        months = item.integer(1, 120)
        if months in factors or months in terms:
            item.fail(f"{months} months is listed twice (here or in term_factors)")
        terms.append(months)
    return tuple(terms)


def _percent(node: _Node) -> Decimal:
    percent = node.number("a percentage from 0 to below 100")
    if not 0 <= percent < 100:
        node.fail(f"must be a percentage from 0 to below 100, not {_show(node.value)}")
    return percent


def _discounts(node: _Node) -> dict[str, Decimal]:
    discounts: dict[str, Decimal] = {}
    for key, value in node.table().items():
        if key == NO_CATEGORY or not _CODE.fullmatch(key):
            value.fail("a category must be a code in capitals such as GOV (NONE means none)")
        discounts[key] = _percent(value)
    return discounts


def _margins(node: _Node) -> dict[str, Decimal]:
    margins = {level: _percent(value) for level, value in node.table().items()}
    if not margins:
        node.fail("must list the margin of at least one partner level")
    return margins


# --- eula.toml ----------------------------------------------------------------------------


def _read_eula(root: _Node) -> Eula:
    root.table(allowed=("version", "text"))
    version = root.at("version").text(re.compile(r"\S{1,50}"), "a version of 1-50 characters")
    return Eula(version=version, text=root.at("text").text(what="the EULA text").strip())


# --- service.toml -------------------------------------------------------------------------


def _read_service(root: _Node) -> tuple[tuple[Service, ...], tuple[CustomAction, ...], Report]:
    root.table(allowed=("services", "custom_actions", "report"))
    services = tuple(_service(item) for item in root.at("services").items())
    names = [s.name for s in services]
    custom = tuple(_custom_action(item, names) for item in root.at("custom_actions").items())
    _check_actions_placed(root, services, custom)
    return services, custom, _report(root.at("report"))


def _service(node: _Node) -> Service:
    node.table(allowed=("name", "description", "actions"))
    actions = tuple(item.choice(ACTIONS) for item in node.at("actions").items(allow_empty=True))
    return Service(
        name=node.at("name").text(what="the service's name"),
        description=node.at("description").text(what="a description"),
        actions=actions,
    )


def _custom_action(node: _Node, services: list[str]) -> CustomAction:
    node.table(allowed=("name", "service", "action", "description"))
    return CustomAction(
        name=node.at("name").text(what="the button's name"),
        service=node.at("service").choice(services),
        action=node.at("action").choice(ACTIONS),
        description=node.at("description").text(what="a description"),
    )


def _check_actions_placed(
    root: _Node, services: tuple[Service, ...], custom: tuple[CustomAction, ...]
) -> None:
    placed = [a for s in services for a in s.actions] + [c.action for c in custom]
    for action in ACTIONS:
        if placed.count(action) != 1:
            count = "no" if action not in placed else f"{placed.count(action)}"
            root.fail(f"{action} must belong to exactly one service or custom action, not {count}")
    if len({s.name for s in services}) != len(services):
        root.at("services").fail("service names must be unique")


def _report(node: _Node) -> Report:
    node.table(allowed=("name", "columns"))
    items = node.at("columns").items()
    if len(items) != len(REPORT_COLUMNS):
        node.at("columns").fail(
            f"must list the {len(REPORT_COLUMNS)} columns of the contract, in order: "
            + ", ".join(REPORT_COLUMNS)
        )
    columns = tuple(_column(item, name) for item, name in zip(items, REPORT_COLUMNS, strict=True))
    return Report(name=node.at("name").text(what="the report's name"), columns=columns)


def _column(node: _Node, expected: str) -> ReportColumn:
    node.table(allowed=("Name", "Type"))
    name = node.at("Name").text(what="a column name")
    if name != expected:
        node.at("Name").fail(
            f"must be {expected!r} (the contract fixes the columns and their order), not {name!r}"
        )
    return ReportColumn(name=name, type=node.at("Type").choice(REPORT_COLUMN_TYPES))


# --- fields.toml --------------------------------------------------------------------------


def _read_fields(root: _Node, catalog: Catalog, eula: Eula) -> dict[str, tuple[FieldDef, ...]]:
    root.table(allowed=tuple(CONTRACT_FIELDS))
    members = _expected_members(catalog)
    fields: dict[str, tuple[FieldDef, ...]] = {}
    for action, expected in CONTRACT_FIELDS.items():
        nodes = root.at(action).items()
        defs = tuple(_field(node.renamed(f"{action}[{i}]"), action) for i, node in enumerate(nodes))
        _check_contract(root.at(action), action, defs, expected)
        for field in defs:
            where = root.renamed(f"{action}.{field.name}")
            _check_against_catalog(where, field, members, catalog, eula)
        fields[action] = defs
    return fields


def _field(node: _Node, action: str) -> FieldDef:
    node.table(allowed=_FIELD_KEYS)
    name = node.at("Name").text(_NAME, "a field name such as Seats")
    node = node.renamed(f"{action}.{name}")
    type_ = node.at("Type").choice(FIELD_TYPES)
    display = node.at("DisplayType").choice(DISPLAY_TYPES)
    low, high = _bounds(node, type_)
    validator = _validator(node.get("Validator"))
    members = _members(node.get("EnumMembers"), type_)
    default_node = node.get("DefaultValue")
    default = None
    if default_node is not None:
        default = _typed(default_node, type_)
        _check_value(default_node, default, members, low, high, validator)
    required_node = node.get("Required")
    required = display == "Mandatory" or (required_node is not None and required_node.boolean())
    return FieldDef(name, type_, display, members, default, validator, low, high, required)


def _bounds(node: _Node, type_: str) -> tuple[int | None, int | None]:
    low_node, high_node = node.get("MinValue"), node.get("MaxValue")
    if type_ in ("Boolean", "Date"):
        for bound in (low_node, high_node):
            if bound is not None:
                bound.fail(f"a {type_} field takes no bounds")
        return None, None
    floor = -(10**9) if type_ == "Integer" else 0
    low = None if low_node is None else low_node.integer(floor)
    high = None if high_node is None else high_node.integer(low if low is not None else floor)
    return low, high


def _validator(node: _Node | None) -> str | None:
    if node is None:
        return None
    pattern = node.text(what="a regular expression")
    try:
        re.compile(pattern)
    except re.error as error:
        node.fail(f"not a valid regular expression: {error}")
    return pattern


def _members(node: _Node | None, type_: str) -> tuple[FieldValue, ...] | None:
    if node is None:
        return None
    members = tuple(_typed(item, type_) for item in node.items())
    if len(set(members)) != len(members):
        node.fail("lists a value twice")
    return members


def _typed(node: _Node, type_: str) -> FieldValue:
    value = node.value
    if type_ == "Integer":
        return node.integer(-(10**9))
    if type_ == "Boolean":
        return node.boolean()
    if not isinstance(value, str):
        node.fail(f"must be a string for a {type_} field, not {_show(value)}")
    if type_ == "Date":
        try:
            date.fromisoformat(value)
        except ValueError:
            node.fail(f"must be a date written YYYY-MM-DD, not {value!r}")
    return value


def _check_value(
    node: _Node,
    value: FieldValue,
    members: tuple[FieldValue, ...] | None,
    low: int | None,
    high: int | None,
    validator: str | None,
) -> None:
    if members is not None and value not in members:
        node.fail(f"{_show(value)} is not one of the EnumMembers")
    size = value if isinstance(value, int) else len(str(value))
    if (low is not None and size < low) or (high is not None and size > high):
        node.fail(f"{_show(value)} is outside MinValue/MaxValue")
    if validator is not None and not re.fullmatch(validator, str(value)):
        node.fail(f"{_show(value)} does not match the Validator")


def _check_contract(
    node: _Node, action: str, defs: tuple[FieldDef, ...], expected: Mapping[str, str]
) -> None:
    names = [field.name for field in defs]
    for field in defs:
        where = node.renamed(f"{action}.{field.name}")
        if names.count(field.name) > 1:
            where.fail("the field is listed twice")
        if field.name not in expected:
            where.fail(f"not a field of {action}; the contract has {', '.join(expected)}")
        if field.type != expected[field.name]:
            where.child("Type", field.type).fail(f"must be {expected[field.name]} for this field")
        if field.name in CONTRACT_MANDATORY[action] and not field.required:
            where.child("DisplayType", field.display_type).fail(
                "the contract makes this field mandatory: use Mandatory, or Hidden with Required"
            )
    for name in expected:
        if name not in names:
            node.fail(f"missing the field {name!r}")


def _expected_members(catalog: Catalog) -> dict[str, tuple[str, set[FieldValue]]]:
    paid: set[FieldValue] = set(catalog.term_factors)
    trials: set[FieldValue] = set(catalog.trial_terms)
    return {
        "Product": ("the products of catalog.toml", {p.code for p in catalog.products}),
        "TermMonths": ("the trial and paid terms of catalog.toml", paid | trials),
        "RenewTermMonths": ("0 and the paid terms of catalog.toml", paid | {0}),
        "DiscountCategory": (
            "NONE and the discount categories of catalog.toml",
            {NO_CATEGORY, *catalog.discounts},
        ),
        "LicenseType": ("the license types", set(LICENSE_KINDS)),
    }


def _check_against_catalog(
    node: _Node,
    field: FieldDef,
    expected: Mapping[str, tuple[str, set[FieldValue]]],
    catalog: Catalog,
    eula: Eula,
) -> None:
    if field.name in expected:
        what, values = expected[field.name]
        if set(field.enum_members or ()) != values:
            listed = ", ".join(sorted(_text(v) for v in values))
            node.child("EnumMembers", None).fail(f"must list {what}: {listed}")
    if field.name == "Seats" and (field.min_value, field.max_value) != (1, catalog.max_seats):
        node.child("MaxValue", None).fail(
            f"Seats must have MinValue 1 and MaxValue {catalog.max_seats}, "
            "the ends of the seat bands in catalog.toml"
        )
    if field.name == "EulaVersion" and field.max_value is not None:
        if len(eula.version) > field.max_value:
            node.child("MaxValue", None).fail(f"too small for the EULA version {eula.version!r}")
