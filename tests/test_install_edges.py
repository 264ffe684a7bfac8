"""The edges of installing: a database that cannot save the install, and the OAuth states table,
which neither a script reading the install page nor links never used can fill."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, text

from slackbot.clock.runner import ticker_for
from slackbot.fakeslack import FakeSlack
from slackbot.store.db import Database
from slackbot.store.installations import state_store
from slackbot.store.models import slack_oauth_states
from tests.support.bot import Bot, BotFactory
from tests.support.oauth import allow, get, oauth_bot, start_install


def _states(database: Database) -> list[str]:
    with database.engine.connect() as connection:
        return list(connection.execute(text("SELECT state FROM slack_oauth_states")).scalars())


@pytest.mark.parametrize(
    ("table", "said"), [("slack_installations", "storage_error"), ("workspace", "was saved")]
)
def test_an_install_the_database_cannot_save_shows_the_could_not_save_page(
    make_bot: BotFactory,
    fake: FakeSlack,
    database: Database,
    caplog: pytest.LogCaptureFixture,
    table: str,
    said: str,
) -> None:
    """The install's own rows, or the workspace's row written once Bolt has saved them."""
    bot = oauth_bot(make_bot, fake)
    fake.add_user(name="ana")
    link, cookie = start_install(bot)
    back = allow(link)
    with database.engine.begin() as connection:  # the save fails as a broken database would
        connection.execute(text(f"ALTER TABLE {table} RENAME TO moved_away"))
    try:
        with caplog.at_level(logging.INFO):
            page = get(back, cookie)
    finally:
        with database.engine.begin() as connection:
            connection.execute(text(f"ALTER TABLE moved_away RENAME TO {table}"))
    assert page.status == 503, page.body
    assert page.headers["content-type"].startswith("text/html")
    assert "Loops could not save the install" in page.body
    assert "try again in a minute" in page.body
    assert "Traceback" not in caplog.text
    (warning,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert said in warning.getMessage()
    assert "xoxb-" not in caplog.text  # the driver's first line, not SQLAlchemy's parameters


def test_reading_the_install_page_writes_no_state(
    make_bot: BotFactory, fake: FakeSlack, database: Database
) -> None:
    bot = oauth_bot(make_bot, fake)
    fake.add_user(name="ana")
    for _ in range(1000):
        assert get(f"{bot.server.url}/slack/install").status == 200
    assert _states(database) == []

    # Pressing Add to Slack is what issues one, and the install goes through with it.
    link, cookie = start_install(bot, "?team=" + fake.team_id)
    assert "team=" + fake.team_id in link  # Bolt's `team` hint survives the extra step
    assert len(_states(database)) == 1
    page = get(allow(link), cookie)
    assert page.status == 200, page.body
    assert "Loops is installed" in page.body
    assert _states(database) == []


def test_the_clock_deletes_expired_states_once_an_hour_and_keeps_fresh_ones(
    bot: Bot, database: Database
) -> None:
    def expired() -> None:
        past = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1)
        with database.engine.begin() as connection:
            connection.execute(insert(slack_oauth_states).values(state="expired", expire_at=past))

    fresh = state_store(database).issue()
    expired()
    now = datetime.now(UTC)
    ticker = ticker_for(bot.settings, database)
    assert ticker.tick(now).forgotten_states == 1
    assert _states(database) == [fresh]

    expired()
    ticker.tick(now + timedelta(seconds=30))  # the next tick: not again within the hour
    ticker.tick(now + timedelta(minutes=59))
    assert sorted(_states(database)) == sorted([fresh, "expired"])
    ticker.tick(now + timedelta(hours=1))  # ahead of the real time: the fresh state still stays
    assert _states(database) == [fresh]
