"""SlackSender: plays Slack towards the app, with signed requests over real HTTP or over Socket Mode.

It builds commands, events and interaction payloads the way Slack sends them, and then does
with the app's answer what Slack does: shows a command's ack body to the person, applies
a view_submission's ``response_action``, and notes what Slack would have shown instead when
the app was late (3 s) or failed (``Reply.slack_error``).

``SlackSender(fake, app_url)`` POSTs to the app's request URL; ``SlackSender(fake, mode="socket")``
sends the same payloads as envelopes over the app's Socket Mode websocket and reads the ack's
``payload`` as the answer, so a test drives an app in either mode with the same calls.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from .blocks import element_state, interactive_elements, is_empty_state, validate_view
from .methods import SlackError, _new_view, _short_id, deliver, replace_view
from .server import FakeSlack
from .socket_mode import ACK_DEADLINE, EVENT_RETRIES, RETRY_REASON
from .state import JSON, Message, View, Workspace


@dataclass
class Reply:
    """The app's answer to one request (HTTP, or a Socket Mode ack), and what Slack made of it.

    Over Socket Mode ``status`` is 200 when the ack came in time and 0 when it did not, ``text``
    is the ack's ``payload`` as JSON ("" without one), ``elapsed`` is how long the ack took (all
    the waiting when none came), and ``extra["envelopes"]`` lists the envelope ids sent (more
    than one when Slack retried an event).
    """

    status: int
    headers: dict[str, str]
    text: str
    elapsed: float = 0.0
    slack_error: str | None = None
    event_id: str | None = None
    extra: JSON = field(default_factory=dict)

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.text)


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``, as Slack signs requests."""
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackSender:
    """Sends what Slack sends the app: signed to its request URL, or over its Socket Mode socket."""

    def __init__(
        self,
        fake: FakeSlack,
        app_url: str | None = None,
        *,
        timeout: float = 10.0,
        ack_deadline: float = ACK_DEADLINE,
        mode: Literal["http", "socket"] = "http",
        event_retries: int = EVENT_RETRIES,
    ) -> None:
        if mode == "http" and not app_url:
            raise ValueError("HTTP mode needs the app's request URL; Socket Mode is mode='socket'")
        self.fake = fake
        self.app_url = app_url or ""
        self.timeout = timeout
        self.ack_deadline = ack_deadline
        self.mode = mode
        self.event_retries = event_retries  # Socket Mode: how often an unacked event is sent again
        self.last_interaction: JSON | None = None

    @property
    def _ws(self) -> Workspace:
        return self.fake.state

    # ------------------------------------------------------------------ transport

    def post(
        self,
        raw_body: bytes | str,
        headers: dict[str, str] | None = None,
        sign: bool = True,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> Reply:
        """POST a raw body; signing, timestamp and signature can be bent for negative tests.

        X-Slack-Request-Timestamp is wall-clock time (``time.time()``), never the fake's clock:
        the app checks it against its own real clock (slack_sdk's SignatureVerifier allows 300 s),
        so a test that moves the fake's clock must not make every request stale. ``timestamp``
        overrides it, e.g. ``int(time.time()) - 301`` for a stale-request test.
        """
        if self.mode == "socket":
            raise RuntimeError("Socket Mode has no HTTP request to send; use an HTTP SlackSender for this")
        body = raw_body.encode() if isinstance(raw_body, str) else raw_body
        ts = int(time.time()) if timestamp is None else timestamp
        sent = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "Accept": "application/json,*/*",
            "Accept-Encoding": "identity",
            "X-Slack-Request-Timestamp": str(ts),
        }
        if sign:
            sent["X-Slack-Signature"] = (
                signature if signature is not None else _sign(self.fake.signing_secret, ts, body)
            )
        sent.update(headers or {})
        request = Request(self.app_url, data=body, headers=sent, method="POST")  # noqa: S310 - the app's own URL
        started = time.monotonic()
        try:
            with urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - loopback, given by the test
                text = response.read().decode("utf-8", "replace")
                return Reply(
                    response.status, dict(response.headers.items()), text, time.monotonic() - started
                )
        except HTTPError as error:
            text = error.read().decode("utf-8", "replace")
            return Reply(error.code, dict(error.headers.items()), text, time.monotonic() - started)
        except (URLError, TimeoutError, ConnectionError) as error:
            return Reply(0, {}, str(error), time.monotonic() - started, slack_error="dispatch_failed")

    def _form(self, fields: dict[str, str]) -> Reply:
        """A slash command: a form POST, or over the socket the same fields as a JSON object."""
        if self.mode == "socket":
            return self._socket("slash_commands", dict(fields))
        return self.post(urlencode(fields).encode())

    def _interaction(self, payload: JSON) -> Reply:
        self.last_interaction = payload
        if self.mode == "socket":
            return self._socket("interactive", payload)
        return self.post(urlencode({"payload": json.dumps(payload)}).encode())

    def resend_last_interaction(self) -> Reply:
        """The last click or submission again, byte for byte: a double click, or a client retrying."""
        if self.last_interaction is None:
            raise LookupError("nothing was clicked or submitted yet")
        return self._interaction(self.last_interaction)

    def _socket(
        self,
        kind: str,
        payload: JSON,
        *,
        retries: int = 0,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
    ) -> Reply:
        """One envelope (and its retries) over Socket Mode, its ack read like an HTTP answer."""
        started = time.monotonic()
        sent = self.fake.socket_mode.deliver(
            kind,
            payload,
            ack_deadline=self.ack_deadline,
            retries=retries,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
        )
        elapsed = time.monotonic() - started
        if not sent:
            return Reply(0, {}, "no Socket Mode connection is open", elapsed, slack_error="dispatch_failed")
        last = sent[-1]
        extra: JSON = {"envelopes": [e.envelope_id for e in sent], "envelope_id": last.envelope_id}
        took = last.ack_seconds
        if took is None or took > self.ack_deadline:
            # Over HTTP a late answer is a timeout; over the socket a missing or late ack is.
            error = RETRY_REASON if kind == "events_api" else "operation_timeout"
            return Reply(0, {}, "", elapsed, slack_error=error, extra=extra)
        payload_back = last.ack_payload
        text = json.dumps(payload_back) if payload_back is not None else ""
        headers = {"Content-Type": "application/json"} if text else {}
        return Reply(200, headers, text, took, extra=extra)

    def _json(self, payload: JSON, headers: dict[str, str] | None = None) -> Reply:
        return self.post(
            json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})}
        )

    # ------------------------------------------------------------------ shared pieces

    def _user(self, user_id: str) -> JSON:
        user = self._ws.users.get(user_id)
        if user is None:
            raise ValueError(f"no such user {user_id!r}; add_user() first")
        return {"id": user.id, "username": user.name, "name": user.name, "team_id": self.fake.team_id}

    def _team(self) -> JSON:
        team: JSON = {"id": self.fake.team_id, "domain": self.fake.team_domain}
        if self._ws.enterprise_id:
            team["enterprise_id"] = self._ws.enterprise_id
        return team

    def _enterprise_fields(self) -> dict[str, str]:
        """A slash command's `enterprise_id` and `enterprise_name` (only on Enterprise Grid)."""
        ws = self._ws
        if ws.enterprise is None:
            return {}
        return {"enterprise_id": ws.enterprise[0], "enterprise_name": ws.enterprise[1]}

    def _channel_name(self, channel_id: str) -> str:
        channel = self._ws.resolve_channel(channel_id)
        if channel is None:
            raise ValueError(f"no such channel {channel_id!r}")
        return "directmessage" if channel.is_im else str(channel.name)

    def _show_slack_error(self, user_id: str, channel_id: str, what: str, error: str) -> None:
        """What Slack itself shows the person when the app failed them."""
        ws = self._ws
        with ws.lock:
            channel = ws.resolve_channel(channel_id) or ws.dm(user_id)
            ws.post(
                Message(
                    channel=channel.id,
                    ts=ws.next_ts(channel),
                    text=f'{what} failed with the error "{error}"',
                    ephemeral_user=user_id,
                    source="slack",
                    team=ws.team_id,
                )
            )

    # ------------------------------------------------------------------ slash commands

    def command(self, user_id: str, command: str, text: str = "", channel_id: str | None = None) -> Reply:
        """A slash command, form-encoded as Slack sends it; the ack body is shown to the person."""
        user = self._user(user_id)
        ws = self._ws
        channel = channel_id or self.fake.dm_channel_id(user_id)
        channel_name = self._channel_name(channel)
        response_url = ws.mint_response_url(user_id, channel)
        trigger = ws.mint_trigger(user_id)
        reply = self._form(
            {
                "token": self.fake.verification_token,
                "team_id": self.fake.team_id,
                "team_domain": self.fake.team_domain,
                "channel_id": channel,
                "channel_name": channel_name,
                "user_id": user_id,
                "user_name": user["name"],
                "command": command,
                "text": text,
                "api_app_id": self.fake.app_id,
                "is_enterprise_install": "false",
                **self._enterprise_fields(),
                "response_url": response_url.url,
                "trigger_id": trigger.id,
            }
        )
        reply.extra.update({"response_url": response_url.url, "trigger_id": trigger.id})
        self._apply_command_ack(reply, user_id, channel, command)
        return reply

    def _apply_command_ack(self, reply: Reply, user_id: str, channel_id: str, command: str) -> None:
        if reply.slack_error is None and reply.elapsed > self.ack_deadline:
            reply.slack_error = "operation_timeout"
        elif reply.slack_error is None and reply.status != 200:
            reply.slack_error = "dispatch_failed"
        if reply.slack_error is not None:
            self._show_slack_error(user_id, channel_id, command, reply.slack_error)
            return
        text = reply.text.strip()
        if not text:
            return
        try:
            body = json.loads(text)
        except ValueError:
            body = {"text": text}
        if not isinstance(body, dict):
            body = {"text": text}
        try:
            with self._ws.lock:
                deliver(self._ws, user_id=user_id, channel_id=channel_id, body=body, source="ack")
        except SlackError:
            reply.slack_error = "invalid_command_response"
            self._show_slack_error(user_id, channel_id, command, reply.slack_error)

    # ------------------------------------------------------------------ Events API

    def event(
        self,
        event: JSON,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> Reply:
        """An ``event_callback`` envelope around ``event``; retries carry X-Slack-Retry-* headers.

        Over Socket Mode it goes as an ``events_api`` envelope, sent again (``retry_attempt``,
        ``retry_reason: timeout``) up to ``event_retries`` times while no ack comes; a given
        ``retry_num`` sends that one retry only, as a test playing Slack's retry by hand wants.
        """
        now = self.fake.clock()
        eid = event_id or self.fake.new_event_id()
        context = base64.urlsafe_b64encode(
            json.dumps({"team_id": self.fake.team_id, "app_id": self.fake.app_id}).encode()
        ).decode()
        envelope = {
            "token": self.fake.verification_token,
            "team_id": self.fake.team_id,
            "context_team_id": self.fake.team_id,
            "context_enterprise_id": self._ws.enterprise_id,
            "api_app_id": self.fake.app_id,
            "event": {**event, "event_ts": event.get("event_ts", f"{now:.6f}")},
            "type": "event_callback",
            "event_id": eid,
            "event_time": int(now),
            "authorizations": [
                {
                    "enterprise_id": self._ws.enterprise_id,
                    "team_id": self.fake.team_id,
                    "user_id": self.fake.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + context,
        }
        if self._ws.enterprise_id:  # Enterprise Grid: the org of the workspace the event is from
            envelope["enterprise_id"] = self._ws.enterprise_id
        if self.mode == "socket":
            reply = self._socket(
                "events_api",
                envelope,
                retries=self.event_retries if retry_num is None else 0,
                retry_attempt=retry_num,
                retry_reason=(retry_reason or RETRY_REASON) if retry_num is not None else None,
            )
            reply.event_id = eid
            return reply
        headers = {}
        if retry_num is not None:
            headers = {
                "X-Slack-Retry-Num": str(retry_num),
                "X-Slack-Retry-Reason": retry_reason or "http_timeout",
            }
        reply = self._json(envelope, headers)
        reply.event_id = eid
        if reply.slack_error is None and reply.elapsed > self.ack_deadline:
            reply.slack_error = "http_timeout"  # Slack would retry this event
        elif reply.slack_error is None and not 200 <= reply.status < 300:
            reply.slack_error = "http_error"  # Slack would retry this event
        return reply

    def user_message(self, user_id: str, text: str, thread_ts: str | None = None) -> tuple[Message, Reply]:
        """The person writes in their DM with the bot: stored, then delivered as ``message.im``."""
        self._user(user_id)
        ws = self._ws
        with ws.lock:
            channel = ws.dm(user_id)
            root = ws.thread_root(channel.id, thread_ts) if thread_ts else None
            blocks = [
                {
                    "type": "rich_text",
                    "block_id": _short_id(),
                    "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
                }
            ]
            message = ws.post(
                Message(
                    channel=channel.id,
                    ts=ws.next_ts(channel),
                    text=text,
                    user=user_id,
                    blocks=blocks,
                    thread_ts=root,
                    source="user",
                    team=ws.team_id,
                )
            )
        event: JSON = {
            "client_msg_id": str(uuid.uuid4()),
            "type": "message",
            "text": text,
            "user": user_id,
            "ts": message.ts,
            "blocks": blocks,
            "team": self.fake.team_id,
            "channel": channel.id,
            "event_ts": message.ts,
            "channel_type": "im",
        }
        if root is not None:
            event["thread_ts"] = root
            event["parent_user_id"] = message.parent_user_id
        return message, self.event(event)

    def open_home(self, user_id: str) -> Reply:
        """``app_home_opened`` for the Home tab, with the view last published for the person."""
        self._user(user_id)
        event: JSON = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self.fake.dm_channel_id(user_id),
            "tab": "home",
        }
        home = self.fake.home_view(user_id)
        if home is not None:
            event["view"] = home.to_api()
        return self.event(event)

    def user_change(self, user_id: str) -> Reply:
        """``user_change`` with the person's current profile (after ``fake.update_user``)."""
        user = self.fake.user(user_id)
        return self.event({"type": "user_change", "user": user.to_api(), "cache_ts": int(self.fake.clock())})

    def url_verification(
        self, challenge: str = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    ) -> Reply:
        """The handshake Slack sends when the request URL is saved (never over Socket Mode)."""
        if self.mode == "socket":
            raise RuntimeError("Slack sends url_verification to a request URL only, never over Socket Mode")
        return self._json(
            {"token": self.fake.verification_token, "challenge": challenge, "type": "url_verification"}
        )

    # ------------------------------------------------------------------ interactivity

    def _find_element(
        self,
        blocks: list[Any],
        action_id: str | None,
        text: str | None,
        value: Any,
    ) -> tuple[str | None, JSON]:
        candidates = interactive_elements(blocks)
        found = []
        for block_id, element in candidates:
            if action_id is not None and element.get("action_id") != action_id:
                continue
            if text is not None and (element.get("text") or {}).get("text") != text:
                continue
            if element.get("type") == "button" and value is not None and element.get("value") != value:
                continue
            found.append((block_id, element))
        if len(found) != 1:
            seen = [
                f"{e.get('type')} action_id={e.get('action_id')!r} text={(e.get('text') or {}).get('text')!r}"
                for _, e in candidates
            ]
            problem = "no element" if not found else f"{len(found)} elements"
            raise LookupError(
                f"{problem} matching action_id={action_id!r} text={text!r}; the blocks have: {seen}"
            )
        return found[0]

    def _action(self, block_id: str | None, element: JSON, value: Any) -> JSON:
        action: JSON = {
            "action_id": element.get("action_id"),
            "block_id": block_id,
            "type": element.get("type"),
            "action_ts": f"{self.fake.clock():.6f}",
        }
        if element.get("type") in ("button", "workflow_button"):
            action["text"] = element.get("text")
            if "value" in element:
                action["value"] = element["value"]
            if "style" in element:
                action["style"] = element["style"]
            return action
        if element.get("type") == "overflow":
            state = element_state({**element, "type": "static_select"}, value)
            action["selected_option"] = state["selected_option"]
            return action
        state = element_state(element, value)
        state.pop("type", None)
        action.update(state)
        return action

    def click(
        self,
        user_id: str,
        message: Message,
        action_id: str | None = None,
        text: str | None = None,
        value: Any = None,
    ) -> Reply:
        """The person uses an element of a message (a button, by action_id or label).

        ``value`` picks among buttons with the same label, or is the choice for a menu.
        """
        ws = self._ws
        current = ws.find_message(message.channel, message.ts, include_ephemeral=True)
        if current is None:
            raise LookupError(f"message {message.channel}/{message.ts} is gone; nobody can click it")
        if current.is_ephemeral and current.ephemeral_user != user_id:
            raise LookupError(f"{user_id} cannot see the ephemeral message {current.ts}")
        block_id, element = self._find_element(current.blocks or [], action_id, text, value)
        response_url = ws.mint_response_url(user_id, current.channel, message=current)
        trigger = ws.mint_trigger(user_id)
        payload: JSON = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.fake.app_id,
            "token": self.fake.verification_token,
            "container": {
                "type": "message",
                "message_ts": current.ts,
                "channel_id": current.channel,
                "is_ephemeral": current.is_ephemeral,
            },
            "trigger_id": trigger.id,
            "team": self._team(),
            "enterprise": self._ws.enterprise_api(),
            "is_enterprise_install": False,
            "channel": {"id": current.channel, "name": self._channel_name(current.channel)},
            "state": {"values": {}},
            "response_url": response_url.url,
            "actions": [self._action(block_id, element, value)],
        }
        if not current.is_ephemeral:
            # Slack sends no copy of an ephemeral message: only container.message_ts.
            with ws.lock:
                payload["message"] = current.to_api(with_metadata=False)
        reply = self._interaction(payload)
        reply.extra.update({"response_url": response_url.url, "trigger_id": trigger.id})
        self._ack_deadline(reply)
        return reply

    def _open_view(self, user_id: str, view: View | str) -> View:
        ws = self._ws
        view_id = view.id if isinstance(view, View) else view
        with ws.lock:
            current = ws.views.get(view_id)
            if current is None or current.closed or current.user_id != user_id:
                raise LookupError(f"view {view_id} is not open for {user_id}")
            return current

    def click_in_view(
        self,
        user_id: str,
        view: View | str,
        action_id: str,
        value: Any = None,
        text: str | None = None,
    ) -> Reply:
        """``block_actions`` from a modal or the Home tab (container type ``view``)."""
        current = self._open_view(user_id, view)
        block_id, element = self._find_element(current.blocks, action_id, text, value)
        trigger = self._ws.mint_trigger(user_id, view_id=current.id)
        payload: JSON = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.fake.app_id,
            "token": self.fake.verification_token,
            "container": {"type": "view", "view_id": current.id},
            "trigger_id": trigger.id,
            "team": self._team(),
            "enterprise": self._ws.enterprise_api(),
            "is_enterprise_install": False,
            "view": current.to_api(),
            "state": current.state,
            "actions": [self._action(block_id, element, value)],
        }
        reply = self._interaction(payload)
        reply.extra["trigger_id"] = trigger.id
        self._ack_deadline(reply)
        return reply

    def _ack_deadline(self, reply: Reply) -> None:
        if reply.slack_error is None and reply.elapsed > self.ack_deadline:
            reply.slack_error = "operation_timeout"
        elif reply.slack_error is None and reply.status != 200:
            reply.slack_error = "dispatch_failed"

    def _state_for(self, view: View, values: dict[str, Any]) -> JSON:
        """``state.values`` of a submitted modal, keyed ``{block_id: {action_id: {...}}}``."""
        inputs: list[tuple[str, JSON, bool]] = []
        for block_id, element in interactive_elements(view.blocks):
            block = next(
                (b for b in view.blocks if isinstance(b, dict) and b.get("block_id") == block_id), {}
            )
            if (
                block.get("type") == "input"
                or f"{block_id}.{element.get('action_id')}" in values
                or (element.get("action_id") in values)
            ):
                inputs.append(
                    (
                        str(block_id),
                        element,
                        bool(block.get("optional", False)) or block.get("type") != "input",
                    )
                )
        used: set[str] = set()
        state: JSON = {}
        for block_id, element, optional in inputs:
            action_id = str(element.get("action_id"))
            full = f"{block_id}.{action_id}"
            if full in values:
                given, used_key = values[full], full
            elif action_id in values:
                if sum(1 for _, e, _o in inputs if e.get("action_id") == action_id) > 1:
                    raise ValueError(
                        f"action_id {action_id!r} is in several blocks; key it as 'block_id.action_id'"
                    )
                given, used_key = values[action_id], action_id
            else:
                given, used_key = None, None
            if used_key is not None:
                used.add(used_key)
            # An input the person does not touch now still holds what it held: what they typed
            # before (kept across response_action "errors" and across updates that keep its
            # block_id and action_id), else its initial value.
            before = ((view.state.get("values") or {}).get(block_id) or {}).get(action_id)
            if used_key is None and isinstance(before, dict) and before.get("type") == element.get("type"):
                entry = dict(before)
            else:
                entry = element_state(element, given)
            if not optional and is_empty_state(entry):
                raise ValueError(f"Slack would not let the person submit: required input {full!r} is empty")
            state.setdefault(block_id, {})[action_id] = entry
        unknown = sorted(set(values) - used)
        if unknown:
            raise ValueError(f"no input in view {view.id} for {unknown}")
        return {"values": state}

    def submit_view(self, user_id: str, view_id: str, values: dict[str, Any] | None = None) -> Reply:
        """The person submits the top modal; the app's answer is applied as Slack applies it."""
        ws = self._ws
        view = self._open_view(user_id, view_id)
        with ws.lock:
            if not ws.stack(user_id) or ws.stack(user_id)[-1] != view.id:
                raise LookupError(f"view {view.id} is not the visible (top) modal of {user_id}")
            state = self._state_for(view, dict(values or {}))
            view.state = state
            trigger = ws.mint_trigger(user_id, view_id=view.id)
            payload: JSON = {
                "type": "view_submission",
                "team": self._team(),
                "user": self._user(user_id),
                "api_app_id": self.fake.app_id,
                "token": self.fake.verification_token,
                "trigger_id": trigger.id,
                "view": view.to_api(),
                "response_urls": [],
                "is_enterprise_install": False,
                "enterprise": self._ws.enterprise_api(),
            }
        reply = self._interaction(payload)
        self._apply_submission(reply, user_id, view)
        return reply

    def _apply_submission(self, reply: Reply, user_id: str, view: View) -> None:
        """Do with the ack what Slack does: close, show errors, update, push or clear."""
        self._ack_deadline(reply)
        if reply.slack_error is not None:
            return  # the modal stays open with Slack's own error banner
        ws = self._ws
        text = reply.text.strip()
        try:
            answer = json.loads(text) if text else {}
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            reply.slack_error = "invalid_response"
            return
        action = answer.get("response_action")
        with ws.lock:
            if action is None:
                ws.close_views(user_id, [view.id])
            elif action == "clear":
                ws.close_views(user_id, list(ws.stack(user_id)))
            elif action == "errors":
                errors = answer.get("errors")
                inputs = {
                    b.get("block_id") for b in view.blocks if isinstance(b, dict) and b.get("type") == "input"
                }
                if not isinstance(errors, dict) or not errors or not set(errors) <= inputs:
                    reply.slack_error = "invalid_errors"  # Slack rejects errors for unknown block_ids
                    return
                ws.view_errors.setdefault(view.id, []).append({str(k): str(v) for k, v in errors.items()})
                ws.changed()
            elif action in ("update", "push"):
                new = answer.get("view")
                problems = validate_view(new)
                if problems or not isinstance(new, dict) or new.get("type") != "modal":
                    reply.slack_error = "invalid_view"
                    reply.extra["view_errors"] = problems
                    return
                if action == "update":
                    replace_view(ws, view, new)
                else:
                    stack = ws.stack(user_id)
                    if len(stack) >= 3:
                        reply.slack_error = "push_limit_reached"
                        return
                    pushed = _new_view(ws, user_id, new, root=stack[0], previous=stack[-1])
                    stack.append(pushed.id)
                    ws.changed()
            else:
                reply.slack_error = "invalid_response_action"

    def close_view(self, user_id: str, view_id: str) -> Reply | None:
        """The person closes the top modal; ``view_closed`` goes out only with notify_on_close."""
        ws = self._ws
        view = self._open_view(user_id, view_id)
        with ws.lock:
            stack = ws.stack(user_id)
            if not stack or stack[-1] != view.id:
                raise LookupError(f"view {view.id} is not the visible (top) modal of {user_id}")
            cleared = bool(view.payload.get("clear_on_close"))
            ws.close_views(user_id, list(stack) if cleared else [view.id])
            payload: JSON = {
                "type": "view_closed",
                "team": self._team(),
                "user": self._user(user_id),
                "api_app_id": self.fake.app_id,
                "token": self.fake.verification_token,
                "view": view.to_api(),
                "is_cleared": cleared,
                "is_enterprise_install": False,
                "enterprise": self._ws.enterprise_api(),
            }
        if not view.payload.get("notify_on_close"):
            return None
        return self._interaction(payload)


def _sign(secret: str, timestamp: int, body: bytes) -> str:
    return sign(secret, timestamp, body)
