"""The ESET sandbox's licensing world: partners, customers, licenses, orders and mails.

Each public method takes a call's JSON body and returns its JSON answer, or raises ``ApiError``
with the status, ``code`` and ``subCode`` of eset.md. Nothing here knows about HTTP, tokens or
fault injection; the caller holds the lock.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from connector.clock import Clock
from connector.sandbox._common import ControlError, add_months

PRODUCTS: dict[str, str] = {
    "PROTECT_ENTRY": "ESET PROTECT Entry",
    "PROTECT_ADVANCED": "ESET PROTECT Advanced",
    "PROTECT_COMPLETE": "ESET PROTECT Complete",
    "PROTECT_ELITE": "ESET PROTECT Elite",
    "PROTECT_MDR": "ESET PROTECT MDR",
}
LEVELS = ("Registered", "Bronze", "Silver", "Gold", "Platinum")
DISCOUNT_CATEGORIES = ("NONE", "GOV", "EDU", "STD")
FULL_TERMS = (12, 24, 36)
TRIAL_TERMS = (1, 3)
MIN_SEATS, MAX_SEATS = 1, 10_000
LATE_RENEWAL_DAYS = 60
MAX_TAKE = 100

FULL, TRIAL = 1, 4
ERROR, NORMAL, OBSOLETE, SUSPENDED, WARNING = 0, 1, 2, 3, 4

_KEY_ALPHABET = string.ascii_uppercase + string.digits
_COMPANY_STEMS = ("Alpen", "Nordlicht", "Rhein", "Donau", "Isar", "Elbufer", "Spree", "Harz")
_COMPANY_KINDS = ("Logistik GmbH", "Consulting AG", "Bau GmbH", "Medien KG", "Software GmbH")


class ApiError(Exception):
    """An ESET error answer: HTTP status plus ``{"error": {code, subCode, message}}``."""

    def __init__(self, status: int, code: int, sub_code: int, message: str, **extra: Any):
        super().__init__(message)
        self.status = status
        self.code = code
        self.sub_code = sub_code
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """Return the JSON error body."""
        error = {"code": self.code, "subCode": self.sub_code, "message": self.message}
        return {"error": {**error, **self.extra}}


def invalid(message: str) -> ApiError:
    """Return the generic invalid-input error (code 2, subCode 1)."""
    return ApiError(400, 2, 1, f"InvalidInput: {message}")


def _license_error(status: int, sub_code: int, name: str, **extra: Any) -> ApiError:
    return ApiError(status, 8, sub_code, name, **extra)


@dataclass(frozen=True)
class PartnerSeed:
    """A partner to create at start (or over ``POST /_sandbox/partners``) with N licenses."""

    partner_id: str | None = None
    name: str = "Sandbox Partner GmbH"
    country: str = "DE"
    level: str = "Gold"
    released: bool = True
    licenses: int = 0


@dataclass
class _Partner:
    partner_id: str
    name: str
    country: str
    level: str
    released: bool
    email: str = ""
    distributor_reference: str | None = None

    def detail(self) -> dict[str, Any]:
        return {
            "partnerId": self.partner_id,
            "name": self.name,
            "country": self.country,
            "level": self.level,
            "releasedToDistributor": self.released,
        }


@dataclass
class _Customer:
    customer_id: str
    partner_id: str
    name: str
    email: str
    country: str
    vat_id: str | None
    custom_identifier: str | None


@dataclass
class _License:
    public_license_key: str
    license_key: str
    partner_id: str
    customer_id: str
    product_code: str
    quantity: int
    usage: int
    license_type: int
    state: int
    start_date: date
    expiration_date: date
    last_update: datetime
    notify_emails: tuple[str, ...] = ()
    discount_category: str = "NONE"
    crossgrade: bool = False


@dataclass(frozen=True)
class Mail:
    """A mail the sandbox "sent" (ESET mails license documents after every order)."""

    to: tuple[str, ...]
    subject: str
    public_license_key: str
    license_key: str
    sent_at: str

    def as_json(self) -> dict[str, Any]:
        return {
            "to": list(self.to),
            "subject": self.subject,
            "publicLicenseKey": self.public_license_key,
            "licenseKey": self.license_key,
            "sentAt": self.sent_at,
        }


@dataclass
class EsetWorld:
    """Everything the ESET sandbox knows, seeded deterministically from ``seed``."""

    clock: Clock
    seed: int
    partners: dict[str, _Partner] = field(default_factory=dict)
    customers: dict[str, _Customer] = field(default_factory=dict)
    licenses: dict[str, _License] = field(default_factory=dict)
    orders: dict[str, str] = field(default_factory=dict)
    mails: list[Mail] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._next_customer = 1001

    # ------------------------------------------------------------------ dispatch

    def call(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Answer one API call (everything but ``Token/*``)."""
        handler = CALLS.get(path)
        if handler is None:
            raise ApiError(404, 2, 2, f"UnknownCall: {path}")
        return handler(self, body)

    # ------------------------------------------------------------------ partners, customers

    def partner_detail(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._partner(_text(body, "partnerId")).detail()

    def register_partner(self, body: Mapping[str, Any]) -> dict[str, Any]:
        reference = _text(body, "distributorReference")
        for partner in self.partners.values():
            if partner.distributor_reference == reference:
                return {"partnerId": partner.partner_id, "level": partner.level}
        partner = _Partner(
            partner_id=self._new_partner_id(),
            name=_text(body, "name"),
            country=_country(body, "country"),
            level="Registered",
            released=True,
            email=_text(body, "email"),
            distributor_reference=reference,
        )
        self.partners[partner.partner_id] = partner
        return {"partnerId": partner.partner_id, "level": partner.level}

    def create_customer(self, body: Mapping[str, Any]) -> dict[str, Any]:
        partner = self._partner(_text(body, "partnerId"))
        identifier = _optional_text(body, "customIdentifier")
        if identifier:
            for customer in self.customers.values():
                if customer.partner_id == partner.partner_id and (
                    customer.custom_identifier == identifier
                ):
                    return {"customerId": customer.customer_id}
        customer = self._add_customer(
            partner.partner_id,
            name=_text(body, "name"),
            email=_text(body, "email"),
            country=_country(body, "country"),
            vat_id=_optional_text(body, "vatId"),
            custom_identifier=identifier,
        )
        return {"customerId": customer.customer_id}

    # ------------------------------------------------------------------ ordering calls

    def order(self, body: Mapping[str, Any]) -> dict[str, Any]:
        reference = self._fresh_reference(body)
        partner = self._partner(_text(body, "partnerId"))
        customer = self._customer(partner, _text(body, "customerId"))
        product = _product(body, "productCode")
        quantity = _quantity(body, "quantity")
        license_type = _int(body, "licenseType")
        term = _int(body, "termMonths")
        discount = _discount(body)
        crossgrade = _flag(body, "crossgrade")
        notify = _emails(body, "notifyEmails")
        if license_type == TRIAL:
            self._check_trial(customer, product, term, discount, crossgrade)
        elif license_type != FULL:
            raise invalid("licenseType must be 1 (full) or 4 (trial)")
        elif term not in FULL_TERMS:
            raise invalid("termMonths must be 12, 24 or 36 for a full license")
        today = self.clock.today()
        placed = _License(
            public_license_key=self._new_public_key(self._rng),
            license_key=_license_key(self._rng),
            partner_id=partner.partner_id,
            customer_id=customer.customer_id,
            product_code=product,
            quantity=quantity,
            usage=0,
            license_type=license_type,
            state=NORMAL,
            start_date=today,
            expiration_date=add_months(today, term),
            last_update=self.clock.now(),
            notify_emails=notify or (customer.email,),
            discount_category=discount,
            crossgrade=crossgrade,
        )
        self.licenses[placed.public_license_key] = placed
        return self._executed(reference, placed, "Your new ESET license")

    def renew(self, body: Mapping[str, Any]) -> dict[str, Any]:
        reference = self._fresh_reference(body)
        found = self._license(_text(body, "publicLicenseKey"))
        term = _int(body, "termMonths")
        if term not in FULL_TERMS:
            raise invalid("termMonths must be 12, 24 or 36")
        quantity = _quantity(body, "quantity")
        today = self.clock.today()
        if found.state == OBSOLETE:
            raise _license_error(403, 23, "NotActive")
        if found.expiration_date + timedelta(days=LATE_RENEWAL_DAYS) < today:
            raise _license_error(403, 37, "Expired")
        if found.license_type == TRIAL:
            # A trial turned full starts its first full term on the day of the renewal.
            found.license_type = FULL
            found.start_date = today
            found.expiration_date = add_months(today, term)
        else:
            found.start_date = found.expiration_date
            found.expiration_date = add_months(found.expiration_date, term)
        found.quantity = quantity
        return self._executed(reference, found, "Your renewed ESET license")

    def update_quantity(self, body: Mapping[str, Any]) -> dict[str, Any]:
        reference = self._fresh_reference(body)
        found = self._license(_text(body, "publicLicenseKey"))
        quantity = _quantity(body, "quantity")
        self._check_changeable(found)
        if quantity == found.quantity:
            raise _license_error(400, 48, "QuantityEqualToPrevious")
        found.quantity = quantity
        return self._executed(reference, found, "Your ESET license has new seats")

    def change_product(self, body: Mapping[str, Any]) -> dict[str, Any]:
        reference = self._fresh_reference(body)
        found = self._license(_text(body, "publicLicenseKey"))
        product = _product(body, "newProductCode")
        quantity = _quantity(body, "quantity")
        if found.license_type != FULL or product == found.product_code:
            raise _license_error(403, 45, "ChangeOfProductUnavailable")
        self._check_changeable(found)
        found.product_code = product
        found.quantity = quantity
        return self._executed(reference, found, "Your ESET license has a new product")

    # ------------------------------------------------------------------ state changes, reads

    def suspend(self, body: Mapping[str, Any]) -> dict[str, Any]:
        found = self._license(_text(body, "publicLicenseKey"))
        if found.state == OBSOLETE:
            raise _license_error(403, 23, "NotActive")
        return self._set_state(found, SUSPENDED)

    def unsuspend(self, body: Mapping[str, Any]) -> dict[str, Any]:
        found = self._license(_text(body, "publicLicenseKey"))
        if found.state != SUSPENDED:
            raise _license_error(403, 36, "NotSuspended")
        return self._set_state(found, NORMAL)

    def remove(self, body: Mapping[str, Any]) -> dict[str, Any]:
        found = self._license(_text(body, "publicLicenseKey"))
        if found.license_type != TRIAL:
            raise _license_error(403, 24, "NotTrial")
        return self._set_state(found, OBSOLETE)

    def license_detail(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.detail(self._license(_text(body, "publicLicenseKey")))

    def search_licenses(self, body: Mapping[str, Any]) -> dict[str, Any]:
        partner = self._partner(_text(body, "partnerId"))
        skip, take = _int(body, "skip"), _int(body, "take")
        if skip < 0 or not 1 <= take <= MAX_TAKE:
            raise invalid(f"skip must be 0 or more and take 1 to {MAX_TAKE}")
        if not partner.released:
            raise ApiError(403, 6, 2, "PartnerDataNotReleased")
        owned = [lic for lic in self.licenses.values() if lic.partner_id == partner.partner_id]
        page = owned[skip : skip + take]
        return {"totalCount": len(owned), "search": [self.detail(lic) for lic in page]}

    def search_orders(self, body: Mapping[str, Any]) -> dict[str, Any]:
        reference = _text(body, "orderReference")
        key = self.orders.get(reference)
        found = [{"orderReference": reference, "publicLicenseKey": key, "status": "Completed"}]
        return {"orders": found if key else []}

    def detail(self, lic: _License) -> dict[str, Any]:
        """Return the license as every license call answers it."""
        customer = self.customers.get(lic.customer_id)
        return {
            "publicLicenseKey": lic.public_license_key,
            "licenseKey": lic.license_key,
            "partnerId": lic.partner_id,
            "customerId": lic.customer_id,
            "customer": _customer_json(customer),
            "productCode": lic.product_code,
            "productName": PRODUCTS[lic.product_code],
            "quantity": lic.quantity,
            "usage": lic.usage,
            "licenseType": lic.license_type,
            "state": lic.state,
            "startDate": lic.start_date.isoformat(),
            "expirationDate": lic.expiration_date.isoformat(),
            "lastUpdate": lic.last_update.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    # ------------------------------------------------------------------ seeding

    def seed_partner(self, seed: PartnerSeed) -> _Partner:
        """Create a partner with ``seed.licenses`` licenses, the same ones for the same seed."""
        if seed.level not in LEVELS:
            raise ControlError(f"level must be one of {', '.join(LEVELS)}")
        partner_id = seed.partner_id or self._new_partner_id()
        if partner_id in self.partners:
            raise ControlError(f"partner {partner_id} exists already")
        partner = _Partner(partner_id, seed.name, seed.country, seed.level, seed.released)
        self.partners[partner_id] = partner
        # One generator per partner, so adding a partner never changes another's licenses.
        rng = random.Random(f"{self.seed}/{partner_id}")
        customers = [self._seed_customer(partner, rng, n) for n in range(_customers_for(seed))]
        for _ in range(seed.licenses):
            self._seed_license(partner, rng.choice(customers), rng)
        return partner

    def _seed_customer(self, partner: _Partner, rng: random.Random, number: int) -> _Customer:
        name = f"{rng.choice(_COMPANY_STEMS)} {rng.choice(_COMPANY_KINDS)} {number + 1}"
        slug = name.split()[0].lower()
        return self._add_customer(
            partner.partner_id,
            name=name,
            email=f"it@{slug}{number + 1}.example",
            country=partner.country,
            vat_id=None,
            custom_identifier=f"seed-{number + 1}",
        )

    def _seed_license(self, partner: _Partner, customer: _Customer, rng: random.Random) -> None:
        today = self.clock.today()
        trial = rng.random() < 0.1
        term = rng.choice(TRIAL_TERMS if trial else FULL_TERMS)
        days_left = rng.randint(-20, 30 * term) if trial else rng.randint(-90, 400)
        expiry = today + timedelta(days=days_left)
        quantity = rng.choice((1, 5, 10, 25, 50, 100, 250))
        roll = rng.random()
        state = SUSPENDED if roll < 0.08 else WARNING if roll < 0.12 else NORMAL
        seeded = _License(
            public_license_key=self._new_public_key(rng),
            license_key=_license_key(rng),
            partner_id=partner.partner_id,
            customer_id=customer.customer_id,
            product_code=rng.choice(list(PRODUCTS)),
            quantity=quantity,
            usage=rng.randint(0, quantity),
            license_type=TRIAL if trial else FULL,
            state=state,
            start_date=add_months(expiry, -term),
            expiration_date=expiry,
            last_update=self.clock.now(),
            notify_emails=(customer.email,),
        )
        self.licenses[seeded.public_license_key] = seeded

    # ------------------------------------------------------------------ helpers

    def _partner(self, partner_id: str) -> _Partner:
        partner = self.partners.get(partner_id)
        if partner is None:
            raise ApiError(404, 6, 1, "PartnerNotFound")
        return partner

    def _customer(self, partner: _Partner, customer_id: str) -> _Customer:
        customer = self.customers.get(customer_id)
        if customer is None or customer.partner_id != partner.partner_id:
            raise ApiError(404, 7, 1, "CustomerNotFound")
        return customer

    def _license(self, public_license_key: str) -> _License:
        found = self.licenses.get(public_license_key)
        if found is None:
            raise _license_error(404, 2, "LicenseNotFound")
        return found

    def _fresh_reference(self, body: Mapping[str, Any]) -> str:
        reference = _text(body, "orderReference")
        if reference in self.orders:
            key = self.orders[reference]
            raise _license_error(409, 20, "AlreadyOrdered", publicLicenseKey=key)
        return reference

    def _check_trial(
        self, customer: _Customer, product: str, term: int, discount: str, crossgrade: bool
    ) -> None:
        if term not in TRIAL_TERMS:
            raise invalid("termMonths must be 1 or 3 for a trial")
        if discount != "NONE" or crossgrade:
            raise _license_error(403, 32, "TrialNotAllowed")
        today = self.clock.today()
        for lic in self.licenses.values():
            if (
                lic.customer_id == customer.customer_id
                and lic.product_code == product
                and lic.license_type == TRIAL
                and lic.state != OBSOLETE
                and lic.expiration_date >= today
            ):
                raise _license_error(403, 32, "TrialNotAllowed")

    def _check_changeable(self, lic: _License) -> None:
        if lic.state in (OBSOLETE, SUSPENDED):
            raise _license_error(403, 23, "NotActive")
        if lic.expiration_date < self.clock.today():
            raise _license_error(403, 37, "Expired")

    def _set_state(self, lic: _License, state: int) -> dict[str, Any]:
        lic.state = state
        lic.last_update = self.clock.now()
        return self.detail(lic)

    def _executed(self, reference: str, lic: _License, subject: str) -> dict[str, Any]:
        lic.last_update = self.clock.now()
        self.orders[reference] = lic.public_license_key
        mail = Mail(
            to=lic.notify_emails,
            subject=f"{subject}: {PRODUCTS[lic.product_code]} ({lic.public_license_key})",
            public_license_key=lic.public_license_key,
            license_key=lic.license_key,
            sent_at=lic.last_update.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        self.mails.append(mail)
        return self.detail(lic)

    def _add_customer(self, partner_id: str, **data: Any) -> _Customer:
        customer = _Customer(customer_id=f"C-{self._next_customer}", partner_id=partner_id, **data)
        self._next_customer += 1
        self.customers[customer.customer_id] = customer
        return customer

    def _new_partner_id(self) -> str:
        while True:
            candidate = f"P-{self._rng.randint(1_000_000, 9_999_999)}"
            if candidate not in self.partners:
                return candidate

    def _new_public_key(self, rng: random.Random) -> str:
        while True:
            candidate = "-".join(_chunk(rng, 3) for _ in range(3))
            if candidate not in self.licenses:
                return candidate


CALLS: dict[str, Callable[[EsetWorld, Mapping[str, Any]], dict[str, Any]]] = {
    "Partner/Detail": EsetWorld.partner_detail,
    "Partner/Register": EsetWorld.register_partner,
    "Customer/Create": EsetWorld.create_customer,
    "License/Order": EsetWorld.order,
    "License/Renew": EsetWorld.renew,
    "License/UpdateQuantity": EsetWorld.update_quantity,
    "License/ChangeProduct": EsetWorld.change_product,
    "License/Suspend": EsetWorld.suspend,
    "License/Unsuspend": EsetWorld.unsuspend,
    "License/Remove": EsetWorld.remove,
    "License/Detail": EsetWorld.license_detail,
    "Search/Licenses": EsetWorld.search_licenses,
    "Search/Orders": EsetWorld.search_orders,
}
ORDERING_CALLS = (
    "License/Order",
    "License/Renew",
    "License/UpdateQuantity",
    "License/ChangeProduct",
)


# ---------------------------------------------------------------------- body readers


def _text(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"{name} is required")
    return value


def _optional_text(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid(f"{name} must be a string")
    return value


def _country(body: Mapping[str, Any], name: str) -> str:
    value = _text(body, name)
    if len(value) != 2 or not value.isalpha():
        raise invalid(f"{name} must be an ISO 3166-1 alpha-2 code")
    return value.upper()


def _int(body: Mapping[str, Any], name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{name} must be an integer")
    return value


def _quantity(body: Mapping[str, Any], name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < MIN_SEATS:
        raise _license_error(400, 18, "InvalidQuantity")
    if value > MAX_SEATS:
        raise _license_error(400, 30, "QuantityOutOfRange")
    return value


def _product(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if value not in PRODUCTS:
        raise _license_error(400, 27, "ProductNotAvailable")
    return str(value)


def _discount(body: Mapping[str, Any]) -> str:
    value = body.get("discountCategory") or "NONE"
    if value not in DISCOUNT_CATEGORIES:
        raise invalid(f"discountCategory must be one of {', '.join(DISCOUNT_CATEGORIES)}")
    return str(value)


def _flag(body: Mapping[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise invalid(f"{name} must be true or false")
    return value


def _emails(body: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = body.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and "@" in v for v in value):
        raise invalid(f"{name} must be a list of e-mail addresses")
    return tuple(value)


def _customer_json(customer: _Customer | None) -> dict[str, Any] | None:
    if customer is None:
        return None
    return {
        "name": customer.name,
        "email": customer.email,
        "country": customer.country,
        "vatId": customer.vat_id,
    }


def _customers_for(seed: PartnerSeed) -> int:
    return max(1, min(50, (seed.licenses + 1) // 2))


def _chunk(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(_KEY_ALPHABET) for _ in range(length))


def _license_key(rng: random.Random) -> str:
    return "-".join(_chunk(rng, 4) for _ in range(5))
