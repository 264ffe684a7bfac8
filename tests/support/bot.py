"""The real app on a real port, the Slack emulator it talks to, and Slack's side of the wire."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from slackbot.config import Settings
from slackbot.fakeslack import FakeSlack, SlackSender
from slackbot.store.db import Database
from slackbot.web import HttpServer, wsgi_app


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def settings_for(fake: FakeSlack, database_url: str, **overrides: object) -> Settings:
    """Settings as an operator would give them, pointed at the emulator; no .env is read."""
    values: dict[str, Any] = {
        "slack_bot_token": fake.bot_token,
        "slack_signing_secret": fake.signing_secret,
        "slack_api_url": fake.api_url,
        "database_url": database_url,
        **overrides,
    }
    return Settings(_env_file=None, **values)


@dataclass
class Bot:
    """Everything an end-to-end test drives or inspects."""

    fake: FakeSlack
    sender: SlackSender
    database: Database
    settings: Settings
    server: HttpServer


@pytest.fixture
def bot(fake: FakeSlack, database: Database, database_url: str) -> Iterator[Bot]:
    settings = settings_for(fake, database_url)
    server = HttpServer(wsgi_app(settings, database)).start()
    try:
        yield Bot(fake, SlackSender(fake, app_url=f"{server.url}/slack/events"), database, settings, server)
    finally:
        server.stop()
