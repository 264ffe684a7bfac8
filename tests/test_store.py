"""The store on SQLite and PostgreSQL: migrations, drift, UTC times, race-free upserts."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text

from slackbot.store.db import Database
from slackbot.store.events import forget_events_before, remember_event
from slackbot.store.export import claim_export, release_export
from slackbot.store.migrate import pending_revisions, upgrade
from slackbot.store.models import Base, Loop, Person, SeenEvent, Workspace
from slackbot.store.people import ensure_person, ensure_workspace


def test_migrations_match_the_models(database: Database) -> None:
    """Fails when a model changes without a migration (or a migration without the model)."""
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_migrate_is_idempotent(database: Database) -> None:
    assert not pending_revisions(database)
    upgrade(database)
    upgrade(database)
    tables = set(inspect(database.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_migrate_creates_a_fresh_database(tmp_path) -> None:
    database = Database(f"sqlite:///{tmp_path}/fresh.db")
    assert pending_revisions(database)
    upgrade(database)
    assert not pending_revisions(database)
    database.dispose()


def test_sqlite_pragmas_are_on(tmp_path) -> None:
    database = Database(f"sqlite:///{tmp_path}/p.db")
    with database.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert (connection.execute(text("PRAGMA busy_timeout")).scalar() or 0) >= 2000
    database.dispose()


def test_times_come_back_utc_aware(database: Database) -> None:
    berlin_morning = datetime(2026, 3, 29, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    with database.transaction() as session:
        workspace = ensure_workspace(session, "T1")
        workspace.uninstalled_at = berlin_morning
    with database.session() as session:
        stored = session.scalars(select(Workspace)).one().uninstalled_at
    assert stored == berlin_morning
    assert stored is not None and stored.utcoffset() == timedelta(0) and stored.hour == 7


def test_naive_datetimes_are_refused(database: Database) -> None:
    with database.session() as session:
        workspace = ensure_workspace(session, "T1")
        workspace.uninstalled_at = datetime(2026, 1, 1, 9, 0)
        with pytest.raises(Exception, match="naive datetime"):
            session.commit()


def test_foreign_keys_are_enforced(database: Database) -> None:
    with database.session() as session:
        session.add(Loop(workspace_id=999, person_id=999, number=1, what="x"))
        with pytest.raises(Exception, match=r"(?i)foreign key"):
            session.commit()


def test_people_are_scoped_to_their_workspace(database: Database) -> None:
    with database.transaction() as session:
        a = ensure_person(session, ensure_workspace(session, "TA"), "U1")
        b = ensure_person(session, ensure_workspace(session, "TB"), "U1")
        again = ensure_person(session, ensure_workspace(session, "TA"), "U1")
        assert a.id != b.id and again.id == a.id


def test_concurrent_first_sight_creates_one_person(database: Database) -> None:
    """Two requests from a new person at once must not fail on the unique constraint."""
    with database.transaction() as session:
        ensure_workspace(session, "T1")
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def first_request() -> None:
        try:
            barrier.wait()
            with database.transaction() as session:
                ensure_person(session, ensure_workspace(session, "T1"), "UNEW")
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 1


def test_an_event_is_remembered_once_and_forgotten_later(database: Database) -> None:
    with database.transaction() as session:
        assert remember_event(session, "Ev1", "T1") is True
        assert remember_event(session, "Ev1", "T1") is False
    with database.transaction() as session:
        assert remember_event(session, "Ev1", "T1") is False
        assert forget_events_before(session, datetime.now(UTC) - timedelta(days=1)) == 0
        assert forget_events_before(session, datetime.now(UTC) + timedelta(seconds=1)) == 1
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(SeenEvent)) == 0


def test_rolled_back_event_can_be_handled_on_retry(database: Database) -> None:
    with database.session() as session:
        assert remember_event(session, "Ev2", "T1")
        session.rollback()
    with database.transaction() as session:
        assert remember_event(session, "Ev2", "T1")


def test_a_check_then_set_decides_on_what_is_stored_now(database: Database) -> None:
    """Two clicks of one button: each read "not answered yet"; only the first answer stands."""
    from slackbot.app.loops import answer_prompt
    from slackbot.core.deliveries import DeliveryKind
    from slackbot.core.loops import PromptAnswer
    from slackbot.store.deliveries import Owed, owe
    from slackbot.store.models import Delivery, utcnow
    from slackbot.store.rows import lock

    with database.transaction() as session:
        workspace = ensure_workspace(session, "T0LOCK")
        person = ensure_person(session, workspace, "U0LOCK")
        delivery_id = owe(session, Owed(DeliveryKind.PROMPT, workspace.id, person.id, "2026-11-27", utcnow()))
    first, second = database.session(), database.session()
    try:
        seen_first, seen_second = first.get(Delivery, delivery_id), second.get(Delivery, delivery_id)
        assert seen_first is not None and seen_second is not None
        assert seen_first.answer is None and seen_second.answer is None, "both clicks have read"
        lock(first, seen_first)
        assert answer_prompt(seen_first, PromptAnswer.SKIP, utcnow())
        first.commit()
        lock(second, seen_second)
        assert not answer_prompt(seen_second, PromptAnswer.NOTHING, utcnow()), "the first answer stands"
        second.commit()
    finally:
        first.close()
        second.close()
    with database.session() as session:
        stored = session.get(Delivery, delivery_id)
        assert stored is not None and stored.answer == PromptAnswer.SKIP


def test_0007_works_out_each_ships_distances_from_what_is_stored(database: Database) -> None:
    """A database from before 0007 gets first ships, their days and `watched` filled in."""
    from alembic import command

    from slackbot.store.migrate import alembic_config

    config = alembic_config(database.url.render_as_string(hide_password=False))
    command.downgrade(config, "0006")
    opened = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    with database.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO workspace (id, team_id, created_at) VALUES (1, 'T1', :t)"), {"t": opened}
        )
        connection.execute(
            text(
                "INSERT INTO person (id, workspace_id, slack_user_id, enrolled, deactivated, created_at) "
                "VALUES (1, 1, 'U1', FALSE, FALSE, :t)"
            ),
            {"t": opened},
        )
        for loop_id, source in ((1, "view:V1"), (2, "shipment:command:x")):
            connection.execute(
                text(
                    "INSERT INTO loop (id, workspace_id, person_id, number, what, state, opened_at, source) "
                    "VALUES (:id, 1, 1, :id, 'x', 'shipped', :t, :s)"
                ),
                {"id": loop_id, "t": opened, "s": source},
            )
        ships = [  # id, loop, shipped after opening (days), state, settled after shipping (days)
            (1, 1, 2.0, "answered", 3.0),
            (2, 1, 5.0, "waiting", None),
            (3, 2, 0.0, "unwatched", None),
        ]
        for shipment_row_id, loop_id, after, state, settled in ships:
            shipped = opened + timedelta(days=after)
            connection.execute(
                text(
                    "INSERT INTO shipment (id, workspace_id, loop_id, person_id, what, state, source, asks, "
                    "cant_tell_streak, shipped_at, checked_at) "
                    "VALUES (:id, 1, :loop, 1, 'fix', :state, :source, 1, 0, :shipped, :checked)"
                ),
                {
                    "id": shipment_row_id,
                    "loop": loop_id,
                    "state": state,
                    "source": f"s{shipment_row_id}",
                    "shipped": shipped,
                    "checked": shipped + timedelta(days=settled) if settled is not None else None,
                },
            )
        connection.execute(
            text(
                "INSERT INTO checkin (id, shipment_id, person_id, ask, due_on, answered_at, closes_loop, "
                "created_at) VALUES (1, 1, 1, 1, :d, :t, FALSE, :t)"
            ),
            {"d": opened.date(), "t": opened + timedelta(days=5)},
        )
    upgrade(database)
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM checkin")).scalar_one() == 1, "no row lost"
        rows = connection.execute(
            text("SELECT id, first_of_loop, problem_days, outcome_days, watched FROM shipment ORDER BY id")
        ).all()
    found = [
        (i, bool(first), problem, outcome, bool(watched)) for i, first, problem, outcome, watched in rows
    ]
    assert [(i, first, watched) for i, first, _, _, watched in found] == [
        (1, True, True),
        (2, False, False),
        (3, True, False),
    ]
    assert found[0][2] == pytest.approx(2.0) and found[0][3] == pytest.approx(3.0)
    assert found[1][2] is None and found[1][3] is None, "a loop's second ship; not settled"
    assert found[2][2] is None, "a loop opened by /shipped has no problem → ship distance"


def test_0013_drops_kept_summaries_and_keeps_figures_readable_by_both_versions(database: Database) -> None:
    """Up: no `person_summary`; figures the previous version kept read as they were, and figures
    kept now carry the names it reads. Down: the table again, empty."""
    from alembic import command
    from sqlalchemy import inspect

    from slackbot.store.figures import standing_of, store_figures
    from slackbot.store.migrate import alembic_config
    from slackbot.store.models import Person, PersonFigures

    config = alembic_config(database.url.render_as_string(hide_password=False))
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    with database.transaction() as session:
        person = ensure_person(session, ensure_workspace(session, "T1"), "U1")
        person_id = person.id
    command.downgrade(config, "0012")
    before = (
        '{"problem_to_ship_days": 1.5, "ship_to_outcome_days": null, "watched_share": null, '
        '"ships": 1, "watched": 0, "judged": 0}'
    )
    with database.engine.begin() as connection:
        connection.execute(text("INSERT INTO person_summary (person_id) VALUES (:p)"), {"p": person_id})
        connection.execute(
            text(
                "INSERT INTO person_figures (person_id, computed_on, version, recent, previous) "
                "VALUES (:p, :d, 0, :f, :f)"
            ),
            {"p": person_id, "d": now.date(), "f": before},
        )
    upgrade(database)
    assert "person_summary" not in inspect(database.engine).get_table_names()
    with database.session() as session:
        found = session.get(Person, person_id)
        assert found is not None
        standing = standing_of(session, found, now)
    assert (standing.recent.shipments, standing.recent.problem_to_shipment_days) == (1, 1.5)
    with database.transaction() as session:
        session.execute(text("DELETE FROM person_figures"))
        session.execute(
            text(
                "INSERT INTO shipment (workspace_id, person_id, what, state, asks, cant_tell_streak, "
                "shipped_at, first_of_loop, watched) VALUES (1, :p, 'fix', 'waiting', 1, 0, :t, FALSE, FALSE)"
            ),
            {"p": person_id, "t": now},
        )
        assert store_figures(session, now, 10) == 1
    with database.session() as session:
        kept = session.get(PersonFigures, person_id)
        assert kept is not None
        assert set(json.loads(kept.recent)) == set(json.loads(before)), "the names the previous version reads"
    command.downgrade(config, "0012")
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM person_summary")).scalar_one() == 0
    upgrade(database)


def test_one_export_claim_wins_across_processes(database: Database, database_url: str) -> None:
    """Eight requests on two engines (two web processes) ask at once: exactly one export starts."""
    with database.transaction() as session:
        person_id = ensure_person(session, ensure_workspace(session, "T1"), "U1").id
    other = Database(database_url)
    now = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
    barrier = threading.Barrier(8)
    won: list[bool] = []

    def ask(engine: Database) -> None:
        barrier.wait()
        with engine.transaction() as session:
            won.append(claim_export(session, person_id, now))

    threads = [threading.Thread(target=ask, args=(engines,)) for engines in [database, other] * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other.dispose()
    assert sorted(won) == [False] * 7 + [True]
    with database.transaction() as session:
        release_export(session, person_id, now)
        assert claim_export(session, person_id, now + timedelta(seconds=1)), "released: the next may start"
