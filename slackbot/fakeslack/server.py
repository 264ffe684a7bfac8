"""FakeSlack: the Web API, upload URLs and response_urls over real HTTP on loopback.

The app talks to it with the real slack_sdk ``WebClient(base_url=fake.api_url)``; tests read
what happened through the query methods here and wait on ``wait_for`` instead of sleeping.

One server can host several workspaces of the same app (``add_workspace``), as Slack hosts
every workspace an app is distributed to: a request runs against the workspace its token,
OAuth code, refresh token, response_url or upload URL belongs to.
"""

from __future__ import annotations

import base64
import binascii
import copy
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
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .faults import Fault, Faults, RateLimiter
from .methods import APP_TOKEN_METHODS, CLIENT_AUTH_METHODS, METHODS, Params, SlackError, response_url_post
from .params import unknown_params
from .socket_mode import SocketModeServer
from .state import (
    JSON,
    SLACKBOT_ID,
    Call,
    Channel,
    File,
    IdMint,
    Message,
    ResponsePost,
    User,
    View,
    Workspace,
    tz_facts,
)

T = TypeVar("T")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 refuses connections under a burst that Slack
    # itself would take; the app's sender opens dozens at once.
    request_queue_size = 256

    def __init__(self, fake: FakeSlack) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake  # the primary workspace's FakeSlack: it routes each request


class _Host:
    """What every workspace of one server shares: the listening socket, faults, rate limits."""

    def __init__(self, clock: Callable[[], float], rate_limits: bool) -> None:
        self.server: _Server | None = None
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.faults = Faults()
        self.rate_limits = rate_limits
        self.limiter = RateLimiter(clock)
        self.lock = threading.Lock()  # guards ``workspaces``
        self.workspaces: dict[str, FakeSlack] = {}  # team id -> its FakeSlack, the primary first
        # Slack's event_id is unique across all workspaces (apps dedupe on it alone).
        self.event_ids = IdMint()

    @property
    def primary(self) -> FakeSlack:
        """The workspace the FakeSlack was constructed with: it answers what no workspace owns."""
        with self.lock:
            return next(iter(self.workspaces.values()))

    def hosted(self) -> list[FakeSlack]:
        """Every workspace's FakeSlack, the primary first."""
        with self.lock:
            return list(self.workspaces.values())


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


def _bearer(handler: _Handler) -> str | None:
    """The token of an `Authorization: Bearer …` header, or None."""
    header = handler.headers.get("Authorization") or ""
    return header[len("Bearer ") :].strip() if header.startswith("Bearer ") else None


class _BadRequest(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def _told(fault: Fault) -> float | None:
    """The Retry-After a fault answers with (only a ``ratelimited`` one has one)."""
    return float(fault.retry_after) if fault.kind == "ratelimited" else None


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
    """A stateful fake of one Slack workspace with one installed app.

    ``add_workspace`` hosts another workspace on the same server and returns its own FakeSlack:
    every method of that handle reads and changes only its workspace, while the server, the app's
    credentials, OAuth settings, faults and rate limiter are shared. Socket Mode has one server,
    the primary's (as one app-level connection carries every workspace's events in Slack):
    ``app_token`` is the primary's on every handle, and a Socket Mode SlackSender of a handle
    sends that workspace's payloads over it.
    """

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
        self._host = _Host(clock, rate_limits)
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
        self._host.workspaces[team_id] = self

    @property
    def faults(self) -> Faults:
        """The injected failures, for every workspace of this server."""
        return self._host.faults

    @property
    def rate_limits(self) -> bool:
        """Off by default; when on, the tier windows and the per-channel chat.postMessage bucket
        both run on ``clock``, so a test moves past a 429 by advancing its fake clock. One limiter
        for every workspace of this server; each channel's bucket is its own workspace's."""
        return self._host.rate_limits

    @rate_limits.setter
    def rate_limits(self, on: bool) -> None:
        self._host.rate_limits = on

    # ------------------------------------------------------------------ workspaces

    def add_workspace(
        self, team_id: str, team_domain: str, team_name: str, enterprise: tuple[str, str] | None = None
    ) -> FakeSlack:
        """Host another workspace on this server, for tests of an app installed in several;
        ``enterprise`` (id, name) puts it in an Enterprise Grid org.

        Returns its FakeSlack: same URLs, secrets and app, its own people, channels, messages,
        views, calls and bot token. People get ids the same way in every workspace, so the first
        person added to each has the same id, as can happen across real workspaces.
        """
        primary = self._host.primary
        with self._host.lock:
            if team_id in self._host.workspaces:
                raise ValueError(f"workspace {team_id!r} is already hosted here")
            # A shallow copy shares everything the workspaces share (host, Socket Mode, secret,
            # clock) and stays right when FakeSlack grows another shared attribute.
            handle = copy.copy(primary)
            handle.state = Workspace(
                team_id=team_id,
                team_domain=team_domain,
                team_name=team_name,
                clock=self.clock,
                base_url=lambda: handle.base_url,
                oauth=primary.state.oauth,
                verification_token=primary.state.verification_token,
                app_token=primary.state.app_token,
                enterprise=enterprise,
            )
            self._host.workspaces[team_id] = handle
        return handle

    @property
    def workspaces(self) -> list[FakeSlack]:
        """The FakeSlack of every workspace this server hosts, the primary first."""
        return self._host.hosted()

    def workspace(self, team_id: str) -> FakeSlack:
        """The FakeSlack of one hosted workspace, by team id."""
        with self._host.lock:
            return self._host.workspaces[team_id]

    @property
    def primary(self) -> FakeSlack:
        """The workspace this server was constructed with."""
        return self._host.primary

    def new_event_id(self) -> str:
        """An Events API `event_id`, unique across every workspace this server hosts."""
        with self._host.lock:
            return self._host.event_ids.next("Ev", 10)

    def authorize_link(self, link: str) -> str:
        """An Add to Slack link (as the app's install page gives it) aimed at this workspace.

        Slack's own ``team`` parameter: the authorize page then installs into this workspace,
        the way a person signed in to several picks one.
        """
        parts = urlsplit(link)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "team"]
        query.append(("team", self.team_id))
        return urlunsplit(parts._replace(query=urlencode(query)))

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSlack:
        """Listen on a random loopback port, served from a daemon thread (for every workspace)."""
        host = self._host
        if host.server is not None:
            return self
        host.stopping.clear()
        host.server = _Server(host.primary)
        host.thread = threading.Thread(
            target=host.server.serve_forever, kwargs={"poll_interval": 0.05}, name="fakeslack", daemon=True
        )
        host.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving every workspace; requests held by faults are released, Socket Mode closed."""
        host = self._host
        host.stopping.set()
        self.socket_mode.stop()
        if host.server is not None:
            host.server.shutdown()
            host.server.server_close()
        if host.thread is not None:
            host.thread.join(timeout=5)
        host.server = None
        host.thread = None

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
        server = self._host.server
        if server is None:
            raise RuntimeError("FakeSlack is not started; call start() first")
        host, port = server.server_address[:2]
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
        is_admin: bool = False,
        is_owner: bool = False,
    ) -> User:
        """A member; tz_label/tz_offset are computed at the fake's clock."""
        return self.state.add_user(name, tz, real_name, is_bot, deleted, is_admin, is_owner)

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

    def response_posts(self) -> list[ResponsePost]:
        """Every POST to a response_url as recorded: where, body, status, and when it arrived."""
        with self.state.lock:
            return list(self.state.response_posts)

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

    # -- routing: which hosted workspace a request is for

    def _owner_of_token(self, token: str | None) -> FakeSlack:
        """The workspace a token belongs to; the primary answers for unknown or missing ones."""
        if token:
            for hosted in self._host.hosted():
                with hosted.state.lock:
                    if token in hosted.state.tokens:
                        return hosted
        return self._host.primary

    def _oauth_owner(self, params: JSON) -> FakeSlack:
        """oauth.v2.access: the workspace its code was issued in or its refresh token belongs to."""
        oauth = self.state.oauth
        if (params.get("grant_type") or "authorization_code") == "refresh_token":
            with oauth.lock:
                access = oauth.refresh_tokens.get(str(params.get("refresh_token") or ""))
            return self._owner_of_token(access)
        with oauth.lock:
            grant = oauth.codes.get(str(params.get("code") or ""))
            team = grant.team_id if grant is not None else None
        with self._host.lock:
            found = self._host.workspaces.get(team) if team is not None else None
        return found if found is not None else self._host.primary

    def _serve_authorize(self, handler: _Handler) -> None:
        """The consent page, answered at once: the person signed in presses Allow (or Cancel).

        Which workspace: Slack's own `team` parameter (a team id), else `fakeslack_team` (the
        emulator's), else the primary; a team this server does not host is a 400 page. Who
        the person is: `fakeslack_user` in the query (the emulator's own parameter, as a
        browser's Slack session), else the first person of that workspace. Allow sends the browser
        to the redirect URL with a code (good only in that workspace) and the state; Cancel with
        `error=access_denied`.
        """
        query = dict(parse_qsl(urlsplit(handler.path).query, keep_blank_values=True))
        team = query.get("team") or query.get("fakeslack_team")
        if team:
            with self._host.lock:
                target = self._host.workspaces.get(team)
            if target is None:
                self._send(handler, 400, b"This app cannot be installed in that workspace", "text/plain")
                return
        else:
            target = self._host.primary
        ws = target.state
        with ws.lock:
            oauth = ws.oauth
            redirect = query.get("redirect_uri") or oauth.redirect_url
            if query.get("client_id") != oauth.client_id:
                self._send(handler, 400, b"Invalid client_id parameter", "text/plain")
                return
            if not redirect:
                self._send(handler, 400, b"No redirect URL is configured for this app", "text/plain")
                return
            people = [u for u in ws.users.values() if not u.is_bot and u.id != SLACKBOT_ID]
            user = query.get("fakeslack_user") or (people[0].id if people else "")
            if user not in ws.users:
                self._send(handler, 400, b"Nobody is signed in to this workspace", "text/plain")
                return
            state = query.get("state", "")
            with oauth.lock:
                deny = oauth.deny_next
                oauth.deny_next = False
            if deny:
                answer = {"error": "access_denied", "state": state}
            else:
                code = ws.approve_install(user, query.get("scope", ""), query.get("redirect_uri"))
                answer = {"code": code, "state": state}
            ws.changed()
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

    def _notify_all(self) -> None:
        """Wake waiters of every workspace: a fault's hold is the server's, not one workspace's."""
        for hosted in self._host.hosted():
            hosted.notify()

    def _serve_api(self, handler: _Handler, method: str) -> None:
        received = self.clock()
        raw = self._body(handler)
        latency, holds, fault = self.faults.take(method)
        stopping = self._host.stopping
        if latency > 0 and stopping.wait(latency):
            return
        if holds:
            self._notify_all()  # a test waiting for `hold.hits` sees the call arrive
        for hold in holds:
            while not hold.released.wait(0.05):
                if stopping.is_set():
                    return
        if fault is not None and not fault.commit:
            try:
                params, is_json = self._params(handler, raw)
            except _BadRequest:
                params, is_json = {}, False
            token = _bearer(handler) or (params.get("token") if not is_json else None)
            target = self._owner_of_token(token if isinstance(token, str) else None)
            params.pop("token", None)
            body, status = _fault_outcome(fault)
            target._record(
                method, params, body, status, fault=fault.kind, received=received, retry_after=_told(fault)
            )
            target._fail(handler, fault)
            return
        target, status, answer, headers = self._api_call(handler, method, raw, fault, received)
        if fault is not None:
            target._fail(handler, fault)
            return
        self._send_json(handler, status, answer, headers)

    def _api_call(
        self, handler: _Handler, method: str, raw: bytes, fault: Fault | None, received: float
    ) -> tuple[FakeSlack, int, JSON, dict[str, str]]:
        """Pick the workspace, authenticate, check parameter names, run the method and record the call."""
        body: JSON
        header = handler.headers.get("Authorization") or ""
        token = _bearer(handler)
        try:
            params, is_json = self._params(handler, raw)
        except _BadRequest as bad:
            body = {"ok": False, "error": bad.error}
            target = self._owner_of_token(token)
            target._record(method, {}, body, 200, received=received)
            return target, 200, body, {}
        query_token = dict(parse_qsl(urlsplit(handler.path).query)).get("token")
        body_token = params.pop("token", None)
        from_header = token is not None
        if token is None and not is_json and isinstance(body_token, str) and body_token:
            # A token in a JSON body is not read: Slack wants it in the Authorization header then.
            token = body_token
        if method in CLIENT_AUTH_METHODS and not query_token:
            # The app's id and secret, as HTTP Basic auth (slack_sdk's way) or in the form.
            basic = _basic_credentials(header)
            if basic is not None:
                params.setdefault("client_id", basic[0])
                params.setdefault("client_secret", basic[1])
            target = self._oauth_owner(params)
            status, body, headers = target._run(method, params)
        else:
            target = self._owner_of_token(token or query_token)
            status, body, headers = target._authenticated(
                method, params, token, bool(query_token), from_header
            )
        told = _told(fault) if fault is not None else None
        if told is None and "Retry-After" in headers:
            told = float(headers["Retry-After"])
        target._record(
            method,
            params,
            body,
            status,
            fault=fault.kind if fault else None,
            received=received,
            retry_after=told,
        )
        return target, status, body, headers

    def _authenticated(
        self, method: str, params: JSON, token: str | None, query_token: bool, from_header: bool
    ) -> tuple[int, JSON, dict[str, str]]:
        """Slack's token checks against this workspace's tokens, then the call itself."""
        ws = self.state
        with ws.lock:
            kind = ws.tokens.get(token) if token else None
            expires = ws.token_expiry.get(token, float("inf")) if token else float("inf")
        error: str
        if method not in METHODS:
            return 200, {"ok": False, "error": "unknown_method", "req_method": method}, {}
        if query_token:
            # Apps created after 2021-02-24 may not send the token in the query string (changelog
            # 2020-11-no-more-tokens-in-querystrings-for-newly-created-apps); the fake's app is such
            # an app. The changelog names no error code; Slack answers `invalid_auth`
            # (nmaves/passport-slack-oauth2 issue 5, slack-scala-client issue 184), even when a
            # valid Authorization header comes too (slack-go/slack PR 995).
            error = "invalid_auth"
        elif not token:
            error = "not_authed"
        elif kind is None:
            error = "invalid_auth"
        elif kind == "revoked":
            error = "token_revoked"
        elif ws.clock() > expires:
            error = "token_expired"
        elif (kind == "app") != (method in APP_TOKEN_METHODS):
            error = "not_allowed_token_type"
        elif method in APP_TOKEN_METHODS and not from_header:
            # apps.connections.open: "passing it as a POST parameter will result in an error"; the
            # docs name no code, so the fake says it found no token where it looks for one.
            error = "not_authed"
        else:
            return self._run(method, params)
        return 200, {"ok": False, "error": error}, {}

    def _run(self, method: str, params: JSON) -> tuple[int, JSON, dict[str, str]]:
        """An authenticated call in this workspace: rate limits, parameter names, then the method."""
        retry_after = None
        if self.rate_limits:
            channel = params.get("channel")
            # The tier windows are the server's; a channel's bucket is its workspace's, as two
            # workspaces' channels may share an id.
            bucket = f"{self.team_id}/{channel}" if isinstance(channel, str) else None
            retry_after = self._host.limiter.check(method, bucket)
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
        retry_after: float | None = None,
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
                retry_after=retry_after,
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
            self._host.stopping.wait(fault.seconds)
            handler.close_connection = True
        with self.state.lock:
            self.state.changed()

    def _serve_upload(self, handler: _Handler, rest: str) -> None:
        """The bytes of a reserved file: ``upload/<team id>/<file id>`` (``upload/<file id>``: the
        primary's), as file ids count per workspace."""
        data = self._body(handler)
        team, _, file_id = rest.rpartition("/")
        with self._host.lock:
            target = self._host.workspaces.get(team) if team else self._host.workspaces.get(self.team_id)
        found = False
        if target is not None:
            with target.state.lock:
                file = target.state.files.get(file_id)
                if file is not None:
                    found = True
                    file.data = data
                    target.state.changed()
        if not found:
            self._send(handler, 404, b"file not found", "text/plain")
            return
        self._send(handler, 200, f"OK - {len(data)}".encode(), "text/plain; charset=utf-8")

    def _serve_response_url(self, handler: _Handler, rid: str) -> None:
        arrived = time.monotonic()
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
        # The workspace that minted it (response_url ids carry random hex, so they never collide);
        # an unknown one is the primary's 404 to answer and record.
        target = self._host.primary
        for hosted in self._host.hosted():
            with hosted.state.lock:
                if rid in hosted.state.response_urls:
                    target = hosted
                    break
        with target.state.lock:
            status, answer = response_url_post(target.state, rid, payload, arrived)
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
