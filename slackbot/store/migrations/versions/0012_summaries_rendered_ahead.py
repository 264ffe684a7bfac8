"""summaries rendered ahead

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

`person_summary` keeps each person's `/loops` answer as the clock last rendered it, with the
version of their history it was rendered from (store.summaries), so that `/loops` reads one
row. Everyone who has loops gets a row here, so that their next change outdates it; the
clock renders those rows on its next tick.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
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
    op.execute("INSERT INTO person_summary (person_id) SELECT DISTINCT person_id FROM loop")


def downgrade() -> None:
    op.drop_table("person_summary")
