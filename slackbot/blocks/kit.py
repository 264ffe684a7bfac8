"""Small Block Kit builders that keep Slack's limits in one place.

Text that reaches a builder is already safe mrkdwn (user text went through
`core.parse.escape`); the builders only make sure no limit turns a message into an
`invalid_blocks` error, by shortening text that would not fit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

Block = dict[str, Any]

SECTION_TEXT_LIMIT = 3000
HEADER_TEXT_LIMIT = 150
CONTEXT_ELEMENT_LIMIT = 10
BUTTON_TEXT_LIMIT = 75
MODAL_TITLE_LIMIT = 24
MESSAGE_TEXT_LIMIT = 40_000
OPTION_TEXT_LIMIT = 75
OPTIONS_LIMIT = 100


def clip(text: str, limit: int) -> str:
    """Shorten to `limit` characters with an ellipsis, never cutting an escape like `&amp;` in half."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def plain(text: str, limit: int | None = None) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit) if limit else text, "emoji": True}


def mrkdwn(text: str, limit: int | None = None) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text, limit) if limit else text}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_TEXT_LIMIT)}


def section(text: str, *, block_id: str | None = None, accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text, SECTION_TEXT_LIMIT)}
    if block_id:
        block["block_id"] = block_id
    if accessory:
        block["accessory"] = accessory
    return block


def context(*texts: str) -> Block:
    return {
        "type": "context",
        "elements": [mrkdwn(t, SECTION_TEXT_LIMIT) for t in texts[:CONTEXT_ELEMENT_LIMIT]],
    }


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str, *, style: str | None = None) -> Block:
    element: Block = {
        "type": "button",
        "text": plain(text, BUTTON_TEXT_LIMIT),
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def actions(*elements: Block, block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)}
    if block_id:
        block["block_id"] = block_id
    return block


def text_input(
    block_id: str,
    action_id: str,
    label: str,
    *,
    placeholder: str,
    multiline: bool,
    optional: bool,
    max_length: int,
    initial: str | None = None,
    hint: str | None = None,
) -> Block:
    element: Block = {
        "type": "plain_text_input",
        "action_id": action_id,
        "multiline": multiline,
        "max_length": max_length,
        "placeholder": plain(placeholder),
    }
    if initial:
        element["initial_value"] = initial[:max_length]
    return _input(block_id, label, element, optional=optional, hint=hint)


def _input(block_id: str, label: str, element: Block, *, optional: bool, hint: str | None = None) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": plain(label),
        "element": element,
    }
    if hint:
        block["hint"] = plain(hint)
    return block


def option(text: str, value: str) -> Block:
    return {"text": plain(text, OPTION_TEXT_LIMIT), "value": value}


def select_input(
    block_id: str,
    action_id: str,
    label: str,
    *,
    options: list[Block],
    initial: Block | None,
    optional: bool = False,
    hint: str | None = None,
) -> Block:
    element: Block = {"type": "static_select", "action_id": action_id, "options": options[:OPTIONS_LIMIT]}
    if initial is not None:
        element["initial_option"] = initial
    return _input(block_id, label, element, optional=optional, hint=hint)


def date_input(
    block_id: str, action_id: str, label: str, *, optional: bool, hint: str | None = None
) -> Block:
    element: Block = {"type": "datepicker", "action_id": action_id, "placeholder": plain("Pick a day")}
    return _input(block_id, label, element, optional=optional, hint=hint)


def checkbox_input(
    block_id: str,
    action_id: str,
    label: str,
    *choices: Block,
    ticked: list[Block] | None = None,
    optional: bool = True,
    hint: str | None = None,
) -> Block:
    element: Block = {"type": "checkboxes", "action_id": action_id, "options": list(choices)}
    if ticked:
        element["initial_options"] = ticked
    return _input(block_id, label, element, optional=optional, hint=hint)


def time_input(block_id: str, action_id: str, label: str, *, initial: str, hint: str | None = None) -> Block:
    element: Block = {"type": "timepicker", "action_id": action_id, "initial_time": initial}
    return _input(block_id, label, element, optional=False, hint=hint)


def local_time(instant: datetime, tz: ZoneInfo, *, pattern: str = "{date_long_pretty} at {time}") -> str:
    """A time Slack shows in each reader's own zone, with the person's local time as fallback."""
    local = instant.astimezone(tz)
    fallback = f"{local:%A %-d %B at %H:%M} ({tz.key})"
    return f"<!date^{int(instant.timestamp())}^{pattern}|{fallback}>"


def message(text: str, blocks: list[Block]) -> dict[str, Any]:
    """A message body: `text` is the notification and screen-reader fallback for the blocks."""
    return {"text": clip(text, MESSAGE_TEXT_LIMIT), "blocks": blocks}
