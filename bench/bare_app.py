"""The floor for `/loops`: a Bolt app that acks at once, then posts a fixed answer, served like the real one.

    gunicorn … 'bare_app:create_app()'     (with bench/ on PYTHONPATH; see bench/answer.py)

Its `/loops` listener calls `ack()` (an empty ack, as the real app's) and hands
`respond(text=ANSWER)` to a small thread pool, so the answer is POSTed to the command's
response_url after the ack, as the real app's deferred work is (`Services.run_later`). Why
a thread: with process_before_response=True, Bolt sends the HTTP response only when the
listener returns, so a `respond()` inside the listener would post before the ack leaves; and
Bolt's lazy listeners, its own way to work after the ack, deep-copy the request before it.

What it shares with `slackbot.web:create_app()`: Bolt's WSGI adapter on the same path
(/slack/events), Bolt's signature check, an `authorize` from one bot token (auth.test once,
on the first request of each worker, as the real app's SingleWorkspace), a client pointed at
SLACK_API_URL, and process_before_response. What it leaves out is everything that is Loops:
the gate in front of Bolt, the payload check, the database session and the middleware, and
the history read and blocks of the answer. /healthz answers 200 without a database, so the
benchmark can wait for it as for the real one.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

EVENTS_PATH = "/slack/events"  # slackbot.web.EVENTS_PATH
HEALTH_PATH = "/healthz"
JSON = "application/json;charset=utf-8"
ANSWER = "Your loops: nothing open. (bench/bare_app.py)"

logger = logging.getLogger(__name__)


class BareWebApp:
    """Bolt's WSGI handler, plus a /healthz that needs nothing (a wrapper, as the real app's)."""

    def __init__(self, app: App) -> None:
        self.bolt = SlackRequestHandler(app, path=EVENTS_PATH)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH and environ.get("REQUEST_METHOD") in {"GET", "HEAD"}:
            body = json.dumps({"ok": True}).encode()
            start_response("200 OK", [("Content-Type", JSON), ("Content-Length", str(len(body)))])
            return [body]
        return self.bolt(environ, start_response)


def build_app() -> App:
    client = WebClient(
        token=os.environ["SLACK_BOT_TOKEN"],
        base_url=os.environ.get("SLACK_API_URL", "https://slack.com/api/"),
    )
    app = App(
        client=client,  # its token is the app's: Bolt authorizes every request with it
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        token_verification_enabled=False,  # no auth.test at start-up (it runs on the first request)
        process_before_response=True,
    )
    # As the real app's Services.background: made before gunicorn forks, its threads start in
    # each worker on the first submit.
    after = ThreadPoolExecutor(max_workers=4, thread_name_prefix="bare-after")

    def answer(respond: Respond) -> None:
        try:
            respond(text=ANSWER, response_type="ephemeral")
        except Exception:
            logger.exception("the answer to /loops was not posted")

    @app.command("/loops")
    def loops(ack: Ack, respond: Respond) -> None:
        ack()
        after.submit(answer, respond)

    return app


def create_app() -> BareWebApp:
    """Gunicorn's entry point, loaded once with --preload."""
    return BareWebApp(build_app())
