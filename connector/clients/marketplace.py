"""The marketplace's SimpleAPI (marketplace.md §8) and the signed callbacks of §4.

``MarketplaceClient`` logs in with ``GetSessionToken``, sends ``Authenticate: CCPSessionId
<token>``, logs in again once when the marketplace answers with its expired-session WCF fault,
and turns every other fault into a ``MarketplaceFault`` carrying the fault's ``Message``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from xml.etree import ElementTree

import requests

from connector import signing
from connector.clients._http import (
    JSON_HEADERS,
    HttpClient,
    RetryPolicy,
    Sleep,
    Timeout,
    loggable_url,
    retry_after,
)
from connector.clients.errors import (
    CallbackFailed,
    MarketplaceFault,
    MarketplaceRejected,
    MarketplaceUnavailable,
)
from connector.errors import ConfigurationError
from connector.settings import Settings

log = logging.getLogger(__name__)

REPORT_NAME = "ESET product report"
SERVICE_NAME = "ESET Services"
MAX_REPORT_ROWS = 1000
_MAX_FAULT_BYTES = 64 * 1024

Cell = str | int | float | bool | None


@dataclass(frozen=True)
class Fault:
    """A WCF fault: whether it reports an expired session, and its ``Message``."""

    session_expired: bool
    message: str


@dataclass(frozen=True)
class ImportResult:
    """What ``import_report_rows`` achieved over all its batches."""

    accepted: int
    batches: int
    duplicates: int


class MarketplaceClient(HttpClient):
    """Talk to the marketplace SimpleAPI and deliver signed callbacks."""

    SYSTEM = "Marketplace"

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        session: requests.Session | None = None,
        timeout: Timeout = (5.0, 30.0),
        callback_timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        now: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(base_url, username, session, retry=retry, sleep=sleep)
        self._password = password
        self._timeout = timeout
        self._callback_timeout = callback_timeout
        self._now = now
        self._token: str | None = None
        self._token_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> MarketplaceClient:
        """Build a client from ``CONNECTOR_MARKETPLACE_*`` settings."""
        if not settings.marketplace_api_url:
            raise ConfigurationError("CONNECTOR_MARKETPLACE_API_URL is not set")
        options.setdefault("callback_timeout", settings.callback_timeout_seconds)
        return cls(
            settings.marketplace_api_url,
            settings.marketplace_username,
            settings.marketplace_password,
            **options,
        )

    # ------------------------------------------------------------------ SimpleAPI

    def update_subscription(self, account_id: str, fields: Mapping[str, str]) -> None:
        """Push field values (license state) onto a marketplace subscription."""
        body = {"subscription": {"AccountId": account_id, "Fields": _fields(fields)}}
        self._call("UpdateSubscription", body, repeatable=True)

    def create_subscription(
        self, parent_account_id: str, service_name: str, fields: Mapping[str, str]
    ) -> str:
        """Create a subscription under the reseller's account and return its AccountId."""
        body = {
            "subscriptionAccount": {
                "ParentAccountId": parent_account_id,
                "ServiceName": service_name,
                "Fields": _fields(fields),
            }
        }
        # Not repeated on a lost answer: the marketplace has no key that recognises a repeat.
        data = self._call("CreateSubscription", body, repeatable=False)
        try:
            return str(data["AccountId"])
        except (KeyError, TypeError):
            raise MarketplaceRejected(
                "The marketplace answered CreateSubscription without an AccountId"
            ) from None

    def import_report_rows(
        self,
        reseller_account_id: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        report_name: str = REPORT_NAME,
    ) -> ImportResult:
        """Send report rows in batches of at most 1000, each with a batchId of its content."""
        accepted = batches = duplicates = 0
        for chunk in _batches([[_cell(value) for value in row] for row in rows]):
            body = {
                "reportName": report_name,
                "resellerAccountId": reseller_account_id,
                "batchId": batch_id(report_name, reseller_account_id, columns, chunk),
                "columns": list(columns),
                "rows": chunk,
            }
            data = self._call("ImportReportRows", body, repeatable=True)
            answer = data if isinstance(data, dict) else {}
            accepted += int(answer.get("accepted") or 0)
            duplicates += 1 if answer.get("duplicate") else 0
            batches += 1
        return ImportResult(accepted=accepted, batches=batches, duplicates=duplicates)

    # ------------------------------------------------------------------ callbacks

    def send_callback(self, url: str, body: bytes, secret: str) -> int:
        """POST the exact body, signed, to a callback URL; return the 2xx status."""
        timestamp = int(self._now())
        headers = {
            "Content-Type": "application/json",
            "X-Connector-Signature": signing.signature_header(
                secret, timestamp, "POST", signing.path_of(url), body
            ),
        }
        where = loggable_url(url)
        try:
            response = self._session.post(
                url,
                data=body,
                headers=headers,
                timeout=self._callback_timeout,
                # A redirect could lead outside CONNECTOR_CALLBACK_HOSTS: count it as a failure.
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            log.warning("Callback to %s got no answer (%s)", where, type(exc).__name__)
            raise CallbackFailed(
                f"The callback to {where} got no answer ({type(exc).__name__})"
            ) from exc
        status = response.status_code
        response.close()
        log.debug("Callback to %s answered %s", where, status)
        if not 200 <= status < 300:
            raise CallbackFailed(
                f"The callback to {where} answered HTTP {status}", status_code=status
            )
        return status

    # ------------------------------------------------------------------ HTTP and session

    def _call(self, method: str, body: Mapping[str, Any], *, repeatable: bool) -> Any:
        """POST one method with the session token; log in again once if the session expired."""
        token = self._session_token()
        try:
            return self._request(method, body, token=token, repeatable=repeatable)
        except _SessionExpired:
            log.info("The marketplace session expired during %s; logging in again", method)
            self._forget(token)
            try:
                return self._request(
                    method, body, token=self._session_token(), repeatable=repeatable
                )
            except _SessionExpired:
                raise MarketplaceUnavailable(
                    f"The marketplace said the session expired again right after logging in "
                    f"({method})"
                ) from None

    def _request(
        self, method: str, body: Mapping[str, Any], *, token: str | None, repeatable: bool
    ) -> Any:
        failures = 0
        while True:
            try:
                response = self._post(method, body, token)
            except requests.RequestException as exc:
                failures += 1
                if repeatable and failures < self._retry.attempts:
                    self._pause(method, failures, type(exc).__name__)
                    continue
                raise MarketplaceUnavailable(
                    f"The marketplace did not answer {method} ({type(exc).__name__})",
                    unsent=_never_sent(exc),
                ) from exc
            if response.status_code < 400:
                return _json_or_none(response)
            fault = parse_fault(response.content)
            if fault is not None:
                if fault.session_expired:
                    raise _SessionExpired(method)
                raise MarketplaceFault(
                    f"The marketplace refused {method}: {fault.message}",
                    fault_message=fault.message,
                )
            if response.status_code >= 500 or response.status_code == 429:
                failures += 1
                if repeatable and failures < self._retry.attempts:
                    self._pause(method, failures, f"HTTP {response.status_code}")
                    continue
                raise MarketplaceUnavailable(
                    f"The marketplace answered {method} with HTTP {response.status_code}",
                    retry_after=retry_after(response),
                    unsent=response.status_code == 429,
                )
            raise MarketplaceRejected(
                f"The marketplace refused {method} with HTTP {response.status_code}"
            )

    def _post(self, method: str, body: Mapping[str, Any], token: str | None) -> requests.Response:
        headers = dict(JSON_HEADERS)
        if token is not None:
            headers["Authenticate"] = f"CCPSessionId {token}"
        response = self._session.post(
            f"{self.base_url}/{method}", json=body, headers=headers, timeout=self._timeout
        )
        log.debug("Marketplace %s answered %s", method, response.status_code)
        return response

    def _session_token(self) -> str:
        with self._token_lock:
            if self._token is None:
                self._token = self._login()
            return self._token

    def _forget(self, token: str) -> None:
        with self._token_lock:
            if self._token == token:
                self._token = None

    def _login(self) -> str:
        body = {"username": self.username, "password": self._password}
        try:
            data = self._request("GetSessionToken", body, token=None, repeatable=True)
        except _SessionExpired:
            raise MarketplaceFault("The marketplace refused to log in: session expired") from None
        except MarketplaceFault as fault:
            raise MarketplaceFault(
                f"The marketplace refused to log in "
                f"(CONNECTOR_MARKETPLACE_USERNAME / _PASSWORD): {fault.fault_message}",
                fault_message=fault.fault_message,
            ) from None
        if not isinstance(data, str) or not data:
            raise MarketplaceRejected("The marketplace answered GetSessionToken without a token")
        return data


class _SessionExpired(Exception):
    """The marketplace answered with a fault whose ``IsSessionExpired`` is true."""


def parse_fault(content: bytes) -> Fault | None:
    """Read a WCF fault, whatever its namespaces; ``None`` when the body is not one."""
    if not content or len(content) > _MAX_FAULT_BYTES or not content.lstrip().startswith(b"<"):
        return None
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError:
        return None
    texts: dict[str, str] = {}
    for element in root.iter():
        texts.setdefault(_local_name(element.tag), (element.text or "").strip())
    if "IsSessionExpired" not in texts and _local_name(root.tag) != "Fault":
        return None
    message = texts.get("Message") or texts.get("Text") or "no reason given"
    return Fault(
        session_expired=texts.get("IsSessionExpired", "").lower() == "true", message=message
    )


def batch_id(
    report_name: str, reseller_account_id: str, columns: Sequence[str], rows: Sequence[Any]
) -> str:
    """Return an ID that depends only on the batch's content."""
    canonical = json.dumps(
        [report_name, reseller_account_id, list(columns), rows],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _fields(fields: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Name": name, "Value": str(value)} for name, value in fields.items()]


def _cell(value: Any) -> Cell:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return _cell(value.value)
    return str(value)


def _batches(rows: list[list[Cell]]) -> Iterator[list[list[Cell]]]:
    # An empty report is still sent once, so the marketplace learns it is empty.
    if not rows:
        yield []
    for start in range(0, len(rows), MAX_REPORT_ROWS):
        yield rows[start : start + MAX_REPORT_ROWS]


def _json_or_none(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _never_sent(error: requests.RequestException) -> bool:
    """Tell whether a request failed before any byte of it could reach the server."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    if not isinstance(error, requests.ConnectionError) or isinstance(error, requests.ReadTimeout):
        return False
    reason = error.args[0] if error.args else None
    # urllib3 wraps a refused or unresolvable connection as NewConnectionError.
    return "NewConnectionError" in repr(reason) or "NameResolutionError" in repr(reason)
