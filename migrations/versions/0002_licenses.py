"""Licenses, one per marketplace subscription; operations keep their checked fields and price.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "licenses",
        sa.Column("subscription_account_id", sa.String(100), nullable=False),
        sa.Column("reseller_account_id", sa.String(100), nullable=False),
        sa.Column("public_license_key", sa.String(100)),
        sa.Column("license_key", sa.String(100)),
        sa.Column("eset_customer_id", sa.String(100)),
        sa.Column("product", sa.String(40), nullable=False),
        sa.Column("product_name", sa.String(200), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("license_type", sa.String(10), nullable=False),
        sa.Column("eset_state", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column("discount_category", sa.String(10), nullable=False),
        sa.Column("crossgrade", sa.Boolean(), nullable=False),
        sa.Column("customer_company", sa.String(200), nullable=False),
        sa.Column("customer_key", sa.String(200), nullable=False),
        sa.Column("customer_contact", sa.String(200)),
        sa.Column("customer_email", sa.String(320)),
        sa.Column("customer_country", sa.String(2), nullable=False),
        sa.Column("customer_vat_id", sa.String(30)),
        sa.Column("notify_email", sa.String(320)),
        sa.Column("eula_version", sa.String(50)),
        sa.Column("eula_accepted_at", TS),
        sa.Column("eula_accepted_by", sa.String(100)),
        sa.Column("last_invoice_price", sa.Numeric(12, 2)),
        sa.Column("currency", sa.String(3)),
        sa.Column("last_price", JSON),
        sa.Column("origin", sa.String(10), nullable=False),
        sa.Column("cancelled_at", TS),
        sa.Column("pushed_fields", JSON),
        sa.Column("pushed_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["reseller_account_id"],
            ["resellers.account_id"],
            name="fk_licenses_reseller_account_id_resellers",
        ),
        sa.PrimaryKeyConstraint("subscription_account_id", name="pk_licenses"),
        sa.UniqueConstraint("public_license_key", name="uq_licenses_public_license_key"),
    )
    op.create_index(
        "ix_licenses_reseller_expiry", "licenses", ["reseller_account_id", "expiry_date"]
    )
    with op.batch_alter_table("operations") as batch:
        batch.add_column(sa.Column("fields", JSON))
        batch.add_column(sa.Column("price", JSON))
        batch.add_column(
            sa.Column("needs_review", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index(
        "ix_licenses_trial_owner",
        "licenses",
        ["reseller_account_id", "customer_key", "customer_country", "product"],
    )


def downgrade() -> None:
    with op.batch_alter_table("operations") as batch:
        batch.drop_column("needs_review")
        batch.drop_column("price")
        batch.drop_column("fields")
    op.drop_table("licenses")
