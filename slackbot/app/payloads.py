"""The parts of Slack's payloads that Loops reads, as typed, validated shapes.

Every request is checked against these before any listener runs: a signed payload
whose fields have the wrong type, an id of the wrong form or a number out of range
is refused with a 400 (or, for a button value or modal metadata, reads as "not
found") and logged as a warning, never as an error. Listeners read their fields
from these models, so a crafted request cannot reach the store with a value it
cannot take.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, time
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, StringConstraints, ValidationError

from slackbot.core.errors import InvalidInput

# T…, E…, U…, W…, B…, C…, D…, G…: upper-case letters and digits.
SlackId = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Z0-9]{2,32}$")]
# "1764230000.000100": seconds, a dot, digits.
SlackTs = Annotated[str, StringConstraints(strict=True, pattern=r"^[0-9]{1,12}\.[0-9]{1,9}$")]
Text = Annotated[str, StringConstraints(strict=True, max_length=40_000)]
# Our integer primary keys (PostgreSQL `integer`).
ROW_ID_MAX = 2**31 - 1
_ROW_ID = re.compile(r"[0-9]{1,10}")


class Shape(BaseModel):
    """A payload part: unknown fields are ignored, known ones must have their type."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Named(Shape):
    id: SlackId
    team_id: SlackId | None = None


class Authorization(Shape):
    team_id: SlackId | None = None
    user_id: SlackId | None = None
    enterprise_id: SlackId | None = None


class ViewIds(Shape):
    """What Bolt reads off any view to find the team."""

    team_id: SlackId | None = None
    app_installed_team_id: SlackId | None = None


class EventIds(Shape):
    """What Bolt reads off any event to find the team, the user and the channel."""

    type: StrictStr
    user: Named | SlackId | None = None
    user_id: SlackId | None = None
    team: SlackId | None = None
    team_id: SlackId | None = None
    channel: Named | SlackId | None = None
    channel_id: SlackId | None = None
    item: dict[StrictStr, Any] = {}


class Envelope(Shape):
    """What Bolt itself reads off any payload, before our listeners: each must have its type."""

    team_id: SlackId | None = None
    user_id: SlackId | None = None
    channel_id: SlackId | None = None
    enterprise_id: SlackId | None = None
    team: Named | None = None
    user: Named | SlackId | None = None
    channel: Named | SlackId | None = None
    enterprise: Named | None = None
    # Bolt reads these as `body.get(key, {})`: present, they must not be null either.
    event: dict[StrictStr, Any] = {}
    message: dict[StrictStr, Any] = {}
    previous_message: dict[StrictStr, Any] = {}
    container: dict[StrictStr, Any] = {}
    view: ViewIds = ViewIds()
    actions: list[dict[StrictStr, Any]] = []
    authorizations: list[Authorization] = []
    is_enterprise_install: StrictBool | Literal["true", "false"] | None = None  # a form sends a string
    is_ext_shared_channel: StrictBool | None = None


class SlashCommand(Shape):
    team_id: SlackId
    user_id: SlackId
    command: StrictStr
    text: Text = ""
    channel_id: SlackId | None = None
    trigger_id: StrictStr | None = None
    response_url: StrictStr | None = None


class Action(Shape):
    action_id: StrictStr
    value: StrictStr | None = None
    block_id: StrictStr | None = None
    action_ts: StrictStr | None = None


class Container(Shape):
    channel_id: SlackId | None = None
    message_ts: SlackTs | None = None


class BlockActions(Shape):
    type: Literal["block_actions"]
    user: Named
    team: Named | None = None
    actions: list[Action] = Field(min_length=1, max_length=25)
    container: Container = Container()
    trigger_id: StrictStr | None = None
    response_url: StrictStr | None = None


IsoDate = Annotated[str, StringConstraints(strict=True, pattern=r"^\d{4}-\d{2}-\d{2}$")]
ClockTime = Annotated[str, StringConstraints(strict=True, pattern=r"^\d{2}:\d{2}$")]


class ChosenOption(Shape):
    value: Annotated[str, StringConstraints(strict=True, max_length=150)]


class TypedValue(Shape):
    """One input's state: typed text, a chosen option, a picked day, or ticked boxes."""

    value: Text | None = None
    selected_option: ChosenOption | None = None
    selected_date: IsoDate | None = None
    selected_time: ClockTime | None = None
    selected_options: list[ChosenOption] = Field(default=[], max_length=100)


class ViewState(Shape):
    values: dict[StrictStr, dict[StrictStr, TypedValue]] = {}


class SubmittedView(Shape):
    id: StrictStr
    type: StrictStr
    callback_id: StrictStr
    private_metadata: Annotated[str, StringConstraints(strict=True, max_length=3000)] = ""
    state: ViewState = ViewState()


class ViewSubmission(Shape):
    type: Literal["view_submission", "view_closed"]
    user: Named
    team: Named | None = None
    view: SubmittedView


class MessageEvent(Shape):
    type: Literal["message"]
    channel: SlackId
    user: SlackId | None = None
    text: Text = ""
    ts: SlackTs
    thread_ts: SlackTs | None = None
    channel_type: StrictStr | None = None
    subtype: StrictStr | None = None
    bot_id: StrictStr | None = None


class Profile(Shape):
    id: SlackId
    tz: StrictStr | None = None
    deleted: StrictBool = False


class UserChange(Shape):
    type: Literal["user_change"]
    user: Profile


class HomeOpened(Shape):
    type: Literal["app_home_opened"]
    user: SlackId
    tab: StrictStr | None = None


class RevokedTokens(Shape):
    bot: list[StrictStr] = []


class TokensRevoked(Shape):
    type: Literal["tokens_revoked"]
    tokens: RevokedTokens = RevokedTokens()


EVENT_SHAPES: dict[str, type[Shape]] = {
    "message": MessageEvent,
    "user_change": UserChange,
    "app_home_opened": HomeOpened,
    "tokens_revoked": TokensRevoked,
}


class EventCallback(Shape):
    type: Literal["event_callback"]
    team_id: SlackId
    event_id: StrictStr
    event: dict[StrictStr, Any]


def problem_with(body: dict[str, Any]) -> str | None:
    """Why this payload is not one Slack sends (a short reason for the log), or None."""
    kind = body.get("type")
    try:
        Envelope.model_validate(body)
        if "command" in body:
            SlashCommand.model_validate(body)
        elif kind == "block_actions":
            BlockActions.model_validate(body)
        elif kind in ("view_submission", "view_closed"):
            ViewSubmission.model_validate(body)
        elif kind == "event_callback":
            event = EventCallback.model_validate(body).event
            kind = EventIds.model_validate(event).type
            shape = EVENT_SHAPES.get(kind)
            if shape is not None:
                shape.model_validate(event)
        elif kind not in ("url_verification", "ssl_check"):
            return f"a payload of type {str(kind)[:40]!r} that Loops does not take"
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}"
    return None


def row_id(value: object) -> int | None:
    """A button's value or a metadata field as one of our row ids; None when it cannot be one.

    ASCII digits only (`²` is a digit to `str.isdigit`), and within the column's range.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 1 <= value <= ROW_ID_MAX else None
    if isinstance(value, str) and _ROW_ID.fullmatch(value):
        number = int(value)
        return number if 1 <= number <= ROW_ID_MAX else None
    return None


def metadata_id(private_metadata: str, key: str) -> int | None:
    """An id our own modal put in its `private_metadata`; tampered or missing reads as None."""
    try:
        data = json.loads(private_metadata or "{}")
    except ValueError:
        return None
    return row_id(data.get(key)) if isinstance(data, dict) else None


def typed(view: dict[str, Any], block_id: str, action_id: str) -> str | None:
    """What the person typed into one input of a submitted modal (the shape was checked)."""
    value = _input(view, block_id, action_id)
    return value.value if value is not None else None


def _input(view: dict[str, Any], block_id: str, action_id: str) -> TypedValue | None:
    values = SubmittedView.model_validate(view).state.values
    return values.get(block_id, {}).get(action_id)


def chosen(view: dict[str, Any], block_id: str, action_id: str) -> str | None:
    """The value of the option picked in a select of a submitted modal."""
    value = _input(view, block_id, action_id)
    return value.selected_option.value if value is not None and value.selected_option else None


def picked_date(view: dict[str, Any], block_id: str, action_id: str) -> date | None:
    """The day picked in a datepicker; a day that does not exist (`2026-02-30`) reads as none."""
    value = _input(view, block_id, action_id)
    if value is None or value.selected_date is None:
        return None
    try:
        return date.fromisoformat(value.selected_date)
    except ValueError:
        return None


def picked_time(view: dict[str, Any], block_id: str, action_id: str) -> time | None:
    """The time picked in a timepicker; one that does not exist (`25:00`) reads as none."""
    value = _input(view, block_id, action_id)
    if value is None or value.selected_time is None:
        return None
    try:
        return time.fromisoformat(value.selected_time)
    except ValueError:
        return None


def ticked(view: dict[str, Any], block_id: str, action_id: str) -> set[str]:
    """The values of the boxes ticked in a checkboxes input."""
    value = _input(view, block_id, action_id)
    return {option.value for option in value.selected_options} if value is not None else set()


def metadata(private_metadata: str) -> dict[str, Any]:
    """Our own modal's `private_metadata` as a dict; tampered or missing reads as empty."""
    try:
        data = json.loads(private_metadata or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def trigger_of(body: Mapping[str, Any]) -> str:
    """The trigger a command or a click carries: it opens a modal (and names a command once).

    Slack always sends one; a payload without it is refused in words, not with a traceback.
    """
    trigger = body.get("trigger_id")
    if not isinstance(trigger, str) or not trigger:
        raise InvalidInput("Slack sent that without what it needs to answer; please try again.")
    return trigger


# Slack's response_urls are about 100 characters long.
RESPONSE_URL_MAX = 2000


def is_response_url(url: object, api_url: str) -> bool:
    """Whether `url` is one Slack could hand us: on hooks.slack.com over https, or on the
    configured Web API's own scheme and host. Anything else is never requested."""
    if not isinstance(url, str) or len(url) > RESPONSE_URL_MAX or not url.isascii():
        return False
    try:
        parts = urlsplit(url)
        api = urlsplit(api_url)
        origin = (parts.scheme, parts.hostname, parts.port)
        allowed = {("https", "hooks.slack.com", None), (api.scheme, api.hostname, api.port)}
    except ValueError:  # a port out of range, a broken IPv6 literal
        return False
    return origin in allowed and not any(ch.isspace() for ch in url)


def response_url_of(body: Mapping[str, Any]) -> str:
    """Where a command's answer goes after its ack. Slack always sends one; a payload without
    it is refused in words, as `trigger_of` does."""
    url = body.get("response_url")
    if not isinstance(url, str) or not url:
        raise InvalidInput("Slack sent that without what it needs to answer; please try again.")
    return url


class PageCursor(Shape):
    """What a **More** button carries (blocks.history.more_value): the command and where to go on."""

    text: Annotated[str, StringConstraints(strict=True, max_length=1000)]
    before: Annotated[int, Field(strict=True, ge=1, le=ROW_ID_MAX)]
    shown: Annotated[int, Field(strict=True, ge=0, le=ROW_ID_MAX)]


def page_cursor(value: object) -> PageCursor | None:
    """The cursor on a **More** button, or None for anything else (a forged value reads as stale)."""
    if not isinstance(value, str):
        return None
    try:
        return PageCursor.model_validate_json(value)
    except ValidationError:
        return None
