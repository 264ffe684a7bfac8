"""The web process: Bolt's WSGI adapter behind a gate that answers bad requests itself.

Bolt turns an unreadable body into a 500 before it checks the signature. Here every
POST to /slack/events is first checked for a valid signature and a fresh timestamp
(401), then for a body Slack could have sent (400), and only then handed to Bolt; except a
plain `/loops` whose summary the clock kept, answered here from that one row
(`LoopsApp.kept_summary_ack`), as Bolt's dispatch would cost it more than the read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import sys
import threading
import time
from collections.abc import Sequence
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import BoltRequest
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse

from slackbot.app import LoopsApp, build_app
from slackbot.app.context import ContextKey
from slackbot.app.reader import Reader
from slackbot.app.services import Services
from slackbot.config import Settings, SettingsError, configure_logging, load_settings
from slackbot.store.db import Database
from slackbot.store.migrate import require_current_schema

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
# Slack's own payloads are far smaller; anything bigger is not from Slack.
MAX_BODY_BYTES = 1_000_000
SIGNATURE_MAX_AGE = 300
TEXT: dict[str, Sequence[str]] = {"content-type": ["text/plain;charset=utf-8"]}
JSON: dict[str, Sequence[str]] = {"content-type": ["application/json;charset=utf-8"]}


def _plain(status: int, text: str) -> WsgiHttpResponse:
    return WsgiHttpResponse(status=status, headers=TEXT, body=text)


def signed_by_slack(secret: bytes, raw: bytes, timestamp: str, signature: str, *, now: float) -> bool:
    """Slack's v0 signature over the raw bytes, and a timestamp within five minutes of now.

    Done here rather than with slack_sdk's SignatureVerifier, which raises on a body
    that is not UTF-8 or a timestamp that is not a number instead of refusing them.
    """
    if not (timestamp.isascii() and timestamp.isdigit() and signature.isascii()):
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


class LoopsRequestHandler(SlackRequestHandler):
    """Bolt's WSGI handler, plus /healthz and a gate in front of /slack/events."""

    def __init__(self, app: LoopsApp, database: Database, signing_secret: str) -> None:
        super().__init__(app, path=EVENTS_PATH)
        self.loops_app = app
        self.database = database
        self.signing_secret = signing_secret.encode()

    def _get_http_response(self, request: WsgiHttpRequest) -> WsgiHttpResponse:
        if request.path == HEALTH_PATH:
            return self._health() if request.method in {"GET", "HEAD"} else _plain(405, "Method Not Allowed")
        if request.path == EVENTS_PATH:
            return (
                self._slack_request(request)
                if request.method == "POST"
                else _plain(405, "Method Not Allowed")
            )
        return super()._get_http_response(request)

    def _health(self) -> WsgiHttpResponse:
        try:
            self.database.ping()
        except Exception as error:
            logger.warning("health check: database unavailable: %s", error)
            return WsgiHttpResponse(
                status=503, headers=JSON, body=json.dumps({"ok": False, "database": "down"})
            )
        return WsgiHttpResponse(status=200, headers=JSON, body=json.dumps({"ok": True, "database": "up"}))

    def _slack_request(self, request: WsgiHttpRequest) -> WsgiHttpResponse:
        try:
            length = int(request.environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _plain(400, "Bad Request")
        if length > MAX_BODY_BYTES:
            return _plain(413, "Payload Too Large")
        raw = request.environ["wsgi.input"].read(length) if length > 0 else b""
        if is_ssl_check(raw):
            # Slack's certificate probe for slash command URLs: it only wants a 200.
            return _plain(200, "")
        headers = request.get_headers()
        timestamp = str(headers.get("x-slack-request-timestamp", ""))
        signature = str(headers.get("x-slack-signature", ""))
        if not signed_by_slack(self.signing_secret, raw, timestamp, signature, now=time.time()):
            return _plain(401, "Unauthorized")
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _plain(400, "Bad Request")
        payload = slack_body(body, str(headers.get("content-type", "")))
        if payload is None:
            return _plain(400, "Bad Request")
        # A plain `/loops` whose summary the clock kept is answered from that row, without Bolt.
        kept_asked = self.loops_app.reads_kept_summary(payload)
        if kept_asked:
            kept = self.loops_app.kept_summary_ack(payload)
            if kept is not None:
                return WsgiHttpResponse(status=200, headers=JSON, body=kept)
        try:
            # Bolt takes a body already parsed only outside its HTTP mode, which also skips its
            # own signature check: the gate made that check above, over the raw bytes.
            bolt_request = BoltRequest(
                body=payload, query=request.query_string, headers=headers, mode="socket_mode"
            )
        except Exception:
            # Bolt reads ids out of the payload as it builds the request; a payload of
            # the right outline but the wrong types (`"user": true`) stops it there.
            logger.info("refused a signed request whose payload Bolt cannot read", exc_info=True)
            return _plain(400, "Bad Request")
        if kept_asked:  # and none was kept: the listener does not read it again
            bolt_request.context[ContextKey.KEPT_SUMMARY_ASKED] = True
        response = self.app.dispatch(bolt_request)
        return WsgiHttpResponse(status=response.status, headers=response.headers, body=response.body)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
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


def wsgi_app(settings: Settings, database: Database, services: Services | None = None) -> LoopsRequestHandler:
    """The WSGI callable for a settings object, checking what the web process needs first."""
    settings.require_slack(http=True)
    assert settings.slack_signing_secret is not None
    return LoopsRequestHandler(
        build_app(settings, database, services), database, settings.slack_signing_secret.get_secret_value()
    )


def create_app() -> LoopsRequestHandler:
    """Gunicorn's entry point (`slackbot.web:create_app()`, loaded once with --preload).

    A bad setting or an unmigrated database stops the server with one line.
    """
    try:
        settings = load_settings()
        configure_logging(settings)
        database = Database(settings.database_url)
        require_current_schema(database)
        # No pooled connection may cross gunicorn's fork into the workers.
        database.dispose()
        handler = wsgi_app(settings, database)
        # Each worker builds its history answers in a reader process of its own (started in
        # the worker on first use), so they never hold the interpreter lock its acks need.
        assert isinstance(handler.app, LoopsApp)
        handler.app.services.reader = Reader(settings)
        return handler
    except SettingsError as error:
        print(f"loops: {error}", file=sys.stderr)
        raise SystemExit(2) from None
