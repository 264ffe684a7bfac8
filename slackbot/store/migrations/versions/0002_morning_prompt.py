"""morning prompt

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ready_at starts as due_at for rows that exist already, then becomes required.
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE delivery SET ready_at = due_at")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.alter_column("ready_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.add_column(sa.Column("first_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("maybe_posted", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("answer", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_index(batch_op.f("ix_delivery_due"))
        batch_op.create_index("ix_delivery_ready", ["state", "ready_at"], unique=False)
        batch_op.create_index("ix_delivery_sent", ["channel", "slack_ts"], unique=False)

    with op.batch_alter_table("loop", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("prompt_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_loop_person_id_source"), ["person_id", "source"])
        batch_op.create_foreign_key(
            batch_op.f("fk_loop_prompt_id_delivery"),
            "delivery",
            ["prompt_id"],
            ["id"],
            ondelete="SET NULL",
            use_alter=True,
        )

    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("tz_checked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("enrolled_by", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("opted_out", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(
            sa.Column("welcome_back", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("blocked_reason", sa.Text(), nullable=True))

    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel_synced_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.drop_column("channel_synced_at")

    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("blocked_reason")
        batch_op.drop_column("welcome_back")
        batch_op.drop_column("opted_out")
        batch_op.drop_column("enrolled_by")
        batch_op.drop_column("tz_checked_at")
        batch_op.drop_column("name")

    with op.batch_alter_table("loop", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_loop_prompt_id_delivery"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_loop_person_id_source"), type_="unique")
        batch_op.drop_column("prompt_id")
        batch_op.drop_column("source")

    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_sent")
        batch_op.drop_index("ix_delivery_ready")
        batch_op.create_index(batch_op.f("ix_delivery_due"), ["state", "due_at"], unique=False)
        batch_op.drop_column("answered_at")
        batch_op.drop_column("answer")
        batch_op.drop_column("maybe_posted")
        batch_op.drop_column("first_attempt_at")
        batch_op.drop_column("ready_at")
