"""FakeSlack: the Web API, upload URLs and response_urls over real HTTP on loopback.

The app talks to it with the real slack_sdk ``WebClient(base_url=fake.api_url)``; tests read
what happened through the query methods here and wait on ``wait_for`` instead of sleeping.
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import json
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

from .faults import Fault, Faults, RateLimiter
from .methods import APP_TOKEN_METHODS, CLIENT_AUTH_METHODS, METHODS, Params, SlackError, response_url_post
from .params import unknown_params
from .socket_mode import SocketModeServer
from .state import JSON, SLACKBOT_ID, Call, Channel, File, Message, User, View, Workspace, tz_facts

T = TypeVar("T")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 refuses connections under a burst that Slack
    # itself would take; the app's sender opens dozens at once.
    request_queue_size = 256

    def __init__(self, fake: FakeSlack) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


AUTHORIZE_PATH = "/oauth/v2/authorize"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.server.fake._serve(self)

    def do_GET(self) -> None:
        self.server.fake._serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read ``fake.calls()`` instead of a log."""


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """(id, secret) from an `Authorization: Basic …` header, or None."""
    if not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header[len("Basic ") :].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


class _BadRequest(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def _fault_outcome(fault: Fault) -> tuple[JSON | None, int]:
    """What a failing fault answers: the JSON body (None when not JSON) and HTTP status (0: none)."""
    if fault.kind == "ratelimited":
        return {"ok": False, "error": "ratelimited"}, 429
    if fault.kind == "error":
        return {"ok": False, "error": fault.error}, 200
    if fault.kind == "server_error":
        if fault.status in (502, 504):
            return None, fault.status
        return {
            "ok": False,
            "error": "service_unavailable" if fault.status == 503 else "fatal_error",
        }, fault.status
    return None, 0


class FakeSlack:
    """A stateful fake of one Slack workspace with one installed app."""

    def __init__(
        self,
        signing_secret: str = "s3cret",  # noqa: S107 - a fake's well-known test secret
        team_id: str = "T0LOOPS",
        team_domain: str = "loops-demo",
        clock: Callable[[], float] = time.time,
        team_name: str = "Loops Demo",
        rate_limits: bool = False,
    ) -> None:
        self.signing_secret = signing_secret
        self.clock = clock
        self.state = Workspace(
            team_id=team_id,
            team_domain=team_domain,
            team_name=team_name,
            clock=clock,
            base_url=lambda: self.base_url,
            socket_url=lambda: self.socket_mode.listen(),
        )
        # Slack's end of Socket Mode; its port opens on the first apps.connections.open.
        self.socket_mode = SocketModeServer(self.state)
        self.faults = Faults()
        # Off by default; when on, the tier windows and the per-channel chat.postMessage bucket
        # both run on ``clock``, so a test moves past a 429 by advancing its fake clock.
        self.rate_limits = rate_limits
        self._limiter = RateLimiter(clock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSlack:
        """Listen on a random loopback port, served from a daemon thread."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fakeslack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; requests held by faults are released, Socket Mode connections closed."""
        self._stopping.set()
        self.socket_mode.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ identity

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/``."""
        if self._server is None:
            raise RuntimeError("FakeSlack is not started; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    @property
    def api_url(self) -> str:
        """What ``WebClient(base_url=...)`` and SLACK_API_URL get."""
        return self.base_url + "api/"

    @property
    def team_id(self) -> str:
        """The workspace id."""
        return self.state.team_id

    @property
    def team_domain(self) -> str:
        """The workspace's subdomain, as in permalinks."""
        return self.state.team_domain

    @property
    def bot_token(self) -> str:
        """A valid ``xoxb-`` token of the bot."""
        return self.state.bot_token

    @property
    def app_token(self) -> str:
        """A valid app-level ``xapp-`` token: what Socket Mode's apps.connections.open takes."""
        return self.state.app_token

    @property
    def bot_user_id(self) -> str:
        """The bot user's id."""
        return self.state.bot_user_id

    @property
    def bot_id(self) -> str:
        """The bot's B… id, as on its messages."""
        return self.state.bot_id

    @property
    def app_id(self) -> str:
        """The app's A… id (``api_app_id`` in payloads)."""
        return self.state.app_id

    @property
    def verification_token(self) -> str:
        """The deprecated verification token Slack still puts in payloads."""
        return self.state.verification_token

    @property
    def client_id(self) -> str:
        """The app's Client ID (OAuth: SLACK_CLIENT_ID)."""
        return self.state.oauth.client_id

    @property
    def client_secret(self) -> str:
        """The app's Client Secret (OAuth: SLACK_CLIENT_SECRET)."""
        return self.state.oauth.client_secret

    def revoke_token(self, token: str) -> None:
        """Make a token fail from now on, as after uninstall (Slack then answers ``token_revoked``)."""
        with self.state.lock:
            self.state.tokens[token] = "revoked"
            self.state.changed()

    # ------------------------------------------------------------------ setting the scene

    def add_user(
        self,
        name: str = "ana",
        tz: str = "Europe/Berlin",
        real_name: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
    ) -> User:
        """A member; tz_label/tz_offset are computed at the fake's clock."""
        return self.state.add_user(name, tz, real_name, is_bot, deleted)

    def update_user(
        self,
        user_id: str,
        *,
        tz: str | None = None,
        deleted: bool | None = None,
        real_name: str | None = None,
        name: str | None = None,
    ) -> User:
        """Change a member's profile (what the app would then hear as ``user_change``)."""
        with self.state.lock:
            user = self.state.users[user_id]
            if tz is not None:
                user.tz = tz
            if deleted is not None:
                user.deleted = deleted
            if real_name is not None:
                user.real_name = real_name
            if name is not None:
                user.name = name
            user.tz_label, user.tz_offset = tz_facts(user.tz, self.clock())
            user.updated = int(self.clock())
            self.state.changed()
            return user

    def add_channel(
        self, name: str = "product", members: list[str] | None = None, bot_is_member: bool = True
    ) -> Channel:
        """A public channel (C…)."""
        return self.state.add_channel(name, list(members or []), bot_is_member)

    def dm_channel_id(self, user_id: str) -> str:
        """The stable D… id conversations.open returns for that person."""
        return self.state.dm(user_id).id

    def trigger_for(self, user_id: str) -> str:
        """A fresh trigger_id, as if the person had just clicked or typed a command."""
        return self.state.mint_trigger(user_id).id

    def user(self, user_id: str) -> User:
        """A member by id, time zone facts as of the fake's clock."""
        found = self.state.user(user_id)
        if found is None:
            raise KeyError(user_id)
        return found

    # ------------------------------------------------------------------ reading what happened

    def messages(
        self,
        channel: str | None = None,
        thread_ts: str | None = None,
        include_ephemeral: bool = False,
    ) -> list[Message]:
        """Live messages, oldest first; ``thread_ts`` gives that thread, parent first."""
        with self.state.lock:
            out = []
            for message in self.state.messages:
                if message.deleted or (message.is_ephemeral and not include_ephemeral):
                    continue
                if channel is not None and message.channel != channel:
                    continue
                if thread_ts is not None and thread_ts not in (message.ts, message.thread_ts):
                    continue
                out.append(message)
            return out

    def messages_with_metadata(self, event_type: str) -> list[Message]:
        """Live messages whose ``metadata.event_type`` is ``event_type``, oldest (first posted) first."""
        with self.state.lock:
            return [
                m
                for m in self.state.messages
                if not m.deleted and m.metadata is not None and m.metadata.get("event_type") == event_type
            ]

    def ephemeral_for(self, user_id: str) -> list[Message]:
        """Everything only this person saw: postEphemeral, ack bodies, response_url posts, Slack errors."""
        with self.state.lock:
            return [m for m in self.state.messages if m.ephemeral_user == user_id and not m.deleted]

    def views_of(self, user_id: str) -> list[View]:
        """The person's open modal stack, root first."""
        with self.state.lock:
            return [self.state.views[vid] for vid in self.state.stack(user_id)]

    def home_view(self, user_id: str) -> View | None:
        """The person's Home tab as last published."""
        with self.state.lock:
            vid = self.state.homes.get(user_id)
            return self.state.views.get(vid) if vid else None

    def view(self, view_id: str) -> View:
        """Any view ever opened or published, by id."""
        with self.state.lock:
            return self.state.views[view_id]

    def view_errors(self, view_id: str) -> dict[str, str]:
        """The inline errors the app last answered a submission of this view with."""
        with self.state.lock:
            history = self.state.view_errors.get(view_id) or [{}]
            return dict(history[-1])

    def files(self) -> list[File]:
        """Files the app uploaded, with their bytes in ``data``."""
        with self.state.lock:
            return list(self.state.files.values())

    def response_url_posts(self, response_url: str | None = None) -> list[JSON]:
        """The bodies the app POSTed to response_urls (all, or to one), oldest first."""
        with self.state.lock:
            return [p.body for p in self.state.response_posts if response_url in (None, p.response_url)]

    def calls(self, method: str | None = None) -> list[Call]:
        """Every Web API call: method, params (token removed), response JSON and HTTP status."""
        with self.state.lock:
            return [c for c in self.state.calls if method in (None, c.method)]

    def wait_for(self, predicate: Callable[[FakeSlack], T | None], timeout: float = 5.0) -> T:
        """Block until ``predicate(fake)`` is truthy and return it; re-checked on every change."""
        deadline = time.monotonic() + timeout
        with self.state.cond:
            while True:
                result = predicate(self)
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._describe_timeout(predicate, timeout))
                self.state.cond.wait(remaining)

    def notify(self) -> None:
        """Wake waiters, e.g. after the test changed something wait_for looks at."""
        with self.state.lock:
            self.state.changed()

    def _describe_timeout(self, predicate: Callable[..., Any], timeout: float) -> str:
        name = getattr(predicate, "__qualname__", repr(predicate))
        calls = [
            f"{c.method}->{c.status} {(c.response or {}).get('error', 'ok')}" for c in self.state.calls[-8:]
        ]
        recent = [f"{m.channel} {m.ts} {m.text[:60]!r}" for m in self.state.messages[-5:]]
        socket = ""
        if self.socket_mode.running:
            open_ids = [c.id for c in self.socket_mode.connections()]
            sent = [f"{e.type}{'' if e.acked else ' (no ack)'}" for e in self.socket_mode.envelopes()[-5:]]
            socket = f" Socket Mode connections: {open_ids or 'none'}; last envelopes: {sent or 'none'}."
        return (
            f"wait_for({name}) still falsy after {timeout}s. "
            f"Last Web API calls: {calls or 'none'}. Last messages: {recent or 'none'}.{socket}"
        )

    # ------------------------------------------------------------------ HTTP

    def _serve(self, handler: _Handler) -> None:
        path = urlsplit(handler.path).path
        try:
            if path.startswith("/api/"):
                self._serve_api(handler, path[len("/api/") :])
            elif path.startswith("/upload/") and handler.command == "POST":
                self._serve_upload(handler, path[len("/upload/") :])
            elif path.startswith("/response/") and handler.command == "POST":
                self._serve_response_url(handler, path[len("/response/") :])
            elif path == AUTHORIZE_PATH and handler.command == "GET":
                self._serve_authorize(handler)
            else:
                self._send(handler, 404, b"Not Found", "text/plain")
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True

    def _serve_authorize(self, handler: _Handler) -> None:
        """The consent page, answered at once: the person signed in presses Allow (or Cancel).

        Who that person is: `fakeslack_user` in the query (the emulator's own parameter, as a
        browser's Slack session), else the first person of the workspace. Allow sends the browser
        to the redirect URL with a code and the state; Cancel with `error=access_denied`.
        """
        query = dict(parse_qsl(urlsplit(handler.path).query, keep_blank_values=True))
        with self.state.lock:
            oauth = self.state.oauth
            redirect = query.get("redirect_uri") or oauth.redirect_url
            if query.get("client_id") != oauth.client_id:
                self._send(handler, 400, b"Invalid client_id parameter", "text/plain")
                return
            if not redirect:
                self._send(handler, 400, b"No redirect URL is configured for this app", "text/plain")
                return
            people = [u for u in self.state.users.values() if not u.is_bot and u.id != SLACKBOT_ID]
            user = query.get("fakeslack_user") or (people[0].id if people else "")
            if user not in self.state.users:
                self._send(handler, 400, b"Nobody is signed in to this workspace", "text/plain")
                return
            state = query.get("state", "")
            if oauth.deny_next:
                oauth.deny_next = False
                answer = {"error": "access_denied", "state": state}
            else:
                code = self.state.approve_install(user, query.get("scope", ""), query.get("redirect_uri"))
                answer = {"code": code, "state": state}
            self.state.changed()
        location = redirect + ("&" if "?" in redirect else "?") + urlencode(answer)
        self._send(handler, 302, b"", "text/plain", headers={"Location": location})

    def _body(self, handler: _Handler) -> bytes:
        length = int(handler.headers.get("Content-Length") or 0)
        return handler.rfile.read(length) if length > 0 else b""

    def _send(
        self,
        handler: _Handler,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(body)

    def _send_json(
        self, handler: _Handler, status: int, body: JSON, headers: dict[str, str] | None = None
    ) -> None:
        self._send(handler, status, json.dumps(body).encode(), "application/json; charset=utf-8", headers)

    def _params(self, handler: _Handler, raw: bytes) -> tuple[dict[str, Any], bool]:
        """Merged query, form, multipart or JSON parameters, and whether the body was JSON."""
        params: dict[str, Any] = dict(parse_qsl(urlsplit(handler.path).query, keep_blank_values=True))
        if not raw:
            return params, False
        ctype = (handler.headers.get("Content-Type") or "").lower()
        if ctype.startswith("application/json"):
            try:
                body = json.loads(raw)
            except ValueError as exc:
                raise _BadRequest("invalid_json") from exc
            if not isinstance(body, dict):
                raise _BadRequest("json_not_object")
            params.update(body)
            return params, True
        if ctype.startswith("multipart/form-data"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw
            )
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if isinstance(name, str):
                    payload = part.get_payload(decode=True)
                    data = payload if isinstance(payload, bytes) else b""
                    params[name] = data if part.get_filename() else data.decode("utf-8", "replace")
            return params, False
        if ctype.startswith(("application/x-www-form-urlencoded", "text/plain")) or not ctype:
            try:
                params.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
            except UnicodeDecodeError as exc:
                raise _BadRequest("invalid_charset") from exc
            return params, False
        raise _BadRequest("invalid_post_type")

    def _serve_api(self, handler: _Handler, method: str) -> None:
        received = self.clock()
        raw = self._body(handler)
        latency, holds, fault = self.faults.take(method)
        if latency > 0 and self._stopping.wait(latency):
            return
        if holds:
            self.notify()  # a test waiting for `hold.hits` sees the call arrive
        for hold in holds:
            while not hold.released.wait(0.05):
                if self._stopping.is_set():
                    return
        if fault is not None and not fault.commit:
            try:
                params = self._params(handler, raw)[0]
            except _BadRequest:
                params = {}
            params.pop("token", None)
            body, status = _fault_outcome(fault)
            self._record(method, params, body, status, fault=fault.kind, received=received)
            self._fail(handler, fault)
            return
        status, answer, headers = self._api_call(handler, method, raw, fault, received)
        if fault is not None:
            self._fail(handler, fault)
            return
        self._send_json(handler, status, answer, headers)

    def _api_call(
        self, handler: _Handler, method: str, raw: bytes, fault: Fault | None, received: float
    ) -> tuple[int, JSON, dict[str, str]]:
        """Authenticate, check parameter names, run the method and record the call."""
        body: JSON
        try:
            params, is_json = self._params(handler, raw)
        except _BadRequest as bad:
            body = {"ok": False, "error": bad.error}
            self._record(method, {}, body, 200, received=received)
            return 200, body, {}
        header = handler.headers.get("Authorization") or ""
        token = header[len("Bearer ") :].strip() if header.startswith("Bearer ") else None
        query_token = dict(parse_qsl(urlsplit(handler.path).query)).get("token")
        body_token = params.pop("token", None)
        from_header = token is not None
        if token is None and not is_json and isinstance(body_token, str) and body_token:
            # A token in a JSON body is not read: Slack wants it in the Authorization header then.
            token = body_token
        status = 200
        headers: dict[str, str] = {}
        if method in CLIENT_AUTH_METHODS and not query_token:
            # The app's id and secret, as HTTP Basic auth (slack_sdk's way) or in the form.
            basic = _basic_credentials(header)
            if basic is not None:
                params.setdefault("client_id", basic[0])
                params.setdefault("client_secret", basic[1])
            status, body, headers = self._run(method, params)
        elif method not in METHODS:
            body = {"ok": False, "error": "unknown_method", "req_method": method}
        elif query_token:
            # Apps created after 2021-02-24 may not send the token in the query string (changelog
            # 2020-11-no-more-tokens-in-querystrings-for-newly-created-apps); the fake's app is such
            # an app. The changelog names no error code; Slack answers `invalid_auth`
            # (nmaves/passport-slack-oauth2 issue 5, slack-scala-client issue 184), even when a
            # valid Authorization header comes too (slack-go/slack PR 995).
            body = {"ok": False, "error": "invalid_auth"}
        elif not token:
            body = {"ok": False, "error": "not_authed"}
        elif token not in self.state.tokens:
            body = {"ok": False, "error": "invalid_auth"}
        elif self.state.tokens[token] == "revoked":
            body = {"ok": False, "error": "token_revoked"}
        elif self.state.clock() > self.state.token_expiry.get(token, float("inf")):
            body = {"ok": False, "error": "token_expired"}
        elif (self.state.tokens[token] == "app") != (method in APP_TOKEN_METHODS):
            body = {"ok": False, "error": "not_allowed_token_type"}
        elif method in APP_TOKEN_METHODS and not from_header:
            # apps.connections.open: "passing it as a POST parameter will result in an error"; the
            # docs name no code, so the fake says it found no token where it looks for one.
            body = {"ok": False, "error": "not_authed"}
        else:
            status, body, headers = self._run(method, params)
        self._record(method, params, body, status, fault=fault.kind if fault else None, received=received)
        return status, body, headers

    def _run(self, method: str, params: JSON) -> tuple[int, JSON, dict[str, str]]:
        """An authenticated call: rate limits, parameter names, then the method itself."""
        retry_after = None
        if self.rate_limits:
            channel = params.get("channel")
            retry_after = self._limiter.check(method, channel if isinstance(channel, str) else None)
        unknown = unknown_params(method, params)
        if retry_after is not None:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}
        if unknown:
            return 200, {"ok": False, "error": "fakeslack_unknown_parameter", "parameter": unknown[0]}, {}
        with self.state.lock:
            try:
                return 200, METHODS[method](self.state, Params(params)), {}
            except SlackError as error:
                return 200, error.body(), {}

    def _record(
        self,
        method: str,
        params: JSON,
        body: JSON | None,
        status: int,
        fault: str | None = None,
        received: float | None = None,
    ) -> None:
        with self.state.lock:
            now = self.clock()
            call = Call(
                method=method,
                params=params,
                response=body,
                status=status,
                at=now,
                fault=fault,
                received=now if received is None else received,
            )
            self.state.calls.append(call)
            self.state.changed()

    def _fail(self, handler: _Handler, fault: Fault) -> None:
        body, status = _fault_outcome(fault)
        if fault.kind == "ratelimited":
            self._send_json(handler, status, body or {}, {"Retry-After": str(fault.retry_after)})
        elif body is not None:
            self._send_json(handler, status, body)
        elif fault.kind == "server_error":
            phrase = HTTPStatus(status).phrase
            page = f"<html><head><title>{status} {phrase}</title></head><body>{status} {phrase}</body></html>"
            self._send(handler, status, page.encode(), "text/html")
        else:  # timeout: hold the line past the client's patience, then hang up
            self._stopping.wait(fault.seconds)
            handler.close_connection = True
        with self.state.lock:
            self.state.changed()

    def _serve_upload(self, handler: _Handler, file_id: str) -> None:
        data = self._body(handler)
        with self.state.lock:
            file = self.state.files.get(file_id)
            if file is None:
                found = False
            else:
                found = True
                file.data = data
                self.state.changed()
        if not found:
            self._send(handler, 404, b"file not found", "text/plain")
            return
        self._send(handler, 200, f"OK - {len(data)}".encode(), "text/plain; charset=utf-8")

    def _serve_response_url(self, handler: _Handler, rid: str) -> None:
        raw = self._body(handler)
        payload: Any
        try:
            ctype = (handler.headers.get("Content-Type") or "").lower()
            if ctype.startswith("application/x-www-form-urlencoded"):
                payload = json.loads(dict(parse_qsl(raw.decode())).get("payload", "null"))
            else:
                payload = json.loads(raw or b"null")
        except ValueError:
            payload = raw.decode("utf-8", "replace")
        with self.state.lock:
            status, answer = response_url_post(self.state, rid, payload)
        self._send_json(handler, status, answer)

    # ------------------------------------------------------------------ conveniences for tests

    def message(self, channel: str, ts: str) -> Message:
        """The live message at (channel, ts), ephemeral or not."""
        found = self.state.find_message(channel, ts, include_ephemeral=True)
        if found is None:
            raise KeyError((channel, ts))
        return found

    def last_message(self, channel: str | None = None) -> Message | None:
        """The newest live non-ephemeral message, optionally in one channel."""
        found = self.messages(channel=channel)
        return found[-1] if found else None

    def reset_calls(self) -> None:
        """Forget recorded calls (state stays)."""
        with self.state.lock:
            self.state.calls.clear()
            self.state.changed()
