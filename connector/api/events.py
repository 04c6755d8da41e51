"""``POST /api/v1/events``: the one door every marketplace action comes through."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, jsonify, request
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError

from connector import admission, operations
from connector.api.auth import require_signature
from connector.api.envelope import WITHOUT_SUBSCRIPTION, load_event
from connector.api.errors import ApiError, invalid, invalid_state, malformed
from connector.runtime import Runtime, current_runtime

bp = Blueprint("events", __name__)
bp.before_request(require_signature)


@bp.post("/api/v1/events")
def post_event() -> Response:
    """Store a marketplace event and answer 202; a retry gets the very same answer."""
    runtime = current_runtime()
    body = json_object()
    try:
        event = load_event(body)
    except ValidationError as error:
        raise invalid(error.messages) from None  # type: ignore[arg-type]
    check_callback_host(event["callbackUrl"], runtime.settings.callback_hosts)
    body_fingerprint = operations.fingerprint(body)
    try:
        operation_id = _store(runtime, event, body, body_fingerprint)
    except IntegrityError:
        # Another request won the race for this requestId, or for this license.
        operation_id = _after_conflict(runtime, event, body_fingerprint)
    runtime.wakeup.notify()
    return accepted(operation_id)


def json_object() -> dict[str, Any]:
    """Return the body as a JSON object, or refuse it as malformed."""
    if request.mimetype != "application/json":
        raise malformed("The body must be sent as application/json.")
    try:
        body = json.loads(request.get_data(cache=True))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise malformed("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise malformed("The body must be a JSON object.")
    if _has_nul(body):
        raise malformed("The body must not contain NUL characters.")
    return body


def _has_nul(value: Any) -> bool:
    # No database keeps U+0000 in text; refuse it here rather than fail at the INSERT.
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def check_callback_host(url: str, allowed: tuple[str, ...]) -> None:
    """Refuse a callback URL whose host is not listed in ``CONNECTOR_CALLBACK_HOSTS``."""
    host = (urlsplit(url).hostname or "").lower()
    if allowed and host not in allowed:
        raise invalid({"callbackUrl": [f"Callbacks to host {host!r} are not allowed."]})


def accepted(operation_id: str) -> Response:
    response = jsonify({"operationId": operation_id, "status": "Pending"})
    response.status_code = 202
    return response


def _store(
    runtime: Runtime, event: dict[str, Any], body: dict[str, Any], body_fingerprint: str
) -> str:
    now = runtime.clock.now()
    with runtime.sessions.begin() as session:
        existing = operations.find(session, operations.MARKETPLACE, event["requestId"])
        if existing is not None:
            return _replay(existing, body_fingerprint)
        checked = admission.admit(session, event, runtime.manifest, now.date())
        # SUBSCRIBE and SYNC concern no license, whatever subscription the body names.
        subscription = (
            event["subscription"] if event["action"] not in WITHOUT_SUBSCRIPTION else None
        )
        operation_id = operations.accept(
            session,
            request_id=event["requestId"],
            action=event["action"],
            reseller_account_id=event["reseller"]["accountId"],
            subscription_account_id=subscription["accountId"] if subscription else None,
            body_fingerprint=body_fingerprint,
            payload=body,
            callback_url=event["callbackUrl"],
            now=now,
            fields=checked.fields_json(),
            price=checked.price.as_json() if checked.price else None,
            needs_review=checked.needs_proof_review,
        )
        # On PostgreSQL the INSERT itself notifies the workers (a trigger, migration 0003).
        return operation_id


def _after_conflict(runtime: Runtime, event: dict[str, Any], body_fingerprint: str) -> str:
    with runtime.sessions() as session:
        existing = operations.find(session, operations.MARKETPLACE, event["requestId"])
    if existing is not None:
        return _replay(existing, body_fingerprint)
    if event["action"] == "SYNC":
        raise invalid_state("A sync of this reseller's licenses is still running.")
    raise invalid_state("Another operation on this license is still running.")


def _replay(existing: operations.Seen, body_fingerprint: str) -> str:
    if existing.body_fingerprint != body_fingerprint:
        raise ApiError(
            409,
            "idempotency_conflict",
            "This requestId was used before with a different body.",
        )
    return existing.id
