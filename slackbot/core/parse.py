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


LOOPS_SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand(
        "history",
        "/loops",
        "your open loops, what you shipped and what changed, how long it takes",
    ),
    Subcommand("help", "/loops help", "this list"),
    Subcommand("start", "/loops start", "get the morning prompt on your workdays"),
    Subcommand("stop", "/loops stop", "stop the morning prompt"),
    Subcommand("pause", "/loops pause [until 2026-12-24 | 3 days]", "no prompts for a while"),
    Subcommand("resume", "/loops resume", "prompts again after a pause"),
    Subcommand(
        "settings",
        "/loops settings",
        "your prompt time, workdays, time zone, reminder and check-in wait",
    ),
    Subcommand("export", "/loops export", "all your loops, as CSV and JSON files in our DM"),
    Subcommand("show", "/loops 12", "the whole story of loop #12"),
    Subcommand("open", "/loops open", "only your open loops, all of them"),
    Subcommand("closed", "/loops closed", "your closed loops, each as one sentence"),
    Subcommand(
        "month",
        "/loops month [2026-11]",
        "what you shipped in a month, what changed, and your reflection on it",
    ),
    Subcommand("search", "/loops search checkout", "your loops that mention these words"),
    Subcommand("forget-me", "/loops forget-me", "delete everything Loops holds about you"),
    Subcommand(
        "digest",
        "/loops digest #channel",
        "where the weekly team digest goes (admins choose; `off` stops it)",
    ),
)

_ALIASES = {"": "history", "list": "history", "?": "help", "--help": "help", "-h": "help"}
_NAMED = {sub.name: sub for sub in LOOPS_SUBCOMMANDS}
_LOOP_NUMBER = re.compile(r"^#?(\d{1,9})$")
_SHOWN_WORD_LIMIT = 40


@dataclass(frozen=True)
class LoopsCommand:
    """What `/loops …` asked for: a subcommand, its argument text, and a loop number for `show`.

    A word that is no subcommand asks for the help, with `not_understood` saying why:
    someone who mistypes wants the list itself, not a pointer to it.
    """

    subcommand: Subcommand
    argument: str = ""
    loop_number: int | None = None
    not_understood: str | None = None


def parse_loops_command(text: str) -> LoopsCommand:
    """Read the text after `/loops`; an unknown word becomes the help, headed by what went wrong."""
    words = unescape(text).strip().split(maxsplit=1)
    word = words[0].lower() if words else ""
    argument = words[1].strip() if len(words) > 1 else ""
    number = _LOOP_NUMBER.match(word)
    if number:
        return LoopsCommand(_NAMED["show"], argument, int(number.group(1)))
    name = _ALIASES.get(word, word)
    if name in _NAMED and name != "show":
        return LoopsCommand(_NAMED[name], argument)
    return LoopsCommand(_NAMED["help"], not_understood=_unknown_subcommand_message(words[0] if words else ""))


def _unknown_subcommand_message(word: str) -> str:
    """One line, safe mrkdwn: what was not understood, and the closest subcommand if any."""
    word = word.replace("`", "'")  # a backtick would end the code span we show it in
    shown = word if len(word) <= _SHOWN_WORD_LIMIT else word[: _SHOWN_WORD_LIMIT - 1] + "…"
    choices = [sub.name for sub in LOOPS_SUBCOMMANDS if sub.name not in {"history", "show"}]
    close = difflib.get_close_matches(word.lower(), choices, n=1, cutoff=0.6)
    hint = f" Did you mean `/loops {close[0]}`?" if close else ""
    return f"I didn't understand `/loops {escape(shown)}`.{hint} Here is what I know:"


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


# Where str.splitlines() ends a line, and the spaces that are no line break.
_LINE_BREAK = re.compile(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
_INLINE_SPACE = r"[^\S\n\r\v\f\x1c-\x1e\x85\u2028\u2029]"
# The label `for:` or `for whom:` (any case), within one line; for whom is the rest of that line.
_FOR_WHOM = re.compile(rf"(?i)\bfor(?:{_INLINE_SPACE}+whom)?{_INLINE_SPACE}*:")
# What people type between what and for whom: dashes, stops, commas, colons, slashes and pipes,
# and an opening bracket whose partner closes the for-whom part.
_SEPARATORS = "-‐‑‒–—―−.…,;:/\\|"
_BRACKETS = {"(": ")", "[": "]", "{": "}"}
# A Slack emoji code (`:fire:`, `:wave::skin-tone-2:`) ends in a colon that is no separator.
_EMOJI_AT_END = re.compile(r"(?::[\w+'-]+:)+$")
# At the start of text, separators count only as a run of their own (`— next`, not `-v` or `:fire:`).
_SEPARATORS_AT_START = re.compile(rf"\A(?:\s+|[{re.escape(_SEPARATORS)}]+(?=\s|$))*")


def _trim_seam_end(text: str, openers: list[str]) -> str:
    """`text` without the whitespace, separators and dangling opening brackets it ends with.

    The brackets removed are appended to `openers`, innermost first.
    """
    while True:
        text = text.rstrip()
        if not text or _EMOJI_AT_END.search(text):
            return text
        if text[-1] in _BRACKETS:
            openers.append(text[-1])
        elif text[-1] not in _SEPARATORS:
            return text
        text = text[:-1]


def _closing_partner(text: str, partner: str) -> int | None:
    """Where in `text` the bracket `partner` closes a bracket opened before it, if it does."""
    nested: list[str] = []
    for index, char in enumerate(text):
        if char in _BRACKETS:
            nested.append(_BRACKETS[char])
        elif nested and char == nested[-1]:
            nested.pop()
        elif not nested and char == partner:
            return index
    return None


def _split_at_label(before: str, after: str) -> tuple[str, str | None, str]:
    """The line around a `for:` label → (what comes before it, for whom, what follows a bracketed for whom).

    Only the seams are trimmed: separators between the text before and the label, a bracket opened
    just before the label with its partner closing the for-whom part, and separators around what follows.
    """
    openers: list[str] = []
    before = _trim_seam_end(before, openers)
    who, rest = after, ""
    if openers:
        close = _closing_partner(after, _BRACKETS[openers[0]])
        if close is not None:
            who, rest = after[:close], after[close + 1 :]
            for opener in openers[1:]:  # `([for: everyone])`: the outer partners follow
                if not rest.lstrip().startswith(_BRACKETS[opener]):
                    break
                rest = rest.lstrip()[1:]
    who = _SEPARATORS_AT_START.sub("", _trim_seam_end(who, []))
    return before, who or None, _trim_seam_end(_SEPARATORS_AT_START.sub("", rest), [])


def parse_answer(text: str) -> Answer:
    """Read a thread reply; `what` is empty when the reply only says for whom.

    `Checkout times out — for: mobile shoppers` and `Search is slow (for whom: everyone)` give
    what and for whom without the dash or the brackets typed between them.
    """
    plain = unescape(text)
    for_whom = None
    label = _FOR_WHOM.search(plain)
    if label:
        starts = [br.end() for br in _LINE_BREAK.finditer(plain, 0, label.start())]
        start = starts[-1] if starts else 0
        line_break = _LINE_BREAK.search(plain, label.end())
        end = line_break.start() if line_break else len(plain)
        before, for_whom, rest = _split_at_label(plain[start : label.start()], plain[label.end() : end])
        plain = plain[:start] + " ".join(part for part in (before, rest) if part) + plain[end:]
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


@dataclass(frozen=True)
class ShippedCommand:
    """What `/shipped …` said: a loop number (`#12`), what shipped, and what should change.

    The quick path needs all three; anything less opens the modal, filled in with what was given.
    """

    loop_number: int | None
    what: str
    expected: str | None

    @property
    def quick(self) -> bool:
        return self.loop_number is not None and bool(self.what) and bool(self.expected)


_SHIPPED_LOOP = re.compile(r"^\s*#([0-9]{1,9})[:,]?(?=\s|$)")
_EXPECT = re.compile(r"(?i)\bexpect(?:ed|ing)?\s*:")


def parse_shipped(text: str) -> ShippedCommand:
    """Read the text after `/shipped`: `#12 <what> expect: <change>`, each part optional.

    Slack's escaping is undone, so what is stored is what was typed; the first `expect:`
    (or `expected:`, `expecting:`) ends what shipped.
    """
    plain = unescape(text)
    number = _SHIPPED_LOOP.match(plain)
    if number:
        plain = plain[number.end() :]
    label = _EXPECT.search(plain)
    what, expected = (plain[: label.start()], plain[label.end() :]) if label else (plain, "")
    # `fix — expect: …`: the dash belongs to neither part. Without a label, only spaces go.
    what = _trim_seam_end(what, []).strip() if label else what.strip()
    return ShippedCommand(
        loop_number=int(number.group(1)) if number else None,
        what=what,
        expected=expected.strip() or None,
    )


_MONTH_NAMES = {
    name: number
    for number, full in enumerate(
        (
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ),
        start=1,
    )
    for name in (full, full[:3])
}
_YEAR_MONTH = re.compile(r"^(?P<y>[0-9]{4})[-/.](?P<m>[0-9]{1,2})$")
_NAMED_MONTH = re.compile(r"^(?P<name>[a-z]+)\.?(?:\s+(?P<y>[0-9]{4}))?$")


def parse_month(argument: str, today: date) -> tuple[int, int]:
    """`/loops month` text (unescaped already) → (year, month).

    Nothing or `this` (this month), `last`, `2026-11`, `november` or `nov 2026`; a month
    name alone is the latest one not after today.
    """
    text = argument.strip().lower()
    if text in ("", "this", "this month"):
        return today.year, today.month
    if text in ("last", "last month", "previous"):
        return (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    numbered = _YEAR_MONTH.match(text)
    named = _NAMED_MONTH.match(text)
    if numbered:
        year, month = int(numbered.group("y")), int(numbered.group("m"))
    elif named and named.group("name") in _MONTH_NAMES:
        month = _MONTH_NAMES[named.group("name")]
        if named.group("y"):
            year = int(named.group("y"))
        else:
            year = today.year if month <= today.month else today.year - 1
    else:
        raise InvalidInput(_MONTH_HELP)
    if not 1 <= month <= 12 or not 1970 <= year <= 9998:
        raise InvalidInput(_MONTH_HELP)
    return year, month


_MONTH_HELP = "Which month? Try `/loops month 2026-11`, `/loops month november` or `/loops month last`."
SEARCH_WORDS_LIMIT = 8
SEARCH_WORD_CHARS = 100
# Terms are kept this long at most (a longer word is found by its first 64 letters).
TERM_CHARS = 64
# A term is a run of letters and digits in any script; `_`, `%`, punctuation and mrkdwn split.
_TERM = re.compile(r"[^\W_]+")


def search_terms(text: str | None) -> set[str]:
    """The words of `text` as search finds them: case-folded runs of letters and digits."""
    return {term.casefold()[:TERM_CHARS] for term in _TERM.findall(text or "")}


def parse_search(argument: str) -> list[str]:
    """`/loops search` text (unescaped already) → the terms every loop found must hold.

    Each is matched as the start of a word (`check` finds *checkout*), in any case; `%`, `_`,
    quotes and SQL are not terms, so they are never wildcards or code.
    """
    words = argument.split()
    if len(words) > SEARCH_WORDS_LIMIT:
        raise InvalidInput(f"Please search for at most {SEARCH_WORDS_LIMIT} words at a time.")
    if any(len(word) > SEARCH_WORD_CHARS for word in words):
        raise InvalidInput(f"Please keep each word to {SEARCH_WORD_CHARS} characters.")
    terms = sorted(search_terms(argument))
    if not terms:
        raise InvalidInput("What should I look for? For example `/loops search checkout`.")
    return terms


@dataclass(frozen=True)
class ChannelRef:
    """A channel as typed after `/loops digest`: its id when Slack (or the person) gave one,
    else its name to look up; `off` turns the digest off."""

    id: str | None = None
    name: str | None = None
    off: bool = False


_CHANNEL_MENTION = re.compile(r"^<#([CG][A-Z0-9]{2,})(?:\|[^>]*)?>$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{8,}$")
# Slack channel names: lower-case letters, digits, hyphens and underscores, at most 80.
_CHANNEL_NAME = re.compile(r"^#?([a-z0-9][a-z0-9_\-]{0,79})$")


def parse_channel(text: str) -> ChannelRef | None:
    """`#product`, `<#C0123|product>`, `C0123ABCD` or `off`; None for anything else."""
    typed = text.strip()
    if typed.lower() in {"off", "none", "stop"}:
        return ChannelRef(off=True)
    mention = _CHANNEL_MENTION.match(typed)
    if mention:
        return ChannelRef(id=mention.group(1))
    if _CHANNEL_ID.match(typed):
        return ChannelRef(id=typed)
    name = _CHANNEL_NAME.match(typed.lower())
    if name and typed.startswith("#"):
        return ChannelRef(name=name.group(1))
    return None
