"""The team digest in a channel: what was broken last week, for whom, and what changed.

Split into messages within Slack's limits (at most DIGEST_BLOCKS blocks, sections under
3,000 characters); the first is the digest, the others are replies in its thread.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from slackbot.blocks.history import figures_line
from slackbot.blocks.kit import Block, context, header, message, section
from slackbot.blocks.shipment import ANSWER_EMOJI, outcome_sentence
from slackbot.blocks.text import day, shown
from slackbot.core.shipments import CheckinAnswer
from slackbot.store.digest import Digest, SharedLoop, SharedShipment
from slackbot.store.models import Loop

DIGEST_BLOCKS = 40
SECTION_CHARS = 2800
# A message longer than this is hard to read in a channel: the rest goes in the thread.
MESSAGE_CHARS = 12_000


def _who(slack_user_id: str) -> str:
    return f"<@{slack_user_id}>"


def opened_line(item: SharedLoop) -> str:
    loop = item.loop
    whom = f" — for {shown(loop.for_whom, 200)}" if loop.for_whom else ""
    return f"• {_who(item.slack_user_id)}: {shown(loop.what, 300)}{whom}"


def shipment_line(item: SharedShipment) -> str:
    shipment, answer = item.shipment, item.checkin
    if answer is not None and answer.answer and answer.answer != CheckinAnswer.CANT_TELL:
        emoji = ANSWER_EMOJI[CheckinAnswer(answer.answer)]
        sentence = outcome_sentence(shipment, answer, answer.closes_loop, None)
        return f"• {emoji} {_who(item.slack_user_id)}: {sentence}"
    when = f"; check-in on {day(shipment.checkin_on)}" if shipment.checkin_on else ""
    return f"• {_who(item.slack_user_id)}: I shipped {shown(shipment.what, 300)}{when}."


def unwatched_line(item: SharedShipment) -> str:
    what = shown(item.shipment.what, 300)
    return f"• :eyes: {_who(item.slack_user_id)}: I shipped {what}; nobody answered its check-in."


def _part(title: str, lines: list[str], total: int) -> list[tuple[str, list[str]]]:
    if not lines:
        return []
    more = total - len(lines)
    if more > 0:
        lines = [*lines, f"…and {more} more."]
    return [(f"*{title}* ({total})", lines)]


def digest_messages(digest: Digest, week_of: date) -> list[dict[str, Any]]:
    """The digest as one or more message bodies, in posting order."""
    title = f"Loops: the week of {day(week_of)}"
    intro = context(
        f"What was broken, for whom, and what changed, from the {digest.sharing} "
        f"{'person' if digest.sharing == 1 else 'people'} who share their loops here. "
        "Private loops are never shown; `/loops settings` chooses whether yours are."
    )
    parts = [
        *_part("Opened last week", [opened_line(i) for i in digest.opened], digest.opened_count),
        *_part("Shipped last week", [shipment_line(i) for i in digest.shipped], digest.shipped_count),
        *_part(
            "What changed after earlier ships",
            [shipment_line(i) for i in digest.learned],
            len(digest.learned),
        ),
        *_part("Still unwatched", [unwatched_line(i) for i in digest.unwatched], digest.unwatched_count),
    ]
    blocks: list[Block] = [header(title), intro]
    if not parts:
        blocks.append(section("A quiet week: nobody here opened or shipped a loop."))
    for heading, lines in parts:
        blocks += _sections(heading, lines)
    blocks.append(section("*The team's distances*\n" + figures_line(digest.figures)))
    return _split(blocks, title)


def _sections(heading: str, lines: list[str]) -> list[Block]:
    """A heading and its lines, packed into as few sections as fit."""
    out: list[Block] = []
    text = heading
    for line in lines:
        if len(text) + 1 + len(line) > SECTION_CHARS:
            out.append(section(text))
            text = line
        else:
            text += "\n" + line
    out.append(section(text))
    return out


def _split(blocks: list[Block], title: str) -> list[dict[str, Any]]:
    chunks: list[list[Block]] = [[]]
    size = 0
    for block in blocks:
        length = sum(len(t) for t in _texts([block]))
        if chunks[-1] and (len(chunks[-1]) >= DIGEST_BLOCKS or size + length > MESSAGE_CHARS):
            chunks.append([])
            size = 0
        chunks[-1].append(block)
        size += length
    bodies = []
    for n, chunk in enumerate(chunks):
        fallback = title if n == 0 else f"{title} (continued, {n + 1} of {len(chunks)})"
        bodies.append(message(fallback + "\n" + "\n".join(_texts(chunk)), chunk))
    return bodies


def _texts(blocks: list[Block]) -> list[str]:
    texts = []
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict) and isinstance(text.get("text"), str) and block.get("type") == "section":
            texts.append(text["text"])
    return texts


DAILY_QUESTION = "What's broken today, for whom"


def daily_root(on: date) -> dict[str, Any]:
    """The day's thread in the digest channel; shared morning answers are its replies."""
    words = (
        f"*{DAILY_QUESTION}* · {day(on)}\n"
        "Morning answers shared with the team land in this thread as they come in."
    )
    return message(f"{DAILY_QUESTION}: {day(on)}", [section(words)])


def daily_share(slack_user_id: str, loop: Loop, link: str | None) -> dict[str, Any]:
    """One shared morning answer: who, what, for whom, and a link to their loop's thread."""
    whom = f"\nFor: {shown(loop.for_whom, 300)}" if loop.for_whom else ""
    where = f" · <{link}|Loop #{loop.number}>" if link else f" · Loop #{loop.number}"
    words = f"{_who(slack_user_id)}: *{shown(loop.what, 600)}*{whom}{where}"
    return message(f"{_who(slack_user_id)}: {shown(loop.what, 300)}", [section(words)])
