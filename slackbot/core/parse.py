"""Text people type (slash commands, replies) into intents; user text made safe for mrkdwn."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date, timedelta

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
    Subcommand("start", "/loops start", "get the morning prompt on your workdays", True),
    Subcommand("stop", "/loops stop", "stop the morning prompt", True),
    Subcommand("pause", "/loops pause [until DATE | N days]", "no prompts for a while", True),
    Subcommand("resume", "/loops resume", "prompts again after a pause", True),
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


# Slack's own cap for a plain_text_input; a crafted submission may still send more.
FIELD_LIMIT = 3000


def check_field(label: str, value: str | None, *, required: bool, field: str | None = None) -> str | None:
    """Trimmed text, or an InvalidInput naming the field (and the modal block, if any)."""
    text = (value or "").strip()
    if not text:
        if required:
            raise InvalidInput(f"Please fill in {label}.", field=field)
        return None
    if len(text) > FIELD_LIMIT:
        shown = label[0].upper() + label[1:]
        message = f"{shown} is {len(text):,} characters; please keep it to {FIELD_LIMIT:,}."
        raise InvalidInput(message, field=field)
    return text


@dataclass(frozen=True)
class Answer:
    """A reply to the morning prompt typed as text: first line what, `for: …` for whom, the rest evidence."""

    what: str
    for_whom: str | None
    evidence: str | None


_FOR_WHOM = re.compile(r"(?i)\bfor(?:\s+whom)?\s*:\s*(?P<who>[^\n]*)")


def parse_answer(text: str) -> Answer:
    """Read a thread reply; `what` is empty when the reply only says for whom."""
    plain = unescape(text)
    for_whom = None
    match = _FOR_WHOM.search(plain)
    if match:
        for_whom = match.group("who").strip() or None
        plain = plain[: match.start()] + plain[match.end() :]
    lines = [line.strip() for line in plain.splitlines() if line.strip()]
    what = lines[0] if lines else ""
    evidence = "\n".join(lines[1:]) or None
    return Answer(what=what, for_whom=for_whom, evidence=evidence)


_PAUSE_DAYS = re.compile(r"^(?:for\s+)?(?P<n>\d{1,3}|an?|one)\s*(?P<unit>d|days?|w|weeks?)$")
_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_ABBREVIATIONS = tuple(name[:3] for name in _WEEKDAY_NAMES)
# Pausing forever is spelled "until you say /loops resume".
PAUSED_INDEFINITELY = date.max
PAUSE_LIMIT_DAYS = 366


def parse_pause(argument: str, today: date) -> date:
    """`/loops pause` text → the first local date with prompts again (`PAUSED_INDEFINITELY` for none).

    Accepts nothing (until `/loops resume`), `N days`, `N weeks`, `until 2026-12-01`
    and `until monday`; a date must be after today and within a year.
    """
    text = unescape(argument).strip().lower()
    if not text:
        return PAUSED_INDEFINITELY
    span = _PAUSE_DAYS.match(text)
    if span:
        amount = span.group("n")
        count = int(amount) if amount.isdigit() else 1
        days = count * (7 if span.group("unit").startswith("w") else 1)
        if not 1 <= days <= PAUSE_LIMIT_DAYS:
            raise InvalidInput(f"A pause can last from 1 to {PAUSE_LIMIT_DAYS} days.")
        return today + timedelta(days=days)
    target = text.removeprefix("until").strip()
    if target in _WEEKDAY_NAMES or target in _WEEKDAY_ABBREVIATIONS:
        weekday = _WEEKDAY_ABBREVIATIONS.index(target[:3])
        return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
    try:
        resume = date.fromisoformat(target)
    except ValueError:
        raise InvalidInput(
            "I couldn't read that pause. Try `/loops pause 3 days`, `/loops pause until 2026-12-01`, "
            "`/loops pause until monday`, or just `/loops pause`."
        ) from None
    if resume <= today:
        raise InvalidInput(f"{resume.isoformat()} isn't in the future; pick a later date.")
    if resume > today + timedelta(days=PAUSE_LIMIT_DAYS):
        raise InvalidInput(
            f"A pause can last at most a year; pick a date before {today + timedelta(days=PAUSE_LIMIT_DAYS)}."
        )
    return resume
