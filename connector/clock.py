"""An injectable clock, so rules that depend on "now" and "today" can be tested."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def today(self) -> date: ...


class SystemClock:
    """The real UTC clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().date()


class FrozenClock:
    """A clock that only moves when told to."""

    def __init__(self, at: datetime) -> None:
        self._at = at if at.tzinfo else at.replace(tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._at

    def today(self) -> date:
        return self.now().date()

    def advance(self, **delta: float) -> None:
        """Move forward by a ``timedelta(**delta)``."""
        with self._lock:
            self._at += timedelta(**delta)

    def set(self, at: datetime) -> None:
        with self._lock:
            self._at = at if at.tzinfo else at.replace(tzinfo=UTC)
