"""How long `/loops`, `/loops N`, `/loops search` and the Home tab take to build, on a seeded history.

    python bench/history.py                       # SQLite, 1,000 people and 500,000 entries
    python bench/history.py --postgres            # the same on a throwaway PostgreSQL
    python bench/history.py --people 100 --entries 20000 --runs 50

The database is migrated and filled by bench/seed.py. Then, for the person with 5,000
loops (UHEAVY) and the one with 10 (ULIGHT), each read is built `--runs` times the way the
app builds it after the ack: a fresh session, the caller looked up, the queries, the blocks
(and, for `/loops N`, chat.getPermalink to the bundled emulator). Figures are the time
from the start of that work to the reply ready to send: median and p99 in ms, and heavy
over light. The ack, and the time until the answer reaches the response_url over HTTP, are
bench/answer.py's figures. Then `EXPLAIN` of the main queries for UHEAVY.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select, text

from slackbot.app.history import READS, build_answer, history_read
from slackbot.app.services import Services, build_services
from slackbot.blocks.home import LOOPS_ON_HOME, first_square, home_view
from slackbot.config import Settings
from slackbot.core.enrolment import schedule_for
from slackbot.core.parse import parse_loops_command
from slackbot.fakeslack import FakeSlack
from slackbot.slack.client import delivery_client
from slackbot.store.db import Database
from slackbot.store.history import home_of
from slackbot.store.models import Person

GOAL_MS = 50.0
TEAM = "TBENCH"  # bench/seed.py's workspace


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(runs: int, work: Callable[[], Any]) -> list[float]:
    work()  # warm: the first read pays for imports and statement compilation
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def shared_word(database: Database, heavy: str, light: str) -> str:
    """A word of the light person's loops that the most of the heavy person's loops have too.

    "checkout" is in about 2 % of loops: a full page for UHEAVY, most likely nothing for
    ULIGHT. This word finds something for both, so the two differ in history, not in hits.
    """
    with database.session() as session:
        found = session.execute(
            text(
                "SELECT mine.term FROM search_term mine "
                "JOIN person pl ON pl.id = mine.person_id AND pl.slack_user_id = :light "
                "JOIN search_term theirs ON theirs.term = mine.term "
                "JOIN person ph ON ph.id = theirs.person_id AND ph.slack_user_id = :heavy "
                "WHERE length(mine.term) >= 4 "
                "GROUP BY mine.term ORDER BY count(DISTINCT theirs.loop_id) DESC, mine.term LIMIT 1"
            ),
            {"light": light, "heavy": heavy},
        ).scalar()
    return str(found or "checkout")


def reads(
    database: Database, services: Services, client: Any, user: str, shared: str
) -> dict[str, Callable[[], Any]]:
    """Each read as the app does it after the ack, for one person."""

    def person_id() -> int:
        with database.session() as session:
            found = session.scalar(select(Person.id).where(Person.slack_user_id == user))
            assert found is not None
            return found

    pid = person_id()

    def command(typed: str) -> Callable[[], Any]:
        assert parse_loops_command(typed).subcommand.name in READS

        with database.session() as session:
            person = session.get(Person, pid)  # as the middleware found them, before the ack

        def work() -> Any:
            read = history_read(parse_loops_command(typed), person, services.now())
            return build_answer(database, client, read)

        return work

    def home() -> Any:
        with database.session() as session:
            person = session.get(Person, pid)
            assert person is not None
            now = services.now()
            schedule = schedule_for(person, services.defaults)
            today = schedule.local_date(now)
            found = home_of(
                session, person, now, first_day=first_square(today), today=today, shown=LOOPS_ON_HOME
            )
            return home_view(person, found, schedule, now, "https://bench.slack.com/")

    with database.session() as session:
        newest = session.execute(
            text("SELECT max(number) FROM loop WHERE person_id = :p"), {"p": pid}
        ).scalar_one()

    return {
        "/loops": command(""),
        f"/loops {newest // 2}": command(str(newest // 2)),
        "/loops search checkout": command("search checkout"),
        f"/loops search {shared}": command(f"search {shared}"),
        "/loops open": command("open"),
        "Home tab": home,
    }


def explain(database: Database, user: str) -> None:
    """The plans of the main reads for one person (SQLite's or PostgreSQL's own words)."""
    with database.session() as session:
        pid = session.scalar(select(Person.id).where(Person.slack_user_id == user))
        prefix = "EXPLAIN QUERY PLAN " if database.is_sqlite else "EXPLAIN "
        queries = {
            "open loops (page)": "SELECT * FROM loop WHERE person_id = :p "
            "AND state IN ('open','shipped','continued') ORDER BY number DESC LIMIT 16",
            "count open": "SELECT count(*) FROM loop WHERE person_id = :p "
            "AND state IN ('open','shipped','continued')",
            "ships of a window (figures)": "SELECT problem_days, outcome_days, watched, state FROM shipment "
            "WHERE person_id = :p AND shipped_at > :since AND shipped_at <= :until AND state != 'draft'",
            "unwatched count": "SELECT count(*) FROM shipment WHERE person_id = :p AND state = 'unwatched'",
            "recently closed": "SELECT * FROM loop WHERE person_id = :p AND state = 'closed' "
            "ORDER BY closed_at DESC, id DESC LIMIT 5",
            "search (one word)": "SELECT * FROM loop WHERE person_id = :p AND loop.id IN ("
            "SELECT loop_id FROM search_term WHERE person_id = :p AND term >= :w AND term < :w_end) "
            "ORDER BY number DESC LIMIT 16",
            "story": "SELECT * FROM entry WHERE loop_id = :l ORDER BY created_at DESC, id DESC LIMIT 40",
            "prompts of four weeks": "SELECT * FROM delivery WHERE person_id = :p AND kind = 'prompt' "
            "AND key >= '2026-11-01' AND key <= '2026-12-02'",
        }
        now = datetime.now(UTC)
        since, until = now - timedelta(days=90), now
        loop_id = session.execute(
            text("SELECT max(id) FROM loop WHERE person_id = :p"), {"p": pid}
        ).scalar_one()
        for name, sql in queries.items():
            rows = session.execute(
                text(prefix + sql),
                {
                    "p": pid,
                    "since": since,
                    "until": until,
                    "l": loop_id,
                    "w": "checkout",
                    "w_end": "checkout\U0010ffff",
                },
            ).all()
            print(f"\n  EXPLAIN {name}:")
            for row in rows:
                print("    " + " ".join(str(part) for part in row))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true", help="seed a throwaway PostgreSQL")
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    from burst import migrate
    from seed import print_figures, seed, work_out_figures

    server = None
    with tempfile.TemporaryDirectory(prefix="loops-history-") as folder:
        try:
            if args.postgres:
                from tests.support.pgserver import PostgresServer

                server = PostgresServer.start()
                database_url = server.admin_url
            else:
                database_url = f"sqlite:///{folder}/history.db"
            if not migrate(database_url, Path(folder)):
                return 1
            report = seed(database_url, people=args.people, entries=args.entries)
            print(f"seeded {report.counts} in {report.seconds:.1f} s")
            print_figures(work_out_figures(database_url))
            with FakeSlack() as fake:
                settings = Settings(
                    database_url=database_url,
                    slack_bot_token=fake.bot_token,  # type: ignore[arg-type]
                    slack_signing_secret=fake.signing_secret,  # type: ignore[arg-type]
                    slack_api_url=fake.api_url,
                )
                database = Database(database_url)
                client = delivery_client(settings)
                services = build_services(settings, database, client)
                kind = "PostgreSQL" if args.postgres else "SQLite"
                print(f"\n{kind}: time to the reply ready, {args.runs} runs each (ms)")
                columns = ("heavy p50", "heavy p99", "light p50", "light p99")
                print(
                    f"  {'read':<28} " + " ".join(f"{c:>9}" for c in columns) + f" {'p50 ×':>6} {'p99 ×':>6}"
                )
                shared = shared_word(database, report.heavy, report.light)
                heavy = reads(database, services, client, report.heavy, shared)
                light = reads(database, services, client, report.light, shared)
                worst = 0.0
                for (name, work), (_, light_work) in zip(heavy.items(), light.items(), strict=True):
                    h, lt = timed(args.runs, work), timed(args.runs, light_work)
                    h99, l99 = _quantile(h, 0.99), _quantile(lt, 0.99)
                    worst = max(worst, h99, l99)
                    label = "/loops N" if name[7:8].isdigit() else name
                    label = label if len(label) <= 28 else label[:27] + "…"
                    figures = (
                        f"{statistics.median(h):9.1f} {h99:9.1f} {statistics.median(lt):9.1f} {l99:9.1f}"
                    )
                    ratio = statistics.median(h) / statistics.median(lt)
                    print(f"  {label:<28} {figures} {ratio:6.2f} {h99 / l99:6.2f}")
                verdict = "holds" if worst < GOAL_MS else "does NOT hold"
                print(f"\n  goal p99 < {GOAL_MS:.0f} ms: {verdict} (worst p99 {worst:.1f} ms)")
                explain(database, report.heavy)
                database.dispose()
        finally:
            if server is not None:
                server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
