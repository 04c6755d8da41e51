"""Pieces both sandboxes share: a movable clock, month arithmetic, settings from JSON."""

from __future__ import annotations

import calendar
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from connector.clock import Clock

Coerce = Callable[[Any], Any]


class ControlError(ValueError):
    """A request to a ``/_sandbox`` control endpoint is malformed."""


class SandboxClock:
    """A clock the control surface can move: a base clock plus an offset."""

    def __init__(self, base: Clock) -> None:
        self._base = base
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._base.now() + self._offset

    def today(self) -> date:
        return self.now().date()

    def set(self, at: datetime) -> None:
        """Make ``now()`` answer ``at`` from here on (the base clock keeps running)."""
        with self._lock:
            self._offset = at - self._base.now()

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by ``delta``."""
        with self._lock:
            self._offset += delta

    def reset(self) -> None:
        """Follow the base clock again."""
        with self._lock:
            self._offset = timedelta(0)


def add_months(day: date, months: int) -> date:
    """Add calendar months, clamping to the last day of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def apply_settings(target: object, changes: Any, knobs: Mapping[str, Coerce]) -> None:
    """Set the named attributes of ``target`` from JSON, checking names and types first."""
    if not isinstance(changes, dict):
        raise ControlError("send a JSON object of settings")
    unknown = sorted(set(changes) - set(knobs))
    if unknown:
        raise ControlError(f"unknown settings: {', '.join(unknown)}; known: {', '.join(knobs)}")
    coerced = {name: _coerce(name, knobs[name], value) for name, value in changes.items()}
    for name, value in coerced.items():
        setattr(target, name, value)


def _coerce(name: str, coerce: Coerce, value: Any) -> Any:
    try:
        return coerce(value)
    except (TypeError, ValueError) as exc:
        raise ControlError(f"{name}: {exc}") from None


def fraction(value: Any) -> float:
    """Accept a number from 0 to 1."""
    number = _number(value)
    if not 0 <= number <= 1:
        raise ValueError("must be between 0 and 1")
    return number


def count(value: Any) -> int:
    """Accept a whole number of zero or more."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("must be a whole number, 0 or more")
    return value


def positive(value: Any) -> int:
    """Accept a whole number of one or more."""
    if count(value) < 1:
        raise ValueError("must be 1 or more")
    return int(value)


def optional_positive(value: Any) -> int | None:
    """Accept a whole number of one or more, or null for "off"."""
    return None if value is None else positive(value)


def seconds(value: Any) -> float:
    """Accept a duration in seconds, 0 or more."""
    number = _number(value)
    if number < 0:
        raise ValueError("must be 0 or more")
    return number


def boolean(value: Any) -> bool:
    """Accept true or false."""
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def text(value: Any) -> str:
    """Accept a string."""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


def optional_text(value: Any) -> str | None:
    """Accept a string or null."""
    return None if value is None else text(value)


def choice(*options: str) -> Coerce:
    """Accept one of ``options``."""

    def coerce(value: Any) -> str:
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return str(value)

    return coerce


def texts(value: Any) -> tuple[str, ...]:
    """Accept a list of strings."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError("must be a list of strings")
    return tuple(value)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    return float(value)


def parse_instant(value: Any) -> datetime:
    """Read an ISO 8601 date or date-time; a bare date means midnight UTC."""
    if not isinstance(value, str):
        raise ControlError("now must be an ISO 8601 date or date-time string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ControlError(f"now: {value!r} is not an ISO 8601 date or date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
