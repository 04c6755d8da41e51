"""Checking an order's fields and pricing it, for the event intake and for the live quote.

``check_event`` is what ``POST /api/v1/events`` asks before it accepts an event: coerced fields,
errors keyed by contract field names, a refusal when the license's state forbids the action,
and the price. ``quote`` answers ``POST /api/v1/quote`` from the same check. Neither touches a
store: the caller looks up the reseller, the license and any existing trial and passes the facts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from connector.domain.facts import NO_CATEGORY, LicenseFacts, PartnerFacts
from connector.domain.fields import LoadedFields, load_fields
from connector.domain.manifest import ACTIONS, QUOTABLE_ACTIONS, Manifest
from connector.domain.pricing import Price, change_plan_price, create_price, modify_price
from connector.domain.rules import (
    CROSSGRADE,
    Errors,
    change_plan_errors,
    create_errors,
    is_trial_order,
    merge_errors,
    modify_errors,
    needs_proof,
    state_refusal,
)

NOT_SUBSCRIBED = 'Add the service "ESET Partner Status" before ordering.'
UNKNOWN_LICENSE = "No license of this reseller has this subscription."


class UnknownAction(ValueError):
    """An action the contract does not define (or, for a quote, one without a price)."""


@dataclass(frozen=True)
class Checked:
    """An event's fields after coercion and every rule that can be decided at intake."""

    action: str
    fields: dict[str, Any]
    """Coerced field values by contract name, defaults filled in; dates are ``date``."""
    errors: Errors
    """Messages by contract field name (or ``reseller`` / ``subscription``): answer 422."""
    refusal: str | None = None
    """Why the license's state forbids the action: answer 409 ``invalid_state``."""
    price: Price | None = None

    @property
    def valid(self) -> bool:
        return not self.errors and self.refusal is None

    @property
    def needs_proof_review(self) -> bool:
        """Tell whether the order waits for an admin's proof check (category or crossgrade)."""
        return self.action == "CREATE" and needs_proof(self.fields)

    def fields_json(self) -> dict[str, Any]:
        """Return the coerced fields as JSON values (dates as ``YYYY-MM-DD``)."""
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in self.fields.items()}


@dataclass(frozen=True)
class QuoteResult:
    valid: bool
    errors: Errors
    price: Price | None

    def as_json(self) -> dict[str, Any]:
        """Return the body of the ``POST /api/v1/quote`` answer."""
        price = None if self.price is None else self.price.as_json()
        return {"valid": self.valid, "errors": self.errors, "price": price}


@dataclass(frozen=True)
class TrialKey:
    """Who a trial belongs to: one trial per product and end customer under a reseller."""

    product: str
    company: str
    """The customer's company name, case and spacing ignored."""
    country: str


def trial_key(manifest: Manifest, raw_fields: object) -> TrialKey | None:
    """Return whose trial new-license fields order, or None when they order no valid trial."""
    data = load_fields(manifest, "CREATE", raw_fields).data
    product, company, country = (
        data.get(k) for k in ("Product", "CustomerCompany", "CustomerCountry")
    )
    if not is_trial_order(manifest.catalog, data) or None in (product, company, country):
        return None
    return TrialKey(str(product), " ".join(str(company).split()).casefold(), str(country))


def check_event(
    manifest: Manifest,
    action: str,
    raw_fields: object,
    *,
    partner: PartnerFacts | None,
    license: LicenseFacts | None,
    today: date,
    trial_exists: bool = False,
) -> Checked:
    """Coerce an event's fields, apply the rules of ``action`` and price it where it costs."""
    if action not in ACTIONS:
        raise UnknownAction(f"unknown action {action!r}")
    if partner is None and action != "SUBSCRIBE":
        return Checked(action, {}, {"reseller": [NOT_SUBSCRIBED]})
    loaded = load_fields(manifest, action, raw_fields)
    check = _CHECKS.get(action)
    if check is None or partner is None:
        return Checked(action, loaded.data, loaded.errors, state_refusal(action, license, today))
    return check(_Order(manifest, loaded, partner, license, today, trial_exists))


def quote(
    manifest: Manifest,
    action: str,
    raw_fields: object,
    *,
    partner: PartnerFacts | None,
    license: LicenseFacts | None,
    today: date,
    trial_exists: bool = False,
) -> QuoteResult:
    """Answer the live quote: the price so far and whether the order would be accepted."""
    if action not in QUOTABLE_ACTIONS:
        raise UnknownAction(f"no quote for action {action!r}")
    checked = check_event(
        manifest,
        action,
        raw_fields,
        partner=partner,
        license=license,
        today=today,
        trial_exists=trial_exists,
    )
    errors = checked.errors
    if checked.refusal is not None:
        errors = merge_errors(errors, {"subscription": [checked.refusal]})
    return QuoteResult(checked.valid, errors, checked.price)


@dataclass(frozen=True)
class _Order:
    manifest: Manifest
    loaded: LoadedFields
    partner: PartnerFacts
    license: LicenseFacts | None
    today: date
    trial_exists: bool


def _check_create(order: _Order) -> Checked:
    catalog, data = order.manifest.catalog, order.loaded.data
    rules = create_errors(
        catalog, order.manifest.eula, data, today=order.today, trial_exists=order.trial_exists
    )
    price = None
    if all(data.get(name) is not None for name in ("Product", "Seats", "TermMonths")):
        price = create_price(
            catalog,
            data["Product"],
            data["Seats"],
            data["TermMonths"],
            margin_percent=order.partner.margin_percent,
            # The price follows the chosen category and license type even before their proof.
            category=data.get("DiscountCategory") or NO_CATEGORY,
            crossgrade=data.get("LicenseType") == CROSSGRADE,
        )
    return Checked("CREATE", data, merge_errors(order.loaded.errors, rules), None, price)


def _license_fields(order: _Order, license: LicenseFacts) -> dict[str, Any]:
    data = dict(order.loaded.data)
    for name, default in (("Seats", license.seats), ("RenewTermMonths", 0)):
        if name in data and data[name] is None:
            data[name] = default
    return data


def _check_modify(order: _Order) -> Checked:
    license = order.license
    if license is None:
        return Checked("MODIFY", order.loaded.data, {"subscription": [UNKNOWN_LICENSE]})
    data = _license_fields(order, license)
    refusal = state_refusal("MODIFY", license, order.today)
    seats, renew = data.get("Seats"), data.get("RenewTermMonths")
    if seats is None or renew is None or refusal is not None:
        return Checked("MODIFY", data, order.loaded.errors, refusal)
    catalog = order.manifest.catalog
    rules = modify_errors(catalog, license, seats, renew, today=order.today)
    price = modify_price(
        catalog,
        license,
        seats,
        renew,
        today=order.today,
        margin_percent=order.partner.margin_percent,
    )
    return Checked("MODIFY", data, merge_errors(order.loaded.errors, rules), None, price)


def _check_change_plan(order: _Order) -> Checked:
    license = order.license
    if license is None:
        return Checked("CHANGE_PLAN", order.loaded.data, {"subscription": [UNKNOWN_LICENSE]})
    data = _license_fields(order, license)
    refusal = state_refusal("CHANGE_PLAN", license, order.today)
    if refusal is not None:
        return Checked("CHANGE_PLAN", data, order.loaded.errors, refusal)
    catalog = order.manifest.catalog
    product, seats, renew = (data.get(k) for k in ("Product", "Seats", "RenewTermMonths"))
    rules = change_plan_errors(catalog, license, product, seats, renew, today=order.today)
    price = None
    if product is not None and seats is not None and renew is not None:
        price = change_plan_price(
            catalog,
            license,
            product,
            seats,
            renew,
            today=order.today,
            margin_percent=order.partner.margin_percent,
        )
    return Checked("CHANGE_PLAN", data, merge_errors(order.loaded.errors, rules), None, price)


_CHECKS: Mapping[str, Callable[[_Order], Checked]] = {
    "CREATE": _check_create,
    "MODIFY": _check_modify,
    "CHANGE_PLAN": _check_change_plan,
}
