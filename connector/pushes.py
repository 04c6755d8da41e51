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

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from connector import outbox, reports
from connector.handlers.common import UPDATE_SUBSCRIPTION, subscription_fields
from connector.models import License, OutboxMessage, OutboxStatus, Reseller
from connector.wakeup import announce

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
    sessions: sessionmaker[Session], *, now: datetime, batch_size: int = BATCH
) -> dict[str, int]:
    """Queue an UpdateSubscription for each license whose fields differ from its last push."""
    # A transaction per page: on SQLite each one holds the write lock, and the intake waits.
    checked = queued = 0
    after = ""
    while True:
        with sessions.begin() as session:
            page = list(session.scalars(_page(after, batch_size)))
            if not page:
                break
            pending = pending_pushes(session, [lic.subscription_account_id for lic in page])
            for license in page:
                fields = subscription_fields(license, now.date())
                if needs_push(license, fields, license.subscription_account_id in pending):
                    queued += queue_push(session, license, fields, now=now)
            checked += len(page)
            after = page[-1].subscription_account_id
            announce(session)
    return {"licenses": checked, "queued": queued}


def _page(after: str, size: int) -> Select[License]:
    return (
        select(License)
        .where(License.subscription_account_id > after)
        .order_by(License.subscription_account_id)
        .limit(size)
    )


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
    """Queue one state push; return 1, or 0 when another run queued this very push."""
    account_id = license.subscription_account_id
    body = {"AccountId": account_id, "Fields": dict(fields)}
    try:
        # A savepoint, so a twin refused by the unique dedupe_key costs only itself: another
        # run queued it a moment ago (it was not committed yet when this run looked).
        with session.begin_nested():
            outbox.enqueue(
                session,
                kind=UPDATE_SUBSCRIPTION,
                dedupe_key=state_push_key(account_id, fields, license.pushed_at, now.date()),
                target=account_id,
                body=json.dumps(body, separators=(",", ":")),
                now=now,
                reseller_account_id=license.reseller_account_id,
            )
    except IntegrityError:
        return 0
    return 1


def state_push_key(
    subscription_account_id: str,
    fields: Mapping[str, str],
    last_pushed: datetime | None,
    today: date,
) -> str:
    """Return the dedupe key of a scheduled push: one per license, last push, day and content."""
    # The day lets a push the outbox gave up on (after 24 h of retries) be queued afresh.
    canonical = json.dumps(dict(fields), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:24]
    since = last_pushed.strftime("%Y%m%dT%H%M%S%f") if last_pushed else "never"
    return f"state-push:{subscription_account_id}:{since}:{today.isoformat()}:{digest}"


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
