"""Installing into any workspace with OAuth, against the emulator's authorize page and oauth.v2.access.

The browser's part is played with plain HTTP (tests/support/oauth.py): open /slack/install,
press Add to Slack (which sets the state cookie and redirects to the emulator, where the
workspace's first person presses Allow), and come back to /slack/oauth_redirect with the cookie.
"""

from __future__ import annotations

import html
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from cryptography.fernet import Fernet
from sqlalchemy import inspect, select, text

from slackbot.app.install import BOT_SCOPES, authorize_url_for
from slackbot.clock.runner import ticker_for
from slackbot.config import SettingsError
from slackbot.core.deliveries import DeliveryState
from slackbot.fakeslack import FakeSlack, SlackSender
from slackbot.store.db import Database
from slackbot.store.models import Workspace, slack_bots
from tests.support.bot import Bot, BotFactory, settings_for
from tests.support.oauth import allow, get, install, oauth_bot, start_install

ROOT = Path(__file__).resolve().parents[1]


def test_the_bot_scopes_are_the_manifests() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert sorted(BOT_SCOPES) == sorted(manifest["oauth_config"]["scopes"]["bot"])


def test_the_authorize_page_is_beside_the_web_api() -> None:
    assert authorize_url_for("https://slack.com/api/") == "https://slack.com/oauth/v2/authorize"
    assert authorize_url_for("http://127.0.0.1:5000/api/") == "http://127.0.0.1:5000/oauth/v2/authorize"


def test_install_round_trip_then_commands_work_with_the_new_token(
    make_bot: BotFactory, fake: FakeSlack, database: Database
) -> None:
    bot = oauth_bot(make_bot, fake)
    ana = fake.add_user(name="ana", tz="Europe/Berlin")
    fake.revoke_token(fake.bot_token)  # only a token from the install can work

    before = bot.sender.command(ana.id, "/loops", "help")
    assert before.status == 200
    said = fake.response_url_posts(before.extra["response_url"])  # Bolt answers through it
    assert "isn't installed in this workspace" in str(said)

    link, cookie = start_install(bot)
    query = parse_qs(urlsplit(link).query)
    assert query["client_id"] == [fake.client_id]
    assert set(query["scope"][0].split(",")) == set(BOT_SCOPES)
    done = get(allow(link), cookie)
    assert done.status == 200, done.body
    assert "Loops is installed" in done.body
    assert html.escape(fake.state.team_name) in done.body
    assert "Expires=Thu, 01 Jan 1970" in done.headers["set-cookie"]  # the state cookie is cleared
    exchanges = [c for c in fake.calls() if c.method == "oauth.v2.access"]
    assert len(exchanges) == 1
    assert exchanges[0].response is not None
    assert exchanges[0].response["ok"] is True

    with database.session() as session:
        workspace = session.scalars(select(Workspace).where(Workspace.team_id == fake.team_id)).one()
        assert workspace.name == fake.state.team_name
        assert workspace.uninstalled_at is None

    bot.command(ana.id, "/loops start")  # authorized from the installation store
    assert bot.person(ana.id).enrolled

    # The clock sends with the install's token: the morning prompt arrives.
    due = bot.person(ana.id).next_prompt_at
    assert due is not None
    bot.tick(due)
    assert len(bot.prompts(ana.id)) == 1
    with database.session() as session:
        workspace = session.scalars(select(Workspace).where(Workspace.team_id == fake.team_id)).one()
        assert workspace.uninstalled_at is None


def test_tokens_are_encrypted_at_rest_when_a_key_is_set(
    make_bot: BotFactory, fake: FakeSlack, database: Database
) -> None:
    key = Fernet.generate_key().decode()
    bot = oauth_bot(make_bot, fake, loops_encryption_key=key)
    ana = fake.add_user(name="ana")
    assert install(bot).status == 200
    exchange = next(c for c in fake.calls() if c.method == "oauth.v2.access")
    assert exchange.response is not None
    token = exchange.response["access_token"]

    with database.engine.connect() as connection:
        for table in ("slack_bots", "slack_installations"):
            rows = connection.execute(text(f"SELECT * FROM {table}")).mappings().all()  # noqa: S608
            assert rows
            for row in rows:
                assert row["bot_token"].startswith("fernet:")
                assert all(token not in str(value) for value in row.values())
    bot.command(ana.id, "/loops start")  # the sealed token opens for requests
    assert bot.person(ana.id).enrolled


def test_an_old_key_still_opens_tokens_after_rotation(
    make_bot: BotFactory, fake: FakeSlack, database: Database
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    first = oauth_bot(make_bot, fake, loops_encryption_key=old)
    ana = fake.add_user(name="ana")
    assert install(first).status == 200
    rotated = oauth_bot(make_bot, fake, loops_encryption_key=f"{new},{old}")
    rotated.command(ana.id, "/loops start")
    assert rotated.person(ana.id).enrolled


def test_a_forged_state_exchanges_nothing(make_bot: BotFactory, fake: FakeSlack, database: Database) -> None:
    bot = oauth_bot(make_bot, fake)
    fake.add_user(name="ana")
    link, cookie = start_install(bot)
    back = urlsplit(allow(link))
    code = parse_qs(back.query)["code"][0]

    # A state the app never issued, with a cookie to match it: the store does not know it.
    forged = get(
        f"{bot.server.url}/slack/oauth_redirect?code={code}&state=forged", "slack-app-oauth-state=forged"
    )
    assert forged.status == 401
    assert "expired" in forged.body
    # The issued state, but from another browser (no cookie).
    other_browser = get(f"{bot.server.url}/slack/oauth_redirect?{back.query}")
    assert other_browser.status == 400
    assert "another browser" in other_browser.body
    assert [c for c in fake.calls() if c.method == "oauth.v2.access"] == []
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM slack_bots")).scalar() == 0

    # The real browser still completes it, once.
    assert get(f"{bot.server.url}/slack/oauth_redirect?{back.query}", cookie).status == 200
    again = get(f"{bot.server.url}/slack/oauth_redirect?{back.query}", cookie)
    assert again.status == 401  # a state is good once


def test_cancel_on_slacks_page_says_nothing_was_installed(make_bot: BotFactory, fake: FakeSlack) -> None:
    bot = oauth_bot(make_bot, fake)
    fake.add_user(name="ana")
    fake.state.oauth.deny_next = True
    link, cookie = start_install(bot)
    page = get(allow(link), cookie)
    assert page.status == 200
    assert "Loops was not installed" in page.body
    assert "cancelled" in page.body
    assert [c for c in fake.calls() if c.method == "oauth.v2.access"] == []


def test_oauth_settings_that_cannot_work_stop_start_up(fake: FakeSlack, database_url: str) -> None:
    from tests.support.bot import settings_for

    both = settings_for(fake, database_url, slack_client_id=fake.client_id, slack_client_secret="x")
    with pytest.raises(SettingsError, match="both set"):
        both.require_slack(http=True)
    no_secret = settings_for(fake, database_url, slack_bot_token=None, slack_client_id=fake.client_id)
    with pytest.raises(SettingsError, match="SLACK_CLIENT_SECRET"):
        no_secret.require_slack(http=True)
    with pytest.raises(ValueError, match="not a Fernet key"):
        settings_for(fake, database_url, loops_encryption_key="not-a-key")


def test_a_rotating_token_is_refreshed_for_requests_and_the_new_pair_kept(
    make_bot: BotFactory, fake: FakeSlack, database: Database
) -> None:
    """Slack's rotating tokens: Bolt refreshes one near its expiry (here an hour, within the two
    hours Loops refreshes ahead) and saves the pair. The emulator takes each refresh token once,
    so the second refresh works only if the first pair was saved."""
    fake.state.oauth.token_rotation = True
    fake.state.oauth.expires_in = 3600
    bot = oauth_bot(make_bot, fake, loops_encryption_key=Fernet.generate_key().decode())
    ana = fake.add_user(name="ana")
    assert install(bot).status == 200
    bot.command(ana.id, "/loops help")
    bot.command(ana.id, "/loops start")
    refreshes = [
        c
        for c in fake.calls()
        if c.method == "oauth.v2.access" and c.params.get("grant_type") == "refresh_token"
    ]
    assert len(refreshes) == 2
    assert all(c.response is not None and c.response["ok"] for c in refreshes)
    assert bot.person(ana.id).enrolled
    newest = refreshes[-1].response
    assert newest is not None
    with database.engine.connect() as connection:
        stored = connection.execute(text("SELECT bot_token, bot_refresh_token FROM slack_bots")).all()
    assert stored and all(
        token.startswith("fernet:") and refresh.startswith("fernet:") for token, refresh in stored
    )
    assert all(newest["access_token"] not in token for token, _ in stored)


def test_the_clock_refreshes_a_rotating_token_itself_and_keeps_the_new_pair(
    make_bot: BotFactory, fake: FakeSlack, database: Database
) -> None:
    """Outside Bolt's requests the clock refreshes with slack-sdk's TokenRotator and saves the
    pair: the prompt goes out with the refreshed token, and the next refresh (the emulator takes
    each refresh token once) works only because the clock's new pair was saved."""
    fake.state.oauth.token_rotation = True
    fake.state.oauth.expires_in = 3600  # always within the two hours Loops refreshes ahead
    bot = oauth_bot(make_bot, fake, loops_encryption_key=Fernet.generate_key().decode())
    ana = fake.add_user(name="ana")
    assert install(bot).status == 200
    bot.command(ana.id, "/loops start")

    def refreshes() -> int:
        return sum(
            1
            for c in fake.calls()
            if c.method == "oauth.v2.access" and c.params.get("grant_type") == "refresh_token"
        )

    before = refreshes()
    due = bot.person(ana.id).next_prompt_at
    assert due is not None
    bot.tick(due)
    assert refreshes() > before
    assert len(bot.prompts(ana.id)) == 1
    posted = [c for c in fake.calls() if c.method == "chat.postMessage"]
    assert posted and all(c.response is not None and c.response["ok"] for c in posted)
    # A request after the clock's refresh still authorizes: it refreshes with the clock's pair.
    bot.command(ana.id, "/loops help")
    failed = [
        c
        for c in fake.calls()
        if c.method == "oauth.v2.access" and c.response is not None and not c.response["ok"]
    ]
    assert failed == []


def calls_everywhere(fake: FakeSlack) -> int:
    """Web API calls received by every workspace the emulator hosts (a tokenless one included)."""
    return sum(len(hosted.calls()) for hosted in fake.workspaces)


def waits_unsent(bot: Bot, user_id: str) -> None:
    """The person's deliveries are pending (not failed, not withdrawn) and the workspace is still in."""
    deliveries = bot.deliveries(user_id)
    assert deliveries and all(d.state == DeliveryState.PENDING for d in deliveries), [
        (d.kind, d.state, d.last_error) for d in deliveries
    ]
    with bot.database.session() as session:
        workspace = session.scalars(select(Workspace).where(Workspace.team_id == bot.fake.team_id)).one()
        assert workspace.uninstalled_at is None


def test_a_workspace_with_no_install_is_not_sent_to(
    make_bot: BotFactory, fake: FakeSlack, database: Database
) -> None:
    """An enrolled person whose workspace's install is not found is sent nothing: no Web API call
    without a token, the deliveries wait, and the workspace is not taken for uninstalled (only
    Slack's events and answers say that)."""
    bot = oauth_bot(make_bot, fake)
    ana = fake.add_user(name="ana")
    assert install(bot).status == 200
    bot.command(ana.id, "/loops start")
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM slack_bots"))
        connection.execute(text("DELETE FROM slack_installations"))
    due = bot.person(ana.id).next_prompt_at
    assert due is not None
    before = calls_everywhere(fake)
    report = bot.tick(due)
    assert calls_everywhere(fake) == before
    assert report.sent.waiting >= 1 and report.sent.failed == 0
    assert bot.prompts(ana.id) == []
    waits_unsent(bot, ana.id)


def test_a_post_whose_answer_was_lost_is_still_looked_for_after_its_install_was_missing(
    make_bot: BotFactory, fake: FakeSlack, database: Database
) -> None:
    """Waiting for an install does not forget that an earlier attempt may be in Slack already:
    once the install is back, the prompt is looked for, not posted twice."""
    bot = oauth_bot(make_bot, fake)
    ana = fake.add_user(name="ana")
    assert install(bot).status == 200
    bot.command(ana.id, "/loops start")
    due = bot.person(ana.id).next_prompt_at
    assert due is not None
    fake.faults.add(method="chat.postMessage", kind="timeout", seconds=0.2, commit=True, times=1)
    bot.tick(due)
    (prompt,) = bot.deliveries(ana.id, "prompt")
    assert prompt.maybe_posted and prompt.state == "pending"
    with database.engine.begin() as connection:
        saved = [dict(row._mapping) for row in connection.execute(select(slack_bots))]
        connection.execute(text("DELETE FROM slack_bots"))
    waiting = bot.tick(due + timedelta(minutes=2))
    assert waiting.sent.waiting == 1
    (prompt,) = bot.deliveries(ana.id, "prompt")
    assert prompt.maybe_posted, "an install that was missing for a while changes nothing in Slack"
    with database.engine.begin() as connection:
        connection.execute(slack_bots.insert(), saved)
    back = bot.tick(due + timedelta(minutes=4))
    assert back.sent.found_in_slack == 1
    assert len(bot.prompts(ana.id)) == 1


def test_a_single_token_workspace_in_a_shared_database_gets_no_call_from_an_oauth_clock(
    make_bot: BotFactory,
    fake: FakeSlack,
    database: Database,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A workspace run with SLACK_BOT_TOKEN shares its database with a clock in OAuth mode, which has
    no install of it: that clock makes no call at all (once, each of 8 deliveries went out tokenless
    and came back not_authed), leaves the deliveries waiting, and says so once, not every tick."""
    bot = make_bot()  # one workspace, one token
    ana = fake.add_user(name="ana")
    bot.command(ana.id, "/loops start")
    oauth = settings_for(
        fake,
        database_url,
        slack_bot_token=None,
        slack_client_id=fake.client_id,
        slack_client_secret=fake.client_secret,
    )
    ticker = ticker_for(oauth, database)
    due = bot.person(ana.id).next_prompt_at
    assert due is not None
    before = calls_everywhere(fake)
    with caplog.at_level(logging.WARNING):
        for minutes in (0, 5, 10):
            ticker.tick(due + timedelta(minutes=minutes))
    assert calls_everywhere(fake) == before
    assert bot.prompts(ana.id) == []
    waits_unsent(bot, ana.id)
    said = [r for r in caplog.records if "no usable install" in r.getMessage()]
    assert len(said) == 1 and fake.team_id in said[0].getMessage()


@pytest.mark.parametrize("row_written", [True, False])
def test_a_grid_workspace_gets_its_prompts_from_the_clock(
    make_bot: BotFactory, fake: FakeSlack, database: Database, row_written: bool
) -> None:
    """A workspace of an Enterprise Grid org has its install saved under the org's id: the clock
    finds it there, and the morning prompt goes out with that workspace's token; also when the
    workspace's row never got the org's id (its write failed after Bolt saved the install)."""
    first = oauth_bot(make_bot, fake)
    grid = fake.add_workspace("T0GRIDTEAM", "grid-team", "Grid Team", enterprise=("E0BIGORG", "Big Org"))
    bot = Bot(
        grid,
        SlackSender(grid, app_url=f"{first.server.url}/slack/events"),
        first.database,
        first.settings,
        first.server,
        first.services,
    )
    ana = grid.add_user(name="ana")
    link, cookie = start_install(bot)
    assert get(allow(grid.authorize_link(link)), cookie).status == 200
    exchanged = grid.calls("oauth.v2.access")[-1].response
    assert exchanged is not None and exchanged["enterprise"] == {"id": "E0BIGORG", "name": "Big Org"}
    bot.command(ana.id, "/loops start")  # Bolt finds the install by the request's enterprise_id
    assert bot.person(ana.id).enrolled
    with database.session() as session:
        workspace = session.scalars(select(Workspace).where(Workspace.team_id == grid.team_id)).one()
        assert workspace.enterprise_id == "E0BIGORG"
    if not row_written:
        with database.engine.begin() as connection:
            connection.execute(text("UPDATE workspace SET enterprise_id = NULL"))
    due = bot.person(ana.id).next_prompt_at
    assert due is not None
    bot.tick(due)
    assert len(bot.prompts(ana.id)) == 1
    posted = grid.calls("chat.postMessage")
    assert posted and all(c.response is not None and c.response["ok"] for c in posted)
    with database.session() as session:
        workspace = session.scalars(select(Workspace).where(Workspace.team_id == grid.team_id)).one()
        assert workspace.uninstalled_at is None


def test_a_refresh_token_spent_elsewhere_does_not_stop_the_clock(
    make_bot: BotFactory, fake: FakeSlack, database: Database
) -> None:
    """Another process refreshed first and did not save (or saved after we read): our refresh
    is refused, and the clock sends with what the store holds, which still works until it expires."""
    fake.state.oauth.token_rotation = True
    fake.state.oauth.expires_in = 3600
    bot = oauth_bot(make_bot, fake)
    ana = fake.add_user(name="ana")
    assert install(bot).status == 200
    bot.command(ana.id, "/loops start")
    with fake.state.lock:  # spend every refresh token out there, as a racing refresh would
        fake.state.oauth.refresh_tokens.clear()
    due = bot.person(ana.id).next_prompt_at
    assert due is not None
    bot.tick(due)
    refused = [
        c
        for c in fake.calls()
        if c.method == "oauth.v2.access" and c.response is not None and not c.response["ok"]
    ]
    assert refused and refused[-1].response is not None
    assert refused[-1].response["error"] == "invalid_refresh_token"
    assert len(bot.prompts(ana.id)) == 1


def test_0014_fills_in_the_enterprise_of_workspaces_installed_before(database: Database) -> None:
    """Grid workspaces installed before 0014 get their org's id from their newest install, so the
    clock finds their token after the upgrade; a downgrade drops the column."""
    from alembic import command

    from slackbot.store.migrate import alembic_config, upgrade

    config = alembic_config(database.url.render_as_string(hide_password=False))
    command.downgrade(config, "0013")
    with database.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO workspace (team_id, created_at) VALUES ('T1', :t), ('T2', :t)"),
            {"t": "2026-12-01 00:00:00"},
        )
        connection.execute(
            text(
                "INSERT INTO slack_bots (client_id, app_id, enterprise_id, team_id, bot_token, "
                "is_enterprise_install, installed_at) VALUES "
                "('c', 'A1', 'E1', 'T1', 'xoxb-1', FALSE, :t), ('c', 'A1', NULL, 'T2', 'xoxb-2', FALSE, :t)"
            ),
            {"t": "2026-12-01 00:00:00"},
        )
    upgrade(database)
    with database.session() as session:
        found = dict(session.execute(select(Workspace.team_id, Workspace.enterprise_id)).all())
    assert found == {"T1": "E1", "T2": None}
    command.downgrade(config, "0013")
    with database.engine.connect() as connection:
        assert "enterprise_id" not in {c["name"] for c in inspect(connection).get_columns("workspace")}
    upgrade(database)


def refuse_bot_saves(database: Database, on: bool) -> None:
    """Make every update of `slack_bots` fail in the database itself (a full disk, a lost lock)."""
    with database.engine.begin() as connection:
        if database.engine.dialect.name == "sqlite":
            connection.execute(
                text(
                    "CREATE TRIGGER no_bot_saves BEFORE UPDATE ON slack_bots "
                    "BEGIN SELECT RAISE(ABORT, 'no room left'); END"
                )
                if on
                else text("DROP TRIGGER no_bot_saves")
            )
        elif on:
            connection.execute(
                text(
                    "CREATE FUNCTION no_bot_saves() RETURNS trigger AS "
                    "$$ BEGIN RAISE EXCEPTION 'no room left'; END $$ LANGUAGE plpgsql"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER no_bot_saves BEFORE UPDATE ON slack_bots "
                    "FOR EACH ROW EXECUTE FUNCTION no_bot_saves()"
                )
            )
        else:
            connection.execute(text("DROP TRIGGER no_bot_saves ON slack_bots"))
            connection.execute(text("DROP FUNCTION no_bot_saves()"))


def test_a_refreshed_pair_that_cannot_be_saved_is_kept_and_saved_later(
    make_bot: BotFactory, fake: FakeSlack, database: Database
) -> None:
    """The clock refreshes a token near its expiry and the database refuses the new pair. Slack has
    spent the old refresh token, so the pair is kept: the prompt goes out with it, requests work,
    the workspace stays installed, and once the database takes writes again the pair is saved, so
    the next refresh (the emulator takes each refresh token once) works."""
    fake.state.oauth.token_rotation = True  # twelve-hour tokens
    bot = oauth_bot(make_bot, fake)
    ana = fake.add_user(name="ana")
    assert install(bot).status == 200
    bot.command(ana.id, "/loops start")

    def expire_within_the_hour() -> None:
        with database.engine.begin() as connection:
            expires = connection.execute(select(slack_bots.c.bot_token_expires_at)).scalar_one()
            connection.execute(slack_bots.update().values(bot_token_expires_at=expires - timedelta(hours=11)))

    def refreshes() -> list[dict[str, Any]]:
        calls = fake.calls("oauth.v2.access")
        return [c.response for c in calls if c.params.get("grant_type") == "refresh_token" and c.response]

    expire_within_the_hour()
    refuse_bot_saves(database, True)
    due = bot.person(ana.id).next_prompt_at
    assert due is not None
    bot.tick(due)
    assert [answer["ok"] for answer in refreshes()] == [True]
    assert len(bot.prompts(ana.id)) == 1
    bot.command(ana.id, "/loops help")  # a request meanwhile: authorized with the kept pair
    assert len(refreshes()) == 1
    with database.session() as session:
        workspace = session.scalars(select(Workspace).where(Workspace.team_id == fake.team_id)).one()
        assert workspace.uninstalled_at is None

    refuse_bot_saves(database, False)
    bot.command(ana.id, "/loops help")  # the next lookup saves the kept pair
    newest = refreshes()[0]
    with database.engine.connect() as connection:
        stored = connection.execute(select(slack_bots.c.bot_token, slack_bots.c.bot_refresh_token)).one()
    assert tuple(stored) == (newest["access_token"], newest["refresh_token"])
    expire_within_the_hour()
    bot.command(ana.id, "/loops help")
    assert [answer["ok"] for answer in refreshes()] == [True, True]
    assert bot.person(ana.id).enrolled
