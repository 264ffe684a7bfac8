"""Long histories stored straight through the models (what years of use would leave), a loop a
day back from a fixed NOW, without driving each day through the app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slackbot.store.loops import add_entry, index_terms
from slackbot.store.models import CheckIn, Loop, Person, Shipment
from tests.support.bot import Bot

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def history(
    team: Bot, user: str, loops: int, *, closed_every: int = 2, word: str = "", owner: str = ""
) -> None:
    """`loops` loops for `user`, one a day back from NOW; every `closed_every`-th is closed with a ship."""
    with team.database.session() as session:
        person = session.get(Person, team.person(user).id)
        assert person is not None
        for n in range(1, loops + 1):
            opened = NOW - timedelta(days=loops - n + 1)
            closed = n % closed_every == 0
            loop = Loop(
                workspace_id=person.workspace_id,
                person_id=person.id,
                number=n,
                what=f"{owner + ' ' if owner else ''}problem {n}{' ' + word if word and n % 7 == 0 else ''}",
                for_whom=f"people {n}",
                state="closed" if closed else "open",
                opened_at=opened,
                closed_at=opened + timedelta(hours=20) if closed else None,
                source=f"test:{n}",
            )
            session.add(loop)
            session.flush()
            index_terms(session, person.id, loop.id, loop.what, loop.for_whom)
            add_entry(session, loop, "answer", loop.what, slack_ts=None, at=opened)
            if closed:
                shipment = Shipment(
                    workspace_id=person.workspace_id,
                    loop_id=loop.id,
                    person_id=person.id,
                    what=f"fix {n}",
                    expected_change="better",
                    state="answered",
                    source=f"test:s{n}",
                    shipped_at=opened + timedelta(hours=2),
                    checked_at=opened + timedelta(hours=20),
                    first_of_loop=True,
                )
                session.add(shipment)
                session.flush()
                session.add(
                    CheckIn(
                        shipment_id=shipment.id,
                        person_id=person.id,
                        ask=1,
                        due_on=opened.date(),
                        asked_at=opened + timedelta(hours=10),
                        answer="changed",
                        what_happened=f"it got better {n}",
                        closes_loop=True,
                        answered_at=opened + timedelta(hours=20),
                    )
                )
        session.commit()
