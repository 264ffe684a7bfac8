"""the team digest

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

A workspace's digest channel (`/loops digest #channel`), whether a person's loops appear in
it, loops kept private, and deliveries owed to a workspace rather than to one person (the
weekly digest, the daily thread): their person_id is empty, and (kind, workspace, key) makes
each owed once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest_channel", sa.String(32), nullable=True))
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("in_digest", sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table("loop", schema=None) as batch_op:
        batch_op.add_column(sa.Column("private", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.alter_column("person_id", existing_type=sa.Integer(), nullable=True)
    op.create_index(
        "uq_delivery_team_kind",
        "delivery",
        ["kind", "workspace_id", "key"],
        unique=True,
        sqlite_where=sa.text("person_id IS NULL"),
        postgresql_where=sa.text("person_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_delivery_team_kind", table_name="delivery")
    op.execute("DELETE FROM delivery WHERE person_id IS NULL")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.alter_column("person_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("loop", schema=None) as batch_op:
        batch_op.drop_column("private")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("in_digest")
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.drop_column("digest_channel")
