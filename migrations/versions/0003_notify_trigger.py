"""On PostgreSQL, a new operation wakes the workers from inside its INSERT.

A trigger sends ``NOTIFY connector_work`` (delivered at commit), which saves the intake a round
trip per request. SQLite has no LISTEN/NOTIFY; its workers poll.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION connector_notify_work() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('connector_work', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER operations_notify_work AFTER INSERT ON operations
        FOR EACH STATEMENT EXECUTE FUNCTION connector_notify_work()
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER operations_notify_work ON operations")
    op.execute("DROP FUNCTION connector_notify_work()")
