"""Fixtures for the emulator's own tests: a running FakeSlack, a hand-driven clock, and a tiny
HTTP "app" that verifies Slack's signatures with slack_sdk and answers as a test tells it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.signature import Clock, SignatureVerifier

from slackbot.fakeslack import FakeSlack, SlackSender, User


class FakeClock(Clock):
    """Time that moves only when a test says so; starts at the real now so signatures stay fresh."""

    def __init__(self, start: float | None = None) -> None:
        self.value = float(int(time.time())) if start is None else start

    def __call__(self) -> float:
        return self.value

    def now(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeSlack]:
    with FakeSlack(signing_secret="s3cret", clock=clock) as running:
        yield running


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=fake.bot_token, base_url=fake.api_url)


@pytest.fixture
def ana(fake: FakeSlack) -> User:
    return fake.add_user("ana", tz="Europe/Berlin")


@pytest.fixture
def ben(fake: FakeSlack) -> User:
    return fake.add_user("ben", tz="America/New_York")


@dataclass
class Received:
    """One request the test app got."""

    headers: dict[str, str]
    body: bytes
    valid_signature: bool

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def payload(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.form()["payload"])
        return result

    def json(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.body)
        return result


Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Receiver:
    """The app side of SlackSender tests: records requests, refuses bad signatures with 401."""

    verifier: SignatureVerifier
    requests: list[Received] = field(default_factory=list)
    answer: Callable[[Received], Answer] = lambda _r: (200, {}, b"")
    url: str = ""

    def reply_json(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.answer = lambda _r: (200, {"Content-Type": "application/json"}, data)

    @property
    def last(self) -> Received:
        return self.requests[-1]


@pytest.fixture
def receiver(fake: FakeSlack) -> Iterator[Receiver]:
    # Like the app under test, the receiver checks timestamps against the real wall clock.
    state = Receiver(verifier=SignatureVerifier(fake.signing_secret))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = dict(self.headers.items())
            valid = state.verifier.is_valid_request(body, headers)
            received = Received(headers=headers, body=body, valid_signature=valid)
            state.requests.append(received)
            status, extra, data = state.answer(received) if valid else (401, {}, b"invalid signature")
            self.send_response(status)
            for key, value in extra.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def sender(fake: FakeSlack, receiver: Receiver) -> SlackSender:
    return SlackSender(fake, app_url=receiver.url)
