"""Liveness and readiness, unsigned, for load balancers and process managers."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from connector.api.errors import ApiError, error_response
from connector.runtime import current_runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Answer while the process runs."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Answer 200 when the database answers, else 503."""
    try:
        with current_runtime().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return error_response(ApiError(503, "unavailable", "The database does not answer."))
    return jsonify({"status": "ready"})
