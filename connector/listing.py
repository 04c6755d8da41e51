"""Which of a reseller's licenses the marketplace sees, in the order it shows them.

The list can hold thousands of licenses, so the state filter, the order and the paging run in
the database; the rules there mirror ``licenses.state_of``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, and_, func, select
from sqlalchemy.orm import Session

from connector.licenses import ESET_OBSOLETE
from connector.models import License, Operation

RENEWABLE = "renewable"
ALL = "all"
STATES = (RENEWABLE, ALL)
# The contract's "renewable" list keeps licenses that expired at most this many days ago.
RENEWABLE_DAYS_EXPIRED = 60


def page_of(
    session: Session,
    reseller_account_id: str,
    *,
    state: str,
    today: date,
    page: int,
    page_size: int,
) -> tuple[Sequence[License], int]:
    """Return one page of a reseller's licenses, soonest expiry first, and how many there are."""
    where = _filter(reseller_account_id, state, today)
    total = session.scalar(select(func.count()).select_from(License).where(*where)) or 0
    query = (
        in_expiry_order(session, select(License).where(*where))
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return session.scalars(query).all(), total


def in_expiry_order(session: Session, query: Select[License]) -> Select[License]:
    """Order licenses by expiry date, then subscription account id."""
    return query.order_by(License.expiry_date, _by_bytes(session, License.subscription_account_id))


def of_reseller_query(reseller_account_id: str) -> Select[License]:
    """Select all of a reseller's licenses, cancelled ones included."""
    return select(License).where(License.reseller_account_id == reseller_account_id)


def history_of(session: Session, license: License) -> Sequence[Operation]:
    """Return the operations on a license, newest first."""
    query = (
        select(Operation)
        .where(
            Operation.subscription_account_id == license.subscription_account_id,
            Operation.reseller_account_id == license.reseller_account_id,
        )
        .order_by(Operation.created_at.desc(), Operation.id.desc())
    )
    return session.scalars(query).all()


def _filter(reseller_account_id: str, state: str, today: date) -> list[ColumnElement[bool]]:
    where = [License.reseller_account_id == reseller_account_id]
    if state == RENEWABLE:
        where.append(_renewable(today))
    return where


def _renewable(today: date) -> ColumnElement[bool]:
    # Active and Suspended (not cancelled, not expired) plus recently Expired: everything not
    # cancelled whose expiry is at most RENEWABLE_DAYS_EXPIRED days back.
    return and_(
        License.cancelled_at.is_(None),
        License.eset_state != ESET_OBSOLETE,
        License.expiry_date >= today - timedelta(days=RENEWABLE_DAYS_EXPIRED),
    )


def _by_bytes(session: Session, column: SQLColumnExpression[str]) -> SQLColumnExpression[str]:
    # A locale collation on PostgreSQL could order ids unlike SQLite (and unlike the
    # marketplace's own sort); "C" compares bytes, as SQLite's default does.
    return column.collate("C") if session.get_bind().dialect.name == "postgresql" else column
