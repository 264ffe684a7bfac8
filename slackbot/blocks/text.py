"""User text as messages show it: escaped, shortened with a note, and loops named one way everywhere."""

from __future__ import annotations

from datetime import date

from slackbot.blocks.kit import clip
from slackbot.core.parse import escape
from slackbot.store.models import Loop

# User text longer than this is shortened where it is shown back (the database keeps it whole).
SHOWN_LIMIT = 600


def shown(text: str | None, limit: int = SHOWN_LIMIT) -> str:
    """User text made safe for mrkdwn and short enough to read; a note says when it was shortened."""
    if not text:
        return ""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    # Cut after escaping (an `&` becomes five characters), never inside an `&amp;`.
    return clip(escaped, limit) + f" _(shortened here; all {len(text):,} characters are kept)_"


def loop_title(loop: Loop) -> str:
    """`Loop #3: checkout fails — mobile users`, escaped, as every message names a loop."""
    who = f" — {shown(loop.for_whom, 300)}" if loop.for_whom else ""
    return f"Loop #{loop.number}: {shown(loop.what, 300)}{who}"


def day(on: date) -> str:
    """`Tue 2 Dec`: a person's local date, as they read it."""
    return f"{on:%a %-d %b}"


def thread_url(team_url: str, channel: str, ts: str) -> str:
    """A message's link, in the form chat.getPermalink answers (no call per link)."""
    return f"{team_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
