"""End to end over real HTTP: the emulator's signed requests against the real WSGI app.

Each test runs on SQLite and on PostgreSQL. Nothing of our own is mocked: Slack's
side is the emulator (slackbot.fakeslack), the app is the WSGI app on a real port.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from slackbot.fakeslack.sender import sign
from slackbot.store.models import Base, Person, SeenEvent, Workspace
from tests.support.bot import Bot

NO_500S = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def count(bot: Bot, model: type[Base]) -> int:
    with bot.database.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urlopen(url, timeout=10) as response:  # noqa: S310 - loopback test server
            return response.status, json.loads(response.read())
    except Exception as error:  # urllib raises for 5xx; the status is what we test
        status = getattr(error, "code", None)
        if status is None:
            raise
        return int(status), json.loads(error.read())  # type: ignore[attr-defined]


def test_url_verification_is_answered(bot: Bot) -> None:
    reply = bot.sender.url_verification(challenge="3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
    assert reply.status == 200
    assert reply.json()["challenge"] == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"


def test_loops_help_round_trip(bot: Bot) -> None:
    ana = bot.fake.add_user(name="ana", tz="Europe/Berlin")
    reply = bot.sender.command(ana.id, "/loops", "help")
    assert reply.status == 200
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    shown = json.dumps(body["blocks"])
    for usage in (
        "/loops start",
        "/loops pause",
        "/loops export",
        "/loops forget-me",
        "/loops digest",
        "/shipped",
    ):
        assert usage in shown
    with bot.database.session() as session:
        person = session.scalars(select(Person)).one()
        assert person.slack_user_id == ana.id
        assert person.workspace.team_id == bot.fake.team_id


def test_digest_with_no_channel_named_changes_nothing(bot: Bot) -> None:
    ana = bot.fake.add_user(name="ana")
    for typed in ("digest", "digest ???", "digest #general"):
        reply = bot.sender.command(ana.id, "/loops", typed)
        assert reply.status == 200
        assert reply.json()["response_type"] == "ephemeral"
    assert "isn't a channel I can read" in bot.sender.command(ana.id, "/loops", "digest ???").json()["text"]
    with bot.database.session() as session:
        assert all(w.digest_channel is None for w in session.scalars(select(Workspace)))


def test_unknown_subcommand_is_refused_with_escaped_echo(bot: Bot) -> None:
    ana = bot.fake.add_user(name="ana")
    reply = bot.sender.command(ana.id, "/loops", "<!channel>")
    body = reply.json()
    assert reply.status == 200
    assert "&lt;!channel&gt;" in body["text"]
    assert "<!channel>" not in json.dumps(body)
    assert "Did you mean `/loops start`?" in bot.sender.command(ana.id, "/loops", "strat").json()["text"]


def test_a_command_whose_text_says_payload_is_read_whole(bot: Bot) -> None:
    """Bolt's own form parser reads any form holding the word "payload" as an empty interaction."""
    ana = bot.fake.add_user(name="ana")
    reply = bot.sender.command(ana.id, "/loops", "payload")
    assert reply.status == 200, reply.text
    assert "`/loops payload`" in reply.json()["text"]  # not a subcommand: echoed back, whole
    searched = bot.sender.command(ana.id, "/loops", "search payload={}")
    assert searched.status == 200, searched.text
    bot.settle()
    (answer,) = bot.fake.response_url_posts(searched.extra["response_url"])
    assert "payload={}" in json.dumps(answer)


def _signed_command_body(bot: Bot, user_id: str) -> str:
    return urlencode(
        {
            "command": "/loops",
            "text": "help",
            "user_id": user_id,
            "team_id": bot.fake.team_id,
            "channel_id": "D1",
        }
    )


def test_bad_signature_is_401_and_stores_nothing(bot: Bot) -> None:
    ana = bot.fake.add_user(name="ana")
    body = _signed_command_body(bot, ana.id)
    reply = bot.sender.post(body, signature="v0=" + "0" * 64)
    assert reply.status == 401
    reply = bot.sender.post(body, sign=False)
    assert reply.status == 401
    assert count(bot, Workspace) == 0
    assert count(bot, Person) == 0


@pytest.mark.parametrize("timestamp", ["1" * 4301, "9" * 20, "0" * 5000, "+1", " 1"])
def test_a_timestamp_of_any_length_is_401_never_500(bot: Bot, timestamp: str) -> None:
    """Signed over the odd timestamp as Slack signs, so only the timestamp can refuse it."""
    ana = bot.fake.add_user(name="ana")
    body = _signed_command_body(bot, ana.id).encode()
    headers = {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": sign(bot.fake.signing_secret, timestamp, body),
    }
    reply = bot.sender.post(body, sign=False, headers=headers)
    assert reply.status == 401, reply.text
    assert count(bot, Person) == 0


def test_stale_timestamp_is_401_and_stores_nothing(bot: Bot) -> None:
    ana = bot.fake.add_user(name="ana")
    body = _signed_command_body(bot, ana.id)
    reply = bot.sender.post(body, timestamp=int(time.time()) - 301)
    assert reply.status == 401
    reply = bot.sender.post(body, timestamp=int(time.time()) + 301)
    assert reply.status == 401
    assert bot.sender.post(body, timestamp=int(time.time()) - 5).status == 200, "a fresh one passes"
    assert count(bot, Person) == 1


GARBAGE = [
    b"",
    b"\xff\xfe\x00garbage",
    b"{",
    b"[1, 2, 3]",
    b'"just a string"',
    b"payload=not-json",
    b"payload=%5B1%5D",
    b"a=1&b=2",
    b"%%%",
    b'{"type": "event_callback"}',
    b'{"type": "event_callback", "event": "not an object", "event_id": 5}',
    b'{"type": "block_actions", "user": 5, "actions": "x"}',
    b'{"type": "view_submission", "view": []}',
    b'{"type": "url_verification"}',
    b"command=%2Floops&text=help",
    b"command=%2Fnot-ours&user_id=U1&team_id=T1",
]


@pytest.mark.parametrize("body", GARBAGE, ids=range(len(GARBAGE)))
def test_signed_garbage_is_never_a_500(bot: Bot, body: bytes) -> None:
    for content_type in ("application/json", "application/x-www-form-urlencoded"):
        reply = bot.sender.post(body, headers={"Content-Type": content_type})
        assert reply.status < 500, (body, content_type, reply.status, reply.text)


@NO_500S
@given(body=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_random_signed_bodies_are_never_a_500(bot: Bot, body: bytes) -> None:
    reply = bot.sender.post(body)
    assert reply.status < 500, (body, reply.status)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)
slack_keys = st.sampled_from(
    [
        "type",
        "event",
        "event_id",
        "team_id",
        "user",
        "team",
        "actions",
        "view",
        "command",
        "channel",
        "api_app_id",
    ]
)


@NO_500S
@given(payload=st.dictionaries(slack_keys, json_values, max_size=6), as_form=st.booleans())
def test_slack_shaped_nonsense_is_never_a_500(bot: Bot, payload: dict[str, Any], as_form: bool) -> None:
    if as_form:
        reply = bot.sender.post(urlencode({"payload": json.dumps(payload)}))
    else:
        reply = bot.sender.post(json.dumps(payload), headers={"Content-Type": "application/json"})
    assert reply.status < 500, (payload, reply.status, reply.text)


def home_opened(bot: Bot, user_id: str) -> dict[str, Any]:
    return {
        "type": "app_home_opened",
        "user": user_id,
        "channel": bot.fake.dm_channel_id(user_id),
        "tab": "home",
    }


def test_an_event_delivered_three_times_is_handled_once(bot: Bot) -> None:
    ana = bot.fake.add_user(name="ana")
    first = bot.sender.event(home_opened(bot, ana.id), event_id="Ev0LOOPS001")
    bot.settle()
    retries = [
        bot.sender.event(
            home_opened(bot, ana.id), event_id="Ev0LOOPS001", retry_num=n, retry_reason="http_timeout"
        )
        for n in (1, 2)
    ]
    bot.settle()
    assert [r.status for r in (first, *retries)] == [200, 200, 200]
    assert len(bot.fake.calls("views.publish")) == 1
    home = bot.fake.home_view(ana.id)
    assert home is not None
    assert "What's broken right now, and for whom?" in json.dumps(home.view)
    assert count(bot, SeenEvent) == 1
    bot.sender.event(home_opened(bot, ana.id))  # a new event id is a new event
    bot.settle()
    assert len(bot.fake.calls("views.publish")) == 2


def test_an_event_slack_could_not_authorize_is_retried_not_lost(bot: Bot) -> None:
    ana = bot.fake.add_user(name="ana")
    bot.fake.faults.add(method="auth.test", kind="server_error", status=503, times=1)
    first = bot.sender.event(home_opened(bot, ana.id), event_id="Ev0LOOPS002")
    assert first.status == 503, "Slack must deliver it again"
    assert count(bot, SeenEvent) == 0, "a failed delivery is not remembered, so its retry is handled"
    retry = bot.sender.event(home_opened(bot, ana.id), event_id="Ev0LOOPS002", retry_num=1)
    bot.settle()
    assert retry.status == 200
    assert bot.fake.home_view(ana.id) is not None


def test_a_command_while_slack_is_unreachable_gets_an_apology(bot: Bot) -> None:
    ana = bot.fake.add_user(name="ana")
    bot.fake.faults.add(method="auth.test", kind="server_error", status=500, times=1)
    reply = bot.sender.command(ana.id, "/loops", "help")
    assert reply.status == 200
    assert "couldn't get an answer from Slack" in reply.json()["text"]
    assert "reinstall" not in reply.text
    assert "/loops start" in bot.sender.command(ana.id, "/loops", "help").text, "works once Slack answers"


def test_a_refused_token_says_to_reinstall(bot: Bot) -> None:
    ana = bot.fake.add_user(name="ana")
    bot.fake.revoke_token(bot.fake.bot_token)
    reply = bot.sender.command(ana.id, "/loops", "help")
    assert reply.status == 200
    assert "reinstall the Loops app" in reply.json()["text"]


@pytest.mark.parametrize("error", ["not_authed", "token_expired", "account_inactive"])
def test_a_token_slack_will_not_take_says_to_reinstall(bot: Bot, error: str) -> None:
    """One fixed token (SLACK_BOT_TOKEN): whatever Slack says against it, no retry will mend."""
    ana = bot.fake.add_user(name="ana")
    bot.fake.faults.add(method="auth.test", kind="error", error=error, times=1)
    reply = bot.sender.command(ana.id, "/loops", "help")
    assert "reinstall the Loops app" in reply.json()["text"]


def test_unsubscribed_or_unhandled_events_are_acknowledged(bot: Bot) -> None:
    ana = bot.fake.add_user(name="ana")
    event = {"type": "reaction_added", "user": ana.id, "reaction": "tada", "item": {}}
    assert bot.sender.event(event).status == 200


def test_user_change_keeps_a_known_persons_time_zone(bot: Bot) -> None:
    ana = bot.fake.add_user(name="ana", tz="Asia/Kolkata")
    stranger = bot.fake.add_user(name="stranger", tz="Asia/Tokyo")
    bot.sender.command(ana.id, "/loops", "help")
    moved = bot.fake.update_user(ana.id, tz="America/Los_Angeles")
    assert bot.sender.event({"type": "user_change", "user": moved.to_api()}).status == 200
    stranger_moved = bot.fake.update_user(stranger.id, tz="Europe/Paris")
    assert bot.sender.event({"type": "user_change", "user": stranger_moved.to_api()}).status == 200
    with bot.database.session() as session:
        people = session.scalars(select(Person)).all()
    assert [(p.slack_user_id, p.tz) for p in people] == [(ana.id, "America/Los_Angeles")]


def test_uninstall_is_recorded(bot: Bot) -> None:
    ana = bot.fake.add_user(name="ana")
    bot.sender.command(ana.id, "/loops", "help")
    assert bot.sender.event({"type": "app_uninstalled"}).status == 200
    with bot.database.session() as session:
        assert session.scalars(select(Workspace)).one().uninstalled_at is not None


def test_healthz_answers_200_when_the_database_does(bot: Bot) -> None:
    status, body = get(f"{bot.server.url}/healthz")
    assert (status, body) == (200, {"ok": True, "database": "up"})


def make_database_gone(bot: Bot, request: pytest.FixtureRequest) -> None:
    """Take the database away under the running app, as an outage would."""
    if bot.database.is_sqlite:
        path = Path(str(bot.database.url.database))
        shutil.rmtree(path.parent)
        # Open SQLite handles survive an unlink; a real outage also breaks them.
        bot.database.engine.dispose()
        return
    admin_url: str = request.getfixturevalue("postgres_admin_url")
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(
            text(f'DROP DATABASE "{make_url(bot.settings.database_url).database}" WITH (FORCE)')
        )
    engine.dispose()


def test_healthz_answers_503_when_the_database_is_gone(bot: Bot, request: pytest.FixtureRequest) -> None:
    make_database_gone(bot, request)
    status, body = get(f"{bot.server.url}/healthz")
    assert (status, body) == (503, {"ok": False, "database": "down"})


def test_a_command_during_a_database_outage_is_told_so(bot: Bot, request: pytest.FixtureRequest) -> None:
    ana = bot.fake.add_user(name="ana")
    make_database_gone(bot, request)
    reply = bot.sender.command(ana.id, "/loops", "help")
    assert reply.status == 200
    assert "can't reach its database" in reply.json()["text"]


def test_an_event_during_a_database_outage_asks_slack_to_retry(
    bot: Bot, request: pytest.FixtureRequest
) -> None:
    ana = bot.fake.add_user(name="ana")
    make_database_gone(bot, request)
    event = {
        "type": "app_home_opened",
        "user": ana.id,
        "channel": bot.fake.dm_channel_id(ana.id),
        "tab": "home",
    }
    assert bot.sender.event(event).status == 503


def test_wrong_paths_and_methods(bot: Bot) -> None:
    for path, method, expected in [
        ("/nope", "GET", 404),
        ("/slack/events", "GET", 405),
        ("/healthz", "POST", 405),
    ]:
        request = Request(f"{bot.server.url}{path}", method=method, data=b"" if method == "POST" else None)  # noqa: S310
        try:
            with urlopen(request, timeout=10) as response:  # noqa: S310
                status = response.status
        except Exception as error:
            status = error.code  # type: ignore[attr-defined]
        assert status == expected, path


def test_an_unknown_subcommand_gets_the_whole_help_headed_by_one_line(bot: Bot) -> None:
    ana = bot.fake.add_user(name="ana")
    mistyped = bot.command(ana.id, "/loops frobnicate")
    asked = bot.command(ana.id, "/loops help")
    assert mistyped["response_type"] == "ephemeral"
    (heading,) = [block for block in mistyped["blocks"] if "frobnicate" in json.dumps(block)]
    assert mistyped["blocks"][0] == heading, "the line saying what was not understood comes first"
    assert "I didn't understand `/loops frobnicate`" in heading["text"]["text"]
    assert mistyped["blocks"][1:] == asked["blocks"], "then the help itself, whole"
