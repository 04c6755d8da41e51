"""Signed reads of one reseller's world: partner status, licenses, the product report.

Every read is scoped to the reseller in the path: another reseller's license is not found.
"""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

from flask import Blueprint, Response, jsonify, request

from connector import licenses, listing, operations, reports
from connector.api.auth import require_signature
from connector.api.errors import malformed, not_found
from connector.domain.catalog import Catalog
from connector.domain.pricing import money_text
from connector.domain.rules import is_renewable
from connector.models import License, Reseller
from connector.runtime import current_runtime

bp = Blueprint("resellers", __name__)
bp.before_request(require_signature)

RESELLER = "/api/v1/resellers/<reseller_id>"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# Bounds the offset the database computes from ``page`` well inside a 64-bit integer.
MAX_PAGE = 1_000_000_000
_WHOLE_NUMBER = re.compile(r"[0-9]{1,10}")
_FILE_SAFE = re.compile(r"[^A-Za-z0-9_-]")


@bp.get(f"{RESELLER}/partner-status")
def partner_status(reseller_id: str) -> Response:
    """Show a subscribed reseller's ESET partner link, level and margin."""
    with current_runtime().sessions() as session:
        reseller = session.get(Reseller, reseller_id)
        if reseller is None or reseller.subscribed_at is None:
            raise not_found("This reseller has not subscribed to ESET Partner Status.")
        return jsonify(partner_json(reseller))


@bp.get(f"{RESELLER}/licenses")
def list_licenses(reseller_id: str) -> Response:
    """List a reseller's licenses, soonest expiry first, one page at a time."""
    state = _choice("state", listing.STATES, default=listing.RENEWABLE)
    page = _whole_number("page", default=1, low=1, high=MAX_PAGE)
    page_size = _whole_number("pageSize", default=DEFAULT_PAGE_SIZE, low=1, high=MAX_PAGE_SIZE)
    runtime = current_runtime()
    today = runtime.clock.today()
    with runtime.sessions() as session:
        found, total = listing.page_of(
            session, reseller_id, state=state, today=today, page=page, page_size=page_size
        )
        items = [license_json(lic, runtime.manifest.catalog, today) for lic in found]
    return jsonify({"items": items, "page": page, "pageSize": page_size, "total": total})


@bp.get(f"{RESELLER}/licenses/<subscription_id>")
def license_detail(reseller_id: str, subscription_id: str) -> Response:
    """Show one of the reseller's licenses with its end customer and its history."""
    runtime = current_runtime()
    today = runtime.clock.today()
    with runtime.sessions() as session:
        license = licenses.of_reseller(session, reseller_id, subscription_id)
        if license is None:
            raise not_found("No such license.")
        body = license_json(license, runtime.manifest.catalog, today)
        body["history"] = [operations.describe(op) for op in listing.history_of(session, license)]
    return jsonify(body)


@bp.get(f"{RESELLER}/report")
def product_report(reseller_id: str) -> Response:
    """Export the ESET product report of all the reseller's licenses as JSON, CSV or Excel."""
    file_format = _choice("format", reports.FORMATS, default="json")
    runtime = current_runtime()
    today = runtime.clock.today()
    out = io.BytesIO()
    with runtime.sessions() as session:
        columns, rows = reports.report_rows(session, reseller_id, today)
        reports.write(file_format, columns, rows, out)
    response = Response(out.getvalue(), content_type=reports.MEDIA_TYPES[file_format])
    if file_format != "json":
        name = f"eset-product-report-{_FILE_SAFE.sub('_', reseller_id)}-{today}.{file_format}"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def partner_json(reseller: Reseller) -> dict[str, Any]:
    """Return the contract's partner status of a subscribed reseller."""
    margin, subscribed = reseller.margin_percent, reseller.subscribed_at
    return {
        "esetPartnerId": reseller.eset_partner_id,
        "alsoPartnerId": reseller.also_partner_id,
        "companyName": reseller.company_name,
        "level": reseller.level,
        "marginPercent": None if margin is None else money_text(margin),
        "subscribedAt": None if subscribed is None else operations.iso(subscribed),
    }


def license_json(license: License, catalog: Catalog, today: date) -> dict[str, Any]:
    """Return the contract's License, as the marketplace sees it today."""
    price = license.last_invoice_price
    return {
        "subscriptionAccountId": license.subscription_account_id,
        "publicLicenseKey": license.public_license_key,
        "product": license.product,
        "productName": license.product_name,
        "seats": license.seats,
        "licenseType": license.license_type,
        "state": licenses.state_of(license, today),
        "esetState": license.eset_state,
        "startDate": license.start_date.isoformat(),
        "expiryDate": license.expiry_date.isoformat(),
        "renewable": is_renewable(catalog, licenses.facts_of(license, today), today),
        "lastInvoicePrice": None if price is None else money_text(price),
        "currency": license.currency,
        "endCustomer": {
            "companyName": license.customer_company,
            "contactName": license.customer_contact,
            "email": license.customer_email,
            "country": license.customer_country,
            "vatId": license.customer_vat_id,
        },
    }


def _choice(name: str, choices: tuple[str, ...], *, default: str) -> str:
    value = request.args.get(name, default)
    if value not in choices:
        raise malformed(f"{name} must be one of {', '.join(choices)}.")
    return value


def _whole_number(name: str, *, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not _WHOLE_NUMBER.fullmatch(raw) or not low <= int(raw) <= high:
        raise malformed(f"{name} must be a whole number from {low} to {high}.")
    return int(raw)
