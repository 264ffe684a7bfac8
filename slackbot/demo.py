"""`slackbot demo`: the bot against the bundled Slack emulator, printed as each person sees it.

Everything is real except Slack: the app runs its WSGI stack on a loopback port with
a throwaway SQLite database, and the emulator sends it signed requests as Slack would.
"""

from __future__ import annotations

import json
import logging
import tempfile
from typing import Any, TextIO
from urllib.request import urlopen

from slackbot.config import Settings
from slackbot.fakeslack import FakeSlack, SlackSender
from slackbot.fakeslack.render import render_message, render_view
from slackbot.store.db import Database
from slackbot.store.migrate import upgrade
from slackbot.web import HttpServer, wsgi_app

TEAM = (("ana", "Europe/Berlin"), ("ben", "America/New_York"), ("chen", "Asia/Kolkata"))


class Transcript:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def step(self, who: str, action: str) -> None:
        self.out.write(f"\n── {who} {action}\n")

    def lines(self, lines: list[str], prefix: str = "   │ ") -> None:
        for line in lines:
            self.out.write(f"{prefix}{line}\n".rstrip() + "\n")

    def note(self, text: str) -> None:
        self.out.write(f"   {text}\n")


def run_demo(out: TextIO) -> int:
    """Print a short session of the product; exit status 1 if anything did not behave."""
    logging.getLogger().setLevel(logging.WARNING)
    show = Transcript(out)
    with (
        tempfile.TemporaryDirectory(prefix="loops-demo-") as folder,
        FakeSlack(team_domain="loops-demo") as fake,
    ):
        database = Database(f"sqlite:///{folder}/demo.db")
        upgrade(database)
        settings = Settings(
            _env_file=None,
            slack_bot_token=fake.bot_token,
            slack_signing_secret=fake.signing_secret,
            slack_api_url=fake.api_url,
            database_url=f"sqlite:///{folder}/demo.db",
        )
        server = HttpServer(wsgi_app(settings, database)).start()
        try:
            return _session(show, fake, SlackSender(fake, app_url=f"{server.url}/slack/events"), server)
        finally:
            server.stop()
            database.dispose()


def _session(show: Transcript, fake: FakeSlack, sender: SlackSender, server: HttpServer) -> int:
    people = {name: fake.add_user(name=name, tz=tz) for name, tz in TEAM}
    show.out.write("Loops demo: the app on " + server.url + ", Slack played by the bundled emulator.\n")
    show.out.write("Workspace " + fake.team_id + ": " + ", ".join(f"{n} ({tz})" for n, tz in TEAM) + "\n")
    problems: list[str] = []

    def command(name: str, typed: str) -> dict[str, Any]:
        command_word, _, text = typed.partition(" ")
        show.step(name, f"types `{typed}`")
        reply = sender.command(people[name].id, command_word, text)
        if reply.status != 200:
            problems.append(f"{typed}: HTTP {reply.status}")
            return {}
        body: dict[str, Any] = reply.json()
        show.note("(only visible to you)" if body.get("response_type") == "ephemeral" else "")
        show.lines(render_message(body))
        return body

    if "/loops start" not in json.dumps(command("ana", "/loops help")):
        problems.append("/loops help did not list the subcommands")

    show.step("ana", "opens the Home tab of the Loops app")
    ana = people["ana"]
    home_opened = {
        "type": "app_home_opened",
        "user": ana.id,
        "channel": fake.dm_channel_id(ana.id),
        "tab": "home",
    }
    sender.event(home_opened, event_id="Ev0DEMO0001")
    home = fake.home_view(ana.id)
    if home is None:
        problems.append("the Home tab was not published")
    else:
        show.lines(render_view(home.view))

    show.step("Slack", "delivers that event twice more (X-Slack-Retry-Num: 1, 2), as it does after a timeout")
    for retry in (1, 2):
        sender.event(home_opened, event_id="Ev0DEMO0001", retry_num=retry, retry_reason="http_timeout")
    publishes = len(fake.calls("views.publish"))
    show.note(f"views.publish was called {publishes} time(s): the retries were recognised by event_id.")
    if publishes != 1:
        problems.append("a retried event was handled more than once")

    if "Did you mean" not in json.dumps(command("ben", "/loops strat")):
        problems.append("a typo got no suggestion")
    if "&lt;!channel&gt;" not in json.dumps(command("chen", "/loops <!channel>")):
        problems.append("user text was not escaped")
    command("chen", "/shipped new onboarding email")

    show.step("an operator", "asks GET /healthz")
    with urlopen(f"{server.url}/healthz", timeout=5) as response:  # noqa: S310 - our own loopback server
        show.note(f"{response.status} {response.read().decode()}")

    if problems:
        show.out.write("\nThe demo found problems:\n" + "\n".join(f"  - {p}" for p in problems) + "\n")
        return 1
    show.out.write("\nThat is everything Loops does today; the morning prompt and /shipped come next.\n")
    return 0
