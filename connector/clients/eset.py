"""The ESET partner licensing API (shared/contract/eset.md), behind one client object.

``EsetClient`` owns the HTTP session, the short-lived bearer token, the timeouts and the retry
rules; it returns parsed data and raises the errors of ``connector.clients.errors``.

Orders cost money, so ordering calls (``License/Order``, ``Renew``, ``UpdateQuantity``,
``ChangeProduct``) are never repeated blindly: each carries the caller's ``order_reference``,
after an answer that leaves the outcome open the client asks ``Search/Orders`` before it orders
again, and ``AlreadyOrdered`` is read as "done" (the license is fetched and returned).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import IntEnum
from typing import Any, TypeVar

import requests

from connector.clients._http import (
    JSON_HEADERS,
    HttpClient,
    RetryPolicy,
    Sleep,
    Timeout,
    retry_after,
)
from connector.clients.errors import (
    AlreadyOrdered,
    AuthenticationFailed,
    EsetError,
    EsetTransientError,
    EsetUnavailable,
    LicenseError,
    OrderOutcomeUnknown,
    OrderPending,
    RateLimited,
    TokenRejected,
    UnexpectedAnswer,
    describe,
    eset_error_class,
)
from connector.errors import ConfigurationError
from connector.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

PAGE_SIZE = 100
ORDER_COMPLETED = "Completed"
_CONTEXT_KEYS = ("partnerId", "customerId", "publicLicenseKey", "orderReference", "productCode")


class LicenseType(IntEnum):
    FULL = 1
    TRIAL = 4


class LicenseState(IntEnum):
    ERROR = 0
    NORMAL = 1
    OBSOLETE = 2
    SUSPENDED = 3
    WARNING = 4


@dataclass(frozen=True)
class Partner:
    partner_id: str
    name: str
    country: str
    level: str
    released_to_distributor: bool


@dataclass(frozen=True)
class RegisteredPartner:
    partner_id: str
    level: str


@dataclass(frozen=True)
class EsetCustomer:
    name: str
    email: str | None
    country: str | None
    vat_id: str | None


@dataclass(frozen=True)
class EsetLicense:
    """A license as ESET describes it; ``license_type`` and ``state`` are ESET's numbers."""

    public_license_key: str
    license_key: str
    partner_id: str
    customer_id: str | None
    customer: EsetCustomer | None
    product_code: str
    product_name: str
    quantity: int
    usage: int
    license_type: int
    state: int
    start_date: date | None
    expiration_date: date
    last_update: datetime | None

    @property
    def is_trial(self) -> bool:
        return self.license_type == LicenseType.TRIAL

    def is_expired(self, today: date) -> bool:
        """Return whether the license has expired by ``today`` (whatever its state)."""
        return self.expiration_date < today


@dataclass(frozen=True)
class EsetOrder:
    order_reference: str
    public_license_key: str | None
    status: str


@dataclass
class _Tokens:
    access: str
    refresh: str
    renew_at: float


class EsetClient(HttpClient):
    """Talk to the ESET partner API: tokens, timeouts, retries, errors and safe re-ordering."""

    SYSTEM = "ESET"

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        session: requests.Session | None = None,
        timeout: Timeout = (5.0, 30.0),
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        renew_margin_seconds: float = 10.0,
    ) -> None:
        super().__init__(base_url, username, session, retry=retry, sleep=sleep)
        self._password = password
        self._timeout = timeout
        self._monotonic = monotonic
        self._renew_margin = renew_margin_seconds
        self._tokens: _Tokens | None = None
        self._token_lock = threading.Lock()
        # References whose last order attempt ended without a clear answer (see module doc).
        self._unsettled: set[str] = set()
        self._unsettled_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> EsetClient:
        """Build a client from ``CONNECTOR_ESET_*`` settings."""
        if not settings.eset_api_url:
            raise ConfigurationError("CONNECTOR_ESET_API_URL is not set")
        return cls(settings.eset_api_url, settings.eset_username, settings.eset_password, **options)

    # ------------------------------------------------------------------ partners, customers

    def partner_detail(self, partner_id: str) -> Partner:
        """Return the partner's name, country, level and whether its data is released."""
        data = self._call("Partner/Detail", {"partnerId": partner_id})
        return _parse("Partner/Detail", _partner, data)

    def register_partner(
        self, *, name: str, country: str, email: str, distributor_reference: str
    ) -> RegisteredPartner:
        """Register a new partner; the same ``distributor_reference`` returns the same one."""
        body = {
            "name": name,
            "country": country,
            "email": email,
            "distributorReference": distributor_reference,
        }
        data = self._call("Partner/Register", body)
        return _parse("Partner/Register", _registered_partner, data)

    def create_customer(
        self,
        partner_id: str,
        *,
        name: str,
        email: str,
        country: str,
        custom_identifier: str,
        vat_id: str | None = None,
    ) -> str:
        """Create an end customer, or find the one with this ``custom_identifier``; return its ID.

        The identifier is required so that repeating the call after a lost answer finds the
        customer instead of creating a second one.
        """
        body = {
            "partnerId": partner_id,
            "name": name,
            "email": email,
            "country": country,
            "vatId": vat_id,
            "customIdentifier": custom_identifier,
        }
        data = self._call("Customer/Create", body)
        return _parse("Customer/Create", lambda d: str(d["customerId"]), data)

    # ------------------------------------------------------------------ ordering calls

    def order_license(
        self,
        *,
        order_reference: str,
        partner_id: str,
        customer_id: str,
        product_code: str,
        quantity: int,
        license_type: int,
        term_months: int,
        discount_category: str = "NONE",
        crossgrade: bool = False,
        notify_emails: Sequence[str] = (),
    ) -> EsetLicense:
        """Order a new license exactly once per ``order_reference``."""
        body = {
            "orderReference": order_reference,
            "partnerId": partner_id,
            "customerId": customer_id,
            "productCode": product_code,
            "quantity": quantity,
            "licenseType": int(license_type),
            "termMonths": term_months,
            "discountCategory": discount_category,
            "crossgrade": crossgrade,
            "notifyEmails": list(notify_emails),
        }
        return self._order("License/Order", body)

    def renew_license(
        self, *, order_reference: str, public_license_key: str, term_months: int, quantity: int
    ) -> EsetLicense:
        """Renew (or turn a trial into a full license) exactly once per ``order_reference``."""
        body = {
            "orderReference": order_reference,
            "publicLicenseKey": public_license_key,
            "termMonths": term_months,
            "quantity": quantity,
        }
        return self._order("License/Renew", body)

    def update_quantity(
        self, *, order_reference: str, public_license_key: str, quantity: int
    ) -> EsetLicense:
        """Change the seats now, expiry unchanged, exactly once per ``order_reference``."""
        body = {
            "orderReference": order_reference,
            "publicLicenseKey": public_license_key,
            "quantity": quantity,
        }
        return self._order("License/UpdateQuantity", body)

    def change_product(
        self,
        *,
        order_reference: str,
        public_license_key: str,
        new_product_code: str,
        quantity: int,
    ) -> EsetLicense:
        """Move a full, active license to another product, exactly once per reference."""
        body = {
            "orderReference": order_reference,
            "publicLicenseKey": public_license_key,
            "newProductCode": new_product_code,
            "quantity": quantity,
        }
        return self._order("License/ChangeProduct", body)

    # ------------------------------------------------------------------ state changes, reads

    def suspend(self, public_license_key: str) -> EsetLicense:
        """Suspend the license (state 3)."""
        return self._set_state(
            "License/Suspend", public_license_key, lambda s: s == LicenseState.SUSPENDED
        )

    def unsuspend(self, public_license_key: str) -> EsetLicense:
        """Reactivate a suspended license (state 1)."""
        return self._set_state(
            "License/Unsuspend", public_license_key, lambda s: s != LicenseState.SUSPENDED
        )

    def remove(self, public_license_key: str) -> EsetLicense:
        """Remove a trial license (state 2)."""
        return self._set_state(
            "License/Remove", public_license_key, lambda s: s == LicenseState.OBSOLETE
        )

    def license_detail(self, public_license_key: str) -> EsetLicense:
        """Return one license."""
        return self._license_call("License/Detail", public_license_key)

    def search_licenses(self, partner_id: str) -> Iterator[EsetLicense]:
        """Yield every license of the partner, fetching pages of 100 as the caller iterates."""
        skip = 0
        while True:
            body = {"partnerId": partner_id, "skip": skip, "take": PAGE_SIZE}
            data = self._call("Search/Licenses", body)
            page, total = _parse("Search/Licenses", _license_page, data)
            yield from page
            skip += len(page)
            if not page or skip >= total:
                return

    def search_orders(self, order_reference: str) -> list[EsetOrder]:
        """Return what ESET knows about an order reference (empty: it never executed it)."""
        data = self._call("Search/Orders", {"orderReference": order_reference})
        return _parse("Search/Orders", _orders, data)

    # ------------------------------------------------------------------ ordering internals

    def _license_call(self, path: str, public_license_key: str) -> EsetLicense:
        data = self._call(path, {"publicLicenseKey": public_license_key})
        return _parse(path, _license, data)

    def _set_state(
        self, path: str, public_license_key: str, reached: Callable[[int], bool]
    ) -> EsetLicense:
        try:
            return self._license_call(path, public_license_key)
        except LicenseError as error:
            if not error.after_retry:
                raise
            # An earlier attempt whose answer was lost may have done the work already.
            current = self.license_detail(public_license_key)
            if not reached(current.state):
                raise
            return current

    def _order(self, path: str, body: dict[str, Any]) -> EsetLicense:
        reference = str(body["orderReference"])
        for attempt in range(1, self._retry.attempts + 1):
            if self._is_unsettled(reference):
                settled = self._settle(reference)
                if settled is not None:
                    return settled
            placed = self._place(path, body, reference)
            if placed is not None:
                return placed
            if attempt < self._retry.attempts:
                self._sleep(self._retry.backoff(attempt))
        raise OrderOutcomeUnknown(
            describe(OrderOutcomeUnknown, path, {"orderReference": reference}, ""), path=path
        )

    def _place(self, path: str, body: dict[str, Any], reference: str) -> EsetLicense | None:
        """Send one ordering call; ``None`` when ESET's answer leaves the outcome open."""
        try:
            data = self._call(path, body, repeatable=False)
        except AlreadyOrdered as error:
            return self._fetch_ordered(reference, error.public_license_key)
        except OrderOutcomeUnknown as error:
            self._mark_unsettled(reference)
            log.warning("%s", error)
            return None
        try:
            placed = _parse(path, _license, data)
        except UnexpectedAnswer:
            # ESET acted (it answered 2xx) but the answer is unreadable: settle it by search.
            self._mark_unsettled(reference)
            return None
        self._mark_settled(reference)
        return placed

    def _settle(self, reference: str) -> EsetLicense | None:
        """Ask ESET what became of an unsettled reference; ``None`` means order again."""
        orders = self.search_orders(reference)
        done = [o for o in orders if o.status == ORDER_COMPLETED and o.public_license_key]
        if done:
            return self._fetch_ordered(reference, done[0].public_license_key)
        if orders:
            raise OrderPending(
                describe(OrderPending, "Search/Orders", {"orderReference": reference}, "")
                + f": status {orders[0].status}",
                path="Search/Orders",
            )
        self._mark_settled(reference)
        return None

    def _fetch_ordered(self, reference: str, public_license_key: str | None) -> EsetLicense:
        if not public_license_key:
            orders = self.search_orders(reference)
            public_license_key = next(
                (o.public_license_key for o in orders if o.public_license_key), None
            )
        if not public_license_key:
            raise UnexpectedAnswer(
                describe(
                    UnexpectedAnswer,
                    "Search/Orders",
                    {"orderReference": reference},
                    "ESET says the order exists but names no license",
                ),
            )
        log.info("ESET order %s was already executed; fetching its license", reference)
        placed = self.license_detail(public_license_key)
        self._mark_settled(reference)
        return placed

    def _is_unsettled(self, reference: str) -> bool:
        with self._unsettled_lock:
            return reference in self._unsettled

    def _mark_unsettled(self, reference: str) -> None:
        with self._unsettled_lock:
            self._unsettled.add(reference)

    def _mark_settled(self, reference: str) -> None:
        with self._unsettled_lock:
            self._unsettled.discard(reference)

    # ------------------------------------------------------------------ HTTP and tokens

    def _call(self, path: str, body: Mapping[str, Any], *, repeatable: bool = True) -> Any:
        """POST one call with a bearer token; renew the token once if ESET rejects it."""
        token = self._bearer()
        try:
            return self._request(path, body, token=token, repeatable=repeatable)
        except TokenRejected:
            log.info("ESET rejected the access token on %s; renewing it", path)
            self._replace_token(token)
            return self._request(path, body, token=self._bearer(), repeatable=repeatable)

    def _request(
        self, path: str, body: Mapping[str, Any], *, token: str | None, repeatable: bool
    ) -> Any:
        """POST until an answer is final: waits out short rate limits, retries what is safe."""
        failures = 0
        waits = 0
        while True:
            try:
                response = self._post(path, body, token)
            except requests.RequestException as exc:
                failures += 1
                if repeatable and failures < self._retry.attempts:
                    self._pause(path, failures, type(exc).__name__)
                    continue
                raise self._no_answer(path, body, type(exc).__name__, repeatable) from exc
            if response.status_code < 400:
                return self._json(path, body, response, repeatable)
            error = self._error(path, body, response)
            error.after_retry = failures > 0
            if isinstance(error, RateLimited) and self._may_wait(error, waits):
                waits += 1
                self._sleep(error.retry_after or 0.0)
                continue
            if isinstance(error, EsetUnavailable):
                failures += 1
                if repeatable and failures < self._retry.attempts:
                    self._pause(path, failures, f"HTTP {response.status_code}")
                    continue
                if not repeatable:
                    raise self._no_answer(path, body, f"HTTP {response.status_code}", False)
            raise error

    def _post(self, path: str, body: Mapping[str, Any], token: str | None) -> requests.Response:
        headers = dict(JSON_HEADERS)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        started = self._monotonic()
        response = self._session.post(
            f"{self.base_url}/api/{path}", json=body, headers=headers, timeout=self._timeout
        )
        elapsed = (self._monotonic() - started) * 1000
        log.debug("ESET %s answered %s in %.0f ms", path, response.status_code, elapsed)
        return response

    def _may_wait(self, error: RateLimited, waits: int) -> bool:
        wait = error.retry_after or 0.0
        return waits < self._retry.rate_limit_waits and wait <= self._retry.max_wait_seconds

    def _no_answer(
        self, path: str, body: Mapping[str, Any], reason: str, repeatable: bool
    ) -> EsetTransientError:
        error_class = EsetUnavailable if repeatable else OrderOutcomeUnknown
        message = describe(error_class, path, _context(body), reason)
        return error_class(message, path=path)

    def _json(
        self, path: str, body: Mapping[str, Any], response: requests.Response, repeatable: bool
    ) -> Any:
        try:
            return response.json()
        except ValueError:
            if not repeatable:
                # A 2xx means ESET acted; only the answer got lost.
                raise self._no_answer(path, body, "unreadable answer", False) from None
            raise UnexpectedAnswer(
                describe(UnexpectedAnswer, path, {}, "the answer is not JSON"), path=path
            ) from None

    def _error(self, path: str, body: Mapping[str, Any], response: requests.Response) -> EsetError:
        details = _error_details(response)
        code, sub_code = _int_or_none(details.get("code")), _int_or_none(details.get("subCode"))
        eset_message = str(details.get("message") or "")
        error_class = eset_error_class(response.status_code, code, sub_code)
        detail = f"HTTP {response.status_code}"
        if code is not None:
            detail += f", error {code}/{sub_code}"
        if eset_message:
            detail += f" {eset_message}"
        default_wait = 1.0 if response.status_code == 429 else None
        key = details.get("publicLicenseKey")
        return error_class(
            describe(error_class, path, _context(body), detail),
            path=path,
            status=response.status_code,
            code=code,
            sub_code=sub_code,
            eset_message=eset_message,
            retry_after=retry_after(response, default_wait),
            public_license_key=str(key) if key else None,
        )

    def _bearer(self) -> str:
        """Return a usable access token, renewing it shortly before it expires."""
        with self._token_lock:
            if self._tokens is None:
                self._tokens = self._login()
            elif self._monotonic() >= self._tokens.renew_at:
                self._tokens = self._renew(self._tokens)
            return self._tokens.access

    def _replace_token(self, rejected: str) -> None:
        with self._token_lock:
            if self._tokens is None or self._tokens.access != rejected:
                return  # another thread has already replaced it
            self._tokens = self._renew(self._tokens)

    def _login(self) -> _Tokens:
        body = {"username": self.username, "password": self._password}
        try:
            data = self._request("Token/Get", body, token=None, repeatable=True)
        except TokenRejected as error:
            raise AuthenticationFailed(
                describe(AuthenticationFailed, "Token/Get", {}, f"HTTP {error.status}"),
                path="Token/Get",
                status=error.status,
            ) from None
        return self._tokens_from(data, "Token/Get")

    def _renew(self, tokens: _Tokens) -> _Tokens:
        try:
            data = self._request(
                "Token/Renew", {"refreshToken": tokens.refresh}, token=None, repeatable=True
            )
        except TokenRejected:
            log.info("ESET refused to renew the token; logging in again")
            return self._login()
        except EsetTransientError:
            raise
        except EsetError:
            log.info("ESET refused to renew the token; logging in again")
            return self._login()
        return self._tokens_from(data, "Token/Renew")

    def _tokens_from(self, data: Any, path: str) -> _Tokens:
        def parse(d: Any) -> _Tokens:
            lifetime = float(d["expiresIn"])
            margin = min(self._renew_margin, lifetime / 5)
            renew_at = self._monotonic() + lifetime - margin
            return _Tokens(str(d["accessToken"]), str(d["refreshToken"]), renew_at)

        return _parse(path, parse, data)


# ---------------------------------------------------------------------- parsing


def _parse(path: str, parser: Callable[[Any], T], data: Any) -> T:
    try:
        return parser(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        detail = f"missing or malformed {exc}" if isinstance(exc, KeyError) else str(exc)
        raise UnexpectedAnswer(describe(UnexpectedAnswer, path, {}, detail), path=path) from None


def _partner(data: Any) -> Partner:
    return Partner(
        partner_id=str(data["partnerId"]),
        name=str(data["name"]),
        country=str(data["country"]),
        level=str(data["level"]),
        released_to_distributor=bool(data["releasedToDistributor"]),
    )


def _registered_partner(data: Any) -> RegisteredPartner:
    return RegisteredPartner(partner_id=str(data["partnerId"]), level=str(data["level"]))


def _customer(data: Any) -> EsetCustomer | None:
    if not data:
        return None
    return EsetCustomer(
        name=str(data.get("name") or ""),
        email=data.get("email"),
        country=data.get("country"),
        vat_id=data.get("vatId"),
    )


def _license(data: Any) -> EsetLicense:
    start = data.get("startDate")
    last_update = data.get("lastUpdate")
    return EsetLicense(
        public_license_key=str(data["publicLicenseKey"]),
        license_key=str(data.get("licenseKey") or ""),
        partner_id=str(data.get("partnerId") or ""),
        customer_id=_str_or_none(data.get("customerId")),
        customer=_customer(data.get("customer")),
        product_code=str(data["productCode"]),
        product_name=str(data.get("productName") or data["productCode"]),
        quantity=int(data["quantity"]),
        usage=int(data.get("usage") or 0),
        license_type=int(data["licenseType"]),
        state=int(data["state"]),
        start_date=date.fromisoformat(start) if start else None,
        expiration_date=date.fromisoformat(data["expirationDate"]),
        last_update=datetime.fromisoformat(last_update) if last_update else None,
    )


def _license_page(data: Any) -> tuple[list[EsetLicense], int]:
    return [_license(item) for item in data["search"]], int(data["totalCount"])


def _orders(data: Any) -> list[EsetOrder]:
    return [
        EsetOrder(
            order_reference=str(item["orderReference"]),
            public_license_key=_str_or_none(item.get("publicLicenseKey")),
            status=str(item.get("status") or ""),
        )
        for item in data["orders"]
    ]


def _error_details(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def _context(body: Mapping[str, Any]) -> dict[str, Any]:
    return {key: body[key] for key in _CONTEXT_KEYS if body.get(key)}


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
