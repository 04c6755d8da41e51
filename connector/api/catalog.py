"""The manifest and the live quote the configuration form asks as the reseller types."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from marshmallow import ValidationError

from connector import admission
from connector.api.auth import require_signature
from connector.api.envelope import flatten
from connector.api.errors import invalid
from connector.api.events import json_object
from connector.domain import quote as quoting
from connector.domain.fields import QuoteRequestSchema
from connector.runtime import current_runtime

bp = Blueprint("catalog", __name__)
bp.before_request(require_signature)
_QUOTE_REQUEST = QuoteRequestSchema()


@bp.get("/api/v1/manifest")
def manifest() -> Response:
    """Describe the connector to the marketplace: services, fields, report, EULA."""
    return jsonify(current_runtime().manifest.as_json())


@bp.post("/api/v1/quote")
def quote() -> Response:
    """Price an order as it is being filled in and say whether it would be accepted."""
    runtime = current_runtime()
    try:
        body = _QUOTE_REQUEST.load(json_object())
    except ValidationError as error:
        raise invalid(flatten(error.messages)) from None
    subscription = body.get("subscription") or {}
    today = runtime.clock.today()
    with runtime.sessions() as session:
        facts = admission.gather(
            session,
            runtime.manifest,
            action=body["action"],
            reseller_account_id=body["reseller"]["accountId"],
            subscription_account_id=subscription.get("accountId"),
            raw_fields=body["fields_"],
            today=today,
        )
        blockers = admission.blocking_reasons(
            session, body["action"], subscription.get("accountId"), facts
        )
    answer = quoting.quote(
        runtime.manifest,
        body["action"],
        body["fields_"],
        partner=facts.partner,
        license=facts.license_facts,
        today=today,
        trial_exists=facts.trial_exists,
    )
    result = answer.as_json()
    if blockers:  # the intake would refuse it, whatever the fields: "Done" must not enable
        result["valid"] = False
        result["errors"].setdefault("subscription", []).extend(blockers)
    return jsonify(result)
