"""The web process: Bolt's WSGI adapter behind a gate that answers bad requests itself.

Bolt turns an unreadable body into a 500 before it checks the signature. Here every POST to
/slack/events is first checked for its size (413), a valid signature and a fresh timestamp
(401), then for a body Slack could have sent (400), and only then handed to Bolt.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt.adapter.wsgi import SlackRequestHandler

from slackbot.app.bolt import LoopsApp, build_app
from slackbot.app.payloads import problem_with
from slackbot.app.services import Services
from slackbot.config import Settings, SettingsError, configure_logging, load_settings
from slackbot.store.db import Database
from slackbot.store.installations import warn_if_tokens_unsealed
from slackbot.store.migrate import require_current_schema

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
# Slack's own payloads are far smaller; anything bigger is not from Slack.
MAX_BODY_BYTES = 1_000_000
SIGNATURE_MAX_AGE = 300
UNSIGNED_SAID_EVERY = 60.0  # seconds between warnings about refused signatures
TIMESTAMP_MAX_DIGITS = 12
TEXT = "text/plain;charset=utf-8"
JSON = "application/json;charset=utf-8"
Answer = tuple[int, str, str]  # status, content type, body: what the gate answers itself


def _plain(status: int, text: str) -> Answer:
    return status, TEXT, text


def signed_by_slack(secret: bytes, raw: bytes, timestamp: str, signature: str, *, now: float) -> bool:
    """Slack's v0 signature over the raw bytes, and a timestamp within five minutes of now.

    Done here rather than with slack_sdk's SignatureVerifier, which raises on a body
    that is not UTF-8 or a timestamp that is not a number instead of refusing them.
    """
    # Unix seconds are ten digits; a longer number would only make int() work (or raise, past
    # Python's 4,300-digit limit) before it is refused as stale.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= TIMESTAMP_MAX_DIGITS):
        return False
    if not signature.isascii():
        return False
    if abs(now - int(timestamp)) > SIGNATURE_MAX_AGE:
        return False
    expected = "v0=" + hmac.new(secret, b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def is_ssl_check(raw: bytes) -> bool:
    if b"ssl_check" not in raw:  # every other request, without parsing its form a second time
        return False
    try:
        form = dict(parse_qsl(raw.decode("ascii"), keep_blank_values=True))
    except UnicodeDecodeError:
        return False
    return form.get("ssl_check") == "1" and set(form) <= {"ssl_check", "token"}


def slack_body(body: str, content_type: str) -> dict[str, Any] | None:
    """The payload, if the body has a shape Slack sends: a JSON object, or a form (with a JSON
    `payload`, or a slash command's fields); None otherwise.

    Parsed here once, for the gate and for Bolt. Bolt's own parser takes any form whose text
    holds the word "payload" anywhere (`/shipped cut the payload size`) for an interaction
    and reads it as empty.
    """
    try:
        if content_type.startswith("application/json") or body.lstrip().startswith("{"):
            found = json.loads(body)
            return found if isinstance(found, dict) else None
        form = dict(parse_qsl(body, keep_blank_values=True, strict_parsing=True))
        if "payload" in form:
            payload = json.loads(form["payload"])
            return payload if isinstance(payload, dict) else None
        return form if "command" in form else None
    except ValueError:
        return None


class WebApp:
    """The web process's WSGI app: `/healthz`, and a gate in front of Bolt's `SlackRequestHandler`.

    Every POST to /slack/events is checked here for its size (413), a valid signature and a
    fresh timestamp (401), and a body Slack could have sent (400) before Bolt sees it. What
    passes is handed to Bolt as the JSON of the payload parsed here: Bolt then reads it as
    it is (its own form parser reads any form holding the word "payload" as an empty
    interaction) and checks no signature of its own (`request_verification_enabled=False`;
    the check was made here, over the raw bytes). Everything else (the OAuth pages, 404s)
    is Bolt's as it comes.
    """

    def __init__(self, app: LoopsApp, database: Database, signing_secret: str) -> None:
        self.bolt = SlackRequestHandler(app, path=EVENTS_PATH)
        self.database = database
        self.signing_secret = signing_secret.encode()
        self._unsigned_said_at = float("-inf")

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        answer: Answer | Passed
        if path == HEALTH_PATH:
            answer = self._health() if method in {"GET", "HEAD"} else _plain(405, "Method Not Allowed")
        elif path == EVENTS_PATH:
            answer = self._gate(environ) if method == "POST" else _plain(405, "Method Not Allowed")
        else:
            return self.bolt(environ, start_response)
        if isinstance(answer, Passed):
            return self.bolt(answer.environ, start_response)
        status, content_type, body = answer
        data = body.encode()
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [("Content-Type", content_type), ("Content-Length", str(len(data)))],
        )
        return [data]

    def _health(self) -> Answer:
        try:
            with self.database.answering():
                self.database.ping()
        except Exception as error:
            logger.warning("health check: database unavailable: %s", error)
            return 503, JSON, json.dumps({"ok": False, "database": "down"})
        return 200, JSON, json.dumps({"ok": True, "database": "up"})

    def _say_unsigned(self) -> None:
        """At most one line a minute: a wrong signing secret refuses every request Slack sends,
        and forged requests must not flood the log."""
        now = time.monotonic()
        if now - self._unsigned_said_at >= UNSIGNED_SAID_EVERY:
            self._unsigned_said_at = now
            logger.warning(
                "refused a request whose signature does not match (401): if Slack sent it, "
                "SLACK_SIGNING_SECRET is not this app's Signing Secret (Basic Information, App "
                "Credentials). Said at most once a minute."
            )

    def _gate(self, environ: WSGIEnvironment) -> Answer | Passed:
        """Refuse what Slack could not have sent; what it could is passed on, parsed."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _plain(400, "Bad Request")
        if length > MAX_BODY_BYTES:
            return _plain(413, "Payload Too Large")
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        if is_ssl_check(raw):
            # Slack's certificate probe for slash command URLs: it only wants a 200.
            return _plain(200, "")
        timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""))
        signature = str(environ.get("HTTP_X_SLACK_SIGNATURE", ""))
        if not signed_by_slack(self.signing_secret, raw, timestamp, signature, now=time.time()):
            self._say_unsigned()
            return _plain(401, "Unauthorized")
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _plain(400, "Bad Request")
        payload = slack_body(body, str(environ.get("CONTENT_TYPE", "")))
        if payload is None:
            return _plain(400, "Bad Request")
        problem = problem_with(payload)
        if problem is not None:
            # Bolt reads ids out of the payload as it builds its request; a payload of the right
            # outline but the wrong types (`"user": true`) would stop it there, as a 500.
            logger.warning("refused a signed request: %s", problem)
            return _plain(400, "Bad Request")
        parsed = json.dumps(payload).encode()
        return Passed(
            {
                **environ,
                "wsgi.input": io.BytesIO(parsed),
                "CONTENT_LENGTH": str(len(parsed)),
                "CONTENT_TYPE": "application/json",
            }
        )


@dataclass(frozen=True)
class Passed:
    """A request the gate let through, with its body replaced by the payload's JSON."""

    environ: WSGIEnvironment


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The path without its query: the OAuth redirect's carries the install's code and state.
        self.log_message('"%s %s" %s %s', self.command, urlsplit(self.path).path, code, size)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)


class HttpServer:
    """A threaded WSGI server for `run` and the end-to-end tests (gunicorn serves production)."""

    def __init__(self, wsgi_app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = make_server(
            host, port, wsgi_app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        self.port = self.server.server_port
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> HttpServer:
        self._thread = threading.Thread(target=self.server.serve_forever, name="loops-http", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def wsgi_app(settings: Settings, database: Database, services: Services | None = None) -> WebApp:
    """The WSGI callable for a settings object, checking what the web process needs first."""
    settings.require_slack(http=True)
    assert settings.slack_signing_secret is not None
    return WebApp(
        build_app(settings, database, services), database, settings.slack_signing_secret.get_secret_value()
    )


def create_app() -> WebApp:
    """Gunicorn's entry point (`slackbot.web:create_app()`, loaded once with --preload).

    A bad setting or an unmigrated database stops the server with one line.
    """
    try:
        settings = load_settings()
        configure_logging(settings)
        database = Database(settings.database_url, connections=settings.loops_database_connections)
        require_current_schema(database)
        # No pooled connection may cross gunicorn's fork into the workers.
        database.dispose()
        app = wsgi_app(settings, database)
        warn_if_tokens_unsealed(settings)
        return app
    except SettingsError as error:
        print(f"loops: {error}", file=sys.stderr)
        raise SystemExit(2) from None
