"""The demo's stage: the emulator, the app on a port, the clock, and what everyone saw, printed."""

from __future__ import annotations

import textwrap
from datetime import datetime
from typing import Any, TextIO

from slackbot.app.services import Services
from slackbot.clock.runner import ticker_for
from slackbot.config import Settings
from slackbot.fakeslack import FakeSlack, SlackSender
from slackbot.fakeslack.render import render_conversation, render_message
from slackbot.fakeslack.state import Message, User

WIDTH = 96


class DemoFailed(Exception):
    """The story could not go on: what was expected did not happen."""


class Demo:
    """The story's cast and stage: the emulator, the app on a port, and what everyone saw."""

    def __init__(
        self, out: TextIO, fake: FakeSlack, services: Services, settings: Settings, url: str
    ) -> None:
        self.out = out
        self.fake = fake
        self.services = services
        self.settings = settings
        self.sender = SlackSender(fake, app_url=f"{url}/slack/events")
        self.people: dict[str, User] = {}
        self.problems: list[str] = []
        self.channel = settings.loops_digest_channel or ""

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def step(self, moment: datetime, text: str) -> None:
        self.services.clock = lambda: moment
        self.say(f"\n── {moment:%a %H:%M} UTC · {text}")

    def show(self, lines: list[str]) -> None:
        for line in lines:
            indent = line[: len(line) - len(line.lstrip())]
            for part in textwrap.wrap(line.strip(), WIDTH - len(indent)) or [""]:
                self.say(f"   │ {indent}{part}".rstrip())

    def expect(self, condition: bool, problem: str) -> None:
        if not condition:
            self.problems.append(problem)
            self.say(f"   !! {problem}")

    def command(self, name: str, typed: str) -> dict[str, Any]:
        command, _, text = typed.partition(" ")
        reply = self.sender.command(self.people[name].id, command, text)
        self.services.settle()
        self.expect(reply.status == 200, f"{typed}: HTTP {reply.status}")
        body: dict[str, Any] = reply.json() if reply.status == 200 and reply.text else {}
        if reply.status == 200 and not body:
            # Acknowledged at once, answered through the command's response_url.
            posts = self.fake.response_url_posts(reply.extra.get("response_url"))
            body = posts[-1] if posts else {}
        self.say(f"   {name} types `{typed}` and sees (only visible to them):")
        self.show(render_message(body))
        return body

    def tick(self, at: datetime) -> None:
        report = ticker_for(self.settings, self.services.database).tick(at)
        self.services.settle()
        self.say(f"   the clock ticks: {report.sent.sent} sent, {report.sent.skipped} skipped")

    def dm(self, name: str) -> list[Message]:
        return self.fake.messages(channel=self.fake.dm_channel_id(self.people[name].id))

    def prompts(self, name: str) -> list[Message]:
        return [
            m for m in self.dm(name) if "What's broken right now" in m.text and m.thread_ts in (None, m.ts)
        ]

    def latest_prompt(self, name: str) -> Message:
        prompts = self.prompts(name)
        if not prompts:
            raise DemoFailed(f"{name} got no prompt")
        return prompts[-1]

    def author(self, message: Message) -> str:
        if message.bot_id:
            return "Loops"
        return next((name for name, user in self.people.items() if user.id == message.user), "someone")

    def thread(self, name: str, root: Message) -> list[Message]:
        channel = self.fake.dm_channel_id(self.people[name].id)
        return [m for m in self.fake.messages(channel=channel, thread_ts=root.ts) if m.ts != root.ts]

    def checkins(self, name: str, root: Message) -> list[Message]:
        return [m for m in self.thread(name, root) if m.text.startswith(("Check-in", "Checking in"))]

    def show_thread(self, name: str, root: Message) -> None:
        channel = self.fake.dm_channel_id(self.people[name].id)
        self.show(render_conversation(self.fake.messages(channel=channel, thread_ts=root.ts), self.author))

    def show_channel(self, top: list[Message]) -> None:
        """These messages of the team channel, each with its thread."""
        everything = self.fake.messages(channel=self.channel)
        roots = {m.ts for m in top}
        shown = [m for m in everything if m.ts in roots or (m.thread_ts in roots)]
        self.say("   in #product:")
        self.show(render_conversation(shown, self.author))

    def show_dm(self, name: str) -> None:
        self.say(f"   {name}'s DM with Loops now reads:")
        self.show(render_conversation(self.dm(name), self.author))
