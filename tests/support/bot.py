"""The real app on a real port, the Slack emulator it talks to, and Slack's side of the wire."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from slackbot.app.services import Services, build_services
from slackbot.clock.runner import TickReport, ticker_for
from slackbot.config import Settings
from slackbot.fakeslack import FakeSlack, SlackSender
from slackbot.fakeslack.state import Message
from slackbot.slack.client import delivery_client
from slackbot.store.db import Database
from slackbot.store.models import Delivery, Loop, Person
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
    services: Services

    def settle(self) -> None:
        """Wait for the work requests deferred until after their answer (no sleeping)."""
        self.services.settle()

    def tick(self, at: datetime) -> TickReport:
        """One clock pass at `at`, exactly as `slackbot tick --at` runs it."""
        report = ticker_for(self.settings, self.database).tick(at)
        self.settle()
        return report

    def command(self, user_id: str, typed: str) -> dict[str, Any]:
        """What the person sees after typing a slash command (the ephemeral answer)."""
        command, _, text = typed.partition(" ")
        reply = self.sender.command(user_id, command, text)
        assert reply.status == 200, reply.text
        self.settle()
        body: dict[str, Any] = reply.json() if reply.text else {}
        if not body:
            # Acknowledged at once, answered through the command's response_url.
            posts = self.fake.response_url_posts(reply.extra.get("response_url"))
            body = posts[-1] if posts else {}
        return body

    def person(self, user_id: str) -> Person:
        with self.database.session() as session:
            person = session.scalars(select(Person).where(Person.slack_user_id == user_id)).one()
            session.expunge(person)
            return person

    def loops(self, user_id: str) -> list[Loop]:
        with self.database.session() as session:
            person = session.scalars(select(Person).where(Person.slack_user_id == user_id)).one()
            return list(
                session.scalars(select(Loop).where(Loop.person_id == person.id).order_by(Loop.number))
            )

    def deliveries(self, user_id: str, kind: str | None = None) -> list[Delivery]:
        with self.database.session() as session:
            person = session.scalars(select(Person).where(Person.slack_user_id == user_id)).one()
            query = select(Delivery).where(Delivery.person_id == person.id).order_by(Delivery.id)
            if kind:
                query = query.where(Delivery.kind == kind)
            return list(session.scalars(query))

    def dm(self, user_id: str, *, thread_ts: str | None = None) -> list[Message]:
        """Messages in the person's DM with the bot, oldest first (top level, or one thread)."""
        channel = self.fake.dm_channel_id(user_id)
        messages = self.fake.messages(channel=channel, thread_ts=thread_ts)
        if thread_ts is None:
            return [m for m in messages if m.thread_ts in (None, m.ts)]
        return messages

    def prompts(self, user_id: str) -> list[Message]:
        return [m for m in self.dm(user_id) if "What's broken right now" in (m.text or "")]


BotFactory = Callable[..., Bot]


@pytest.fixture
def make_bot(fake: FakeSlack, database: Database, database_url: str) -> Iterator[BotFactory]:
    """Start the app with settings overrides (LOOPS_* as keyword arguments)."""
    started: list[Bot] = []

    def start(**overrides: object) -> Bot:
        settings = settings_for(fake, database_url, **overrides)
        services = build_services(settings, database, delivery_client(settings))
        server = HttpServer(wsgi_app(settings, database, services)).start()
        bot = Bot(
            fake,
            SlackSender(fake, app_url=f"{server.url}/slack/events"),
            database,
            settings,
            server,
            services,
        )
        started.append(bot)
        return bot

    yield start
    for bot in started:
        bot.server.stop()
        bot.services.shutdown()


@pytest.fixture
def bot(make_bot: BotFactory) -> Bot:
    return make_bot()
