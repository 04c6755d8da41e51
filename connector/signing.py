"""HMAC signatures, ``t=<unix seconds>,v1=<hex HMAC-SHA256>``, over ``t.METHOD.path.body``."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit


class SignatureError(Exception):
    """The signature is missing, malformed, stale or matches no secret."""


def signed_text(timestamp: int, method: str, path: str, body: bytes) -> bytes:
    """Return the exact bytes that are signed."""
    return f"{timestamp}.{method.upper()}.{path}.".encode() + body


def signature(secret: str, timestamp: int, method: str, path: str, body: bytes) -> str:
    """Return the hex HMAC-SHA256 of one request."""
    text = signed_text(timestamp, method, path, body)
    return hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, method: str, path: str, body: bytes) -> str:
    """Return a complete signature header value."""
    return f"t={timestamp},v1={signature(secret, timestamp, method, path, body)}"


def path_of(url: str) -> str:
    """Return the signed path of a URL: its path, plus ``?query`` when there is one."""
    parts = urlsplit(url)
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def parse_header(header: str) -> tuple[int, list[str]]:
    """Split a signature header into its timestamp and its ``v1`` signatures."""
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError("The signature timestamp is not a number.") from None
        elif key == "v1" and value:
            candidates.append(value.strip().lower())
    if timestamp is None or not candidates:
        raise SignatureError("The signature header needs t= and at least one v1=.")
    return timestamp, candidates


def verify(
    header: str | None,
    *,
    secrets: Iterable[str],
    method: str,
    path: str,
    body: bytes,
    now: float,
    tolerance: int = 300,
) -> None:
    """Raise ``SignatureError`` unless some ``v1`` matches some secret within the tolerance."""
    if not header:
        raise SignatureError("The request is not signed.")
    timestamp, candidates = parse_header(header)
    if abs(now - timestamp) > tolerance:
        raise SignatureError("The signature timestamp is too far from the connector's clock.")
    matched = False
    for secret in secrets:
        expected = signature(secret, timestamp, method, path, body)
        for candidate in candidates:
            # Check every pair so the time taken does not depend on which one matched.
            matched |= hmac.compare_digest(expected.encode(), candidate.encode())
    if not matched:
        raise SignatureError("The signature matches no configured secret.")
