"""drop summaries rendered ahead

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08

`/loops` is answered after its ack, built from what is stored then, like every other read:
the summaries the clock rendered ahead (0012) are no longer kept. A downgrade makes the table
again, empty; the older code's clock fills it on its next tick.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("person_summary")


def downgrade() -> None:
    op.create_table(
        "person_summary",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("rendered_version", sa.Integer(), nullable=True),
        sa.Column("rendered_zone", sa.String(64), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_person_summary_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_person_summary")),
    )
