"""One-workspace mode (SLACK_BOT_TOKEN) answers only the token's own workspace.

Another workspace on the same emulator sends the app signed requests, as a second workspace
would if the app were shared with it: commands are told "Loops is not installed here", events
are acknowledged and ignored, and no row is written for that workspace.
"""

from __future__ import annotations

from sqlalchemy import func, select

from slackbot.fakeslack import FakeSlack, SlackSender
from slackbot.store.db import Database
from slackbot.store.models import Base, Workspace
from tests.support.bot import BotFactory


def rows(database: Database) -> dict[str, int]:
    """How many rows each table holds."""
    with database.session() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


def test_a_request_from_another_workspace_is_told_loops_is_not_installed_there(
    make_bot: BotFactory, fake: FakeSlack, database: Database
) -> None:
    bot = make_bot()
    ana = fake.add_user(name="ana")
    bot.command(ana.id, "/loops start")
    assert bot.person(ana.id).enrolled
    before = rows(database)

    other = fake.add_workspace("T0OTHERCO", "other-co", "Other Co")
    stranger = other.add_user(name="sam")
    there = SlackSender(other, app_url=f"{bot.server.url}/slack/events")

    reply = there.command(stranger.id, "/loops", "start")
    assert reply.status == 200
    bot.settle()
    said = str(reply.text) + str(other.response_url_posts(reply.extra["response_url"]))
    assert "Loops is not installed here" in said

    _, event = there.user_message(stranger.id, "the login page times out")
    assert event.status == 200
    assert there.event({"type": "app_uninstalled"}).status == 200
    bot.settle()

    assert rows(database) == before
    with database.session() as session:
        ours = session.scalars(select(Workspace)).one()
    assert ours.team_id == fake.team_id and ours.uninstalled_at is None
    assert all(m.source == "user" for m in other.messages())  # the bot said nothing there
    # Ours still answers.
    assert "help" in str(bot.command(ana.id, "/loops help")).lower()


def test_the_first_request_of_all_from_another_workspace_is_refused_too(
    make_bot: BotFactory, fake: FakeSlack, database: Database
) -> None:
    """Before the token's team is known (auth.test is asked on the first request), the check
    happens as the request is authorized: the same words, no rows."""
    bot = make_bot()
    other = fake.add_workspace("T0OTHERCO", "other-co", "Other Co")
    stranger = other.add_user(name="sam")
    there = SlackSender(other, app_url=f"{bot.server.url}/slack/events")
    reply = there.command(stranger.id, "/loops", "start")
    bot.settle()
    assert reply.status == 200 and "Loops is not installed here" in reply.json()["text"]
    assert set(rows(database).values()) == {0}
