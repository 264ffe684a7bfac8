"""Messages about one loop: its root message (whose thread holds the story) and thread notes."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from slackbot.blocks.kit import context, local_time, message, section
from slackbot.blocks.text import loop_title
from slackbot.core.parse import escape
from slackbot.store.models import Loop


def loop_root_message(loop: Loop, tz: ZoneInfo) -> dict[str, Any]:
    lines = [f"*{loop_title(loop)}*"]
    if not loop.for_whom:
        lines.append("_For whom? Reply `for: …` in this thread._")
    blocks = [section("\n".join(lines), block_id="loop_root")]
    if loop.evidence:
        blocks.append(section(f"*How we know*\n{escape(loop.evidence)}"))
    blocks.append(
        context(
            f"Opened {local_time(loop.opened_at, tz)}. Everything about this loop lands in this thread; "
            "reply here to add to its story."
        )
    )
    return message(loop_title(loop), blocks)


def thread_note(text: str) -> dict[str, Any]:
    """A short line in a loop's or a prompt's thread (`text` is safe mrkdwn already)."""
    return message(text, [section(text)])
