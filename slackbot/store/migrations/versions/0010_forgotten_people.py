"""forgotten people

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

`/loops forget-me` deletes a person's row and everything of theirs; what stays is a one-way
fingerprint of their Slack id, so that LOOPS_CHANNEL's sync does not enrol them again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forgotten_person",
        sa.Column(
            "workspace_id",
            sa.Integer(),
            sa.ForeignKey(
                "workspace.id", name="fk_forgotten_person_workspace_id_workspace", ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("forgotten_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "fingerprint", name="pk_forgotten_person"),
    )


def downgrade() -> None:
    op.drop_table("forgotten_person")
