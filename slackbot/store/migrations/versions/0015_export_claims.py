"""export claims

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08

`/loops export` makes one export per person at a time, across every web process: the
person's row notes when the export on its way was started. A claim older than an hour is
taken to be from an export that died, so a crash never blocks the person for good.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("export_started_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("export_started_at")
