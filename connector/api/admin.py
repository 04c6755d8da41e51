"""Operator endpoints (marketplace.md §6): operations, proof review, retry, resync, jobs, drift.

Plus the sync claims: licenses whose marketplace subscription may or may not exist because the
answer to CreateSubscription was lost; an operator checks the marketplace and releases them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from sqlalchemy import select

from connector import audit, drift, jobs, operations, pushes
from connector.api.auth import require_admin
from connector.api.envelope import IdString, flatten
from connector.api.errors import (
    ApiError,
    error_response,
    invalid,
    invalid_state,
    malformed,
    not_found,
)
from connector.api.events import json_object
from connector.errors import ConfigurationError
from connector.models import Operation, OperationStatus, SubscriptionClaim
from connector.runtime import current_runtime

bp = Blueprint("admin", __name__, url_prefix="/admin/v1")
bp.before_request(require_admin)

ACTOR = "admin:api"
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
ID_LENGTH = 100

Change = Callable[..., Operation]


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


class RejectSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    reason = fields.String(required=True, validate=[validate.Length(1, 500), _not_blank])


class ResyncSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    resellerAccountId = IdString(load_default=None, validate=validate.Length(1, 100))


@bp.errorhandler(operations.NotFound)
def _not_found(error: operations.NotFound) -> Response:
    return error_response(not_found(str(error)))


@bp.errorhandler(operations.InvalidState)
def _invalid_state(error: operations.InvalidState) -> Response:
    return error_response(invalid_state(str(error)))


@bp.get("/operations")
def list_operations() -> Response:
    """List operations newest first, optionally only those in one status or of one reseller."""
    status = _status_filter()
    reseller = request.args.get("resellerAccountId") or None
    limit = _limit()
    with current_runtime().sessions() as session:
        found = operations.list_operations(
            session, status, reseller_account_id=reseller, limit=limit
        )
        items = [operations.describe_for_admin(operation) for operation in found]
    return jsonify({"items": items, "status": status, "limit": limit})


@bp.post("/operations/<operation_id>/approve")
def approve(operation_id: str) -> Response:
    """Approve an order's proof, so the worker places it."""
    return _change(operations.approve, operation_id)


@bp.post("/operations/<operation_id>/reject")
def reject(operation_id: str) -> Response:
    """Reject an order's proof: the operation fails and the marketplace is told why."""
    reason = _load(RejectSchema(), json_object())["reason"]
    return _change(operations.reject, operation_id, reason)


@bp.post("/operations/<operation_id>/retry")
def retry(operation_id: str) -> Response:
    """Run a failed operation again; its orderReference stays, so ESET never orders twice."""
    return _change(operations.retry, operation_id)


@bp.post("/resync")
def resync() -> Response:
    """Queue a sync from ESET for one subscribed reseller, or for all of them."""
    body = _load(ResyncSchema(), _optional_json_object())
    runtime = current_runtime()
    with runtime.sessions.begin() as session:
        job_id = operations.request_resync(
            session, reseller_account_id=body["resellerAccountId"], now=runtime.clock.now()
        )
    runtime.wakeup.notify()
    response = jsonify({"jobId": job_id})
    response.status_code = 202
    return response


@bp.errorhandler(ConfigurationError)
def _not_configured(error: ConfigurationError) -> Response:
    return error_response(ApiError(503, "unavailable", str(error)))


@bp.post("/jobs/<name>/run")
def run_job(name: str) -> Response:
    """Run a scheduled job now and answer its counts once it has finished."""
    if name not in jobs.JOBS:
        raise not_found(f"There is no job {name}; the jobs are {', '.join(sorted(jobs.JOBS))}.")
    return jsonify({"job": name, "result": jobs.run(name, current_runtime())})


@bp.get("/drift")
def list_drift() -> Response:
    """List licenses on which ESET, the connector and the marketplace's last push disagree."""
    runtime = current_runtime()
    if runtime.eset is None:
        raise ConfigurationError("CONNECTOR_ESET_API_URL is not set: ESET cannot be asked.")
    wanted = _reseller_filter()
    with runtime.sessions() as session:
        resellers = pushes.subscribed_resellers(session, wanted)
    if wanted is not None and not resellers:
        raise not_found(f"There is no subscribed reseller {wanted}.")
    found = drift.check(runtime.sessions, runtime.eset, resellers, runtime.clock.today())
    return jsonify(found.as_json())


@bp.get("/sync-claims")
def list_sync_claims() -> Response:
    """List licenses whose marketplace subscription SYNC may or may not have created."""
    with current_runtime().sessions() as session:
        query = (
            select(SubscriptionClaim)
            .where(SubscriptionClaim.subscription_account_id.is_(None))
            .order_by(SubscriptionClaim.claimed_at)
        )
        items = [_claim_json(claim) for claim in session.scalars(query)]
    return jsonify({"items": items})


@bp.post("/sync-claims/<public_license_key>/release")
def release_sync_claim(public_license_key: str) -> Response:
    """Let the next SYNC create the subscription (after checking the marketplace has none)."""
    runtime = current_runtime()
    with runtime.sessions.begin() as session:
        claim = session.get(SubscriptionClaim, public_license_key)
        if claim is None or claim.subscription_account_id is not None:
            raise not_found(f"No open claim for license {public_license_key}.")
        view = _claim_json(claim)
        session.delete(claim)
        audit.record(
            session,
            entity="sync_claim",
            entity_id=public_license_key,
            from_state="Claimed",
            to_state="Released",
            actor=ACTOR,
            at=runtime.clock.now(),
        )
    return jsonify(view)


def _claim_json(claim: SubscriptionClaim) -> dict[str, Any]:
    return {
        "publicLicenseKey": claim.public_license_key,
        "resellerAccountId": claim.reseller_account_id,
        "operationId": claim.operation_id,
        "claimedAt": operations.iso(claim.claimed_at),
    }


def _change(change: Change, operation_id: str, *args: Any) -> Response:
    runtime = current_runtime()
    with runtime.sessions.begin() as session:
        operation = change(session, operation_id, *args, actor=ACTOR, now=runtime.clock.now())
        view = operations.describe_for_admin(operation)
    runtime.wakeup.notify()  # a worker in this process picks the work up at once
    return jsonify(view)


def _status_filter() -> str | None:
    status = request.args.get("status") or None
    if status is not None and status not in OperationStatus.ALL:
        raise malformed(f"status must be one of {', '.join(OperationStatus.ALL)}.")
    return status


def _reseller_filter() -> str | None:
    wanted = request.args.get("resellerAccountId")
    if wanted is not None and not 1 <= len(wanted) <= ID_LENGTH:
        raise malformed(f"resellerAccountId must be 1 to {ID_LENGTH} characters.")
    return wanted


def _limit() -> int:
    raw = request.args.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise malformed(f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    return int(raw)


def _optional_json_object() -> dict[str, Any]:
    # Operators often send a bare POST; no body means no fields.
    return json_object() if request.get_data(cache=True) else {}


def _load(schema: Schema, body: dict[str, Any]) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(body)
    except ValidationError as error:
        raise invalid(flatten(error.messages)) from None
    return loaded
