"""Socket Mode against slack_sdk's own SocketModeClient: tickets, hello, acks, retries, refresh.

The client is slack_sdk's builtin one, as Bolt's SocketModeHandler uses it; it connects to the
emulator's wss:// URL without TLS because the port is not 443. Nothing here sleeps: every wait
is ``fake.wait_for`` on the emulator's state, or a queue read with a timeout.
"""

from __future__ import annotations

import json
import queue
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from urllib.request import Request, urlopen

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from slackbot.fakeslack import FakeSlack, SlackSender, User
from slackbot.fakeslack.socket_mode import SocketConnection

NO_ACK = object()  # what a test's answer returns to leave an envelope unacknowledged
Answer = Callable[[SocketModeRequest], Any]


@dataclass
class SocketApp:
    """An app on slack_sdk's SocketModeClient that acks as the test tells it and records all."""

    client: SocketModeClient
    answer: Answer = lambda _request: None
    requests: queue.Queue[SocketModeRequest] = field(default_factory=queue.Queue)
    messages: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)

    def handle(self, client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        self.requests.put(request)
        payload = self.answer(request)
        if payload is not NO_ACK:
            client.send_socket_mode_response(SocketModeResponse(request.envelope_id, payload))

    def next_request(self, timeout: float = 5.0) -> SocketModeRequest:
        return self.requests.get(timeout=timeout)

    def next_message(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next message the client read off the socket (envelopes, and hello)."""
        return self.messages.get(timeout=timeout)


@pytest.fixture
def app(fake: FakeSlack) -> Iterator[SocketApp]:
    client = SocketModeClient(app_token=fake.app_token, web_client=WebClient(base_url=fake.api_url))
    state = SocketApp(client)
    client.socket_mode_request_listeners.append(state.handle)
    client.message_listeners.append(lambda _c, message, _raw: state.messages.put(message))
    client.connect()
    fake.wait_for(lambda f: f.socket_mode.connected())
    yield state
    # Closed from Slack's side first: slack_sdk's close() alone waits out its 3 s receive timeout.
    client.auto_reconnect_enabled = False
    fake.socket_mode.stop()
    client.close()


@pytest.fixture
def socket_sender(fake: FakeSlack) -> SlackSender:
    return SlackSender(fake, mode="socket")


def opened_url(fake: FakeSlack) -> str:
    answer = WebClient(base_url=fake.api_url).apps_connections_open(app_token=fake.app_token)
    return str(answer["url"])


def error_of(call: Callable[[], Any]) -> str:
    with pytest.raises(SlackApiError) as caught:
        call()
    return str(caught.value.response["error"])


# ---------------------------------------------------------------------- apps.connections.open


def test_connections_open_gives_a_one_time_wss_url_on_loopback(fake: FakeSlack) -> None:
    url = urlsplit(opened_url(fake))
    assert (url.scheme, url.hostname, url.path) == ("wss", "127.0.0.1", "/link/")
    assert url.port is not None and url.port != 443, "slack_sdk connects without TLS only off 443"
    query = parse_qs(url.query)
    assert query["app_id"] == [fake.app_id] and len(query["ticket"][0]) >= 32
    assert urlsplit(opened_url(fake)).query != url.query, "every call hands out a new ticket"
    (call, _) = fake.calls("apps.connections.open")
    assert call.params == {} and call.response == {"ok": True, "url": url.geturl()}


def test_only_the_app_level_token_in_the_header_opens_a_connection(fake: FakeSlack) -> None:
    api = WebClient(base_url=fake.api_url)
    assert fake.app_token.startswith(f"xapp-1-{fake.app_id}-")
    assert error_of(lambda: api.apps_connections_open(app_token=fake.bot_token)) == "not_allowed_token_type"
    assert error_of(lambda: api.apps_connections_open(app_token="xapp-1-A0NOPE-1-abc")) == "invalid_auth"
    assert error_of(lambda: api.api_call("apps.connections.open")) == "not_authed"
    # slack_sdk always sends the token as a header; the docs say a POST parameter is an error.
    form = urlencode({"token": fake.app_token}).encode()
    with urlopen(Request(fake.api_url + "apps.connections.open", data=form, method="POST")) as answer:  # noqa: S310
        assert json.loads(answer.read()) == {"ok": False, "error": "not_authed"}
    app_as_bot = WebClient(token=fake.app_token, base_url=fake.api_url)
    assert error_of(lambda: app_as_bot.chat_postMessage(channel="C1", text="hi")) == "not_allowed_token_type"
    fake.revoke_token(fake.app_token)
    assert error_of(lambda: api.apps_connections_open(app_token=fake.app_token)) == "token_revoked"
    assert not fake.socket_mode.running, "no ticket was handed out, so no port was opened"


def test_a_ticket_is_good_for_one_connection_of_this_app(fake: FakeSlack) -> None:
    plain = opened_url(fake).replace("wss://", "ws://", 1)
    with connect(plain, open_timeout=5) as first:
        hello = json.loads(first.recv(timeout=5))
        assert hello["type"] == "hello"
        with pytest.raises(InvalidStatus) as again:
            connect(plain, open_timeout=5)
        assert again.value.response.status_code == 401
    other_app = opened_url(fake).replace("wss://", "ws://", 1).replace(fake.app_id, "A0OTHER")
    with pytest.raises(InvalidStatus) as wrong:
        connect(other_app, open_timeout=5)
    assert wrong.value.response.status_code == 401
    elsewhere = opened_url(fake).replace("wss://", "ws://", 1).replace("/link/", "/rtm/")
    with pytest.raises(InvalidStatus) as lost:
        connect(elsewhere, open_timeout=5)
    assert lost.value.response.status_code == 404


# ---------------------------------------------------------------------- hello and acks


def test_slack_sdks_client_connects_and_hears_hello(fake: FakeSlack, app: SocketApp) -> None:
    (connection,) = fake.socket_mode.connections()
    hello = app.next_message()
    assert hello == connection.hello
    assert hello["type"] == "hello"
    assert hello["num_connections"] == 1
    assert hello["connection_info"] == {"app_id": fake.app_id}
    assert hello["debug_info"]["host"] and hello["debug_info"]["approximate_connection_time"] > 0
    assert app.client.is_connected()


def test_num_connections_counts_the_apps_open_sockets(fake: FakeSlack, app: SocketApp) -> None:
    with connect(opened_url(fake).replace("wss://", "ws://", 1), open_timeout=5) as second:
        assert json.loads(second.recv(timeout=5))["num_connections"] == 2


def test_a_command_acked_in_time_shows_its_payload_to_the_person(
    fake: FakeSlack, app: SocketApp, socket_sender: SlackSender, ana: User
) -> None:
    app.answer = lambda request: {"text": f"you said {request.payload['text']}"}
    reply = socket_sender.command(ana.id, "/loops", "help")
    assert (reply.status, reply.json(), reply.slack_error) == (200, {"text": "you said help"}, None)
    assert reply.elapsed < 3.0
    (envelope,) = fake.socket_mode.envelopes()
    assert (envelope.type, envelope.accepts_response_payload, envelope.retry_attempt) == (
        "slash_commands",
        True,
        None,
    )
    request = app.next_request()
    assert request.envelope_id == envelope.envelope_id == reply.extra["envelope_id"]
    fields = request.payload
    assert (fields["command"], fields["text"], fields["user_id"], fields["team_id"]) == (
        "/loops",
        "help",
        ana.id,
        fake.team_id,
    )
    assert all(isinstance(v, str) for v in fields.values()), "the form fields, as strings"
    assert fields["response_url"] == reply.extra["response_url"]
    (shown,) = fake.ephemeral_for(ana.id)
    assert (shown.text, shown.source) == ("you said help", "ack")


def test_a_hosted_workspaces_command_travels_over_the_apps_one_socket(
    fake: FakeSlack, app: SocketApp
) -> None:
    """One app-level connection carries every workspace's payloads, as in Slack."""
    other = fake.add_workspace("T0OTHER", "other-demo", "Other Demo")
    person = other.add_user("ana")
    assert other.app_token == fake.app_token
    app.answer = lambda request: {"text": f"hello {request.payload['team_id']}"}
    reply = SlackSender(other, mode="socket").command(person.id, "/loops", "help")
    assert (reply.status, reply.json()) == (200, {"text": "hello T0OTHER"})
    assert [m.text for m in other.ephemeral_for(person.id)] == ["hello T0OTHER"]
    assert fake.ephemeral_for(person.id) == []


def test_a_command_not_acked_in_3_seconds_fails_for_the_person_and_is_not_retried(
    fake: FakeSlack, app: SocketApp, socket_sender: SlackSender, ana: User
) -> None:
    app.answer = lambda _request: NO_ACK
    reply = socket_sender.command(ana.id, "/loops", "help")
    assert (reply.status, reply.slack_error) == (0, "operation_timeout")
    assert 3.0 <= reply.elapsed < 5.0
    assert len(fake.socket_mode.envelopes()) == 1
    (shown,) = fake.ephemeral_for(ana.id)
    assert shown.source == "slack" and "operation_timeout" in shown.text


def test_an_ack_after_the_deadline_counts_as_none(fake: FakeSlack, ana: User) -> None:
    with connect(opened_url(fake).replace("wss://", "ws://", 1), open_timeout=5) as raw:
        raw.recv(timeout=5)  # hello
        fake.wait_for(lambda f: f.socket_mode.connected())
        late = SlackSender(fake, mode="socket", ack_deadline=0.2)
        reply = late.command(ana.id, "/loops", "help")
        envelope = json.loads(raw.recv(timeout=5))
        raw.send(json.dumps({"envelope_id": envelope["envelope_id"], "payload": {"text": "too late"}}))
        (sent,) = fake.wait_for(lambda f: [e for e in f.socket_mode.envelopes() if e.acked])
    assert reply.slack_error == "operation_timeout"
    assert sent.ack_seconds is not None and sent.ack_seconds > 0.2
    assert [m.text for m in fake.ephemeral_for(ana.id) if m.source == "ack"] == []


def test_an_event_not_acked_is_sent_again_as_a_retry(fake: FakeSlack, app: SocketApp, ana: User) -> None:
    calls: list[SocketModeRequest] = []

    def ack_the_second(request: SocketModeRequest) -> Any:
        calls.append(request)
        return NO_ACK if len(calls) == 1 else None

    app.answer = ack_the_second
    sender = SlackSender(fake, mode="socket", ack_deadline=0.5)
    message, reply = sender.user_message(ana.id, "Checkout is broken")
    assert (reply.status, reply.slack_error) == (200, None)
    first, second = fake.socket_mode.envelopes()
    assert (first.retry_attempt, first.retry_reason, first.acked) == (None, None, False)
    assert (second.retry_attempt, second.retry_reason, second.acked) == (1, "timeout", True)
    assert first.envelope_id != second.envelope_id and reply.extra["envelopes"] == [
        first.envelope_id,
        second.envelope_id,
    ]
    assert [r.retry_attempt for r in calls] == [None, 1]
    assert calls[1].retry_reason == "timeout"
    assert calls[0].payload == calls[1].payload, "the same event_callback, event_id and all"
    assert calls[1].payload["event_id"] == reply.event_id
    assert calls[1].payload["event"]["ts"] == message.ts
    assert (second.type, second.accepts_response_payload) == ("events_api", False)


def test_an_event_never_acked_is_retried_three_times_then_dropped(
    fake: FakeSlack, app: SocketApp, ana: User
) -> None:
    app.answer = lambda _request: NO_ACK
    reply = SlackSender(fake, mode="socket", ack_deadline=0.2).user_change(ana.id)
    assert (reply.status, reply.slack_error) == (0, "timeout")
    attempts = [(e.retry_attempt, e.retry_reason) for e in fake.socket_mode.envelopes()]
    assert attempts == [(None, None), (1, "timeout"), (2, "timeout"), (3, "timeout")]
    assert [app.next_request().retry_attempt for _ in attempts] == [None, 1, 2, 3]


def test_a_retry_played_by_hand_is_sent_once(fake: FakeSlack, app: SocketApp, ana: User) -> None:
    sender = SlackSender(fake, mode="socket")
    reply = sender.event({"type": "user_change", "user": fake.user(ana.id).to_api()}, retry_num=2)
    assert reply.status == 200
    request = app.next_request()
    assert (request.retry_attempt, request.retry_reason) == (2, "timeout")


# ---------------------------------------------------------------------- interactions


def test_a_click_and_a_view_submission_go_as_interactive_envelopes(
    fake: FakeSlack, app: SocketApp, client: WebClient, socket_sender: SlackSender, ana: User
) -> None:
    posted = client.chat_postMessage(
        channel=ana.id,
        text="Prompt",
        blocks=[
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "nothing",
                        "text": {"type": "plain_text", "text": "Nothing"},
                    }
                ],
            }
        ],
    )
    reply = socket_sender.click(ana.id, fake.message(posted["channel"], posted["ts"]), text="Nothing")
    assert (reply.status, reply.text) == (200, "")
    clicked = app.next_request()
    assert (clicked.type, clicked.accepts_response_payload) == ("interactive", False)
    assert clicked.payload["type"] == "block_actions"
    assert clicked.payload["actions"][0]["action_id"] == "nothing"
    view = client.views_open(
        trigger_id=reply.extra["trigger_id"],
        view={
            "type": "modal",
            "callback_id": "why",
            "title": {"type": "plain_text", "text": "Why"},
            "submit": {"type": "plain_text", "text": "Send"},
            "blocks": [
                {
                    "type": "input",
                    "block_id": "why",
                    "label": {"type": "plain_text", "text": "Why"},
                    "element": {"type": "plain_text_input", "action_id": "text"},
                }
            ],
        },
    )["view"]
    app.answer = lambda _request: {"response_action": "errors", "errors": {"why": "Say more"}}
    submitted = socket_sender.submit_view(ana.id, view["id"], {"why.text": "eh"})
    assert (submitted.status, submitted.slack_error) == (200, None)
    request = app.next_request()
    assert (request.type, request.accepts_response_payload) == ("interactive", True)
    assert request.payload["view"]["state"]["values"]["why"]["text"]["value"] == "eh"
    assert fake.view_errors(view["id"]) == {"why": "Say more"}, "the ack payload is applied"
    assert [v.id for v in fake.views_of(ana.id)] == [view["id"]], "the modal stays open"


def test_without_a_connection_slack_cannot_dispatch(fake: FakeSlack, ana: User) -> None:
    reply = SlackSender(fake, mode="socket").command(ana.id, "/loops", "help")
    assert (reply.status, reply.slack_error) == (0, "dispatch_failed")
    with pytest.raises(RuntimeError):
        SlackSender(fake, mode="socket").url_verification()
    with pytest.raises(ValueError, match="request URL"):
        SlackSender(fake)


# ---------------------------------------------------------------------- disconnect and refresh


def _newer_than(old: SocketConnection) -> Callable[[FakeSlack], SocketConnection | None]:
    def newer(fake: FakeSlack) -> SocketConnection | None:
        now = fake.socket_mode.connected()
        return now if now is not None and now.id != old.id else None

    return newer


def test_refresh_requested_makes_the_client_reconnect_and_later_envelopes_follow(
    fake: FakeSlack, app: SocketApp, socket_sender: SlackSender, ana: User
) -> None:
    old = fake.socket_mode.connected()
    assert old is not None
    fake.socket_mode.disconnect("refresh_requested")
    new = fake.wait_for(_newer_than(old), timeout=10)
    assert new.hello is not None and new.ticket != old.ticket
    assert len(fake.calls("apps.connections.open")) == 2, "a fresh URL, asked for again"
    fake.wait_for(lambda _f: not old.open, timeout=10)  # the client closes the old socket itself
    reply = socket_sender.command(ana.id, "/loops", "help")
    assert reply.status == 200
    (envelope,) = fake.socket_mode.envelopes()
    assert envelope.connection_id == new.id and envelope.acked_on == new.id
    assert [c.id for c in fake.socket_mode.connections()] == [new.id]


def test_disconnect_says_why_and_nothing_more_is_sent_there(fake: FakeSlack, ana: User) -> None:
    with connect(opened_url(fake).replace("wss://", "ws://", 1), open_timeout=5) as raw:
        raw.recv(timeout=5)  # hello
        connection = fake.wait_for(lambda f: f.socket_mode.connected())
        fake.socket_mode.disconnect("link_disabled")
        told = json.loads(raw.recv(timeout=5))
        assert (told["type"], told["reason"]) == ("disconnect", "link_disabled")
        assert told["debug_info"]["host"]
        assert connection.open and connection.disconnect_reason == "link_disabled"
        assert fake.socket_mode.connected() is None
        reply = SlackSender(fake, mode="socket").command(ana.id, "/loops", "help")
        assert reply.slack_error == "dispatch_failed"
    assert fake.socket_mode.envelopes() == []


def test_a_disconnect_reason_must_be_one_slack_sends(fake: FakeSlack, app: SocketApp) -> None:
    with pytest.raises(ValueError, match="refresh_requested"):
        fake.socket_mode.disconnect("goodbye")


def test_stopping_the_fake_closes_the_socket(fake: FakeSlack, app: SocketApp) -> None:
    (connection,) = fake.socket_mode.connections()
    app.client.auto_reconnect_enabled = False  # there will be nothing to reconnect to
    fake.stop()
    assert connection.closed_at is not None and not fake.socket_mode.running
    assert fake.socket_mode.connections() == []
