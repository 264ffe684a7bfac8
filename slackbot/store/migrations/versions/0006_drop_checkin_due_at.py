"""drop shipment.checkin_due_at

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

The instant of a check-in is worked out from the person's schedule when it is sent; a
stored copy was never read and went stale as soon as their zone moved.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("shipment", schema=None) as batch_op:
        batch_op.drop_column("checkin_due_at")


def downgrade() -> None:
    with op.batch_alter_table("shipment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checkin_due_at", sa.DateTime(timezone=True), nullable=True))
