"""Initial schema: resellers, operations, outbox, delivery attempts, audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "resellers",
        sa.Column("account_id", sa.String(100), nullable=False),
        sa.Column("company_name", sa.String(200), nullable=False),
        sa.Column("also_partner_id", sa.String(100)),
        sa.Column("country", sa.String(2)),
        sa.Column("email", sa.String(320)),
        sa.Column("eset_partner_id", sa.String(100)),
        sa.Column("level", sa.String(20)),
        sa.Column("margin_percent", sa.Numeric(5, 2)),
        sa.Column("subscribed_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_resellers"),
    )
    op.create_index("ix_resellers_eset_partner_id", "resellers", ["eset_partner_id"])

    op.create_table(
        "operations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("request_id", sa.String(100), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("reseller_account_id", sa.String(100), nullable=False),
        sa.Column("subscription_account_id", sa.String(100)),
        sa.Column("body_fingerprint", sa.String(64), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("callback_url", sa.String(2048)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("out_arguments", JSON),
        sa.Column("error_details", sa.Text()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("lease_owner", sa.String(100)),
        sa.Column("lease_expires_at", TS),
        sa.Column("review_decision", sa.String(20)),
        sa.Column("review_note", sa.Text()),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("completed_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_operations"),
        sa.UniqueConstraint("source", "request_id", name="uq_operations_source_request_id"),
    )
    op.create_index("ix_operations_reseller_account_id", "operations", ["reseller_account_id"])
    op.create_index(
        "ix_operations_subscription_account_id", "operations", ["subscription_account_id"]
    )
    op.create_index("ix_operations_runnable", "operations", ["status", "next_attempt_at"])
    open_statuses = sa.text("status IN ('Pending', 'AwaitingReview')")
    op.create_index(
        "uq_operations_open_subscription",
        "operations",
        ["subscription_account_id"],
        unique=True,
        postgresql_where=open_statuses,
        sqlite_where=open_statuses,
    )

    op.create_table(
        "outbox",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("operation_id", sa.String(36)),
        sa.Column("reseller_account_id", sa.String(100)),
        sa.Column("target", sa.String(2048), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("lease_owner", sa.String(100)),
        sa.Column("lease_expires_at", TS),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS),
        sa.ForeignKeyConstraint(
            ["operation_id"], ["operations.id"], name="fk_outbox_operation_id_operations"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
    )
    op.create_index("ix_outbox_operation_id", "outbox", ["operation_id"])
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])

    op.create_table(
        "delivery_attempts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("message_id", BIG_ID, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempted_at", TS, nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer()),
        sa.Column("error", sa.Text()),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["outbox.id"], name="fk_delivery_attempts_message_id_outbox"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_delivery_attempts"),
    )
    op.create_index("ix_delivery_attempts_message_id", "delivery_attempts", ["message_id"])

    op.create_table(
        "audit_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("entity", sa.String(30), nullable=False),
        sa.Column("entity_id", sa.String(100), nullable=False),
        sa.Column("from_state", sa.String(30)),
        sa.Column("to_state", sa.String(30)),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("detail", JSON),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_entity", "audit_events", ["entity", "entity_id"])


def downgrade() -> None:
    op.drop_table("audit_events")
    op.drop_table("delivery_attempts")
    op.drop_table("outbox")
    op.drop_table("operations")
    op.drop_table("resellers")
