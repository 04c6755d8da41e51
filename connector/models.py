"""Database models: resellers, operations, the outbox and its delivery attempts, the audit."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC datetime")
        value = value.astimezone(UTC)
        # SQLite keeps text without an offset; PostgreSQL keeps timestamptz.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Json = JSON().with_variant(JSONB(), "postgresql")
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Reseller(Base):
    """A marketplace company account that added "ESET Partner Status"."""

    __tablename__ = "resellers"

    account_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    company_name: Mapped[str] = mapped_column(String(200))
    also_partner_id: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2))
    email: Mapped[str | None] = mapped_column(String(320))
    # One marketplace account per ESET partner: a second one could act on the first's licenses.
    eset_partner_id: Mapped[str | None] = mapped_column(String(100), index=True, unique=True)
    level: Mapped[str | None] = mapped_column(String(20))
    margin_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    subscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class License(Base):
    """One ESET license, held by one marketplace subscription of one reseller.

    ``eset_state`` is ESET's raw state; the state the marketplace sees is derived from it, the
    expiry date and ``cancelled_at`` (``connector.licenses.state_of``).
    """

    __tablename__ = "licenses"
    __table_args__ = (
        Index("ix_licenses_reseller_expiry", "reseller_account_id", "expiry_date"),
        Index(
            "ix_licenses_trial_owner",
            "reseller_account_id",
            "customer_key",
            "customer_country",
            "product",
        ),
    )

    subscription_account_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    reseller_account_id: Mapped[str] = mapped_column(ForeignKey("resellers.account_id"))
    public_license_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    license_key: Mapped[str | None] = mapped_column(String(100))
    eset_customer_id: Mapped[str | None] = mapped_column(String(100))
    product: Mapped[str] = mapped_column(String(40))
    product_name: Mapped[str] = mapped_column(String(200))
    seats: Mapped[int] = mapped_column(Integer)
    license_type: Mapped[str] = mapped_column(String(10))
    eset_state: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[date] = mapped_column(Date)
    expiry_date: Mapped[date] = mapped_column(Date)
    discount_category: Mapped[str] = mapped_column(String(10), default="NONE")
    crossgrade: Mapped[bool] = mapped_column(default=False)
    customer_company: Mapped[str] = mapped_column(String(200))
    customer_key: Mapped[str] = mapped_column(String(200))
    customer_contact: Mapped[str | None] = mapped_column(String(200))
    customer_email: Mapped[str | None] = mapped_column(String(320))
    customer_country: Mapped[str] = mapped_column(String(2))
    customer_vat_id: Mapped[str | None] = mapped_column(String(30))
    notify_email: Mapped[str | None] = mapped_column(String(320))
    eula_version: Mapped[str | None] = mapped_column(String(50))
    eula_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    eula_accepted_by: Mapped[str | None] = mapped_column(String(100))
    last_invoice_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    last_price: Mapped[dict[str, Any] | None] = mapped_column(Json)
    origin: Mapped[str] = mapped_column(String(10), default="order")
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pushed_fields: Mapped[dict[str, str] | None] = mapped_column(Json)
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class SubscriptionClaim(Base):
    """A license SYNC is creating a marketplace subscription for, claimed before the call.

    The marketplace's CreateSubscription has no idempotency key, so a call whose answer was
    lost may or may not have created the subscription. A claim left without a
    ``subscription_account_id`` says exactly that; SYNC then leaves the license alone (never
    creating it twice) until an operator has looked and released the claim.
    """

    __tablename__ = "subscription_claims"

    public_license_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    reseller_account_id: Mapped[str] = mapped_column(String(100))
    operation_id: Mapped[str] = mapped_column(String(36))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    subscription_account_id: Mapped[str | None] = mapped_column(String(100))


class OperationStatus:
    PENDING = "Pending"
    AWAITING_REVIEW = "AwaitingReview"
    COMPLETED = "Completed"
    FAILED = "Failed"

    ALL = (PENDING, AWAITING_REVIEW, COMPLETED, FAILED)
    FINAL = (COMPLETED, FAILED)


class Operation(Base):
    """One accepted marketplace request and where it stands.

    ``status`` is what the marketplace sees. While a worker runs the operation it holds a
    lease (``lease_owner`` until ``lease_expires_at``); a worker that dies simply lets the
    lease run out and another worker runs the operation again.
    """

    __tablename__ = "operations"
    __table_args__ = (
        UniqueConstraint("source", "request_id"),
        Index("ix_operations_runnable", "status", "next_attempt_at"),
        # At most one unfinished operation per license, enforced by the database: two
        # operations on one license never run at once, whatever the timing at intake.
        Index(
            "uq_operations_open_subscription",
            "subscription_account_id",
            unique=True,
            postgresql_where=text("status IN ('Pending', 'AwaitingReview')"),
            sqlite_where=text("status IN ('Pending', 'AwaitingReview')"),
        ),
        # And at most one unfinished sync per reseller: two would attach the same licenses.
        Index(
            "uq_operations_open_sync",
            "reseller_account_id",
            unique=True,
            postgresql_where=text("action = 'SYNC' AND status IN ('Pending', 'AwaitingReview')"),
            sqlite_where=text("action = 'SYNC' AND status IN ('Pending', 'AwaitingReview')"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    source: Mapped[str] = mapped_column(String(20))
    request_id: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))
    reseller_account_id: Mapped[str] = mapped_column(String(100), index=True)
    subscription_account_id: Mapped[str | None] = mapped_column(String(100), index=True)
    body_fingerprint: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    fields: Mapped[dict[str, Any] | None] = mapped_column(Json)
    price: Mapped[dict[str, Any] | None] = mapped_column(Json)
    needs_review: Mapped[bool] = mapped_column(default=False)
    callback_url: Mapped[str | None] = mapped_column(String(2048))
    status: Mapped[str] = mapped_column(String(20), default=OperationStatus.PENDING)
    out_arguments: Mapped[list[dict[str, str]] | None] = mapped_column(Json)
    error_details: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_decision: Mapped[str | None] = mapped_column(String(20))
    review_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxStatus:
    PENDING = "Pending"
    DELIVERED = "Delivered"
    DEAD = "Dead"


class OutboxMessage(Base):
    """A message to send: written in the transaction that decided it, sent afterwards.

    ``body`` is the exact text sent on every attempt; ``dedupe_key`` makes writing the same
    message twice impossible (one callback per operation, one push per change).
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(30))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    operation_id: Mapped[str | None] = mapped_column(ForeignKey("operations.id"), index=True)
    reseller_account_id: Mapped[str | None] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(2048))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DeliveryAttempt(Base):
    """One try at sending an outbox message, successful or not."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    succeeded: Mapped[bool] = mapped_column(default=False)


class AuditEvent(Base):
    """A state change of something the connector keeps, with who changed it and why."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[str] = mapped_column(String(100))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str | None] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, Any] | None] = mapped_column(Json)
