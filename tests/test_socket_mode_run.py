"""`python -m slackbot run` in Socket Mode, end to end: a real process, a real websocket.

The process gets an app-level token and no signing secret, so it connects to the emulator over
Socket Mode (Bolt's builtin SocketModeHandler). A person enrols with a slash command, Slack
refreshes the connection, the person answers with a button a prompt that `slackbot tick --at`
sent, and opens a loop by replying in the prompt's thread, all as envelopes over the socket.
Waits are conditions on the emulator, woken also when the process's output ends; nothing sleeps.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from slackbot.fakeslack import FakeSlack, Message, SlackSender
from slackbot.fakeslack.socket_mode import SocketConnection
from slackbot.store.models import Delivery, Loop, Person
from tests.support.processes import environment, slackbot


class Output:
    """A child's combined output, read by a thread so the pipe never fills up."""

    def __init__(self, stream: IO[bytes], fake: FakeSlack) -> None:
        self.lines: list[str] = []
        self.ended = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(stream, fake), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[bytes], fake: FakeSlack) -> None:
        for raw in stream:
            self.lines.append(raw.decode("utf-8", "replace"))
        self.ended.set()
        fake.notify()  # wake wait_for: the process is gone, stop waiting for it

    def text(self) -> str:
        return "".join(self.lines)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as running:
        yield running


@pytest.fixture
def env(fake: FakeSlack, tmp_path: Path) -> dict[str, str]:
    """Socket Mode's environment: an app-level token, a bot token, no signing secret."""
    return environment(
        SLACK_APP_TOKEN=fake.app_token,
        SLACK_BOT_TOKEN=fake.bot_token,
        SLACK_API_URL=fake.api_url,
        DATABASE_URL=f"sqlite:///{tmp_path}/loops.db",
        LOG_LEVEL="INFO",
    )


@pytest.fixture
def running(
    fake: FakeSlack, env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Output]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "slackbot", "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    output = Output(process.stdout, fake)
    try:
        yield process, output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


@contextmanager
def session(env: dict[str, str]) -> Iterator[Session]:
    """A look into the process's SQLite file, through the app's own models."""
    engine = create_engine(env["DATABASE_URL"])
    try:
        with Session(engine) as db:
            yield db
    finally:
        engine.dispose()


def newer_than(fake: FakeSlack, old: SocketConnection) -> SocketConnection | None:
    now = fake.socket_mode.connected()
    return now if now is not None and now.id != old.id else None


def prompt_of(fake: FakeSlack, user_id: str) -> Message | None:
    channel = fake.dm_channel_id(user_id)
    found = [m for m in fake.messages(channel=channel) if "What's broken right now" in m.text]
    return found[0] if found else None


def test_run_over_socket_mode_enrols_answers_and_opens_a_loop(
    fake: FakeSlack,
    env: dict[str, str],
    running: tuple[subprocess.Popen[bytes], Output],
    tmp_path: Path,
) -> None:
    process, output = running
    connected = fake.wait_for(lambda f: f.socket_mode.connected() or output.ended.is_set(), timeout=60)
    assert connected is not True, f"`run` exited before connecting:\n{output.text()[-3000:]}"
    assert [c.response["ok"] for c in fake.calls("apps.connections.open") if c.response] == [True]
    sender = SlackSender(fake, mode="socket")
    ana = fake.add_user(name="ana", tz="Europe/Berlin")

    # A slash command: its ack payload is what the person sees, and they are enrolled.
    reply = sender.command(ana.id, "/loops", "start")
    assert (reply.status, reply.slack_error) == (200, None), output.text()[-3000:]
    assert "You're in" in reply.text
    assert any("You're in" in m.text for m in fake.ephemeral_for(ana.id) if m.source == "ack")
    with session(env) as db:
        person = db.scalars(select(Person).where(Person.slack_user_id == ana.id)).one()
    assert person.enrolled and person.next_prompt_at is not None

    # Slack refreshes the connection: the app comes back through apps.connections.open, and
    # everything after this goes over the new socket. (slack_sdk's builtin client reads the new
    # socket only once it has closed the old one, up to its 3 s receive timeout: wait for that.)
    first = fake.socket_mode.connected()
    assert first is not None
    fake.socket_mode.disconnect("refresh_requested")
    second = fake.wait_for(lambda f: newer_than(f, first) or output.ended.is_set(), timeout=30)
    assert isinstance(second, SocketConnection), output.text()[-3000:]
    fake.wait_for(lambda _f: not first.open, timeout=30)
    assert len(fake.calls("apps.connections.open")) == 2

    # The prompt comes from `slackbot tick` at the person's prompt time, against the same database.
    ticked = slackbot("tick", "--at", person.next_prompt_at.isoformat(), env=env, cwd=tmp_path)
    assert ticked.returncode == 0, ticked.stdout + ticked.stderr
    prompt = fake.wait_for(lambda f: prompt_of(f, ana.id))

    # A button click over the socket: the answer is stored and the prompt message updated.
    clicked = sender.click(ana.id, prompt, text="Nothing today")
    assert (clicked.status, clicked.slack_error) == (200, None), output.text()[-3000:]
    (envelope,) = fake.socket_mode.envelopes("interactive")
    assert envelope.payload["type"] == "block_actions" and envelope.acked
    fake.wait_for(lambda f: "Nothing broken today" in json.dumps(f.message(prompt.channel, prompt.ts).blocks))
    with session(env) as db:
        (delivery,) = db.scalars(select(Delivery).where(Delivery.kind == "prompt")).all()
    assert delivery.answer == "nothing"

    # A reply in the prompt's thread, a message event over the socket, opens a loop.
    _, said = sender.user_message(ana.id, "Exports time out\nfor: finance admins", thread_ts=prompt.ts)
    assert (said.status, said.slack_error) == (200, None)
    root = fake.wait_for(
        lambda f: next((m for m in f.messages(channel=prompt.channel) if m.text.startswith("Loop #1:")), None)
    )
    assert root.thread_ts in (None, root.ts), "the loop's root is a top-level message of the DM"
    assert root.text == "Loop #1: Exports time out — finance admins"
    with session(env) as db:
        (loop,) = db.scalars(select(Loop)).all()
    # (Where its thread is, the app stores after posting the root: no condition here to wait on.)
    assert (loop.number, loop.what, loop.for_whom, loop.state) == (
        1,
        "Exports time out",
        "finance admins",
        "open",
    )
    envelopes = fake.socket_mode.envelopes()
    assert [e.type for e in envelopes] == ["slash_commands", "interactive", "events_api"], "none retried"
    assert all(e.acked for e in envelopes)
    assert [e.connection_id for e in envelopes] == [first.id, second.id, second.id]

    # `/loops` is acknowledged over the socket and answered through its response_url, as over HTTP.
    history = sender.command(ana.id, "/loops", "")
    assert (history.status, history.slack_error) == (200, None), output.text()[-3000:]
    url = history.extra["response_url"]
    (answer,) = fake.wait_for(lambda f: f.response_url_posts(url) or None)
    assert "Exports time out" in json.dumps(answer["blocks"]), "her loop, in the answer"

    # Stopped as a developer stops it: Ctrl-C.
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0, output.text()[-3000:]
    output.join(timeout=10)
    text = output.text()
    assert "Loops is running in Socket Mode" in text
    assert "Traceback" not in text, text[-3000:]
