"""Signed reads for the marketplace."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from connector import operations
from connector.api.auth import require_signature
from connector.api.errors import not_found
from connector.models import Operation
from connector.runtime import current_runtime

bp = Blueprint("reads", __name__)
bp.before_request(require_signature)


@bp.get("/api/v1/operations/<operation_id>")
def get_operation(operation_id: str) -> Response:
    """Show where an operation stands."""
    with current_runtime().sessions() as session:
        operation = session.get(Operation, operation_id)
        if operation is None:
            raise not_found("No such operation.")
        return jsonify(operations.describe(operation))
