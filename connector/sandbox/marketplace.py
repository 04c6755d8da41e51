"""A marketplace sandbox: the SimpleAPI methods of marketplace.md §8 and a callback receiver.

``create_marketplace_sandbox()`` returns a Flask app with

- ``POST /SimpleAPI/SimpleAPIService.svc/rest/<Method>``: ``GetSessionToken`` (credentials
  ``sandbox``/``sandbox`` unless configured; the token comes back as a bare JSON string),
  ``UpdateSubscription``, ``CreateSubscription`` and ``ImportReportRows``. Every method but the
  first needs ``Authenticate: CCPSessionId <token>``; an expired or unknown session answers 500
  with the namespaced WCF fault whose ``IsSessionExpired`` is true, other refusals the same
  fault with ``IsSessionExpired`` false and a ``Message``.
- ``POST /callbacks/<anything>``: records the connector's callbacks; when ``callback_secret``
  is set it checks ``X-Connector-Signature`` and answers 401 to a bad one.

Control surface (JSON, no authentication; never expose a sandbox publicly):
``GET /_sandbox/callbacks``, ``GET /_sandbox/subscriptions`` (current fields of every
subscription), ``GET /_sandbox/pushes`` (every UpdateSubscription/CreateSubscription in order),
``GET /_sandbox/reports`` (imported batches by reseller), ``GET /_sandbox/calls``,
``GET|POST /_sandbox/config``, ``POST /_sandbox/sessions/expire``, ``POST /_sandbox/reset``.

Fault knobs (``MarketplaceSandboxConfig`` fields, also settable over ``/_sandbox/config``):
``session_lifetime_seconds``, ``mfa_enabled`` (log-in answers a non-expiry fault),
``callback_secret``, ``callback_failures`` (the next N callbacks are answered with
``callback_failure_status``), ``error_rate`` (fraction of API calls answered 500 without a
fault).
"""

from __future__ import annotations

import dataclasses
import json
import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from connector import signing
from connector.sandbox._common import (
    Coerce,
    ControlError,
    apply_settings,
    boolean,
    count,
    fraction,
    optional_text,
    seconds,
)

SIMPLE_API = "/SimpleAPI/SimpleAPIService.svc/rest"
MAX_REPORT_ROWS = 1000
EXTENSION = "marketplace_sandbox"
MAX_CALLS_KEPT = 10_000


@dataclass
class MarketplaceSandboxConfig:
    """Credentials and fault knobs of the marketplace sandbox."""

    username: str = "sandbox"
    password: str = field(default="sandbox", repr=False)
    seed: int = 20261127
    session_lifetime_seconds: float = 20 * 60
    mfa_enabled: bool = False
    callback_secret: str | None = field(default=None, repr=False)
    callback_failures: int = 0
    callback_failure_status: int = 503
    error_rate: float = 0.0
    first_account_id: int = 200001


def _failure_status(value: Any) -> int:
    if count(value) < 300 or value > 599:
        raise ValueError("must be an HTTP status from 300 to 599")
    return int(value)


KNOBS: dict[str, Coerce] = {
    "session_lifetime_seconds": seconds,
    "mfa_enabled": boolean,
    "callback_secret": optional_text,
    "callback_failures": count,
    "callback_failure_status": _failure_status,
    "error_rate": fraction,
}


class Fault(Exception):
    """A refusal the SimpleAPI answers with a WCF fault."""

    def __init__(self, message: str, *, session_expired: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.session_expired = session_expired


def fault_xml(message: str, *, session_expired: bool) -> str:
    """Return the namespaced WCF fault body the SimpleAPI answers with."""
    flag = "true" if session_expired else "false"
    text = escape(message)
    return (
        '<Fault xmlns="http://schemas.microsoft.com/ws/2005/05/envelope/none">'
        "<Code><Value>Sender</Value></Code>"
        f'<Reason><Text xml:lang="en-US">{text}</Text></Reason>'
        "<Detail>"
        '<ServiceException xmlns="http://schemas.datacontract.org/2004/07/Nervogrid.Platform.API"'
        ' xmlns:i="http://www.w3.org/2001/XMLSchema-instance">'
        f"<IsSessionExpired>{flag}</IsSessionExpired>"
        f"<IssueToken>{secrets.token_hex(8)}</IssueToken>"
        f"<Message>{text}</Message>"
        "</ServiceException>"
        "</Detail>"
        "</Fault>"
    )


class MarketplaceSandbox:
    """The sandbox's state and behaviour, independent of Flask."""

    def __init__(self, config: MarketplaceSandboxConfig) -> None:
        self._initial = dataclasses.replace(config)
        self.config = dataclasses.replace(config)
        self.lock = threading.RLock()
        self._start()

    def _start(self) -> None:
        self.sessions: dict[str, float] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.pushes: list[dict[str, Any]] = []
        self.reports: dict[str, list[dict[str, Any]]] = {}
        self.callbacks: list[dict[str, Any]] = []
        # Bounded, so a long-running embedded sandbox does not grow without end.
        self.calls: deque[dict[str, Any]] = deque(maxlen=MAX_CALLS_KEPT)
        self._next_account = self.config.first_account_id
        self._faults = random.Random(f"{self.config.seed}/faults")

    def reset(self) -> None:
        """Forget everything and return to the initial settings."""
        with self.lock:
            self.config = dataclasses.replace(self._initial)
            self._start()

    # ------------------------------------------------------------------ SimpleAPI

    def api(self, method: str, body: Any, authenticate: str | None) -> Any:
        """Answer one SimpleAPI call; raise ``Fault`` for a fault answer."""
        with self.lock:
            try:
                answer = self._answer(method, body, authenticate)
            except Fault as fault:
                self.calls.append({"method": method, "status": 500, "fault": fault.message})
                raise
            self.calls.append({"method": method, "status": 200})
            return answer

    def server_error(self) -> bool:
        """Decide (seeded) whether to answer this call with a bare 500."""
        with self.lock:
            rate = self.config.error_rate
            return bool(rate) and self._faults.random() < rate

    def _answer(self, method: str, body: Any, authenticate: str | None) -> Any:
        if not isinstance(body, dict):
            raise Fault("The request body must be a JSON object")
        if method == "GetSessionToken":
            return self._log_in(body)
        handler = METHODS.get(method)
        if handler is None:
            raise Fault(f"Unknown method {method}")
        self._check_session(authenticate)
        return handler(self, body)

    def _log_in(self, body: Mapping[str, Any]) -> str:
        config = self.config
        if (body.get("username"), body.get("password")) != (config.username, config.password):
            raise Fault("Invalid username or password")
        if config.mfa_enabled:
            raise Fault("Multi-factor authentication is enabled for this user; use an API user")
        token = secrets.token_urlsafe(24)
        self.sessions[token] = time.monotonic() + config.session_lifetime_seconds
        return token

    def _check_session(self, authenticate: str | None) -> None:
        scheme, _, token = (authenticate or "").partition(" ")
        if scheme != "CCPSessionId" or not token:
            raise Fault("The Authenticate header is missing; send CCPSessionId <token>")
        expires_at = self.sessions.get(token)
        # An unknown token is a session from before a restart: it has expired, too.
        if expires_at is None or expires_at <= time.monotonic():
            self.sessions.pop(token, None)
            raise Fault("Session expired", session_expired=True)

    def update_subscription(self, body: Mapping[str, Any]) -> dict[str, Any]:
        data = _object(body, "subscription")
        account_id = _text(data, "AccountId")
        fields = _fields(data)
        current = self.subscriptions.setdefault(account_id, _subscription(account_id))
        current["fields"].update(fields)
        self._push("UpdateSubscription", account_id, fields)
        return {"AccountId": account_id}

    def create_subscription(self, body: Mapping[str, Any]) -> dict[str, Any]:
        data = _object(body, "subscriptionAccount")
        parent, service = _text(data, "ParentAccountId"), _text(data, "ServiceName")
        fields = _fields(data)
        key = fields.get("PublicLicenseKey")
        for existing in self.subscriptions.values():
            # The same license under the same reseller is one subscription, never two.
            if (
                key
                and existing["parentAccountId"] == parent
                and (existing["fields"].get("PublicLicenseKey") == key)
            ):
                return {"AccountId": existing["accountId"]}
        account_id = str(self._next_account)
        self._next_account += 1
        created = _subscription(account_id, parent=parent, service=service)
        created["fields"].update(fields)
        self.subscriptions[account_id] = created
        self._push("CreateSubscription", account_id, fields)
        return {"AccountId": account_id}

    def import_report_rows(self, body: Mapping[str, Any]) -> dict[str, Any]:
        reseller = _text(body, "resellerAccountId")
        batch_id = _text(body, "batchId")
        columns, rows = _columns(body), body.get("rows")
        if not isinstance(rows, list) or not all(
            isinstance(row, list) and len(row) == len(columns) for row in rows
        ):
            raise Fault("rows must be a list of rows with one value per column")
        if len(rows) > MAX_REPORT_ROWS:
            raise Fault(f"At most {MAX_REPORT_ROWS} rows per call")
        batches = self.reports.setdefault(reseller, [])
        if any(batch["batchId"] == batch_id for batch in batches):
            return {"accepted": 0, "duplicate": True}
        batches.append(
            {
                "batchId": batch_id,
                "reportName": _text(body, "reportName"),
                "columns": columns,
                "rows": rows,
                "receivedAt": _now(),
            }
        )
        return {"accepted": len(rows)}

    def _push(self, method: str, account_id: str, fields: dict[str, str]) -> None:
        self.pushes.append(
            {"method": method, "accountId": account_id, "fields": fields, "receivedAt": _now()}
        )

    # ------------------------------------------------------------------ callbacks

    def receive_callback(self, path: str, body: bytes, signature: str | None) -> int:
        """Record one callback and return the status to answer with."""
        with self.lock:
            config = self.config
            verified = self._verify(path, body, signature)
            if verified is False:
                status = 401
            elif config.callback_failures > 0:
                config.callback_failures -= 1
                status = config.callback_failure_status
            else:
                status = 200
            self.callbacks.append(
                {
                    "path": path,
                    "body": _json_or_text(body),
                    "signature": signature,
                    "verified": verified,
                    "status": status,
                    "receivedAt": _now(),
                }
            )
            return status

    def _verify(self, path: str, body: bytes, signature: str | None) -> bool | None:
        secret = self.config.callback_secret
        if secret is None:
            return None
        try:
            signing.verify(
                signature, secrets=[secret], method="POST", path=path, body=body, now=time.time()
            )
        except signing.SignatureError:
            return False
        return True

    def expire_sessions(self) -> int:
        """Expire every session now; return how many there were."""
        with self.lock:
            expired = len(self.sessions)
            self.sessions = {token: 0.0 for token in self.sessions}
            return expired

    def settings(self) -> dict[str, Any]:
        """Return the runtime settings (never a password or secret)."""
        with self.lock:
            values = {name: getattr(self.config, name) for name in KNOBS}
            values["callback_secret"] = "(set)" if self.config.callback_secret else None
            return {"username": self.config.username, **values}


METHODS = {
    "UpdateSubscription": MarketplaceSandbox.update_subscription,
    "CreateSubscription": MarketplaceSandbox.create_subscription,
    "ImportReportRows": MarketplaceSandbox.import_report_rows,
}


def create_marketplace_sandbox(
    config: MarketplaceSandboxConfig | None = None, **overrides: Any
) -> Flask:
    """Create the marketplace sandbox app (credentials ``sandbox``/``sandbox`` by default).

    Keyword arguments override fields of ``config``, e.g. ``callback_secret="..."``.
    """
    settings = dataclasses.replace(config or MarketplaceSandboxConfig(), **overrides)
    app = Flask(__name__)
    app.extensions[EXTENSION] = MarketplaceSandbox(settings)
    app.register_blueprint(simple_api)
    app.register_blueprint(receiver)
    app.register_blueprint(control)
    return app


def marketplace_sandbox_of(app: Flask) -> MarketplaceSandbox:
    """Return the sandbox state behind an app made by ``create_marketplace_sandbox``."""
    sandbox = app.extensions[EXTENSION]
    assert isinstance(sandbox, MarketplaceSandbox)
    return sandbox


def _sandbox() -> MarketplaceSandbox:
    return marketplace_sandbox_of(current_app)


# ---------------------------------------------------------------------- SimpleAPI

simple_api = Blueprint("marketplace_api", __name__, url_prefix=SIMPLE_API)


@simple_api.post("/<method>")
def call(method: str) -> Response:
    """Answer one SimpleAPI method."""
    sandbox = _sandbox()
    if sandbox.server_error():
        return Response("Internal Server Error", status=500, mimetype="text/plain")
    try:
        answer = sandbox.api(
            method, request.get_json(silent=True), request.headers.get("Authenticate")
        )
    except Fault as fault:
        body = fault_xml(fault.message, session_expired=fault.session_expired)
        return Response(body, status=500, mimetype="application/xml")
    return jsonify(answer)


# ---------------------------------------------------------------------- callback receiver

receiver = Blueprint("marketplace_callbacks", __name__)


@receiver.post("/callbacks/<path:name>")
def callback(name: str) -> tuple[Response, int]:
    """Record a callback from the connector."""
    status = _sandbox().receive_callback(
        _signed_path(), request.get_data(), request.headers.get("X-Connector-Signature")
    )
    return jsonify({"received": status == 200}), status


def _signed_path() -> str:
    # Under a URL prefix the connector signed the full path, prefix included.
    path = request.script_root + request.path
    query = request.query_string.decode()
    return f"{path}?{query}" if query else path


# ---------------------------------------------------------------------- control surface

control = Blueprint("marketplace_control", __name__, url_prefix="/_sandbox")


@control.errorhandler(ControlError)
def control_error(error: ControlError) -> tuple[Response, int]:
    """Answer a malformed control request."""
    return jsonify({"error": str(error)}), 400


@control.get("/")
def index() -> Response:
    """Describe the sandbox and its control endpoints."""
    return jsonify(
        {
            "sandbox": "ALSO marketplace SimpleAPI (shared/contract/marketplace.md §8)",
            "api": f"POST <this prefix>{SIMPLE_API}/<Method>",
            "callbacks": "POST <this prefix>/callbacks/<anything>",
            "control": [
                "GET /_sandbox/callbacks",
                "GET /_sandbox/subscriptions",
                "GET /_sandbox/pushes",
                "GET /_sandbox/reports",
                "GET /_sandbox/calls",
                "GET|POST /_sandbox/config",
                "POST /_sandbox/sessions/expire",
                "POST /_sandbox/reset",
            ],
        }
    )


@control.get("/callbacks")
def callbacks() -> Response:
    """List the callbacks received."""
    sandbox = _sandbox()
    with sandbox.lock:
        return jsonify({"callbacks": list(sandbox.callbacks), "count": len(sandbox.callbacks)})


@control.get("/subscriptions")
def subscriptions() -> Response:
    """List every subscription with its current fields."""
    sandbox = _sandbox()
    with sandbox.lock:
        return jsonify({"subscriptions": list(sandbox.subscriptions.values())})


@control.get("/pushes")
def pushes() -> Response:
    """List every UpdateSubscription and CreateSubscription received."""
    sandbox = _sandbox()
    with sandbox.lock:
        return jsonify({"pushes": list(sandbox.pushes), "count": len(sandbox.pushes)})


@control.get("/reports")
def reports() -> Response:
    """List the imported report batches by reseller."""
    sandbox = _sandbox()
    with sandbox.lock:
        return jsonify({"reports": dict(sandbox.reports)})


@control.get("/calls")
def calls() -> Response:
    """List the SimpleAPI calls received."""
    sandbox = _sandbox()
    with sandbox.lock:
        return jsonify({"calls": list(sandbox.calls), "count": len(sandbox.calls)})


@control.route("/config", methods=["GET", "POST"])
def config() -> Response:
    """Read or change the runtime settings."""
    sandbox = _sandbox()
    if request.method == "POST":
        with sandbox.lock:
            apply_settings(sandbox.config, request.get_json(silent=True), KNOBS)
    return jsonify(sandbox.settings())


@control.post("/sessions/expire")
def expire_sessions() -> Response:
    """Expire every session now."""
    return jsonify({"expired": _sandbox().expire_sessions()})


@control.post("/reset")
def reset() -> Response:
    """Forget everything."""
    _sandbox().reset()
    return jsonify({"reset": True})


# ---------------------------------------------------------------------- body readers


def _object(body: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = body.get(name)
    if not isinstance(value, dict):
        raise Fault(f"{name} is required")
    return value


def _text(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise Fault(f"{name} is required")
    return value


def _fields(data: Mapping[str, Any]) -> dict[str, str]:
    fields = data.get("Fields")
    if not isinstance(fields, list):
        raise Fault("Fields must be a list of {Name, Value}")
    result: dict[str, str] = {}
    for item in fields:
        if not isinstance(item, dict) or not isinstance(item.get("Name"), str):
            raise Fault("Fields must be a list of {Name, Value}")
        value = item.get("Value")
        result[item["Name"]] = "" if value is None else str(value)
    return result


def _columns(body: Mapping[str, Any]) -> list[str]:
    columns = body.get("columns")
    if not isinstance(columns, list) or not columns or not all(isinstance(c, str) for c in columns):
        raise Fault("columns must be a list of column names")
    return columns


def _subscription(
    account_id: str, *, parent: str | None = None, service: str | None = None
) -> dict[str, Any]:
    return {
        "accountId": account_id,
        "parentAccountId": parent,
        "serviceName": service,
        "fields": {},
    }


def _json_or_text(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
