"""Small Block Kit builders that keep Slack's limits in one place.

Text that reaches a builder is already safe mrkdwn (user text went through
`core.parse.escape`); the builders only make sure no limit turns a message into an
`invalid_blocks` error, by shortening text that would not fit.
"""

from __future__ import annotations

from typing import Any

Block = dict[str, Any]

SECTION_TEXT_LIMIT = 3000
HEADER_TEXT_LIMIT = 150
CONTEXT_ELEMENT_LIMIT = 10
BUTTON_TEXT_LIMIT = 75
MESSAGE_TEXT_LIMIT = 40_000


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


def message(text: str, blocks: list[Block]) -> dict[str, Any]:
    """A message body: `text` is the notification and screen-reader fallback for the blocks."""
    return {"text": clip(text, MESSAGE_TEXT_LIMIT), "blocks": blocks}
