"""Text people type (slash commands, replies) into intents; user text made safe for mrkdwn."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from slackbot.core.errors import InvalidInput


def escape(text: str) -> str:
    """Make user text inert in mrkdwn: no `<!channel>`, no fake `<@U…>` mention, no links.

    Slack's own rule: only `&`, `<` and `>` need escaping, and `&` must go first.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Undo Slack's escaping of `&`, `<`, `>` in text it sends us, so we store what was typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@dataclass(frozen=True)
class Subcommand:
    """One `/loops` subcommand as the help lists it."""

    name: str
    usage: str
    summary: str
    available: bool


LOOPS_SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand("history", "/loops", "your open loops and recent history", False),
    Subcommand("help", "/loops help", "this list", True),
    Subcommand("start", "/loops start", "get the morning prompt on your workdays", False),
    Subcommand("stop", "/loops stop", "stop the morning prompt", False),
    Subcommand("pause", "/loops pause [until DATE | N days]", "no prompts for a while", False),
    Subcommand("resume", "/loops resume", "prompts again after a pause", False),
    Subcommand("settings", "/loops settings", "your prompt time, workdays and time zone", False),
    Subcommand("export", "/loops export", "all your loops as a CSV file", False),
    Subcommand("show", "/loops 12", "the whole story of loop #12", False),
)

_ALIASES = {"": "history", "list": "history", "?": "help", "--help": "help", "-h": "help"}
_NAMED = {sub.name: sub for sub in LOOPS_SUBCOMMANDS}
_LOOP_NUMBER = re.compile(r"^#?(\d{1,9})$")
_SHOWN_WORD_LIMIT = 40


@dataclass(frozen=True)
class LoopsCommand:
    """What `/loops …` asked for: a subcommand, its argument text, and a loop number for `show`."""

    subcommand: Subcommand
    argument: str = ""
    loop_number: int | None = None


def parse_loops_command(text: str) -> LoopsCommand:
    """Read the text after `/loops`; an unknown word is refused with a suggestion."""
    words = unescape(text).strip().split(maxsplit=1)
    word = words[0].lower() if words else ""
    argument = words[1].strip() if len(words) > 1 else ""
    number = _LOOP_NUMBER.match(word)
    if number:
        return LoopsCommand(_NAMED["show"], argument, int(number.group(1)))
    name = _ALIASES.get(word, word)
    if name in _NAMED and name != "show":
        return LoopsCommand(_NAMED[name], argument)
    raise InvalidInput(_unknown_subcommand_message(words[0] if words else ""))


def _unknown_subcommand_message(word: str) -> str:
    word = word.replace("`", "'")  # a backtick would end the code span we show it in
    shown = word if len(word) <= _SHOWN_WORD_LIMIT else word[: _SHOWN_WORD_LIMIT - 1] + "…"
    choices = [sub.name for sub in LOOPS_SUBCOMMANDS if sub.name not in {"history", "show"}]
    close = difflib.get_close_matches(word.lower(), choices, n=1, cutoff=0.6)
    hint = f" Did you mean `/loops {close[0]}`?" if close else ""
    return f"`/loops {escape(shown)}` isn't something I know.{hint} Try `/loops help` for the list."
