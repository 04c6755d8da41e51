"""The scheduled pushes to the marketplace: license state that changed, and the product report.

Both are safe to run twice at once. A state push is an outbox message whose ``dedupe_key``
names the license, its last accepted push and a digest of the fields, so the database refuses
a second copy; it sends the license's state as it is when it is delivered;
a report batch carries a ``batchId`` derived from its content, which the marketplace
recognises as a repeat.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector import outbox, reports
from connector.handlers.common import UPDATE_SUBSCRIPTION, subscription_fields
from connector.models import License, OutboxMessage, OutboxStatus, Reseller

BATCH = 500
JsonCell = str | int | None


@dataclass(frozen=True)
class SubscribedReseller:
    """A reseller that added "ESET Partner Status", and its ESET partner id."""

    account_id: str
    eset_partner_id: str | None


def subscribed_resellers(
    session: Session, account_id: str | None = None
) -> list[SubscribedReseller]:
    """Return every subscribed reseller, or only the one asked for, by account id."""
    query = (
        select(Reseller.account_id, Reseller.eset_partner_id)
        .where(Reseller.subscribed_at.is_not(None))
        .order_by(Reseller.account_id)
    )
    if account_id is not None:
        query = query.where(Reseller.account_id == account_id)
    return [
        SubscribedReseller(row.account_id, row.eset_partner_id) for row in session.execute(query)
    ]


# -- state push ---------------------------------------------------------------------------------


def queue_state_pushes(
    session: Session, *, now: datetime, batch_size: int = BATCH
) -> dict[str, int]:
    """Queue an UpdateSubscription for each license whose fields differ from its last push."""
    checked = queued = 0
    query = select(License).order_by(License.subscription_account_id)
    for page in session.scalars(query.execution_options(yield_per=batch_size)).partitions():
        pending = pending_pushes(session, [license.subscription_account_id for license in page])
        for license in page:
            checked += 1
            fields = subscription_fields(license, now.date())
            if needs_push(license, fields, license.subscription_account_id in pending):
                queued += queue_push(session, license, fields, now=now)
    return {"licenses": checked, "queued": queued}


def needs_push(license: License, fields: Mapping[str, str], pending: bool) -> bool:
    """Say whether the fields are new to the marketplace and no push is on its way."""
    # A queued push sends the license's state as it is when delivered, so one is enough.
    return fields != license.pushed_fields and not pending


def pending_pushes(session: Session, subscription_account_ids: Sequence[str]) -> set[str]:
    """Return which of these licenses have an undelivered UpdateSubscription message."""
    query = select(OutboxMessage.target).where(
        OutboxMessage.kind == UPDATE_SUBSCRIPTION,
        OutboxMessage.status == OutboxStatus.PENDING,
        OutboxMessage.target.in_(subscription_account_ids),
    )
    return set(session.scalars(query))


def queue_push(
    session: Session, license: License, fields: Mapping[str, str], *, now: datetime
) -> int:
    """Queue one state push; return 1, or 0 when this very push was already queued today."""
    account_id = license.subscription_account_id
    body = {"AccountId": account_id, "Fields": dict(fields)}
    try:
        # A savepoint, so a twin refused by the unique dedupe_key costs only itself: another
        # run queued it a moment ago (it was not committed yet when this run looked).
        with session.begin_nested():
            outbox.enqueue(
                session,
                kind=UPDATE_SUBSCRIPTION,
                dedupe_key=state_push_key(account_id, fields, license.pushed_at),
                target=account_id,
                body=json.dumps(body, separators=(",", ":")),
                now=now,
                reseller_account_id=license.reseller_account_id,
            )
    except IntegrityError:
        return 0
    return 1


def state_push_key(
    subscription_account_id: str, fields: Mapping[str, str], last_pushed: datetime | None
) -> str:
    """Return the dedupe key of a scheduled push: one per license, last push and content."""
    canonical = json.dumps(dict(fields), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:24]
    since = last_pushed.isoformat() if last_pushed else "never"
    return f"state-push:{subscription_account_id}:{since}:{digest}"


# -- report push --------------------------------------------------------------------------------


def report_of(
    session: Session, reseller_account_id: str, today: date
) -> tuple[tuple[str, ...], list[list[JsonCell]]]:
    """Return a reseller's product report as columns and JSON rows, as the report read has them."""
    columns, rows = reports.report_rows(session, reseller_account_id, today)
    return columns, as_json_rows(rows)


def as_json_rows(rows: Iterable[reports.Row]) -> list[list[JsonCell]]:
    """Return report rows with dates as ISO text and amounts as two-place strings."""
    return [reports.json_row(row) for row in rows]
