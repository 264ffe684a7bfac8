"""One function per Web API method, plus what Slack does with response_url posts and acks.

Each method takes the workspace and the request's parameters and returns the JSON body
Slack would answer with HTTP 200; failures raise ``SlackError``. The server holds the
workspace lock around every call, so these functions never race each other.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from collections.abc import Callable
from typing import Any

from .blocks import element_state, fill_ids, validate_message_blocks, validate_view
from .state import (
    JSON,
    MAX_TEXT,
    RESPONSE_URL_TTL,
    RESPONSE_URL_USES,
    SLACKBOT_ID,
    TRIGGER_TTL,
    Channel,
    Edit,
    File,
    Message,
    ResponsePost,
    View,
    Workspace,
    format_ts,
    parse_ts,
)


class SlackError(Exception):
    """An ``{"ok": false, "error": ...}`` answer, with any extra fields Slack adds."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra

    def body(self) -> JSON:
        """The JSON body Slack answers with."""
        return {"ok": False, "error": self.error, **self.extra}


class Params:
    """A request's parameters, merged from query, form and JSON, with Slack's coercions."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = {k: v for k, v in values.items() if v is not None}

    def text(self, name: str) -> str | None:
        """The parameter as text; JSON numbers become their decimal form."""
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return format(value)
        if isinstance(value, str):
            return value
        return json.dumps(value)

    def flag(self, name: str, default: bool = False) -> bool:
        """Slack reads "true"/"1" (and JSON true) as true."""
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("1", "true", "yes")

    def number(self, name: str, default: int) -> int:
        """An integer parameter; junk counts as the default, as Slack mostly does."""
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            return int(str(value))
        except ValueError:
            return default

    def data(self, name: str) -> Any:
        """A parameter that may arrive as a JSON string (form) or as JSON itself."""
        value = self.values.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return _BAD_JSON
        return value


_BAD_JSON = object()

Handler = Callable[[Workspace, Params], JSON]
METHODS: dict[str, Handler] = {}

# Methods that take the app-level (xapp-) token, in the Authorization header only; every other
# method takes the bot token. The wrong kind is answered `not_allowed_token_type`.
APP_TOKEN_METHODS: frozenset[str] = frozenset({"apps.connections.open"})


def method(name: str) -> Callable[[Handler], Handler]:
    """Register a handler for a Web API method name."""

    def register(fn: Handler) -> Handler:
        METHODS[name] = fn
        return fn

    return register


# ------------------------------------------------------------------ helpers


def _cursor(kind: str, value: str) -> str:
    return base64.b64encode(f"{kind}:{value}".encode()).decode()


def _uncursor(kind: str, cursor: str) -> str:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise SlackError("invalid_cursor") from exc
    prefix = kind + ":"
    if not text.startswith(prefix):
        raise SlackError("invalid_cursor")
    return text[len(prefix) :]


def _offset_page(items: list[Any], params: Params, kind: str, default_limit: int) -> tuple[list[Any], str]:
    """One page of ``items`` and the next cursor ("" at the end), Slack's cursor pagination."""
    start = 0
    cursor = params.text("cursor")
    if cursor:
        try:
            start = int(_uncursor(kind, cursor))
        except ValueError as exc:
            raise SlackError("invalid_cursor") from exc
        if start < 0 or start > len(items):
            raise SlackError("invalid_cursor")
    limit = params.number("limit", default_limit)
    if limit <= 0:
        limit = len(items) or 1
    page = items[start : start + limit]
    end = start + len(page)
    return page, (_cursor(kind, str(end)) if end < len(items) else "")


def _file_objects(ws: Workspace, message: Message) -> list[JSON]:
    return [ws.files[fid].to_api(ws.base_url(), ws.team_domain) for fid in message.files if fid in ws.files]


def _api_message(ws: Workspace, message: Message, *, with_metadata: bool) -> JSON:
    return message.to_api(with_metadata=with_metadata, files=_file_objects(ws, message))


def _short_id() -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(5))


def parse_blocks(value: Any) -> list[Any] | None:
    """``blocks`` as a list, refusing what Slack refuses; None when absent."""
    if value is None:
        return None
    if value is _BAD_JSON or not isinstance(value, list):
        raise SlackError("invalid_blocks_format")
    errors = validate_message_blocks(value)
    if errors:
        raise SlackError(
            "invalid_blocks",
            errors=errors,
            response_metadata={"messages": ["[ERROR] " + e for e in errors]},
        )
    return fill_ids(value, _short_id)


def _content(params: Params, *, require: bool = True) -> tuple[str, JSON, list[Any] | None, list[Any] | None]:
    """text, blocks, attachments and any truncation warning of a message-posting call."""
    blocks = parse_blocks(params.data("blocks"))
    attachments = params.data("attachments")
    if attachments is _BAD_JSON or (attachments is not None and not isinstance(attachments, list)):
        raise SlackError("invalid_attachments")
    text = params.text("text") or ""
    if require and not text and not blocks and not attachments:
        raise SlackError("no_text")
    text, warning = _truncate(text)
    return text, warning, blocks, attachments


_TRUNCATED = (
    "[WARN] Your message was truncated but still posted. The `text` field accepts up to 40,000 characters."
)


def _truncate(text: str) -> tuple[str, JSON]:
    """Slack truncates text past 40,000 characters, posts anyway, and warns."""
    if len(text) <= MAX_TEXT:
        return text, {}
    return text[:MAX_TEXT], {
        "warning": "message_truncated",
        "response_metadata": {
            "warnings": ["message_truncated"],
            "messages": [_TRUNCATED],
        },
    }


def _metadata(params: Params) -> JSON | None:
    value = params.data("metadata")
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("event_type"), str)
        or not isinstance(value.get("event_payload", {}), dict)
    ):
        raise SlackError("invalid_metadata_format")
    return {"event_type": value["event_type"], "event_payload": value.get("event_payload", {})}


def _posting_channel(ws: Workspace, target: str | None) -> Channel:
    """Where chat.postMessage posts: a U id means the bot's DM with that person.

    Deactivated people still get the message: Slack keeps their DM and answers ok
    (python-slack-sdk issue 1156, where Slack staff explain this), so the fake does too.
    """
    if not target:
        raise SlackError("channel_not_found")
    if target[:1] in ("U", "W"):
        if target not in ws.users or target == ws.bot_user_id:
            raise SlackError("channel_not_found")
        return ws.dm(target)
    channel = ws.resolve_channel(target)
    if channel is None:
        raise SlackError("channel_not_found")
    if not channel.is_im and ws.bot_user_id not in channel.members:
        raise SlackError("not_in_channel")
    return channel


def _existing_channel(ws: Workspace, target: str | None) -> Channel:
    """A channel named by its id: chat.update and friends do not take user ids."""
    channel = ws.resolve_channel(target or "") if target and target[:1] in ("C", "D", "G") else None
    if channel is None:
        raise SlackError("channel_not_found")
    return channel


def _bot_message(ws: Workspace, channel: Channel, **fields: Any) -> Message:
    return Message(
        channel=channel.id,
        ts=ws.next_ts(channel),
        user=ws.bot_user_id,
        bot_id=ws.bot_id,
        app_id=ws.app_id,
        team=ws.team_id,
        **fields,
    )


# ------------------------------------------------------------------ auth & users


@method("apps.connections.open")
def apps_connections_open(ws: Workspace, params: Params) -> JSON:
    """A Socket Mode URL with a one-time ticket (the fake listens once this is first called)."""
    if ws.socket_url is None:
        raise SlackError("socket_mode_not_enabled")  # fakeslack's own: this Workspace has no socket side
    ticket = ws.mint_ticket()
    return {"ok": True, "url": f"{ws.socket_url()}?ticket={ticket.id}&app_id={ws.app_id}"}


# Methods that authenticate with the app's client id and secret (HTTP Basic, or in the form)
# instead of a token.
CLIENT_AUTH_METHODS: frozenset[str] = frozenset({"oauth.v2.access"})


@method("oauth.v2.access")
def oauth_v2_access(ws: Workspace, params: Params) -> JSON:
    """A code from the redirect exchanged for a bot token; with token rotation, a refresh too."""
    client_id, secret = params.text("client_id"), params.text("client_secret")
    if client_id != ws.oauth.client_id:
        raise SlackError("invalid_client_id")
    if secret != ws.oauth.client_secret:
        raise SlackError("bad_client_secret")
    grant_type = params.text("grant_type") or "authorization_code"
    if grant_type == "refresh_token":
        return ws.refresh_token_grant(params.text("refresh_token") or "")
    if grant_type != "authorization_code":
        raise SlackError("invalid_grant_type")
    return ws.exchange_code(params.text("code") or "", params.text("redirect_uri"))


@method("auth.test")
def auth_test(ws: Workspace, params: Params) -> JSON:
    """Who the token is."""
    return {
        "ok": True,
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": ws.team_name,
        "user": ws.users[ws.bot_user_id].name,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
        **({"enterprise_id": ws.enterprise_id} if ws.enterprise_id else {}),
    }


@method("users.info")
def users_info(ws: Workspace, params: Params) -> JSON:
    """One user, time zone facts as of the fake's clock."""
    user = ws.user(params.text("user") or "")
    if user is None:
        raise SlackError("user_not_found")
    return {"ok": True, "user": user.to_api()}


@method("users.list")
def users_list(ws: Workspace, params: Params) -> JSON:
    """Every member including bots, Slackbot and deactivated people, cursor-paged."""
    members = [ws.refresh_tz(u).to_api() for u in ws.users.values()]
    page, next_cursor = _offset_page(members, params, "users", 0)
    return {
        "ok": True,
        "members": page,
        "cache_ts": int(ws.now()),
        "response_metadata": {"next_cursor": next_cursor},
    }


# ------------------------------------------------------------------ conversations


@method("conversations.open")
def conversations_open(ws: Workspace, params: Params) -> JSON:
    """The bot's DM with one person; the id never changes."""
    channel_id = params.text("channel")
    users = [u.strip() for u in (params.text("users") or "").split(",") if u.strip()]
    if channel_id and not users:
        channel = ws.resolve_channel(channel_id)
        if channel is None or not channel.is_im:
            raise SlackError("channel_not_found")
        return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": channel.id}}
    if not users:
        raise SlackError("users_list_not_supplied")
    if len(users) > 1:
        raise SlackError("fakeslack_not_modeled", detail="multi-person DMs (mpim) are not modelled")
    user = ws.users.get(users[0])
    if user is None:
        raise SlackError("user_not_found")
    if user.deleted:
        raise SlackError(
            "user_disabled"
        )  # listed for conversations.open: "A specified user has been disabled"
    existed = ws.dm_id(user.id) in ws.channels
    channel = ws.dm(user.id)
    body: JSON = {"ok": True, "channel": channel.to_api() if params.flag("return_im") else {"id": channel.id}}
    if existed:
        body["no_op"] = True
        body["already_open"] = True
    return body


@method("conversations.members")
def conversations_members(ws: Workspace, params: Params) -> JSON:
    """Member ids of a conversation, cursor-paged."""
    channel = _existing_channel(ws, params.text("channel"))
    page, next_cursor = _offset_page(list(channel.members), params, "members", 100)
    return {"ok": True, "members": page, "response_metadata": {"next_cursor": next_cursor}}


def _with_membership(ws: Workspace, channel: Channel) -> JSON:
    return {**channel.to_api(), "is_member": ws.bot_user_id in channel.members}


@method("conversations.info")
def conversations_info(ws: Workspace, params: Params) -> JSON:
    """One conversation, with whether the bot is in it (`is_member`)."""
    channel = _existing_channel(ws, params.text("channel"))
    return {"ok": True, "channel": _with_membership(ws, channel)}


@method("conversations.list")
def conversations_list(ws: Workspace, params: Params) -> JSON:
    """The workspace's public channels (the only `types` the fake has besides DMs), cursor-paged."""
    types = set((params.text("types") or "public_channel").split(","))
    channels = [
        c
        for c in ws.channels.values()
        if not c.is_im
        and "public_channel" in types
        and not (params.flag("exclude_archived") and c.is_archived)
    ]
    if "im" in types:
        channels += [c for c in ws.channels.values() if c.is_im]
    page, next_cursor = _offset_page([_with_membership(ws, c) for c in channels], params, "channels", 100)
    return {"ok": True, "channels": page, "response_metadata": {"next_cursor": next_cursor}}


def _ts_param(params: Params, name: str, error: str) -> int | None:
    raw = params.text(name)
    if raw is None or raw == "":
        return None
    micros = parse_ts(raw)
    if micros is None:
        raise SlackError(error)
    return micros


def _readable(ws: Workspace, channel_id: str | None) -> Channel:
    channel = _existing_channel(ws, channel_id)
    if not channel.is_im and ws.bot_user_id not in channel.members:
        raise SlackError("not_in_channel")
    return channel


def _window(params: Params, messages: list[Message]) -> list[Message]:
    oldest = _ts_param(params, "oldest", "invalid_ts_oldest")
    latest = _ts_param(params, "latest", "invalid_ts_latest")
    inclusive = params.flag("inclusive")
    kept = []
    for message in messages:
        micros = parse_ts(message.ts) or 0
        if oldest is not None and (micros < oldest or (micros == oldest and not inclusive)):
            continue
        if latest is not None and (micros > latest or (micros == latest and not inclusive)):
            continue
        kept.append(message)
    return kept


def _ts_page(messages: list[Message], params: Params, *, newest_first: bool) -> tuple[list[Message], str]:
    cursor = params.text("cursor")
    if cursor:
        start_ts = parse_ts(_uncursor("next_ts", cursor))
        if start_ts is None:
            raise SlackError("invalid_cursor")
        if newest_first:
            messages = [m for m in messages if (parse_ts(m.ts) or 0) <= start_ts]
        else:
            messages = [m for m in messages if (parse_ts(m.ts) or 0) >= start_ts]
    limit = min(max(params.number("limit", 100), 1), 999)
    page = messages[:limit]
    return page, (_cursor("next_ts", messages[limit].ts) if len(messages) > limit else "")


@method("conversations.history")
def conversations_history(ws: Workspace, params: Params) -> JSON:
    """Top-level messages (and broadcast replies), newest first, cursor-paged."""
    channel = _readable(ws, params.text("channel"))
    messages = [
        m
        for m in ws.messages
        if m.channel == channel.id
        and not m.deleted
        and not m.is_ephemeral
        and (m.thread_ts in (None, m.ts) or m.reply_broadcast)
    ]
    messages.sort(key=lambda m: parse_ts(m.ts) or 0, reverse=True)
    page, next_cursor = _ts_page(_window(params, messages), params, newest_first=True)
    with_metadata = params.flag("include_all_metadata")
    body: JSON = {
        "ok": True,
        "messages": [_api_message(ws, m, with_metadata=with_metadata) for m in page],
        "has_more": bool(next_cursor),
        "pin_count": 0,
        "channel_actions_ts": None,
        "channel_actions_count": 0,
    }
    if next_cursor:
        body["response_metadata"] = {"next_cursor": next_cursor}
    return body


@method("conversations.replies")
def conversations_replies(ws: Workspace, params: Params) -> JSON:
    """A thread, parent first; ``ts`` may name the parent or any reply."""
    channel = _readable(ws, params.text("channel"))
    ts = params.text("ts") or ""
    anchor = ws.find_message(channel.id, ts)
    if anchor is None:
        raise SlackError("thread_not_found")
    root_ts = anchor.thread_ts or anchor.ts
    thread = [
        m
        for m in ws.messages
        if m.channel == channel.id
        and not m.deleted
        and not m.is_ephemeral
        and (m.ts == root_ts or m.thread_ts == root_ts)
    ]
    thread.sort(key=lambda m: parse_ts(m.ts) or 0)
    page, next_cursor = _ts_page(_window(params, thread), params, newest_first=False)
    with_metadata = params.flag("include_all_metadata")
    body: JSON = {
        "ok": True,
        "messages": [_api_message(ws, m, with_metadata=with_metadata) for m in page],
        "has_more": bool(next_cursor),
    }
    if next_cursor:
        body["response_metadata"] = {"next_cursor": next_cursor}
    return body


# ------------------------------------------------------------------ chat


_NUMBER = re.compile(r"\d+(\.\d+)?")


def _thread_ts(params: Params) -> str | None:
    """chat.postMessage's ``thread_ts``; a value that is not a timestamp at all is refused.

    chat.postMessage's documented error list does not name this case, but Slack's own answer is
    quoted verbatim in jenkinsci/slack-plugin issue 584: ``{"ok": false, "error":
    "invalid_thread_ts", "response_metadata": {"messages": ["[ERROR] 0 is not a valid
    thread_ts"]}}``. Unverified edges: a well-formed ts naming no message is accepted (see below),
    and so, reportedly, are numbers without a dot (zencoderai/slack-mcp-server PR 7: the reply
    then lands top-level), so only non-numbers and zero are refused here.
    """
    raw = params.text("thread_ts")
    if not raw:
        return None
    if not _NUMBER.fullmatch(raw) or not raw.strip("0."):
        raise SlackError(
            "invalid_thread_ts", response_metadata={"messages": [f"[ERROR] {raw} is not a valid thread_ts"]}
        )
    return raw


@method("chat.postMessage")
def chat_post_message(ws: Workspace, params: Params) -> JSON:
    """Post as the bot; see ``_posting_channel`` for where it lands."""
    channel = _posting_channel(ws, params.text("channel"))
    text, warning, blocks, attachments = _content(params)
    metadata = _metadata(params)
    thread_ts = _thread_ts(params)
    if thread_ts is not None:
        # Slack answers ok even when thread_ts names no message (the reply is then orphaned and
        # shows nowhere: python-slack-sdk issue 840); a reply's ts joins its parent's thread.
        thread_ts = ws.thread_root(channel.id, thread_ts)
    message = _bot_message(
        ws,
        channel,
        text=text,
        blocks=blocks,
        attachments=attachments,
        thread_ts=thread_ts,
        reply_broadcast=bool(thread_ts) and params.flag("reply_broadcast"),
        metadata=metadata,
    )
    ws.post(message)
    return {
        "ok": True,
        "channel": channel.id,
        "ts": message.ts,
        "message": _api_message(ws, message, with_metadata=True),
        **warning,
    }


@method("chat.postEphemeral")
def chat_post_ephemeral(ws: Workspace, params: Params) -> JSON:
    """A message only one member of the channel sees, never in history."""
    channel = _existing_channel(ws, params.text("channel"))
    user_id = params.text("user") or ""
    if user_id not in ws.users:
        raise SlackError("user_not_found")
    if not channel.is_im and ws.bot_user_id not in channel.members:
        raise SlackError("not_in_channel")
    if user_id not in channel.members:
        raise SlackError("user_not_in_channel")
    text, warning, blocks, attachments = _content(params)
    thread_ts = params.text("thread_ts") or None
    message = _bot_message(
        ws,
        channel,
        text=text,
        blocks=blocks,
        attachments=attachments,
        thread_ts=thread_ts,
        ephemeral_user=user_id,
    )
    ws.post(message)
    return {"ok": True, "message_ts": message.ts, **warning}


def _bots_own_message(ws: Workspace, params: Params, *, refusal: str) -> tuple[Channel, Message]:
    """The message `channel`/`ts` names, which must be the bot's own (Slack refuses others)."""
    channel = _existing_channel(ws, params.text("channel"))
    message = ws.find_message(channel.id, params.text("ts") or "")
    if message is None:
        raise SlackError("message_not_found")
    if message.bot_id != ws.bot_id:
        raise SlackError(refusal)
    return channel, message


@method("chat.update")
def chat_update(ws: Workspace, params: Params) -> JSON:
    """Edit one of the bot's own messages; the earlier version is kept in ``edited``."""
    channel, message = _bots_own_message(ws, params, refusal="cant_update_message")
    text, warning, blocks, attachments = _content(params)
    metadata = _metadata(params)
    message.edited.append(
        Edit(ts=format_ts(int(ws.now() * 1_000_000)), text=message.text, blocks=message.blocks)
    )
    message.text = text
    # "If you don't include this field, the message's previous blocks will be retained. To remove
    # previous blocks, include an empty array for this field." (chat.update docs, `blocks`; the same
    # sentence stands for `attachments`.) python-slack-sdk issue 523 is the symptom: a text-only
    # update of a blocks message answers ok and the person still sees the old blocks.
    if blocks is not None:
        message.blocks = blocks or None
    if attachments is not None:
        message.attachments = attachments
    if metadata is not None:
        message.metadata = metadata
    ws.changed()
    return {
        "ok": True,
        "channel": channel.id,
        "ts": message.ts,
        "text": text,
        "message": _api_message(ws, message, with_metadata=True),
        **warning,
    }


@method("chat.delete")
def chat_delete(ws: Workspace, params: Params) -> JSON:
    """Delete one of the bot's own messages."""
    channel, message = _bots_own_message(ws, params, refusal="cant_delete_message")
    message.deleted = True
    if message.thread_ts and message.thread_ts != message.ts:
        parent = ws.find_message(channel.id, message.thread_ts)
        if parent is not None and parent.reply_count:
            parent.reply_count -= 1
    ws.changed()
    return {"ok": True, "channel": channel.id, "ts": message.ts}


@method("chat.getPermalink")
def chat_get_permalink(ws: Workspace, params: Params) -> JSON:
    """``https://<domain>.slack.com/archives/<channel>/p<ts without dot>``."""
    channel = _existing_channel(ws, params.text("channel"))
    message = ws.find_message(channel.id, params.text("message_ts") or "")
    if message is None:
        raise SlackError("message_not_found")
    link = f"https://{ws.team_domain}.slack.com/archives/{channel.id}/p{message.ts.replace('.', '')}"
    if message.thread_ts and message.thread_ts != message.ts:
        link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
    return {"ok": True, "channel": channel.id, "permalink": link}


# ------------------------------------------------------------------ views


def _view_payload(params: Params) -> JSON:
    view = params.data("view")
    if view is _BAD_JSON or view is None:
        raise SlackError(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: view"]}
        )
    errors = validate_view(view)
    if errors:
        raise SlackError(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] " + e for e in errors]}
        )
    assert isinstance(view, dict)
    view = dict(view)
    view["blocks"] = fill_ids(view.get("blocks") or [], _short_id)
    return view


def _check_external_id(ws: Workspace, payload: JSON, own_id: str | None) -> None:
    external = payload.get("external_id")
    if not external:
        return
    for view in ws.views.values():
        if view.external_id == external and view.id != own_id and not view.closed:
            raise SlackError("duplicate_external_id")


def _initial_state(view: JSON, previous: JSON | None = None) -> JSON:
    """The state Slack reports before anyone typed: only initial values of input elements.

    With ``previous`` (the state of the view being replaced), an input with the same block_id,
    action_id and element type keeps its previous entry. The docs name block_id and action_id
    only; the type check is the fake's own, since an entry of another type could not be shown.
    """
    old_values = (previous or {}).get("values") or {}
    values: JSON = {}
    for block in view.get("blocks") or []:
        if (
            isinstance(block, dict)
            and block.get("type") == "input"
            and isinstance(block.get("element"), dict)
        ):
            element = block["element"]
            block_id, action_id = str(block.get("block_id")), str(element.get("action_id"))
            kept = (old_values.get(block_id) or {}).get(action_id)
            if isinstance(kept, dict) and kept.get("type") == element.get("type"):
                entry = dict(kept)
            else:
                entry = element_state(element, None)
            values.setdefault(block_id, {})[action_id] = entry
    return {"values": values}


def _new_view(ws: Workspace, user_id: str, payload: JSON, *, root: str | None, previous: str | None) -> View:
    vid = ws.ids.next("V")
    view = View(
        id=vid,
        team_id=ws.team_id,
        user_id=user_id,
        type=str(payload["type"]),
        payload=payload,
        hash=ws.new_hash(),
        app_id=ws.app_id,
        bot_id=ws.bot_id,
        root_view_id=root or vid,
        previous_view_id=previous,
        state=_initial_state(payload),
    )
    ws.views[vid] = view
    return view


def exchange_trigger(ws: Workspace, trigger_id: str | None) -> str:
    """Use up a trigger_id and return whose action it came from."""
    trigger = ws.triggers.get(trigger_id or "")
    if trigger is None:
        raise SlackError("invalid_trigger_id")
    if trigger.used:
        raise SlackError("exchanged_trigger_id")
    if ws.now() - trigger.created > TRIGGER_TTL:
        raise SlackError("expired_trigger_id")
    trigger.used = True
    return trigger.user_id


@method("views.open")
def views_open(ws: Workspace, params: Params) -> JSON:
    """Open a modal for whoever's action minted the trigger."""
    payload = _view_payload(params)
    if payload.get("type") != "modal":
        raise SlackError(
            "invalid_arguments",
            response_metadata={"messages": ["[ERROR] must be a valid enum value [json-pointer:/view/type]"]},
        )
    _check_external_id(ws, payload, None)
    user_id = exchange_trigger(ws, params.text("trigger_id"))
    ws.close_views(user_id, list(ws.stack(user_id)))
    view = _new_view(ws, user_id, payload, root=None, previous=None)
    ws.stack(user_id).append(view.id)
    ws.changed()
    return {"ok": True, "view": view.to_api()}


@method("views.push")
def views_push(ws: Workspace, params: Params) -> JSON:
    """Push onto an open modal; the stack holds at most 3 views."""
    payload = _view_payload(params)
    if payload.get("type") != "modal":
        raise SlackError(
            "invalid_arguments",
            response_metadata={"messages": ["[ERROR] must be a valid enum value [json-pointer:/view/type]"]},
        )
    trigger = ws.triggers.get(params.text("trigger_id") or "")
    user_id = trigger.user_id if trigger else ""
    stack = ws.stack(user_id) if user_id else []
    if trigger is not None and not stack:
        raise SlackError("not_found")
    if len(stack) >= 3:
        raise SlackError("push_limit_reached")  # "Currently the limit is 3"
    _check_external_id(ws, payload, None)
    user_id = exchange_trigger(ws, params.text("trigger_id"))
    view = _new_view(ws, user_id, payload, root=stack[0], previous=stack[-1])
    stack.append(view.id)
    ws.changed()
    return {"ok": True, "view": view.to_api()}


def _find_view(ws: Workspace, params: Params) -> View:
    view_id = params.text("view_id")
    external_id = params.text("external_id")
    for view in ws.views.values():
        if view.closed:
            continue
        if (view_id and view.id == view_id) or (
            external_id and not view_id and view.external_id == external_id
        ):
            return view
    raise SlackError("not_found")


@method("views.update")
def views_update(ws: Workspace, params: Params) -> JSON:
    """Replace an open view's content; a stale ``hash`` is refused."""
    view = _find_view(ws, params)
    hash_ = params.text("hash")
    if hash_ and hash_ != view.hash:
        raise SlackError("hash_conflict")
    payload = _view_payload(params)
    if payload.get("type") != view.type:
        raise SlackError(
            "invalid_arguments",
            response_metadata={"messages": ["[ERROR] must be a valid enum value [json-pointer:/view/type]"]},
        )
    _check_external_id(ws, payload, view.id)
    replace_view(ws, view, payload)
    return {"ok": True, "view": view.to_api()}


def replace_view(ws: Workspace, view: View, payload: JSON) -> None:
    """New content and hash for a view, keeping its id, its place in the stack and typed input.

    views.update docs, "Preserving input entry": "Data entered or selected in input blocks can be
    preserved while updating views. The new view object [...] should contain the same input blocks
    and elements with identical block_id and action_id values." So an input whose block_id and
    action_id survive keeps what the person entered (its new initial value does not replace it);
    every other input starts from its initial value. The same applies to ``response_action:
    "update"``, which SlackSender applies through here.
    """
    view.state = _initial_state(payload, previous=view.state)
    view.payload = payload
    view.hash = ws.new_hash()
    ws.changed()


@method("views.publish")
def views_publish(ws: Workspace, params: Params) -> JSON:
    """Set someone's Home tab."""
    user_id = params.text("user_id") or ""
    if user_id not in ws.users:
        raise SlackError("user_not_found")
    payload = _view_payload(params)
    if payload.get("type") != "home":
        raise SlackError(
            "invalid_arguments",
            response_metadata={"messages": ["[ERROR] must be a valid enum value [json-pointer:/view/type]"]},
        )
    existing = ws.views.get(ws.homes.get(user_id, ""))
    hash_ = params.text("hash")
    if existing is not None:
        if hash_ and hash_ != existing.hash:
            raise SlackError("hash_conflict")
        replace_view(ws, existing, payload)
        return {"ok": True, "view": existing.to_api()}
    view = _new_view(ws, user_id, payload, root=None, previous=None)
    ws.homes[user_id] = view.id
    ws.changed()
    return {"ok": True, "view": view.to_api()}


# ------------------------------------------------------------------ files v2


@method("files.getUploadURLExternal")
def files_get_upload_url_external(ws: Workspace, params: Params) -> JSON:
    """Reserve a file id and the URL to POST its bytes to."""
    filename = params.text("filename")
    length = params.number("length", -1)
    missing = [name for name, ok in (("filename", bool(filename)), ("length", length > 0)) if not ok]
    if missing:
        raise SlackError(
            "invalid_arguments",
            response_metadata={"messages": [f"[ERROR] missing required field: {name}" for name in missing]},
        )
    file = File(
        id=ws.ids.next("F"),
        name=filename or "",
        length=length,
        user=ws.bot_user_id,
        created=int(ws.now()),
        alt_txt=params.text("alt_txt"),
    )
    ws.files[file.id] = file
    ws.changed()
    # The team is in the URL because file ids count per workspace: two workspaces' first file
    # are both F…1, and the bytes must land in the one that reserved the id.
    return {"ok": True, "upload_url": f"{ws.base_url()}upload/{ws.team_id}/{file.id}", "file_id": file.id}


@method("files.completeUploadExternal")
def files_complete_upload_external(ws: Workspace, params: Params) -> JSON:
    """Finish uploads and share them, with an optional comment, in one message."""
    items = params.data("files")
    if items is _BAD_JSON or not isinstance(items, list) or not items:
        raise SlackError(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: files"]}
        )
    files: list[File] = []
    for item in items:
        file = ws.files.get(str(item.get("id"))) if isinstance(item, dict) else None
        if file is None or file.data is None:
            raise SlackError("file_not_found")
        files.append(file)
    channel_id = params.text("channel_id")
    channels = [c for c in (params.text("channels") or "").split(",") if c]
    targets = ([channel_id] if channel_id else []) + channels
    resolved = [_posting_channel(ws, target) for target in targets]
    comment = params.text("initial_comment") or ""
    blocks = parse_blocks(params.data("blocks"))
    thread_ts = params.text("thread_ts") or None
    for item, file in zip(items, files, strict=True):
        file.title = str(item.get("title") or file.title or file.name)
        file.completed = True
    for channel in resolved:
        message = _bot_message(
            ws,
            channel,
            text=comment,
            blocks=blocks,
            thread_ts=ws.thread_root(channel.id, thread_ts) if thread_ts else None,
            files=[f.id for f in files],
        )
        ws.post(message)
        for file in files:
            file.channels.append(channel.id)
    ws.changed()
    # Slack answers with id and title only; sharing finishes asynchronously on its side.
    return {"ok": True, "files": [{"id": f.id, "title": f.title} for f in files]}


# ------------------------------------------------------------------ answers Slack shows to people


def deliver(
    ws: Workspace,
    *,
    user_id: str,
    channel_id: str,
    body: JSON,
    source: str,
    original: tuple[str, str, bool] | None = None,
) -> None:
    """Show a response_url post or an ack body the way Slack does.

    ``original`` is (channel, ts, is_ephemeral) of the message an action came from, for
    ``replace_original``/``delete_original``. Raises SlackError for invalid blocks.
    """
    params = Params(body)
    if original is not None and params.flag("delete_original"):
        found = ws.find_message(original[0], original[1], include_ephemeral=True)
        if found is not None:
            found.deleted = True
            ws.changed()
        return
    text, _warning, blocks, attachments = _content(params, require=False)
    if original is not None and params.flag("replace_original"):
        found = ws.find_message(original[0], original[1], include_ephemeral=True)
        if found is not None:
            found.edited.append(
                Edit(ts=format_ts(int(ws.now() * 1_000_000)), text=found.text, blocks=found.blocks)
            )
            found.text = text
            found.blocks = blocks
            if attachments is not None:
                found.attachments = attachments
            ws.changed()
            return
    if not text and not blocks and not attachments:
        raise SlackError("no_text")
    channel = ws.resolve_channel(channel_id) or ws.dm(user_id)
    thread_ts = params.text("thread_ts") or None
    in_channel = params.text("response_type") == "in_channel"
    message = _bot_message(
        ws,
        channel,
        text=text,
        blocks=blocks,
        attachments=attachments,
        thread_ts=thread_ts,
        ephemeral_user=None if in_channel else user_id,
        source=source,
    )
    ws.post(message)


def response_url_post(ws: Workspace, rid: str, body: Any, arrived: float) -> tuple[int, JSON]:
    """The answer to a POST on a response_url, applying it when it is still good.

    Slack answers an expired response_url with ``{"ok": false, "error": "Expired url"}``
    (sic: Sentry's Slack integration matches that exact string). Slack does not document what
    a sixth use answers; the fake answers the same.
    """
    ru = ws.response_urls.get(rid)
    status: int
    answer: JSON
    if ru is None:
        status, answer = 404, {"ok": False, "error": "invalid_url"}
    elif not isinstance(body, dict):
        status, answer = 400, {"ok": False, "error": "invalid_payload"}
    elif ws.now() - ru.created > RESPONSE_URL_TTL or ru.uses >= RESPONSE_URL_USES:
        status, answer = 404, {"ok": False, "error": "Expired url"}
    else:
        ru.uses += 1
        original = None
        if ru.message_channel is not None and ru.message_ts is not None:
            original = (ru.message_channel, ru.message_ts, ru.message_ephemeral)
        try:
            deliver(
                ws,
                user_id=ru.user_id,
                channel_id=ru.channel_id,
                body=body,
                source="response_url",
                original=original,
            )
            status, answer = 200, {"ok": True}
        except SlackError as exc:
            status, answer = 400, exc.body()
    ws.response_posts.append(
        ResponsePost(
            response_url=ru.url if ru else rid,
            body=body if isinstance(body, dict) else {"raw": body},
            status=status,
            at=ws.now(),
            arrived=arrived,
        )
    )
    ws.changed()
    return status, answer


def is_real_user(ws: Workspace, user_id: str) -> bool:
    """True for a person who can act in Slack (not a bot, not Slackbot, not deactivated)."""
    user = ws.users.get(user_id)
    return user is not None and not user.is_bot and not user.deleted and user_id != SLACKBOT_ID
