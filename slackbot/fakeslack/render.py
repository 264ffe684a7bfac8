"""Plain-text renderings of messages and views, roughly as a person sees them in Slack.

Used by ``python -m slackbot demo`` to print a transcript; not a faithful renderer (bold and
code marks are kept as typed, images shown as their alt text), but mrkdwn escapes, links and
mentions read as a person sees them: `&lt;!channel&gt;` shows as `<!channel>`, inert.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slackbot.fakeslack.state import Message

RULE = "─" * 40
_LINK = re.compile(r"<(?P<target>[^<>|]+)(?:\|(?P<label>[^<>]+))?>")


def mrkdwn_to_text(text: str) -> str:
    """Links as their label, mentions as @name, and Slack's three escapes undone."""

    def link(match: re.Match[str]) -> str:
        target, label = match.group("target"), match.group("label")
        if target.startswith("!date^"):
            return label or target  # the fallback text, as a client that cannot localise shows it
        if target[0] in "@!":
            return "@" + (label or target[1:].split("^")[0])
        if target[0] == "#":
            return "#" + (label or target[1:])
        return f"{label} ({target})" if label else target

    return _LINK.sub(link, text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text(obj: Any) -> str:
    if isinstance(obj, dict):
        text = str(obj.get("text", ""))
        return mrkdwn_to_text(text) if obj.get("type") == "mrkdwn" else text
    return "" if obj is None else str(obj)


def _rich_text(element: Any) -> str:
    if isinstance(element, dict):
        if "text" in element and isinstance(element["text"], str):
            return element["text"]
        if element.get("type") == "user":
            return f"@{element.get('user_id', '')}"
        if element.get("type") == "link":
            return str(element.get("text") or element.get("url", ""))
        return "".join(_rich_text(e) for e in element.get("elements") or [])
    return ""


def _element(element: Any) -> str:
    if not isinstance(element, dict):
        return ""
    kind = element.get("type")
    if kind in ("button", "workflow_button"):
        return f"[ {_text(element.get('text'))} ]"
    if kind == "image":
        return f"[image: {element.get('alt_text', '')}]"
    if kind in ("checkboxes", "radio_buttons"):
        mark = "☐" if kind == "checkboxes" else "○"
        return "  ".join(
            f"{mark} {_text(o.get('text'))}" for o in element.get("options") or [] if isinstance(o, dict)
        )
    if kind == "overflow":
        return "[ ⋯ ]"
    initial = str(element.get("initial_value") or "")
    placeholder = initial or (
        f"e.g. {_text(element.get('placeholder'))}" if element.get("placeholder") else ""
    )
    arrow = " ▾" if kind and ("select" in kind or kind in ("datepicker", "timepicker")) else ""
    return f"[ {placeholder}{arrow} ]"


def render_blocks(blocks: list[Any]) -> list[str]:
    """Lines for a list of blocks."""
    lines: list[str] = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "header":
            title = _text(block.get("text"))
            lines += [title, "═" * min(max(len(title), 3), 40)]
        elif kind == "section":
            if block.get("text"):
                lines += _text(block.get("text")).splitlines() or [""]
            for field in block.get("fields") or []:
                lines.append("  • " + _text(field))
            if isinstance(block.get("accessory"), dict):
                lines.append("  " + _element(block["accessory"]))
        elif kind == "divider":
            lines.append(RULE)
        elif kind == "context":
            parts = [
                _element(e) if isinstance(e, dict) and e.get("type") == "image" else _text(e)
                for e in block.get("elements") or []
            ]
            lines.append("  " + "  ·  ".join(p for p in parts if p))
        elif kind == "actions":
            lines.append("  ".join(_element(e) for e in block.get("elements") or []))
        elif kind == "input":
            optional = " (optional)" if block.get("optional") else ""
            lines.append(f"{_text(block.get('label'))}{optional}: {_element(block.get('element'))}")
            if block.get("hint"):
                lines.append("  " + _text(block.get("hint")))
        elif kind == "image":
            lines.append(f"[image: {block.get('alt_text', '')}]")
        elif kind == "rich_text":
            lines += _rich_text(block).splitlines() or [""]
        elif kind == "markdown":
            lines += str(block.get("text", "")).splitlines()
        else:
            lines.append(f"[{kind}]")
    return lines


def render_message(body: dict[str, Any]) -> list[str]:
    """Lines for a message body (chat.postMessage arguments, an ack, a response_url post)."""
    blocks = body.get("blocks")
    if isinstance(blocks, list) and blocks:
        return render_blocks(blocks)
    return mrkdwn_to_text(str(body.get("text") or "")).splitlines()


def render_view(view: dict[str, Any]) -> list[str]:
    """Lines for a modal or Home tab view object."""
    lines: list[str] = []
    if view.get("type") == "modal":
        lines += [f"┌ {_text(view.get('title'))}", ""]
    lines += render_blocks(list(view.get("blocks") or []))
    if view.get("type") == "modal":
        buttons = [f"[ {_text(view.get(key))} ]" for key in ("close", "submit") if view.get(key)]
        lines += ["", "  ".join(buttons) or "[ Cancel ]"]
    return lines


def render_conversation(messages: list[Message], author: Callable[[Message], str]) -> list[str]:
    """A conversation as its member sees it: top-level messages in order, each thread under its parent."""
    replies: dict[str, list[Message]] = {}
    for message in messages:
        if message.thread_ts and message.thread_ts != message.ts:
            replies.setdefault(message.thread_ts, []).append(message)
    lines: list[str] = []
    for message in messages:
        if message.thread_ts and message.thread_ts != message.ts:
            continue
        lines.append(f"{author(message)}:")
        lines += ["  " + line for line in render_message(_body(message))]
        for reply in replies.get(message.ts, []):
            lines.append(f"    ↳ {author(reply)}:")
            lines += ["      " + line for line in render_message(_body(reply))]
    return lines


def _body(message: Message) -> dict[str, Any]:
    return {"text": message.text, "blocks": message.blocks}
