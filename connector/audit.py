"""The audit trail: every state change, with who made it and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from connector.models import AuditEvent


def record(
    session: Session,
    *,
    entity: str,
    entity_id: str,
    from_state: str | None,
    to_state: str | None,
    actor: str,
    at: datetime,
    **detail: Any,
) -> None:
    """Add one audit row to the session's transaction."""
    session.add(
        AuditEvent(
            entity=entity,
            entity_id=entity_id,
            from_state=from_state,
            to_state=to_state,
            actor=actor,
            at=at,
            detail=detail or None,
        )
    )
