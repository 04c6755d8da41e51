"""Every error answer in the contract's JSON shape; nothing ever leaks a stack trace."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from flask import Flask, Response, jsonify
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

log = logging.getLogger(__name__)

FieldErrors = Mapping[str, Sequence[str]]


class ApiError(Exception):
    """An error answer: HTTP status, the contract's code, a message, and field errors."""

    def __init__(
        self, status: int, code: str, message: str, fields: FieldErrors | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields


def malformed(message: str) -> ApiError:
    return ApiError(400, "malformed_request", message)


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message)


def not_found(message: str = "Not found.") -> ApiError:
    return ApiError(404, "not_found", message)


def invalid(fields: FieldErrors, message: str = "Some fields are not valid.") -> ApiError:
    return ApiError(422, "validation_failed", message, fields)


def invalid_state(message: str) -> ApiError:
    return ApiError(409, "invalid_state", message)


def error_response(error: ApiError) -> Response:
    """Render an ``ApiError`` as the contract's JSON error."""
    body: dict[str, object] = {"code": error.code, "message": error.message}
    if error.fields is not None:
        body["fields"] = {name: list(messages) for name, messages in error.fields.items()}
    response = jsonify({"error": body})
    response.status_code = error.status
    return response


_HTTP_CODES = {
    401: "unauthorized",
    404: "not_found",
    413: "payload_too_large",
}


def _http_error(error: HTTPException) -> Response:
    status = error.code or 400
    if status >= 500:
        return _unavailable(error)
    code = _HTTP_CODES.get(status, "malformed_request")
    message = {
        404: "No such resource.",
        405: "This method is not allowed here.",
        413: "The body is larger than 256 KiB.",
    }.get(status, error.description or "The request is malformed.")
    response = error_response(ApiError(status, code, message))
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _database_error(error: DBAPIError) -> Response:
    log.error("database unavailable: %s", error.__class__.__name__, exc_info=error)
    return error_response(
        ApiError(503, "unavailable", "The connector cannot store the request now; retry later.")
    )


def _unavailable(error: BaseException) -> Response:
    # An unexpected failure: the transaction rolled back, nothing was accepted, so the honest
    # answer is "retry later", never a 500 page.
    log.error("request failed unexpectedly", exc_info=error)
    return error_response(
        ApiError(503, "unavailable", "The connector could not handle the request; retry later.")
    )


def register(app: Flask) -> None:
    """Install the error handlers on an app."""
    app.register_error_handler(ApiError, error_response)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OperationalError, _database_error)
    app.register_error_handler(DBAPIError, _database_error)
    app.register_error_handler(Exception, _unavailable)
