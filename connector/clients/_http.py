"""Pieces both clients share: retry policy, ``Retry-After`` parsing, URLs fit for logs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Self
from urllib.parse import urlsplit, urlunsplit

import requests

log = logging.getLogger("connector.clients")
Sleep = Callable[[float], None]
Timeout = float | tuple[float, float]

JSON_HEADERS = {"Accept": "application/json"}


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a client tries before it hands a ``TransientError`` to the worker."""

    attempts: int = 3
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 4.0
    # A Retry-After up to this long is waited out in place; a longer one goes to the worker.
    max_wait_seconds: float = 5.0
    rate_limit_waits: int = 3

    def backoff(self, failures: int) -> float:
        """Return the pause before the next attempt after ``failures`` failed ones."""
        return float(min(self.backoff_seconds * 2 ** (failures - 1), self.max_backoff_seconds))


def retry_after(response: requests.Response, default: float | None = None) -> float | None:
    """Return the response's ``Retry-After`` in seconds (a number or an HTTP date)."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - time.time())


def loggable_url(url: str) -> str:
    """Drop user info and query from a URL, which may carry credentials, before logging it."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def new_session(user_agent: str) -> requests.Session:
    """Return a session with the connector's user agent and nothing else preset."""
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    return session


class HttpClient:
    """What both clients are: a base URL, a user, a session they may own, a retry pace."""

    SYSTEM = "remote"
    """How log lines name the other side."""

    def __init__(
        self,
        base_url: str,
        username: str,
        session: requests.Session | None,
        *,
        retry: RetryPolicy | None,
        sleep: Sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self._owns_session = session is None
        self._session = session or new_session("eset-connector")
        self._retry = retry or RetryPolicy()
        self._sleep = sleep

    def _pause(self, call: str, failures: int, reason: str) -> None:
        pause = self._retry.backoff(failures)
        log.warning("%s %s failed (%s); trying again in %.1f s", self.SYSTEM, call, reason, pause)
        self._sleep(pause)

    def __repr__(self) -> str:
        # Never the password or a token: only what says which account this is.
        name = type(self).__name__
        return f"{name}(base_url={self.base_url!r}, username={self.username!r})"

    def close(self) -> None:
        """Close the HTTP session if this client created it."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
