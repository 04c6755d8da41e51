"""Helpers for tests: signing like the marketplace, example events, waiting."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from werkzeug.serving import make_server

from connector import signing

WEBHOOK_SECRET = "test-webhook-secret"
OLD_WEBHOOK_SECRET = "test-webhook-secret-previous"
CALLBACK_SECRET = "test-callback-secret"
ADMIN_TOKEN = "test-admin-token"
START = datetime(2026, 11, 27, 10, 15, tzinfo=UTC)


def sign_request(
    method: str,
    path: str,
    body: bytes = b"",
    *,
    secret: str = WEBHOOK_SECRET,
    at: float | None = None,
) -> dict[str, str]:
    """Return the signature header the marketplace would send."""
    timestamp = int(START.timestamp() if at is None else at)
    return {
        "X-Marketplace-Signature": signing.signature_header(secret, timestamp, method, path, body)
    }


def event(action: str = "SUBSCRIBE", request_id: str = "req-1", **overrides: Any) -> dict[str, Any]:
    """Return a valid event body of marketplace.md §3."""
    body: dict[str, Any] = {
        "requestId": request_id,
        "action": action,
        "occurredAt": "2026-11-27T10:15:00Z",
        "callbackUrl": "https://marketplace.example/callbacks/" + request_id,
        "reseller": {
            "accountId": "4711",
            "companyName": "Muster IT GmbH",
            "alsoPartnerId": "DE-100234",
            "country": "DE",
            "email": "licenses@muster-it.example",
            "esetPartnerId": "P-3344551",
        },
        "fields": {},
    }
    if action not in ("SUBSCRIBE", "SYNC"):
        body["subscription"] = {"accountId": "99001"}
    body.update(overrides)
    return body


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``condition`` until it holds; fail the test when it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve a WSGI app on a free loopback port until the block ends; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # Join request threads on close, so a slow answer never outlives its test.
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
