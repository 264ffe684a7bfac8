"""Secrets and people's words stay out of the logs, even when a write fails.

SQLAlchemy puts a failed statement's parameters into its error's message, and that message is
what gets logged: the tokens of an install being saved, the text a person typed. The OAuth
redirect's query (the install's code and state) stays out of the access log.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text

from slackbot.fakeslack import FakeSlack
from slackbot.store.db import Database
from tests.support.bot import BotFactory
from tests.support.oauth import allow, get, oauth_bot, start_install
from tests.support.story import FRIDAY, at, enrol, only_prompt
from tests.support.waiting import until


def refuse_inserts(database: Database, table: str) -> None:
    """Make every INSERT into `table` fail inside the database, as a broken disk or a full
    quota would: the statement is sent with its parameters and comes back an error."""
    with database.engine.begin() as connection:
        if database.is_sqlite:
            # The table its body names does not exist: SQLite fails the INSERT with an OperationalError.
            trigger = "CREATE TRIGGER refuse BEFORE INSERT ON {} BEGIN DELETE FROM refused; END"
            connection.execute(text(trigger.format(table)))
        else:
            connection.execute(
                text(
                    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'refused'; END $$"
                )
            )
            connection.execute(
                text(f"CREATE TRIGGER refuse BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION refuse()")
            )


def everything_logged(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> str:
    """What the log handlers got, tracebacks included, and what went to stderr (the server's
    own report of an exception that escaped the app)."""
    return caplog.text + capfd.readouterr().err


def test_a_failed_install_save_logs_no_token(
    make_bot: BotFactory,
    fake: FakeSlack,
    database: Database,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    fake.state.oauth.token_rotation = True  # a refresh token (xoxe-) is saved too
    bot = oauth_bot(make_bot, fake)
    fake.add_user(name="ana")  # who presses Allow
    refuse_inserts(database, "slack_installations")
    link, cookie = start_install(bot)
    with caplog.at_level(logging.DEBUG, logger="sqlalchemy"), caplog.at_level(logging.INFO):
        get(allow(link), cookie)  # what the page says is another test's (test_install.py)
        bot.settle()
    logged = everything_logged(caplog, capfd)
    assert "refused" in logged, logged
    assert "xoxb-" not in logged and "xoxe-" not in logged, logged


def test_a_failed_write_logs_not_what_the_person_typed(
    make_bot: BotFactory,
    database: Database,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    bot = make_bot()
    at(bot, FRIDAY)
    ana = enrol(bot, "ana", "Europe/Berlin")
    bot.tick(datetime(2026, 11, 27, 8, 30, tzinfo=UTC))
    prompt = only_prompt(bot, ana)
    refuse_inserts(database, "loop")
    typed = "Payroll export drops the Zürich office\nfor: finance"
    capfd.readouterr()
    with caplog.at_level(logging.INFO):
        bot.sender.user_message(ana, typed, thread_ts=prompt.ts)
        bot.settle()
    assert bot.loops(ana) == []
    logged = everything_logged(caplog, capfd)
    assert "refused" in logged, logged
    assert "Payroll" not in logged and "Zürich" not in logged, logged


def test_the_access_log_has_no_oauth_code_or_state(
    make_bot: BotFactory, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    bot = oauth_bot(make_bot, fake)
    fake.add_user(name="ana")  # who presses Allow
    link, cookie = start_install(bot)
    redirect = allow(link)
    query = parse_qs(urlsplit(redirect).query)
    code, state = query["code"][0], query["state"][0]
    with caplog.at_level(logging.DEBUG, logger="slackbot.web"):
        assert get(redirect, cookie).status == 200

        def access() -> list[str]:
            return [r.getMessage() for r in caplog.records if r.name == "slackbot.web"]

        # The server writes its access line just after the answer has gone.
        until(lambda: any("/slack/oauth_redirect" in line for line in access()))
    assert not [line for line in access() if code in line or state in line], access()
