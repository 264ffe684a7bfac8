"""A real slack_bolt App, served over WSGI, against the emulator: the pieces fit as with Slack."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_bolt import Ack, App, Respond, Say
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from slackbot.fakeslack import FakeSlack, SlackSender, User


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def build_app(fake: FakeSlack) -> App:
    app = App(
        signing_secret=fake.signing_secret,
        client=WebClient(token=fake.bot_token, base_url=fake.api_url),
    )

    @app.command("/loops")
    def loops(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack(text="Opening…")
        client.views_open(
            trigger_id=body["trigger_id"],
            view={
                "type": "modal",
                "callback_id": "start",
                "title": {"type": "plain_text", "text": "Start a loop"},
                "submit": {"type": "plain_text", "text": "Start"},
                "blocks": [
                    {
                        "type": "input",
                        "block_id": "problem",
                        "label": {"type": "plain_text", "text": "Problem"},
                        "element": {"type": "plain_text_input", "action_id": "text"},
                    }
                ],
            },
        )

    @app.view("start")
    def start(ack: Ack, view: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        text = view["state"]["values"]["problem"]["text"]["value"]
        if len(text) < 5:
            ack(response_action="errors", errors={"problem": "Say a bit more"})
            return
        ack()
        client.chat_postMessage(
            channel=body["user"]["id"],
            text=f"Loop started: {text}",
            blocks=[
                {"type": "section", "text": {"type": "mrkdwn", "text": f"Loop started: *{text}*"}},
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "done",
                            "text": {"type": "plain_text", "text": "Done"},
                        }
                    ],
                },
            ],
        )

    @app.action("done")
    def done(ack: Ack, respond: Respond) -> None:
        ack()
        respond(text="Closed the loop", replace_original=True)

    @app.event("message")
    def message(event: dict[str, Any], say: Say) -> None:
        if event.get("channel_type") == "im" and "bot_id" not in event:
            say(text=f"You said: {event['text']}", thread_ts=event["ts"])

    return app


@pytest.fixture
def bolt(fake: FakeSlack) -> Iterator[SlackSender]:
    handler = SlackRequestHandler(build_app(fake))
    server: WSGIServer = make_server("127.0.0.1", 0, handler, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield SlackSender(fake, app_url=f"http://127.0.0.1:{server.server_port}/slack/events")
    server.shutdown()
    server.server_close()


def test_a_bolt_app_runs_a_whole_conversation(fake: FakeSlack, bolt: SlackSender, ana: User) -> None:
    reply = bolt.command(ana.id, "/loops", "")
    assert reply.status == 200 and reply.slack_error is None
    assert [m.text for m in fake.ephemeral_for(ana.id)] == ["Opening…"]
    (modal,) = fake.wait_for(lambda f: f.views_of(ana.id))

    assert bolt.submit_view(ana.id, modal.id, {"text": "meh"}).slack_error is None
    assert fake.view_errors(modal.id) == {"problem": "Say a bit more"}

    bolt.submit_view(ana.id, modal.id, {"text": "Slow deploys"})
    assert fake.views_of(ana.id) == []
    posted = fake.wait_for(lambda f: f.last_message(f.dm_channel_id(ana.id)))
    assert posted.text == "Loop started: Slow deploys"

    bolt.click(ana.id, posted, action_id="done")
    fake.wait_for(lambda f: f.message(posted.channel, posted.ts).text == "Closed the loop")

    said, _ = bolt.user_message(ana.id, "thanks")
    answer = fake.wait_for(lambda f: [m for m in f.messages(thread_ts=said.ts) if m.bot_id])
    assert answer[0].text == "You said: thanks" and answer[0].thread_ts == said.ts
