"""ships by loop, asks waiting by person

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

`/loops` and the Home tab read the ships of the page of loops they show, for one person.
With only (person_id, shipped_at) to go on, SQLite walked every ship of the person to find
those of fifteen loops; (person_id, loop_id) finds them directly, on either database. The
check-ins waiting on a person are a range of (person_id, answered_at, asked_at), oldest first.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_shipment_person_loop", "shipment", ["person_id", "loop_id"], unique=False)
    op.create_index(
        "ix_checkin_person_waiting", "checkin", ["person_id", "answered_at", "asked_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_checkin_person_waiting", table_name="checkin")
    op.drop_index("ix_shipment_person_loop", table_name="shipment")
