"""The fake workspace's state: plain dataclasses behind one lock.

Every mutation happens while holding ``Workspace.lock`` and ends with ``changed()``, which
wakes whoever waits in ``FakeSlack.wait_for``; tests therefore never sleep for timing.
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

JSON = dict[str, Any]

# How long Slack honours what it hands out, in seconds of the fake's clock.
TRIGGER_TTL = 3.0  # a trigger_id "expires 3 seconds after the user's action" (views.open docs)
RESPONSE_URL_TTL = 30 * 60.0  # "up to 5 times within 30 minutes" (slash command docs)
RESPONSE_URL_USES = 5
MAX_TEXT = (
    40_000  # longer `text` is truncated with a warning (changelog 2018-04-truncating-really-long-messages)
)

SLACKBOT_ID = "USLACKBOT"

# zoneinfo only knows abbreviations; Slack shows long names. Enough for the zones people pick.
_TZ_NAMES = {
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "UTC": "Coordinated Universal Time",
    "WET": "Western European Time",
    "WEST": "Western European Summer Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "EET": "Eastern European Time",
    "EEST": "Eastern European Summer Time",
    "MSK": "Moscow Time",
    "IST": "India Standard Time",
    "JST": "Japan Standard Time",
    "KST": "Korea Standard Time",
    "AEST": "Australian Eastern Standard Time",
    "AEDT": "Australian Eastern Daylight Time",
    "NZST": "New Zealand Standard Time",
    "NZDT": "New Zealand Daylight Time",
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "AKST": "Alaska Standard Time",
    "AKDT": "Alaska Daylight Time",
    "HST": "Hawaii-Aleutian Standard Time",
}


def tz_facts(tz: str, now: float) -> tuple[str, int]:
    """Slack's ``tz_label`` and ``tz_offset`` (seconds east of UTC) for a zone at ``now``."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return ("Coordinated Universal Time", 0)
    local = datetime.fromtimestamp(now, UTC).astimezone(zone)
    offset = local.utcoffset()
    seconds = int(offset.total_seconds()) if offset is not None else 0
    abbr = local.tzname() or ""
    ambiguous = {
        ("IST", 3600): "Irish Standard Time",
        ("IST", 7200): "Israel Standard Time",
        ("CST", 28800): "China Standard Time",
    }
    if (abbr, seconds) in ambiguous:
        return (ambiguous[(abbr, seconds)], seconds)
    if abbr in _TZ_NAMES:
        return (_TZ_NAMES[abbr], seconds)
    sign = "+" if seconds >= 0 else "-"
    hours, rest = divmod(abs(seconds), 3600)
    return (f"UTC{sign}{hours:02d}:{rest // 60:02d}", seconds)


def format_ts(micros: int) -> str:
    """A message ts: seconds, dot, six digits, as Slack writes it."""
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def parse_ts(ts: str) -> int | None:
    """Microseconds of a ts string, or None when it is not one."""
    match = re.fullmatch(r"(\d+)\.(\d{1,6})", ts.strip())
    if not match:
        try:
            return round(float(ts) * 1_000_000)
        except ValueError:
            return None
    return int(match.group(1)) * 1_000_000 + int(match.group(2).ljust(6, "0"))


@dataclass
class User:
    """A workspace member; ``tz_label``/``tz_offset`` follow the fake's clock."""

    id: str
    team_id: str
    name: str
    real_name: str
    tz: str
    tz_label: str
    tz_offset: int
    is_bot: bool = False
    deleted: bool = False
    bot_id: str | None = None
    app_id: str | None = None
    email: str | None = None
    updated: int = 0
    is_admin: bool = False  # a workspace admin (users.info says so; owners are admins too)
    is_owner: bool = False

    def to_api(self) -> JSON:
        """The user object as users.info and users.list return it."""
        profile: JSON = {
            "real_name": self.real_name,
            "real_name_normalized": self.real_name,
            "display_name": self.name,
            "display_name_normalized": self.name,
            "team": self.team_id,
            "image_48": f"https://avatars.example/{self.id}_48.png",
        }
        if self.email is not None:
            profile["email"] = self.email
        if self.bot_id is not None:
            profile["bot_id"] = self.bot_id
            profile["api_app_id"] = self.app_id or ""
            profile["always_active"] = False
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": self.deleted,
            "color": "9f69e7",
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": self.tz_label,
            "tz_offset": self.tz_offset,
            "profile": profile,
            "is_admin": self.is_admin or self.is_owner,
            "is_owner": self.is_owner,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": self.updated,
            "is_email_confirmed": not self.is_bot,
        }


@dataclass
class Channel:
    """A conversation: a public channel (C…) or the bot's DM with one person (D…)."""

    id: str
    name: str
    created: int
    is_im: bool = False
    user: str | None = None  # the other party of a DM
    members: list[str] = field(default_factory=list)
    last_ts: int = 0  # microseconds of the newest ts handed out here
    is_archived: bool = False

    def to_api(self) -> JSON:
        """The conversation object of conversations.open (return_im) and friends."""
        if self.is_im:
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": self.user,
                "is_user_deleted": False,
                "priority": 0,
            }
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_private": False,
            "is_archived": self.is_archived,
            "created": self.created,
            "num_members": len(self.members),
        }


@dataclass
class Edit:
    """One earlier version of a message, kept when chat.update or a response_url replaced it."""

    ts: str
    text: str
    blocks: list[Any] | None


@dataclass
class Message:
    """Anything someone saw: a posted message, an ephemeral, or an ack shown to one person.

    ``source`` says how it got there: ``api`` (Web API), ``user`` (a person typed it),
    ``ack`` (the app's acknowledgement body), ``response_url`` or ``slack`` (an error Slack
    itself showed the user).
    """

    channel: str
    ts: str
    text: str
    user: str | None = None
    bot_id: str | None = None
    app_id: str | None = None
    blocks: list[Any] | None = None
    attachments: list[Any] | None = None
    thread_ts: str | None = None
    parent_user_id: str | None = None
    reply_broadcast: bool = False
    metadata: JSON | None = None
    ephemeral_user: str | None = None
    files: list[str] = field(default_factory=list)
    edited: list[Edit] = field(default_factory=list)
    deleted: bool = False
    source: str = "api"
    reply_count: int = 0
    reply_users: list[str] = field(default_factory=list)
    latest_reply: str | None = None
    team: str = ""

    @property
    def is_ephemeral(self) -> bool:
        """True for a message only ``ephemeral_user`` sees."""
        return self.ephemeral_user is not None

    def to_api(self, *, with_metadata: bool, files: list[JSON] | None = None) -> JSON:
        """The message as history, replies and interaction payloads carry it."""
        out: JSON = {"type": "message", "text": self.text, "ts": self.ts}
        if self.user is not None:
            out["user"] = self.user
        if self.bot_id is not None:
            out["bot_id"] = self.bot_id
            out["app_id"] = self.app_id
        if self.team:
            out["team"] = self.team
        if self.blocks is not None:
            out["blocks"] = self.blocks
        if self.attachments is not None:
            out["attachments"] = self.attachments
        if self.thread_ts is not None:
            out["thread_ts"] = self.thread_ts
            if self.thread_ts != self.ts:
                out["parent_user_id"] = self.parent_user_id
                if self.reply_broadcast:
                    out["subtype"] = "thread_broadcast"
        if self.reply_count:
            out["reply_count"] = self.reply_count
            out["reply_users_count"] = len(self.reply_users)
            out["reply_users"] = list(self.reply_users)
            out["latest_reply"] = self.latest_reply
            out["is_locked"] = False
            out["subscribed"] = False
        if self.edited:
            out["edited"] = {"user": self.user or "", "ts": self.edited[-1].ts}
        if files:
            out["files"] = files
            out["upload"] = False
        if with_metadata and self.metadata is not None:
            out["metadata"] = self.metadata
        return out


@dataclass
class View:
    """A modal in someone's stack, or a Home tab."""

    id: str
    team_id: str
    user_id: str
    type: str
    payload: JSON  # the view as the app sent it (title, blocks, submit, ...)
    hash: str
    app_id: str
    bot_id: str
    root_view_id: str
    previous_view_id: str | None = None
    state: JSON = field(default_factory=lambda: {"values": {}})
    closed: bool = False

    @property
    def callback_id(self) -> str:
        """The app's name for this view."""
        return str(self.payload.get("callback_id") or "")

    @property
    def private_metadata(self) -> str:
        """What the app stashed in the view."""
        return str(self.payload.get("private_metadata") or "")

    @property
    def external_id(self) -> str:
        """The app's own unique id for the view, or ""."""
        return str(self.payload.get("external_id") or "")

    @property
    def blocks(self) -> list[Any]:
        """The view's blocks."""
        blocks = self.payload.get("blocks")
        return blocks if isinstance(blocks, list) else []

    @property
    def view(self) -> JSON:
        """The view object as Slack reports it (same as ``to_api()``)."""
        return self.to_api()

    def to_api(self) -> JSON:
        """The view object views.* return and payloads carry."""
        p = self.payload
        out: JSON = {
            "id": self.id,
            "team_id": self.team_id,
            "type": self.type,
            "blocks": self.blocks,
            "private_metadata": self.private_metadata,
            "callback_id": self.callback_id,
            "state": self.state,
            "hash": self.hash,
            "clear_on_close": bool(p.get("clear_on_close", False)),
            "notify_on_close": bool(p.get("notify_on_close", False)),
            "root_view_id": self.root_view_id,
            "previous_view_id": self.previous_view_id,
            "app_id": self.app_id,
            "external_id": self.external_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        if self.type == "modal":
            out["title"] = p.get("title")
            out["close"] = p.get("close")
            out["submit"] = p.get("submit")
            out["submit_disabled"] = bool(p.get("submit_disabled", False))
        return out


@dataclass
class File:
    """A file uploaded through files.getUploadURLExternal and the upload URL."""

    id: str
    name: str
    length: int
    user: str
    created: int
    title: str = ""
    data: bytes | None = None
    completed: bool = False
    channels: list[str] = field(default_factory=list)
    alt_txt: str | None = None

    def to_api(self, base_url: str, team_domain: str) -> JSON:
        """The file object as messages carry it."""
        ext = self.name.rsplit(".", 1)[-1].lower() if "." in self.name else "binary"
        return {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.name,
            "title": self.title or self.name,
            "filetype": ext,
            "size": len(self.data or b""),
            "user": self.user,
            "mode": "hosted",
            "is_external": False,
            "url_private": f"{base_url}files/{self.id}/{self.name}",
            "permalink": f"https://{team_domain}.slack.com/files/{self.user}/{self.id}/{self.name}",
        }


@dataclass
class ResponseUrl:
    """A response_url handed to the app with a command or an action."""

    id: str
    url: str
    user_id: str
    channel_id: str
    created: float
    uses: int = 0
    message_channel: str | None = None  # the message an action came from, for replace/delete_original
    message_ts: str | None = None
    message_ephemeral: bool = False


@dataclass
class Trigger:
    """A trigger_id: good for one views.open/push within 3 seconds of the fake's clock."""

    id: str
    user_id: str
    created: float
    view_id: str | None = None  # set when the interaction happened inside a modal
    used: bool = False


@dataclass
class Ticket:
    """A Socket Mode ticket from apps.connections.open: good for one websocket connection."""

    id: str
    created: float
    used: bool = False


@dataclass
class Call:
    """One Web API call as the fake saw and answered it."""

    method: str
    params: JSON
    response: JSON | None
    status: int
    at: float  # when the fake answered
    fault: str | None = None  # the injected fault kind the client saw instead, if any
    received: float = 0.0  # when the request arrived (before any injected latency)
    retry_after: float | None = None  # a 429's Retry-After: no call of the method is due before at + this


@dataclass
class ResponsePost:
    """One POST the app made to a response_url, and the HTTP status the fake answered."""

    response_url: str
    body: JSON
    status: int
    at: float  # the fake's clock when it answered
    # time.monotonic() when the POST arrived: system-wide on Linux, so a benchmark in another
    # process can time an answer from the moment it sent the command.
    arrived: float


class IdMint:
    """Slack-looking ids: a prefix and an upper-case counter, stable within one fake."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def next(self, prefix: str, width: int = 9) -> str:
        """A fresh id such as ``V0000000A1``."""
        n = next(self._counter)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        text = ""
        while n:
            n, rem = divmod(n, 36)
            text = digits[rem] + text
        return prefix + text.rjust(width, "0")


def new_bot_token() -> str:
    """A bot token of Slack's shape: xoxb-<team number>-<bot number>-<secret>."""
    return f"xoxb-{secrets.randbelow(10**12)}-{secrets.randbelow(10**12)}-{secrets.token_hex(12)}"


@dataclass
class OAuthGrant:
    """A `code` handed to the app's redirect URL: exchanged once, within ten minutes."""

    user_id: str
    redirect_uri: str | None
    scopes: str
    expires_at: float
    used: bool = False
    team_id: str = ""  # the workspace the person installed into: only its oauth.v2.access takes it


@dataclass
class OAuthSide:
    """The app's distribution side: its credentials, the codes and refresh tokens out there.

    One per app, shared by every workspace a FakeSlack server hosts (an app has one Client ID
    and one Redirect URL however many workspaces install it); its own lock guards it, taken
    after a workspace's lock when both are needed.
    """

    client_id: str = field(default_factory=lambda: f"{secrets.randbelow(10**12)}.{secrets.randbelow(10**13)}")
    client_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    # Where "Allow" sends the browser when the authorize URL names no redirect_uri (the app's
    # configured Redirect URL); None refuses such a request, as Slack does with none configured.
    redirect_url: str | None = None
    # Token rotation on: oauth.v2.access hands out expiring tokens and a refresh token.
    token_rotation: bool = False
    expires_in: int = 43_200  # seconds, as Slack's rotating tokens (12 hours)
    codes: dict[str, OAuthGrant] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token -> its access token
    deny_next: bool = False  # the next person at the authorize page presses Cancel
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)


class Workspace:
    """All state of one fake workspace; every public method takes the lock itself."""

    def __init__(
        self,
        *,
        team_id: str,
        team_domain: str,
        team_name: str,
        clock: Callable[[], float],
        base_url: Callable[[], str],
        socket_url: Callable[[], str] | None = None,
        oauth: OAuthSide | None = None,
        verification_token: str | None = None,
        app_token: str | None = None,
        enterprise: tuple[str, str] | None = None,
    ) -> None:
        """``oauth``, ``verification_token`` and ``app_token`` are the app's, given when another
        workspace of the same server already has them; a given ``app_token`` stays that one's to
        answer for (it is not a token of this workspace). ``enterprise`` (id, name): the
        Enterprise Grid org the workspace belongs to."""
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.clock = clock
        self.base_url = base_url
        self.socket_url = socket_url  # Socket Mode's wss:// URL without query, when there is one
        self.team_id = team_id
        self.team_domain = team_domain
        self.team_name = team_name
        self.enterprise = enterprise
        self.ids = IdMint()
        self.app_id = "A0LOOPSAPP1"
        self.bot_id = "B0LOOPSBOT1"
        self.bot_user_id = "U0BOTLOOPS1"
        self.verification_token = verification_token or secrets.token_hex(12)
        self.bot_token = new_bot_token()
        # The app-level token Socket Mode connects with: xapp-1-<app id>-<number>-<hex>.
        self.app_token = (
            app_token or f"xapp-1-{self.app_id}-{secrets.randbelow(10**13)}-{secrets.token_hex(32)}"
        )
        self.tokens: dict[str, str] = {self.bot_token: "bot"}  # or "revoked"
        if app_token is None:
            self.tokens[self.app_token] = "app"
        self.token_expiry: dict[str, float] = {}  # rotating tokens: when each stops working
        self.tickets: dict[str, Ticket] = {}
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.messages: list[Message] = []
        # (channel, ts) → the messages posted with it, oldest first: a thread reply finds its
        # parent without scanning every message (a bench posts tens of thousands).
        self._by_key: dict[tuple[str, str], list[Message]] = {}
        self.views: dict[str, View] = {}
        self.stacks: dict[str, list[str]] = {}  # user -> open modal view ids, root first
        self.homes: dict[str, str] = {}  # user -> home view id
        self.view_errors: dict[str, list[dict[str, str]]] = {}
        self.files: dict[str, File] = {}
        self.response_urls: dict[str, ResponseUrl] = {}
        self.response_posts: list[ResponsePost] = []
        self.triggers: dict[str, Trigger] = {}
        self.calls: list[Call] = []
        self.oauth = oauth if oauth is not None else OAuthSide()
        self.granted: set[str] = set()  # the scopes installs here granted (a refresh keeps them)
        self._user_seq = itertools.count(1)
        self._channel_seq = itertools.count(1)
        self._trigger_seq = itertools.count(10_001)
        now = self.clock()
        label, offset = tz_facts("America/Los_Angeles", now)
        self.users[SLACKBOT_ID] = User(
            id=SLACKBOT_ID,
            team_id=team_id,
            name="slackbot",
            real_name="Slackbot",
            tz="America/Los_Angeles",
            tz_label=label,
            tz_offset=offset,
            is_bot=False,  # Slack reports its own Slackbot with is_bot false
            updated=int(now),
        )
        label, offset = tz_facts("America/Los_Angeles", now)
        self.users[self.bot_user_id] = User(
            id=self.bot_user_id,
            team_id=team_id,
            name="loops",
            real_name="Loops",
            tz="America/Los_Angeles",
            tz_label=label,
            tz_offset=offset,
            is_bot=True,
            bot_id=self.bot_id,
            app_id=self.app_id,
            updated=int(now),
        )

    # ---------------------------------------------------------------- plumbing

    @property
    def enterprise_id(self) -> str | None:
        return self.enterprise[0] if self.enterprise else None

    def enterprise_api(self) -> JSON | None:
        """`enterprise` as Slack's payloads and oauth.v2.access give it (None outside Grid)."""
        return {"id": self.enterprise[0], "name": self.enterprise[1]} if self.enterprise else None

    def changed(self) -> None:
        """Wake every waiter; call with the lock held after a mutation."""
        self.cond.notify_all()

    def now(self) -> float:
        """The fake's clock."""
        return self.clock()

    # ---------------------------------------------------------------- people

    def add_user(
        self,
        name: str,
        tz: str,
        real_name: str | None,
        is_bot: bool,
        deleted: bool,
        is_admin: bool = False,
        is_owner: bool = False,
    ) -> User:
        """Create a member with a Slack-looking id."""
        with self.lock:
            seq = next(self._user_seq)
            tag = re.sub(r"[^A-Z0-9]", "", name.upper())[:6] or "USER"
            uid = f"U{seq:04d}{tag}"
            now = self.now()
            label, offset = tz_facts(tz, now)
            user = User(
                id=uid,
                team_id=self.team_id,
                name=name,
                real_name=real_name if real_name is not None else name.capitalize(),
                tz=tz,
                tz_label=label,
                tz_offset=offset,
                is_bot=is_bot,
                deleted=deleted,
                bot_id=self.ids.next("B") if is_bot else None,
                email=None if is_bot else f"{name}@{self.team_domain}.example",
                updated=int(now),
                is_admin=is_admin,
                is_owner=is_owner,
            )
            self.users[uid] = user
            self.changed()
            return user

    def refresh_tz(self, user: User) -> User:
        """Recompute tz_label/tz_offset at the fake's clock (DST moves them without notice)."""
        user.tz_label, user.tz_offset = tz_facts(user.tz, self.now())
        return user

    def user(self, user_id: str) -> User | None:
        """The user, with time zone facts as of now."""
        with self.lock:
            found = self.users.get(user_id)
            return self.refresh_tz(found) if found is not None else None

    # ---------------------------------------------------------------- conversations

    def add_channel(self, name: str, members: list[str], bot_is_member: bool) -> Channel:
        """A public channel."""
        with self.lock:
            seq = next(self._channel_seq)
            tag = re.sub(r"[^A-Z0-9]", "", name.upper())[:6]
            cid = f"C{seq:04d}{tag}"
            people = list(dict.fromkeys(members))
            if bot_is_member and self.bot_user_id not in people:
                people.append(self.bot_user_id)
            channel = Channel(id=cid, name=name, created=int(self.now()), members=people)
            self.channels[cid] = channel
            self.changed()
            return channel

    def dm_id(self, user_id: str) -> str:
        """The stable id of the bot's DM with a person."""
        return "D" + user_id[1:] if user_id[:1] in ("U", "W") else "D" + user_id

    def dm(self, user_id: str) -> Channel:
        """The bot's DM with a person, created on first use."""
        with self.lock:
            cid = self.dm_id(user_id)
            channel = self.channels.get(cid)
            if channel is None:
                channel = Channel(
                    id=cid,
                    name=user_id,
                    created=int(self.now()),
                    is_im=True,
                    user=user_id,
                    members=[user_id, self.bot_user_id],
                )
                self.channels[cid] = channel
            return channel

    def resolve_channel(self, channel_id: str) -> Channel | None:
        """A known conversation by id; D ids of known users exist implicitly."""
        with self.lock:
            found = self.channels.get(channel_id)
            if found is not None:
                return found
            if channel_id.startswith("D"):
                for uid in self.users:
                    if self.dm_id(uid) == channel_id:
                        return self.dm(uid)
            return None

    def next_ts(self, channel: Channel) -> str:
        """A ts for this channel from the fake's clock, strictly after the previous one."""
        micros = max(int(self.now() * 1_000_000), channel.last_ts + 1)
        channel.last_ts = micros
        return format_ts(micros)

    # ---------------------------------------------------------------- messages

    def find_message(self, channel_id: str, ts: str, *, include_ephemeral: bool = False) -> Message | None:
        """The live message with that ts in that channel."""
        with self.lock:
            for message in reversed(self._by_key.get((channel_id, ts), [])):
                if message.deleted:
                    continue
                if message.is_ephemeral and not include_ephemeral:
                    continue
                return message
            return None

    def post(self, message: Message) -> Message:
        """Store a message and, for a thread reply, update its parent's counters."""
        with self.lock:
            self.messages.append(message)
            self._by_key.setdefault((message.channel, message.ts), []).append(message)
            if message.thread_ts and message.thread_ts != message.ts and not message.is_ephemeral:
                parent = self.find_message(message.channel, message.thread_ts)
                if parent is not None:
                    parent.thread_ts = parent.ts
                    parent.reply_count += 1
                    who = message.user or ""
                    if who and who not in parent.reply_users:
                        parent.reply_users.append(who)
                    parent.latest_reply = message.ts
                    message.parent_user_id = parent.user
            self.changed()
            return message

    def thread_root(self, channel_id: str, thread_ts: str) -> str:
        """The ts of the thread a reply should join: a reply's ts means its parent's thread."""
        parent = self.find_message(channel_id, thread_ts)
        if parent is not None and parent.thread_ts and parent.thread_ts != parent.ts:
            return parent.thread_ts
        return thread_ts

    # ---------------------------------------------------------------- interactions

    # -- OAuth (distribution): the authorize page, oauth.v2.access ------------------------

    def approve_install(self, user_id: str, scopes: str, redirect_uri: str | None) -> str:
        """The person pressed Allow: a code for the app's redirect URL, good once for ten minutes."""
        code = f"{secrets.randbelow(10**12)}.{secrets.randbelow(10**13)}.{secrets.token_hex(32)}"
        grant = OAuthGrant(user_id, redirect_uri, scopes, self.clock() + 600, team_id=self.team_id)
        with self.oauth.lock:
            self.oauth.codes[code] = grant
        return code

    def _new_bot_token(self) -> str:
        if self.oauth.token_rotation:
            token = f"xoxe.xoxb-1-{secrets.token_hex(40)}"
            self.token_expiry[token] = self.clock() + self.oauth.expires_in
        else:
            token = new_bot_token()
        self.tokens[token] = "bot"
        return token

    def _token_answer(self, token: str, scopes: str) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "ok": True,
            "app_id": self.app_id,
            "access_token": token,
            "token_type": "bot",
            "scope": scopes,
            "bot_user_id": self.bot_user_id,
            "team": {"id": self.team_id, "name": self.team_name},
            "enterprise": self.enterprise_api(),
            "is_enterprise_install": False,
        }
        if self.oauth.token_rotation:
            refresh = f"xoxe-1-{secrets.token_hex(48)}"
            with self.oauth.lock:
                self.oauth.refresh_tokens[refresh] = token
            answer["refresh_token"] = refresh
            answer["expires_in"] = self.oauth.expires_in
        return answer

    def exchange_code(self, code: str, redirect_uri: str | None) -> dict[str, Any]:
        """oauth.v2.access with a code: a new bot token for this workspace (the old ones stay good)."""
        with self.oauth.lock:
            grant = self.oauth.codes.get(code)
            if (
                grant is None
                or grant.used
                or grant.team_id != self.team_id
                or self.clock() > grant.expires_at
            ):
                return {"ok": False, "error": "invalid_code"}
            if grant.redirect_uri is not None and redirect_uri != grant.redirect_uri:
                return {"ok": False, "error": "bad_redirect_uri"}
            grant.used = True
        self.granted |= {scope for scope in grant.scopes.split(",") if scope}
        self.changed()
        answer = self._token_answer(self._new_bot_token(), grant.scopes)
        answer["authed_user"] = {"id": grant.user_id}
        return answer

    def refresh_token_grant(self, refresh: str) -> dict[str, Any]:
        """oauth.v2.access with grant_type=refresh_token: a new pair. The fake takes each refresh
        token once (the old access token stays good until it expires), so an app that does not
        keep the new refresh token fails at its next refresh instead of working by luck. A refresh
        token of another workspace is not this one's to spend: refused, and left alone."""
        with self.oauth.lock:
            old = self.oauth.refresh_tokens.get(refresh)
            if old is None or old not in self.tokens:
                return {"ok": False, "error": "invalid_refresh_token"}
            del self.oauth.refresh_tokens[refresh]
        if self.tokens.get(old) == "revoked":
            return {"ok": False, "error": "invalid_refresh_token"}
        self.changed()
        return self._token_answer(self._new_bot_token(), ",".join(sorted(self.granted)))

    def mint_trigger(self, user_id: str, view_id: str | None = None) -> Trigger:
        """A trigger_id for something the user just did."""
        with self.lock:
            now = self.now()
            tid = f"{int(now)}.{next(self._trigger_seq)}.{secrets.token_hex(16)}"
            trigger = Trigger(id=tid, user_id=user_id, created=now, view_id=view_id)
            self.triggers[tid] = trigger
            return trigger

    def mint_response_url(
        self,
        user_id: str,
        channel_id: str,
        *,
        message: Message | None = None,
    ) -> ResponseUrl:
        """A response_url bound to a person, a channel and maybe the message acted on."""
        with self.lock:
            rid = self.ids.next("R", 10) + secrets.token_hex(8)
            url = f"{self.base_url()}response/{rid}"
            ru = ResponseUrl(
                id=rid,
                url=url,
                user_id=user_id,
                channel_id=channel_id,
                created=self.now(),
                message_channel=message.channel if message else None,
                message_ts=message.ts if message else None,
                message_ephemeral=bool(message and message.is_ephemeral),
            )
            self.response_urls[rid] = ru
            return ru

    def mint_ticket(self) -> Ticket:
        """A one-time ticket for the Socket Mode URL."""
        with self.lock:
            ticket = Ticket(id=str(uuid.uuid4()), created=self.now())
            self.tickets[ticket.id] = ticket
            self.changed()
            return ticket

    def new_hash(self) -> str:
        """A view hash: changes on every update, so stale writers get hash_conflict."""
        return f"{int(self.now())}.{secrets.token_hex(4)}"

    def stack(self, user_id: str) -> list[str]:
        """The user's open modal view ids, root first."""
        return self.stacks.setdefault(user_id, [])

    def close_views(self, user_id: str, view_ids: list[str]) -> None:
        """Close these views of the user's stack."""
        stack = self.stack(user_id)
        for vid in view_ids:
            if vid in stack:
                stack.remove(vid)
            view = self.views.get(vid)
            if view is not None:
                view.closed = True
        self.changed()
