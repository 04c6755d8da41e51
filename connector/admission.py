"""Checks an event must pass, with the connector's state at hand, before it is accepted."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from connector.runtime import Runtime


def admit(session: Session, event: dict[str, Any], runtime: Runtime) -> None:
    """Raise an ``ApiError`` when the event must be refused at intake."""
