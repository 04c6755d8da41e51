"""The business rules of orders (catalog.md): what may be ordered, on which license, and when.

Rule functions take the fields that passed their own checks (a field that failed is absent, an
optional field left empty is ``None``) and return further errors keyed by contract field names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from connector.domain.catalog import Catalog
from connector.domain.countries import is_country_code
from connector.domain.dates import add_months
from connector.domain.facts import (
    ACTIVE,
    CANCELLED,
    EXPIRED,
    FULL,
    NO_CATEGORY,
    SUSPENDED,
    TRIAL,
    LicenseFacts,
)
from connector.domain.manifest import Eula

Errors = dict[str, list[str]]
CROSSGRADE = "CROSSGRADE"


def add_error(errors: Errors, field: str, message: str) -> None:
    """Record one more message for a field."""
    errors.setdefault(field, []).append(message)


def merge_errors(*many: Mapping[str, list[str]]) -> Errors:
    """Join error maps, keeping every message."""
    merged: Errors = {}
    for errors in many:
        for field, messages in errors.items():
            merged.setdefault(field, []).extend(messages)
    return merged


def _absent(data: Mapping[str, Any], name: str) -> bool:
    # Present as None: left empty. Missing altogether: invalid, and already reported.
    return name in data and data[name] is None


# --- license state --------------------------------------------------------------------------


def state_refusal(action: str, license: LicenseFacts | None, today: date) -> str | None:
    """Return why the license's state forbids ``action`` now, or None when it allows it."""
    if license is None or action in ("SUBSCRIBE", "CREATE", "SYNC"):
        return None
    if license.state == CANCELLED:
        return "The license is cancelled."
    if action != "CHANGE_PLAN":
        return None
    if license.is_trial:
        return "A trial cannot change product; convert it to a full license with a renewal first."
    if license.state == SUSPENDED:
        return "The license is suspended; reactivate it before changing the product."
    if license.is_expired(today):
        return "The license has expired; renew it before changing the product."
    return None


def renewal_refusal(catalog: Catalog, license: LicenseFacts, today: date) -> str | None:
    """Return why a renewal (or a trial's conversion) is outside its window today, or None."""
    left = license.days_left(today)
    after, before = catalog.renewal_days_after, catalog.renewal_days_before
    if left < -after:
        return (
            f"The license expired on {license.expiry_date}, more than {after} days ago; "
            "it can no longer be renewed."
        )
    if not license.is_trial and left > before:
        opens = license.expiry_date - timedelta(days=before)
        return f"A renewal is possible from {opens} on ({before} days before expiry)."
    return None


def is_renewable(catalog: Catalog, license: LicenseFacts, today: date) -> bool:
    """Tell whether a renewal (for a trial: its conversion) would be accepted today."""
    refused = state_refusal("MODIFY", license, today) or renewal_refusal(catalog, license, today)
    return refused is None


def blocks_new_trial(license: LicenseFacts, today: date) -> bool:
    """Tell whether a customer's existing license keeps it from starting another trial."""
    return license.is_trial and license.state != CANCELLED and not license.is_expired(today)


# --- CREATE ---------------------------------------------------------------------------------


def is_trial_order(catalog: Catalog, data: Mapping[str, Any]) -> bool:
    """Tell whether new-license fields order a trial."""
    term = data.get("TermMonths")
    return term is not None and catalog.is_trial_term(term)


def needs_proof(data: Mapping[str, Any]) -> bool:
    """Tell whether new-license fields need an eligibility proof (category or crossgrade)."""
    category = data.get("DiscountCategory") or NO_CATEGORY
    return category != NO_CATEGORY or data.get("LicenseType") == CROSSGRADE


def crossgrade_expiry_ok(catalog: Catalog, expiry: date, today: date) -> bool:
    """Tell whether an old license with this expiry may still be crossgraded today."""
    return (today - expiry).days <= catalog.crossgrade_max_days_expired


def create_errors(
    catalog: Catalog,
    eula: Eula,
    data: Mapping[str, Any],
    *,
    today: date,
    trial_exists: bool = False,
) -> Errors:
    """Check the rules that join the fields of a new license."""
    errors: Errors = {}
    if is_trial_order(catalog, data):
        _trial_errors(errors, data, trial_exists)
    else:
        _proof_errors(errors, data)
        if data.get("LicenseType") == CROSSGRADE:
            _crossgrade_errors(errors, catalog, data, today)
    _customer_errors(errors, data)
    _eula_errors(errors, eula, data)
    return errors


def _trial_errors(errors: Errors, data: Mapping[str, Any], trial_exists: bool) -> None:
    if (data.get("DiscountCategory") or NO_CATEGORY) != NO_CATEGORY:
        add_error(errors, "DiscountCategory", "A trial takes no discount category.")
    if data.get("LicenseType") == CROSSGRADE:
        add_error(errors, "LicenseType", "A trial cannot be a crossgrade.")
    if trial_exists and data.get("Product") is not None:
        add_error(errors, "Product", "This customer already holds a trial of this product.")


def _proof_errors(errors: Errors, data: Mapping[str, Any]) -> None:
    if needs_proof(data) and _absent(data, "EligibilityProof"):
        add_error(
            errors,
            "EligibilityProof",
            "Required for a discount category or a crossgrade: a reference to the proof.",
        )


def _crossgrade_errors(
    errors: Errors, catalog: Catalog, data: Mapping[str, Any], today: date
) -> None:
    old_seats, seats = data.get("CrossgradeSeats"), data.get("Seats")
    if _absent(data, "CrossgradeSeats"):
        add_error(errors, "CrossgradeSeats", "Required for a crossgrade: the old license's seats.")
    elif old_seats is not None and seats is not None:
        least = catalog.min_crossgrade_seats(seats)
        if old_seats < least:
            percent = catalog.crossgrade_min_coverage_percent
            message = f"The old license must cover at least {least} seats ({percent}% of {seats})."
            add_error(errors, "CrossgradeSeats", message)
    expiry = data.get("CrossgradeExpiry")
    if _absent(data, "CrossgradeExpiry"):
        add_error(
            errors, "CrossgradeExpiry", "Required for a crossgrade: the old license's expiry."
        )
    elif expiry is not None and not crossgrade_expiry_ok(catalog, expiry, today):
        days = catalog.crossgrade_max_days_expired
        message = f"The old license expired more than {days} days ago; it cannot be crossgraded."
        add_error(errors, "CrossgradeExpiry", message)


def _customer_errors(errors: Errors, data: Mapping[str, Any]) -> None:
    country = data.get("CustomerCountry")
    if country is not None and not is_country_code(country):
        add_error(errors, "CustomerCountry", "Not an ISO 3166-1 alpha-2 country code.")


def _eula_errors(errors: Errors, eula: Eula, data: Mapping[str, Any]) -> None:
    if data.get("EulaAccepted") is False:
        add_error(errors, "EulaAccepted", "The EULA must be accepted.")
    version = data.get("EulaVersion")
    if version is not None and version != eula.version:
        add_error(errors, "EulaVersion", f"The current EULA is version {eula.version}; accept it.")


# --- MODIFY ---------------------------------------------------------------------------------


def modify_errors(
    catalog: Catalog, license: LicenseFacts, seats: int, renew_months: int, *, today: date
) -> Errors:
    """Check a renewal and/or extension of ``license`` to ``seats`` seats in total."""
    errors: Errors = {}
    if license.is_trial:
        _conversion_errors(errors, catalog, license, renew_months, today)
        return errors
    if seats == license.seats and renew_months == 0:
        message = "Nothing to do: change the seats, choose a renewal term, or both."
        add_error(errors, "Seats", message)
        add_error(errors, "RenewTermMonths", message)
    if renew_months > 0:
        refusal = renewal_refusal(catalog, license, today)
        if refusal:
            add_error(errors, "RenewTermMonths", refusal)
    elif seats < license.seats:
        add_error(errors, "Seats", "Seats can go down only together with a renewal.")
    elif seats > license.seats and license.is_expired(today):
        add_error(errors, "Seats", "The license has expired: add seats together with a renewal.")
    return errors


def _conversion_errors(
    errors: Errors, catalog: Catalog, license: LicenseFacts, renew_months: int, today: date
) -> None:
    if renew_months == 0:
        message = "A trial changes only by becoming a full license: choose a renewal term."
        add_error(errors, "RenewTermMonths", message)
        return
    refusal = renewal_refusal(catalog, license, today)
    if refusal:
        add_error(errors, "RenewTermMonths", refusal)


# --- CHANGE_PLAN ----------------------------------------------------------------------------


def change_plan_errors(
    catalog: Catalog,
    license: LicenseFacts,
    product: str | None,
    seats: int | None,
    renew_months: int | None,
    *,
    today: date,
) -> Errors:
    """Check a product change of ``license`` (arguments that failed their own checks are None)."""
    errors: Errors = {}
    if product == license.product:
        add_error(errors, "Product", "Choose a product other than the current one.")
    elif (
        product is not None and renew_months == 0 and catalog.is_downgrade(license.product, product)
    ):
        days = catalog.renewal_days_before
        message = f"A move down is possible only with a renewal, in the {days} days before expiry."
        add_error(errors, "Product", message)
    if seats is not None and seats < license.seats:
        add_error(errors, "Seats", f"At least the current {license.seats} seats.")
    if renew_months:
        refusal = renewal_refusal(catalog, license, today)
        if refusal:
            add_error(errors, "RenewTermMonths", refusal)
    return errors


# --- the license after an order -------------------------------------------------------------


def license_after(
    catalog: Catalog,
    action: str,
    fields: Mapping[str, Any],
    license: LicenseFacts | None,
    today: date,
) -> LicenseFacts:
    """Return the license as it stands once an accepted order has been carried out."""
    if action == "CREATE" or license is None:
        return _new_license(catalog, fields, today)
    seats = fields.get("Seats") or license.seats
    product = fields.get("Product") or license.product
    renewed = _renewed(license, fields.get("RenewTermMonths") or 0, today)
    return replace(renewed, product=product, seats=seats)


def _new_license(catalog: Catalog, fields: Mapping[str, Any], today: date) -> LicenseFacts:
    trial = is_trial_order(catalog, fields)
    return LicenseFacts(
        product=fields["Product"],
        seats=fields["Seats"],
        license_type=TRIAL if trial else FULL,
        state=ACTIVE,
        start_date=today,
        expiry_date=add_months(today, fields["TermMonths"]),
        discount_category=NO_CATEGORY if trial else fields.get("DiscountCategory") or NO_CATEGORY,
    )


def _renewed(license: LicenseFacts, months: int, today: date) -> LicenseFacts:
    if months == 0:
        return license
    state = ACTIVE if license.state == EXPIRED else license.state
    if license.is_trial:
        expiry = add_months(today, months)
        return replace(
            license, license_type=FULL, state=state, start_date=today, expiry_date=expiry
        )
    expiry = add_months(license.expiry_date, months)
    return replace(license, state=state, start_date=license.expiry_date, expiry_date=expiry)
