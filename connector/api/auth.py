"""Who may call: the marketplace signs its requests, operators carry the admin token."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import request

from connector import signing
from connector.api.errors import ApiError, unauthorized
from connector.runtime import current_runtime


def signed_path() -> str:
    """Return the path as signed: the raw path as sent, plus ``?`` and the raw query if any."""
    # The raw URI, not the decoded PATH_INFO: the marketplace signs what it sends.
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or ""
    path = urlsplit(raw).path if raw.startswith(("http://", "https://")) else raw.split("?")[0]
    path = path or request.path
    query = request.query_string.decode("latin-1")
    return f"{path}?{query}" if query else path


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
