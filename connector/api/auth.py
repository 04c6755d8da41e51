"""Who may call: the marketplace signs its requests, operators carry the admin token."""

from __future__ import annotations

import hmac

from flask import request

from connector import signing
from connector.api.errors import ApiError, unauthorized
from connector.runtime import current_runtime


def signed_path() -> str:
    """Return the path as signed: the path, plus ``?`` and the raw query when there is one."""
    query = request.query_string.decode("latin-1")
    return f"{request.path}?{query}" if query else request.path


def require_signature() -> None:
    """Refuse a request whose ``X-Marketplace-Signature`` is missing, stale or wrong."""
    runtime = current_runtime()
    settings = runtime.settings
    if request.content_length is not None and request.content_length > settings.max_body_bytes:
        raise ApiError(413, "payload_too_large", "The body is larger than 256 KiB.")
    try:
        signing.verify(
            request.headers.get("X-Marketplace-Signature"),
            secrets=settings.webhook_secrets,
            method=request.method,
            path=signed_path(),
            body=request.get_data(cache=True),
            now=runtime.clock.now().timestamp(),
            tolerance=settings.signature_tolerance_seconds,
        )
    except signing.SignatureError as error:
        raise unauthorized(str(error)) from None


def require_admin() -> None:
    """Refuse a request without the operator's bearer token."""
    expected = current_runtime().settings.admin_token
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    if (
        not expected
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(token.encode(), expected.encode())
    ):
        raise unauthorized("An admin bearer token is required.")
