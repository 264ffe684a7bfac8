"""Socket Mode: Slack's end of the app's websocket, served with the ``websockets`` library.

The app calls ``apps.connections.open`` with its app-level token and gets a one-time
``wss://127.0.0.1:<port>/link/?ticket=…&app_id=…`` URL. The port is never 443, so slack_sdk's
builtin client connects without TLS (it does so "only for library testing"), as does any client
given the ``ws://`` form. On connect the fake says ``hello``; then ``deliver`` sends envelopes
(``events_api``, ``slash_commands``, ``interactive``) and waits for the app's ack, an
``{"envelope_id": …}`` message with an optional ``payload``. An events_api envelope that is not
acked in time is sent again with ``retry_attempt``/``retry_reason``, as Slack retries events;
commands and interactions are not retried (the person sees an error instead). ``disconnect``
asks the app to reconnect, through ``apps.connections.open`` again.

What Slack does that is verified, and what is assumed here, is listed in docs beside each
constant. Everything is recorded under the workspace lock, so ``FakeSlack.wait_for`` wakes on
connections, envelopes and acks without sleeping.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from .state import JSON, Workspace

ACK_DEADLINE = 3.0  # seconds Slack waits for an ack before it retries or shows an error, as over HTTP
# Slack retries an event it got no ack for up to 3 times; over HTTP "nearly immediately", then
# after 1 and after 5 minutes (Events API docs). That Socket Mode retries the same way is assumed.
# The fake sends each retry as soon as the previous ack deadline passed, so that no test waits
# minutes: the count and the fields are Slack's, the spacing is not. Each retry is a new envelope
# (a fresh envelope_id) around the same payload, event_id and all: also an assumption.
EVENT_RETRIES = 3
# The reason Slack gives on a Socket Mode retry: "timeout" in the envelopes captured in
# python-slack-sdk's tests (tests/slack_sdk/socket_mode/mock_socket_mode_server.py) and in
# java-slack-sdk's EventContext ("retry_reason": "timeout", in Socket Mode).
RETRY_REASON = "timeout"
LINK_PATH = "/link/"  # the path of the URL apps.connections.open documents
DISCONNECT_REASONS = ("refresh_requested", "warning", "link_disabled")
# What the hello's debug_info says; 18060 s (~5 h) is a value published hello examples show.
APPROXIMATE_CONNECTION_TIME = 18060


def accepts_response_payload(kind: str, payload: JSON) -> bool:
    """Whether Slack reads a ``payload`` in the ack of this envelope.

    Verified (captured envelopes in python-slack-sdk's tests): ``slash_commands`` true,
    ``events_api`` false, an ``interactive`` shortcut false. Assumed from what each payload
    type can answer over HTTP: ``view_submission`` (``response_action``) and
    ``block_suggestion`` (options) true, every other interaction false.
    """
    if kind == "slash_commands":
        return True
    if kind == "interactive":
        return payload.get("type") in ("view_submission", "block_suggestion")
    return False


@dataclass
class SocketConnection:
    """One websocket the app opened with a ticket."""

    id: str
    ticket: str
    opened_at: float
    hello: JSON | None = None
    disconnect_reason: str | None = None  # set once the fake asked the app to go elsewhere
    closed_at: float | None = None
    close_code: int | None = None
    received: list[str] = field(default_factory=list)  # every text message the app sent
    stray: list[Any] = field(default_factory=list)  # what the app sent that acked nothing
    ws: ServerConnection | None = field(default=None, repr=False, compare=False)

    @property
    def open(self) -> bool:
        """Said hello and not closed yet."""
        return self.hello is not None and self.closed_at is None


@dataclass
class Envelope:
    """One envelope the fake sent, and the app's ack if it came."""

    envelope_id: str
    type: str
    payload: JSON
    accepts_response_payload: bool
    connection_id: str
    sent_at: float  # time.monotonic(): deadlines are real time, whatever the fake's clock says
    retry_attempt: int | None = None
    retry_reason: str | None = None
    acked_at: float | None = None
    ack: JSON | None = None  # the whole ack message
    acked_on: str | None = None  # the connection the ack came over

    @property
    def acked(self) -> bool:
        """The app acknowledged it (in time or not: compare ``ack_seconds`` to the deadline)."""
        return self.acked_at is not None

    @property
    def ack_seconds(self) -> float | None:
        """How long the app took to ack."""
        return None if self.acked_at is None else self.acked_at - self.sent_at

    @property
    def ack_payload(self) -> JSON | None:
        """The ``payload`` of the ack, if it had one that is a JSON object."""
        payload = (self.ack or {}).get("payload")
        return payload if isinstance(payload, dict) else None

    def to_wire(self) -> JSON:
        """The envelope as it goes over the socket."""
        out: JSON = {
            "envelope_id": self.envelope_id,
            "payload": self.payload,
            "type": self.type,
            "accepts_response_payload": self.accepts_response_payload,
        }
        if self.retry_attempt is not None:
            out["retry_attempt"] = self.retry_attempt
            out["retry_reason"] = self.retry_reason
        return out


class SocketModeServer:
    """The websocket side of one fake workspace; its port opens on the first ``listen``."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: list[SocketConnection] = []
        self._envelopes: list[Envelope] = []
        self._by_id: dict[str, Envelope] = {}
        self._seq = 0

    # ------------------------------------------------------------------ lifecycle

    def listen(self) -> str:
        """Open the port if it is not open yet; ``wss://127.0.0.1:<port>/link/`` (without the query)."""
        with self._ws.lock:
            if self._server is None:
                self._server = serve(
                    self._handle,
                    "127.0.0.1",
                    0,
                    process_request=self._check_ticket,
                    compression=None,
                    close_timeout=2,
                    server_header="fakeslack",
                )
                self._thread = threading.Thread(
                    target=self._server.serve_forever, name="fakeslack-socket-mode", daemon=True
                )
                self._thread.start()
            port = self._server.socket.getsockname()[1]
        return f"wss://127.0.0.1:{port}{LINK_PATH}"

    @property
    def running(self) -> bool:
        """Whether the websocket port is open."""
        return self._server is not None

    def stop(self) -> None:
        """Close every connection (code 1001, going away) and the port."""
        with self._ws.lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is not None:
            server.shutdown()
        if thread is not None:
            thread.join(timeout=5)

    # ------------------------------------------------------------------ reading what happened

    def connections(self, *, include_closed: bool = False) -> list[SocketConnection]:
        """Connections that said hello, oldest first; closed ones too if asked."""
        with self._ws.lock:
            return [c for c in self._connections if c.hello is not None and (include_closed or c.open)]

    def connected(self) -> SocketConnection | None:
        """The connection the next envelope goes to: the newest open one not asked to leave."""
        with self._ws.lock:
            for connection in reversed(self._connections):
                if connection.open and connection.disconnect_reason is None:
                    return connection
            return None

    def envelopes(self, kind: str | None = None) -> list[Envelope]:
        """Every envelope sent, oldest first, optionally of one type."""
        with self._ws.lock:
            return [e for e in self._envelopes if kind in (None, e.type)]

    # ------------------------------------------------------------------ playing Slack

    def disconnect(
        self, reason: str = "refresh_requested", connection: SocketConnection | None = None
    ) -> None:
        """Send ``{"type": "disconnect", "reason": …}``; no envelope goes to that connection again.

        Slack sends ``warning`` shortly before it refreshes a connection, ``refresh_requested``
        when the app should reconnect now, and ``link_disabled`` when Socket Mode was turned off.
        Which of them the client reacts to, and how, is the client's business; slack_sdk's
        builtin client reconnects on any disconnect message. The fake does not close the
        connection itself: the app closes the old one once it has a new one.
        """
        if reason not in DISCONNECT_REASONS:
            raise ValueError(f"Slack's disconnect reasons are {DISCONNECT_REASONS}, not {reason!r}")
        with self._ws.lock:
            target = connection or self.connected()
            if target is None or target.ws is None:
                raise LookupError("no open Socket Mode connection to disconnect")
            target.disconnect_reason = reason
            self._ws.changed()
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": self._host()}}
        with contextlib.suppress(ConnectionClosed):  # it may already be gone; nothing to ask then
            target.ws.send(json.dumps(message))

    def deliver(
        self,
        kind: str,
        payload: JSON,
        *,
        ack_deadline: float = ACK_DEADLINE,
        retries: int = 0,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
    ) -> list[Envelope]:
        """Send an envelope and wait for its ack; retry unacked ones ``retries`` times.

        Returns every envelope sent, the last one acked or not; [] when no connection was open
        (Slack then tells the person ``dispatch_failed``). ``retry_attempt``/``retry_reason``
        mark the first envelope as a retry already, for a test that plays one by hand.
        """
        sent: list[Envelope] = []
        attempt, reason = retry_attempt, retry_reason
        for _ in range(retries + 1):
            envelope = self._send(kind, payload, attempt, reason)
            if envelope is None:
                break
            sent.append(envelope)
            if self._wait_for_ack(envelope, ack_deadline):
                break
            attempt, reason = (attempt or 0) + 1, RETRY_REASON
        return sent

    # ------------------------------------------------------------------ plumbing

    def _host(self) -> str:
        return "applink-fakeslack-" + self._ws.team_id.lower()

    def _send(self, kind: str, payload: JSON, attempt: int | None, reason: str | None) -> Envelope | None:
        while True:
            with self._ws.lock:
                target = self.connected()
                if target is None or target.ws is None:
                    return None
                envelope = Envelope(
                    envelope_id=str(uuid.uuid4()),
                    type=kind,
                    payload=payload,
                    accepts_response_payload=accepts_response_payload(kind, payload),
                    connection_id=target.id,
                    sent_at=time.monotonic(),
                    retry_attempt=attempt,
                    retry_reason=reason if attempt is not None else None,
                )
                self._envelopes.append(envelope)
                self._by_id[envelope.envelope_id] = envelope
                self._ws.changed()
            try:
                target.ws.send(json.dumps(envelope.to_wire()))
                return envelope
            except ConnectionClosed:
                # The socket went away under us; Slack would use another one if there is one.
                with self._ws.lock:
                    self._closed(target, None)

    def _wait_for_ack(self, envelope: Envelope, deadline: float) -> bool:
        """Whether the ack came within ``deadline`` seconds of sending (a late one counts as none)."""
        until = envelope.sent_at + deadline
        with self._ws.cond:
            while envelope.acked_at is None:
                remaining = until - time.monotonic()
                if remaining <= 0:
                    return False
                self._ws.cond.wait(remaining)
            return envelope.acked_at <= until

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        """Accept the handshake only for a fresh ticket of this app, at Slack's path.

        Assumed: Slack refuses a used or unknown ticket before the websocket opens; the
        status it uses is not documented (401 here).
        """
        parts = urlsplit(request.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self._ws.lock:
            ticket = self._ws.tickets.get(query.get("ticket", ""))
            if parts.path != LINK_PATH:
                return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
            if ticket is None or ticket.used or query.get("app_id") != self._ws.app_id:
                return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid_ticket\n")
            ticket.used = True
            self._ws.changed()
        return None

    def _handle(self, ws: ServerConnection) -> None:
        request = ws.request
        ticket = parse_qs(urlsplit(request.path).query).get("ticket", [""])[-1] if request else ""
        with self._ws.lock:
            self._seq += 1
            record = SocketConnection(id=f"S{self._seq}", ticket=ticket, opened_at=self._ws.now(), ws=ws)
            self._connections.append(record)
            hello: JSON = {
                "type": "hello",
                "num_connections": 1 + sum(1 for c in self._connections if c.open),
                "debug_info": {
                    "host": self._host(),
                    "build_number": 1,
                    "approximate_connection_time": APPROXIMATE_CONNECTION_TIME,
                },
                "connection_info": {"app_id": self._ws.app_id},
            }
        try:
            ws.send(json.dumps(hello))
            with self._ws.lock:
                record.hello = hello
                self._ws.changed()
            for message in ws:
                self._receive(record, message)
        except ConnectionClosed:
            pass
        finally:
            with self._ws.lock:
                self._closed(record, ws.close_code)

    def _closed(self, record: SocketConnection, code: int | None) -> None:
        if record.closed_at is None:
            record.closed_at = self._ws.now()
            record.close_code = code
            self._ws.changed()

    def _receive(self, record: SocketConnection, message: str | bytes) -> None:
        text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = text
        now = time.monotonic()
        with self._ws.lock:
            record.received.append(text)
            envelope_id = body.get("envelope_id") if isinstance(body, dict) else None
            envelope = self._by_id.get(envelope_id) if isinstance(envelope_id, str) else None
            if envelope is None or envelope.acked_at is not None:
                record.stray.append(body)
            else:
                envelope.acked_at = now
                envelope.ack = body
                envelope.acked_on = record.id
            self._ws.changed()
