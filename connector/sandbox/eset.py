"""An ESET partner API sandbox that follows shared/contract/eset.md, with fault injection.

``create_eset_sandbox()`` returns a Flask app. The API is ``POST /api/<Path>`` exactly as in
eset.md; log in with ``Token/Get {"username": "sandbox", "password": "sandbox"}`` (both
configurable). State lives in memory behind one lock; it is seeded deterministically from
``EsetSandboxConfig.seed`` with two partners: ``P-3344551`` (Gold, data released, 12 licenses)
and ``P-5550001`` (Silver, data *not* released to the distributor, 3 licenses).

Control surface (JSON, no authentication; never expose a sandbox publicly):

- ``GET  /_sandbox/``            what is here
- ``GET|POST /_sandbox/config``  read or change the runtime settings (fault knobs below)
- ``POST /_sandbox/partners``    seed a partner: ``{"partner_id", "name", "country", "level",
  "released", "licenses": N}`` (all optional)
- ``GET  /_sandbox/licenses``    every license (``?partner_id=`` to filter)
- ``GET  /_sandbox/orders``      order references and the license each produced
- ``GET  /_sandbox/mails``       the mails ESET "sent" with license documents
- ``GET  /_sandbox/calls``       every API call and its status (``?path=License/Order``)
- ``POST /_sandbox/tokens/expire``  expire every access token now
- ``GET|POST /_sandbox/clock``   read or move the sandbox's clock: ``{"now": "2027-01-31"}`` or
  ``{"advance_days": 30, "advance_seconds": 0}``
- ``POST /_sandbox/reset``       start again from the seeded state and the initial settings

Fault knobs (``EsetSandboxConfig`` fields, also settable over ``/_sandbox/config``):
``error_rate`` (fraction of calls answered 500 before acting), ``rate_limit_burst`` (the next N
calls get 429), ``rate_limit_per_second`` (the real limit per credentials, null for none),
``retry_after_seconds``, ``maintenance`` (every call gets 503 code 99/2), ``ambiguous_calls``
(the next N calls in ``ambiguous_paths`` do the work and then fail as ``ambiguous_mode``:
``"504"`` answers 504, ``"slow"`` answers after ``slow_seconds``, ``"drop"`` closes the
connection without an answer), ``token_lifetime_seconds``.
"""

from __future__ import annotations

import dataclasses
import random
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from connector.clock import Clock, SystemClock
from connector.sandbox._common import (
    Coerce,
    ControlError,
    SandboxClock,
    apply_settings,
    boolean,
    choice,
    count,
    fraction,
    optional_positive,
    parse_instant,
    positive,
    seconds,
    texts,
)
from connector.sandbox._eset_world import ORDERING_CALLS, ApiError, EsetWorld, PartnerSeed

DEFAULT_PARTNERS = (
    PartnerSeed("P-3344551", "Muster IT GmbH", "DE", "Gold", released=True, licenses=12),
    PartnerSeed("P-5550001", "Beispiel Systemhaus AG", "AT", "Silver", released=False, licenses=3),
)
AMBIGUOUS_MODES = ("504", "slow", "drop")
EXTENSION = "eset_sandbox"
MAX_CALLS_KEPT = 10_000


@dataclass
class EsetSandboxConfig:
    """Credentials, seed data and fault knobs of the ESET sandbox."""

    username: str = "sandbox"
    password: str = field(default="sandbox", repr=False)
    seed: int = 20261127
    partners: tuple[PartnerSeed, ...] = DEFAULT_PARTNERS
    token_lifetime_seconds: int = 60
    refresh_token_lifetime_seconds: int = 24 * 3600
    rate_limit_per_second: int | None = 10
    retry_after_seconds: int = 1
    error_rate: float = 0.0
    rate_limit_burst: int = 0
    maintenance: bool = False
    ambiguous_calls: int = 0
    ambiguous_mode: str = "504"
    ambiguous_paths: tuple[str, ...] = ORDERING_CALLS
    slow_seconds: float = 2.0


KNOBS: dict[str, Coerce] = {
    "token_lifetime_seconds": positive,
    "rate_limit_per_second": optional_positive,
    "retry_after_seconds": count,
    "error_rate": fraction,
    "rate_limit_burst": count,
    "maintenance": boolean,
    "ambiguous_calls": count,
    "ambiguous_mode": choice(*AMBIGUOUS_MODES),
    "ambiguous_paths": texts,
    "slow_seconds": seconds,
}


@dataclass(frozen=True)
class Reply:
    """One API answer, and how to spoil it after the work is done (``ambiguous``)."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    ambiguous: str | None = None


@dataclass(frozen=True)
class _Grant:
    username: str
    expires_at: datetime


class TokenStore:
    """Access and refresh tokens, expiring by the sandbox clock."""

    def __init__(self) -> None:
        self._access: dict[str, _Grant] = {}
        self._refresh: dict[str, _Grant] = {}

    def issue(self, username: str, now: datetime, config: EsetSandboxConfig) -> dict[str, Any]:
        """Return a new token pair."""
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        lifetime = config.token_lifetime_seconds
        self._access[access] = _Grant(username, now + timedelta(seconds=lifetime))
        refresh_until = now + timedelta(seconds=config.refresh_token_lifetime_seconds)
        self._refresh[refresh] = _Grant(username, refresh_until)
        return {"accessToken": access, "refreshToken": refresh, "expiresIn": lifetime}

    def renew(self, refresh: Any, now: datetime, config: EsetSandboxConfig) -> dict[str, Any]:
        """Trade a refresh token (once) for a new pair."""
        grant = self._refresh.pop(refresh, None) if isinstance(refresh, str) else None
        if grant is None or grant.expires_at <= now:
            raise ApiError(401, 1, 4, "InvalidRefreshToken")
        return self.issue(grant.username, now, config)

    def check(self, authorization: str | None, now: datetime) -> str:
        """Return the username behind a bearer token."""
        scheme, _, token = (authorization or "").partition(" ")
        grant = self._access.get(token) if scheme.lower() == "bearer" else None
        if grant is None:
            raise ApiError(401, 1, 2, "InvalidToken")
        if grant.expires_at <= now:
            raise ApiError(401, 1, 1, "TokenExpired")
        return grant.username

    def expire_all(self, now: datetime) -> int:
        """Make every access token expired; return how many there were."""
        for token, grant in self._access.items():
            self._access[token] = _Grant(grant.username, min(grant.expires_at, now))
        return len(self._access)


class EsetSandbox:
    """The sandbox's state and behaviour, independent of Flask."""

    def __init__(self, config: EsetSandboxConfig, clock: Clock) -> None:
        self._initial = dataclasses.replace(config)
        self.config = dataclasses.replace(config)
        self.clock = SandboxClock(clock)
        self.lock = threading.RLock()
        self._start()

    def _start(self) -> None:
        self.world = EsetWorld(self.clock, self.config.seed)
        for seed in self.config.partners:
            self.world.seed_partner(seed)
        self.tokens = TokenStore()
        # Bounded, so a long-running embedded sandbox does not grow without end.
        self.calls: deque[dict[str, Any]] = deque(maxlen=MAX_CALLS_KEPT)
        self._faults = random.Random(f"{self.config.seed}/faults")
        self._recent: dict[str, deque[float]] = {}

    def reset(self) -> None:
        """Start again from the seeded state and the initial settings."""
        with self.lock:
            self.config = dataclasses.replace(self._initial)
            self.clock.reset()
            self._start()

    def api(self, path: str, body: Any, authorization: str | None) -> Reply:
        """Answer one API call, injecting the configured faults."""
        with self.lock:
            try:
                reply = self._answer(path, body, authorization)
            except ApiError as error:
                reply = Reply(error.status, error.body(), self._headers_for(error.status))
            outcome = reply.ambiguous or reply.status
            self.calls.append({"path": path, "status": reply.status, "outcome": outcome})
            return reply

    def _answer(self, path: str, body: Any, authorization: str | None) -> Reply:
        config = self.config
        if config.maintenance:
            raise ApiError(503, 99, 2, "Maintenance")
        if config.rate_limit_burst > 0:
            config.rate_limit_burst -= 1
            raise ApiError(429, 99, 1, "TooManyRequests")
        if config.error_rate and self._faults.random() < config.error_rate:
            raise ApiError(500, 99, 1, "InternalError")
        if not isinstance(body, dict):
            raise ApiError(400, 2, 1, "InvalidInput: the body must be a JSON object")
        if path in ("Token/Get", "Token/Renew"):
            return Reply(200, self._token(path, body))
        username = self.tokens.check(authorization, self.clock.now())
        self._count_call(username)
        answer = self.world.call(path, body)
        return Reply(200, answer, ambiguous=self._spoil(path))

    def _token(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        if path == "Token/Renew":
            return self.tokens.renew(body.get("refreshToken"), now, self.config)
        if (body.get("username"), body.get("password")) != (
            self.config.username,
            self.config.password,
        ):
            raise ApiError(401, 1, 3, "InvalidCredentials")
        return self.tokens.issue(self.config.username, now, self.config)

    def _count_call(self, username: str) -> None:
        limit = self.config.rate_limit_per_second
        if limit is None:
            return
        now = time.monotonic()
        recent = self._recent.setdefault(username, deque())
        while recent and now - recent[0] >= 1.0:
            recent.popleft()
        if len(recent) >= limit:
            raise ApiError(429, 99, 1, "TooManyRequests")
        recent.append(now)

    def _spoil(self, path: str) -> str | None:
        config = self.config
        if config.ambiguous_calls > 0 and path in config.ambiguous_paths:
            config.ambiguous_calls -= 1
            return config.ambiguous_mode
        return None

    def _headers_for(self, status: int) -> dict[str, str]:
        if status == 429:
            return {"Retry-After": str(self.config.retry_after_seconds)}
        return {}

    def seed_partner(self, seed: PartnerSeed) -> dict[str, Any]:
        """Create a partner with licenses, for the control surface."""
        with self.lock:
            partner = self.world.seed_partner(seed)
            owned = sum(
                1 for x in self.world.licenses.values() if x.partner_id == partner.partner_id
            )
            return {**partner.detail(), "licenses": owned}

    def settings(self) -> dict[str, Any]:
        """Return the runtime settings (never the password)."""
        with self.lock:
            values = {name: getattr(self.config, name) for name in KNOBS}
            values["ambiguous_paths"] = list(self.config.ambiguous_paths)
            return {"username": self.config.username, "seed": self.config.seed, **values}


def create_eset_sandbox(
    config: EsetSandboxConfig | None = None, *, clock: Clock | None = None, **overrides: Any
) -> Flask:
    """Create the ESET sandbox app (credentials ``sandbox``/``sandbox`` unless configured).

    Keyword arguments override fields of ``config``, e.g. ``token_lifetime_seconds=300``;
    ``clock`` drives token expiry and license dates (the system clock by default).
    """
    settings = dataclasses.replace(config or EsetSandboxConfig(), **overrides)
    app = Flask(__name__)
    app.extensions[EXTENSION] = EsetSandbox(settings, clock or SystemClock())
    app.register_blueprint(api)
    app.register_blueprint(control)
    return app


def eset_sandbox_of(app: Flask) -> EsetSandbox:
    """Return the sandbox state behind an app made by ``create_eset_sandbox``."""
    sandbox = app.extensions[EXTENSION]
    assert isinstance(sandbox, EsetSandbox)
    return sandbox


def _sandbox() -> EsetSandbox:
    return eset_sandbox_of(current_app)


# ---------------------------------------------------------------------- the ESET API

api = Blueprint("eset_api", __name__)


@api.post("/api/<path:path>")
def call(path: str) -> Response:
    """Answer one ESET API call."""
    sandbox = _sandbox()
    reply = sandbox.api(path, request.get_json(silent=True), request.headers.get("Authorization"))
    if reply.ambiguous == "slow":
        time.sleep(sandbox.config.slow_seconds)
    elif reply.ambiguous == "drop" and _drop_connection():
        return Response(status=500)
    elif reply.ambiguous is not None:
        return Response("Gateway Timeout", status=504, mimetype="text/plain")
    response = jsonify(reply.body)
    response.status_code = reply.status
    response.headers.update(reply.headers)
    return response


def _drop_connection() -> bool:
    """Close the client's connection without an answer, where the server allows it."""
    connection = request.environ.get("werkzeug.socket")
    if not isinstance(connection, socket.socket):
        return False  # not werkzeug's server: the caller answers 504 instead
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    return True


# ---------------------------------------------------------------------- control surface

control = Blueprint("eset_control", __name__, url_prefix="/_sandbox")


@control.errorhandler(ControlError)
def control_error(error: ControlError) -> tuple[Response, int]:
    """Answer a malformed control request."""
    return jsonify({"error": str(error)}), 400


@control.get("/")
def index() -> Response:
    """Describe the sandbox and its control endpoints."""
    return jsonify(
        {
            "sandbox": "ESET partner API (shared/contract/eset.md)",
            "api": "POST <this prefix>/api/<Path>",
            "control": [
                "GET|POST /_sandbox/config",
                "POST /_sandbox/partners",
                "GET /_sandbox/licenses",
                "GET /_sandbox/orders",
                "GET /_sandbox/mails",
                "GET /_sandbox/calls",
                "POST /_sandbox/tokens/expire",
                "GET|POST /_sandbox/clock",
                "POST /_sandbox/reset",
            ],
        }
    )


@control.route("/config", methods=["GET", "POST"])
def config() -> Response:
    """Read or change the runtime settings."""
    sandbox = _sandbox()
    if request.method == "POST":
        with sandbox.lock:
            apply_settings(sandbox.config, request.get_json(silent=True), KNOBS)
    return jsonify(sandbox.settings())


@control.post("/partners")
def partners() -> tuple[Response, int]:
    """Create a partner with N licenses."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ControlError("send a JSON object")
    seed = _partner_seed(data)
    return jsonify(_sandbox().seed_partner(seed)), 201


@control.get("/licenses")
def licenses() -> Response:
    """List every license, optionally of one partner."""
    sandbox = _sandbox()
    partner_id = request.args.get("partner_id")
    with sandbox.lock:
        found = [
            sandbox.world.detail(lic)
            for lic in sandbox.world.licenses.values()
            if partner_id in (None, lic.partner_id)
        ]
    return jsonify({"licenses": found, "count": len(found)})


@control.get("/orders")
def orders() -> Response:
    """List order references and what they produced."""
    sandbox = _sandbox()
    with sandbox.lock:
        found = [
            {"orderReference": r, "publicLicenseKey": k} for r, k in sandbox.world.orders.items()
        ]
    return jsonify({"orders": found})


@control.get("/mails")
def mails() -> Response:
    """List the mails ESET sent."""
    sandbox = _sandbox()
    with sandbox.lock:
        return jsonify({"mails": [mail.as_json() for mail in sandbox.world.mails]})


@control.get("/calls")
def calls() -> Response:
    """List the API calls received, optionally of one path."""
    sandbox = _sandbox()
    path = request.args.get("path")
    with sandbox.lock:
        found = [c for c in sandbox.calls if path in (None, c["path"])]
    return jsonify({"calls": found, "count": len(found)})


@control.post("/tokens/expire")
def expire_tokens() -> Response:
    """Expire every access token now."""
    sandbox = _sandbox()
    with sandbox.lock:
        expired = sandbox.tokens.expire_all(sandbox.clock.now())
    return jsonify({"expired": expired})


@control.route("/clock", methods=["GET", "POST"])
def clock() -> Response:
    """Read or move the sandbox clock."""
    sandbox = _sandbox()
    if request.method == "POST":
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ControlError("send {'now': ISO date} or {'advance_days': N}")
        _move_clock(sandbox.clock, data)
    now = sandbox.clock.now()
    return jsonify({"now": now.isoformat(), "today": now.date().isoformat()})


@control.post("/reset")
def reset() -> Response:
    """Start again from the seeded state."""
    _sandbox().reset()
    return jsonify({"reset": True})


def _move_clock(sandbox_clock: SandboxClock, data: Mapping[str, Any]) -> None:
    if "now" in data:
        sandbox_clock.set(parse_instant(data["now"]))
    try:
        days = seconds(data.get("advance_days", 0))
        extra = seconds(data.get("advance_seconds", 0))
    except ValueError as exc:
        raise ControlError(f"advance_days/advance_seconds: {exc}") from None
    if days or extra:
        sandbox_clock.advance(timedelta(days=days, seconds=extra))


def _partner_seed(data: Mapping[str, Any]) -> PartnerSeed:
    known = {f.name for f in dataclasses.fields(PartnerSeed)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ControlError(f"unknown partner fields: {', '.join(unknown)}")
    for name in ("partner_id", "name", "country", "level"):
        if name in data and not isinstance(data[name], str):
            raise ControlError(f"{name} must be a string")
    seed = PartnerSeed(**data)
    if not isinstance(seed.licenses, int) or isinstance(seed.licenses, bool) or seed.licenses < 0:
        raise ControlError("licenses must be a whole number, 0 or more")
    if not isinstance(seed.released, bool):
        raise ControlError("released must be true or false")
    return seed
