"""workspace enterprise id

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08

A workspace in an Enterprise Grid org has its install saved under its enterprise id: the
clock needs that id to find the workspace's token. Workspaces installed before are filled in
from their newest install.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enterprise_id", sa.String(32), nullable=True))
    op.execute(
        "UPDATE workspace SET enterprise_id = ("
        " SELECT b.enterprise_id FROM slack_bots b"
        " WHERE b.team_id = workspace.team_id AND b.enterprise_id IS NOT NULL"
        " ORDER BY b.installed_at DESC LIMIT 1)"
    )


def downgrade() -> None:
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.drop_column("enterprise_id")
