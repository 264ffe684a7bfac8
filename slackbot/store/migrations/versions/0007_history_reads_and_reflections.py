"""history reads and monthly reflections

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

`/loops` and the Home tab read one person's loops by state, their ships by time and
their entries by text; the indexes keep those reads to the person's own rows. A
shipment knows whether it was its loop's first, so the figures never rank a whole
history, and `person_figures` keeps each person's figures as the clock last worked them
out. The reflection table holds the monthly reflection's answers; a workspace keeps
its Slack URL, so the Home tab links threads without a call per link.
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_PROBLEM = """
    UPDATE shipment SET problem_days = (SELECT {days} FROM loop WHERE loop.id = shipment.loop_id)
    WHERE first_of_loop = TRUE AND loop_id IN (
        SELECT id FROM loop WHERE source IS NULL OR source NOT LIKE 'shipment:%'
    )
"""
_OUTCOME = "UPDATE shipment SET outcome_days = {days} WHERE state = 'answered' AND checked_at IS NOT NULL"
BACKFILL_DAYS = {
    "sqlite": [
        _PROBLEM.replace("{days}", "max(0.0, julianday(shipment.shipped_at) - julianday(loop.opened_at))"),
        _OUTCOME.replace("{days}", "max(0.0, julianday(checked_at) - julianday(shipped_at))"),
    ],
    "postgresql": [
        _PROBLEM.replace(
            "{days}", "GREATEST(0.0, EXTRACT(EPOCH FROM (shipment.shipped_at - loop.opened_at)) / 86400.0)"
        ),
        _OUTCOME.replace("{days}", "GREATEST(0.0, EXTRACT(EPOCH FROM (checked_at - shipped_at)) / 86400.0)"),
    ],
}


def upgrade() -> None:
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.add_column(sa.Column("url", sa.String(length=255), nullable=True))
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("figures_version", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("shipment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("first_of_loop", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("problem_days", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("outcome_days", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("watched", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(
            batch_op.f("ix_shipment_person_shipped"), ["person_id", "shipped_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_shipment_person_state"), ["person_id", "state"], unique=False)
    # A loop's first shipment is its earliest by ship time (a draft is no shipment yet).
    op.execute(
        """
        UPDATE shipment SET first_of_loop = TRUE
        WHERE state != 'draft' AND loop_id IS NOT NULL AND id IN (
            SELECT id FROM (
                SELECT id, row_number() OVER (
                    PARTITION BY loop_id ORDER BY shipped_at, id
                ) AS rank
                FROM shipment WHERE state != 'draft' AND loop_id IS NOT NULL
            ) AS ranked WHERE rank = 1
        )
        """
    )
    # Each ship's distances, as the app now keeps them when they become known.
    dialect = op.get_bind().dialect.name
    for statement in BACKFILL_DAYS["sqlite" if dialect == "sqlite" else "postgresql"]:
        op.execute(statement)
    op.execute(
        "UPDATE shipment SET watched = TRUE WHERE EXISTS ("
        "SELECT 1 FROM checkin WHERE checkin.shipment_id = shipment.id AND checkin.answered_at IS NOT NULL)"
    )
    with op.batch_alter_table("loop", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_loop_person_state"), ["person_id", "state", "opened_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_loop_person_closed"), ["person_id", "closed_at"], unique=False)
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entry_person_id"), ["person_id"], unique=False)
    op.create_table(
        "reflection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_reflection_person_id_person"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_reflection_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reflection")),
        sa.UniqueConstraint("person_id", "source", name=op.f("uq_reflection_person_id_source")),
    )
    with op.batch_alter_table("reflection", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reflection_person_id"), ["person_id"], unique=False)
    op.create_table(
        "search_term",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column(
            "term",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("loop_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["loop_id"], ["loop.id"], name=op.f("fk_search_term_loop_id_loop"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_search_term_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("person_id", "term", "loop_id", name=op.f("pk_search_term")),
    )
    with op.batch_alter_table("search_term", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_search_term_loop_id"), ["loop_id"], unique=False)
    _backfill_search_terms()
    op.create_table(
        "person_figures",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("computed_on", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("recent", sa.Text(), nullable=False),
        sa.Column("previous", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_person_figures_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_person_figures")),
    )


# The tokenizer of core.parse.search_terms as of this revision (a migration keeps its own copy).
_TERM = re.compile(r"[^\W_]+")
_TERM_CHARS = 64
_BATCH = 5000


def _backfill_search_terms() -> None:
    """Every loop's words, from its own text and its story, into search_term."""
    bind = op.get_bind()
    terms = sa.table(
        "search_term", sa.column("person_id", sa.Integer), sa.column("term"), sa.column("loop_id", sa.Integer)
    )
    texts = bind.execute(
        sa.text(
            "SELECT id, person_id, what, for_whom, evidence FROM loop "
            "UNION ALL SELECT loop_id, person_id, text, NULL, NULL FROM entry ORDER BY 1"
        )
    )
    current: tuple[int, int] | None = None
    found: set[str] = set()
    rows: list[dict[str, object]] = []

    def flush_loop() -> None:
        if current is not None:
            person_id, loop_id = current
            rows.extend({"person_id": person_id, "term": t, "loop_id": loop_id} for t in sorted(found))

    for loop_id, person_id, *parts in texts:
        if current != (person_id, loop_id):
            flush_loop()
            current, found = (person_id, loop_id), set()
            if len(rows) >= _BATCH:
                bind.execute(terms.insert(), rows)
                rows = []
        for part in parts:
            found.update(t.casefold()[:_TERM_CHARS] for t in _TERM.findall(part or ""))
    flush_loop()
    if rows:
        bind.execute(terms.insert(), rows)


def downgrade() -> None:
    op.drop_table("person_figures")
    op.drop_table("search_term")
    with op.batch_alter_table("reflection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reflection_person_id"))
    op.drop_table("reflection")
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entry_person_id"))
    with op.batch_alter_table("loop", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loop_person_closed"))
        batch_op.drop_index(batch_op.f("ix_loop_person_state"))
    with op.batch_alter_table("shipment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipment_person_state"))
        batch_op.drop_index(batch_op.f("ix_shipment_person_shipped"))
        batch_op.drop_column("watched")
        batch_op.drop_column("outcome_days")
        batch_op.drop_column("problem_days")
        batch_op.drop_column("first_of_loop")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("figures_version")
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.drop_column("url")
