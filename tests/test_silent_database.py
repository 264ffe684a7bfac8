"""A PostgreSQL server that stops answering: /healthz says 503 and people get the apology, in time.

The app reaches the test's PostgreSQL through a TCP proxy that the test can freeze: it keeps
every connection open and accepts new ones, but passes no byte on, as a stopped server process
or a frozen host does (its kernel still holds the sockets, so nothing tells the client).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from slackbot.app.services import build_services
from slackbot.blocks.errors import DATABASE_DOWN
from slackbot.fakeslack import FakeSlack, SlackSender
from slackbot.slack.client import delivery_client
from slackbot.store.db import Database
from slackbot.web import HttpServer, wsgi_app
from tests.support.bot import settings_for

SLACKS_WAIT = 3.0  # seconds Slack waits for an answer


class FreezingProxy:
    """Passes bytes between the app and PostgreSQL until frozen; frozen, it holds them."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.thawed = threading.Event()
        self.thawed.set()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self.sockets += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                self.thawed.wait()
                target.sendall(data)
        except OSError:
            pass
        for end in (source, target):
            end.close()

    def freeze(self) -> None:
        self.thawed.clear()

    def thaw(self) -> None:
        self.thawed.set()

    def close(self) -> None:
        self.thaw()
        for each in self.sockets:
            each.close()


@pytest.fixture
def proxy(database_url: str) -> Iterator[FreezingProxy]:
    url = make_url(database_url)
    proxy = FreezingProxy((url.host or "127.0.0.1", url.port or 5432))
    yield proxy
    proxy.close()


def health(base: str) -> int:
    try:
        with urlopen(f"{base}/healthz", timeout=SLACKS_WAIT) as response:  # noqa: S310 - loopback
            return int(response.status)
    except HTTPError as error:
        return error.code


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_silent_postgresql_gets_503_and_the_apology_within_slacks_wait(
    database: Database, database_url: str, proxy: FreezingProxy
) -> None:
    through_proxy = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    silent = Database(through_proxy.render_as_string(hide_password=False))
    with FakeSlack() as fake:
        settings = settings_for(fake, database_url)
        services = build_services(settings, silent, delivery_client(settings))
        server = HttpServer(wsgi_app(settings, silent, services)).start()
        sender = SlackSender(fake, app_url=f"{server.url}/slack/events", timeout=SLACKS_WAIT)
        ana = fake.add_user(name="ana")
        try:
            assert health(server.url) == 200
            reply = sender.command(ana.id, "/loops", "help")
            assert reply.status == 200 and "/loops start" in reply.text

            proxy.freeze()
            # Each within Slack's wait (the sender's and urlopen's timeout), whether the
            # connection it gets from the pool is an old one or has to be made.
            assert health(server.url) == 503
            for _ in range(3):
                reply = sender.command(ana.id, "/loops", "help")
                assert reply.slack_error is None, (reply.slack_error, reply.text)
                assert json.loads(reply.text)["text"] == DATABASE_DOWN
            assert health(server.url) == 503

            proxy.thaw()
            assert health(server.url) == 200, "the pool recovers once the server answers again"
            reply = sender.command(ana.id, "/loops", "help")
            assert "/loops start" in reply.text
        finally:
            server.stop()
            services.shutdown()
            silent.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_sessions_have_a_statement_timeout(database: Database) -> None:
    with database.engine.connect() as connection:
        assert connection.execute(text("SHOW statement_timeout")).scalar() == "1min"
