"""shipments and check-ins

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

The shipment table existed since 0001 but nothing wrote to it before /shipped; the
steps below still keep any row it might hold.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checkin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("ask", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.String(length=16), nullable=True),
        sa.Column("what_happened", sa.Text(), nullable=True),
        sa.Column("next_step", sa.Text(), nullable=True),
        sa.Column("tellable", sa.Text(), nullable=True),
        sa.Column("closes_loop", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_checkin_person_id_person"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipment.id"], name=op.f("fk_checkin_shipment_id_shipment"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin")),
        sa.UniqueConstraint("shipment_id", "ask", name=op.f("uq_checkin_shipment_id_ask")),
    )
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkin_shipment_id"), ["shipment_id"], unique=False)

    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checkin_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_delivery_checkin_id_checkin"),
            "checkin",
            ["checkin_id"],
            ["id"],
            ondelete="CASCADE",
        )

    with op.batch_alter_table("loop", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_step", sa.Text(), nullable=True))

    with op.batch_alter_table("shipment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("workspace_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("link", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("state", sa.String(length=16), server_default="waiting", nullable=False)
        )
        batch_op.add_column(sa.Column("source", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("asks", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("checkin_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("cant_tell_streak", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("unwatched_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column("loop_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_index(batch_op.f("ix_shipment_person_id"), ["person_id"], unique=False)
    op.execute(
        "UPDATE shipment SET workspace_id = (SELECT workspace_id FROM loop WHERE loop.id = shipment.loop_id)"
    )
    with op.batch_alter_table("shipment", schema=None) as batch_op:
        batch_op.alter_column("workspace_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_shipment_person_id_source"), ["person_id", "source"])
        batch_op.create_foreign_key(
            batch_op.f("fk_shipment_workspace_id_workspace"),
            "workspace",
            ["workspace_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("shipment", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_shipment_workspace_id_workspace"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_shipment_person_id_source"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_shipment_person_id"))
        batch_op.alter_column("loop_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("unwatched_at")
        batch_op.drop_column("cant_tell_streak")
        batch_op.drop_column("checkin_on")
        batch_op.drop_column("asks")
        batch_op.drop_column("source")
        batch_op.drop_column("state")
        batch_op.drop_column("link")
        batch_op.drop_column("workspace_id")

    with op.batch_alter_table("loop", schema=None) as batch_op:
        batch_op.drop_column("next_step")

    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_delivery_checkin_id_checkin"), type_="foreignkey")
        batch_op.drop_column("checkin_id")

    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkin_shipment_id"))

    op.drop_table("checkin")
