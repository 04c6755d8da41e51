"""Subscription claims: a license SYNC is about to create a marketplace subscription for.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subscription_claims",
        sa.Column("public_license_key", sa.String(100), nullable=False),
        sa.Column("reseller_account_id", sa.String(100), nullable=False),
        sa.Column("operation_id", sa.String(36), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subscription_account_id", sa.String(100)),
        sa.PrimaryKeyConstraint("public_license_key", name="pk_subscription_claims"),
    )


def downgrade() -> None:
    op.drop_table("subscription_claims")
