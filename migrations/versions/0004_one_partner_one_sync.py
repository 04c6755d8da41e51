"""One reseller per ESET partner; at most one open sync per reseller.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_SYNC = sa.text("action = 'SYNC' AND status IN ('Pending', 'AwaitingReview')")


def upgrade() -> None:
    op.drop_index("ix_resellers_eset_partner_id", table_name="resellers")
    op.create_index("ix_resellers_eset_partner_id", "resellers", ["eset_partner_id"], unique=True)
    op.create_index(
        "uq_operations_open_sync",
        "operations",
        ["reseller_account_id"],
        unique=True,
        postgresql_where=OPEN_SYNC,
        sqlite_where=OPEN_SYNC,
    )


def downgrade() -> None:
    op.drop_index("uq_operations_open_sync", table_name="operations")
    op.drop_index("ix_resellers_eset_partner_id", table_name="resellers")
    op.create_index("ix_resellers_eset_partner_id", "resellers", ["eset_partner_id"])
