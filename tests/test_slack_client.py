"""The Slack client's rules, over real HTTP against the emulator: never inside a write, and 429 holds."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError

from slackbot.fakeslack import FakeSlack
from slackbot.slack.client import HeldBySlack, SlackClient, WriteTransactionOpen
from slackbot.slack.holds import Holds, hold_key
from slackbot.store.db import Database
from slackbot.store.models import Workspace


def client_for(fake: FakeSlack, holds: Holds, max_hold_wait: float = 0.0) -> SlackClient:
    return SlackClient(
        max_hold_wait=max_hold_wait,
        holds=holds,
        token=fake.bot_token,
        base_url=fake.api_url,
        retry_handlers=[],
    )


def test_no_slack_call_while_this_thread_holds_a_write(fake: FakeSlack, database: Database) -> None:
    client = client_for(fake, Holds())
    with database.session() as session:
        session.get(Workspace, 1)
        assert client.auth_test()["ok"], "reading is no reason to refuse"
        session.add(Workspace(team_id="T0WRITING"))
        session.flush()
        with pytest.raises(WriteTransactionOpen):
            client.auth_test()
        session.commit()
    assert client.auth_test()["ok"], "after the commit it calls again"
    assert [c.method for c in fake.calls()] == ["auth.test", "auth.test"], "the refused call never left"


def test_a_429_holds_its_method_and_a_client_that_cannot_wait_does_not_call(fake: FakeSlack) -> None:
    holds = Holds()
    client = client_for(fake, holds)
    fake.faults.add(method="auth.test", kind="ratelimited", retry_after=30, times=1)
    with pytest.raises(SlackApiError):
        client.auth_test()
    assert holds.remaining(hold_key(fake.bot_token, "auth.test")) > 25
    with pytest.raises(HeldBySlack):
        client_for(fake, holds).auth_test()
    assert client.users_list()["ok"], "another method is limited on its own"
    assert [c.method for c in fake.calls()] == ["auth.test", "users.list"], "nothing was sent inside the hold"
