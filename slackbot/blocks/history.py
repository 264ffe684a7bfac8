"""What `/loops` answers: what's open, what shipped and what changed because of it, how long it takes."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slackbot.blocks.ids import Action
from slackbot.blocks.kit import actions, button, context, divider, header, message, section
from slackbot.blocks.prompt import unwatched_line
from slackbot.blocks.shipment import ANSWER_EMOJI, outcome_sentence
from slackbot.blocks.text import day, loop_title, shown
from slackbot.core.figures import Figures
from slackbot.core.loops import LoopState, age_in_days
from slackbot.core.shipments import CheckinAnswer, ShipmentState
from slackbot.store.history import ClosedLoop, Month, MonthShipment, OpenLoop, Page, Summary
from slackbot.store.models import Entry, Loop

NO_LOOPS = (
    "No loops yet. Every workday morning I ask *what's broken right now, and for whom?*; each answer "
    "opens a loop. `/loops start` turns that on, and `/shipped <what>` records a fix (it opens a loop "
    "for it if there is none)."
).replace("<what>", "&lt;what&gt;")


def no_loops_message() -> dict[str, Any]:
    return message(NO_LOOPS.replace("*", ""), [section(NO_LOOPS)])


def where_it_stands(item: OpenLoop) -> str:
    """broken / next: … / shipped, check-in on DATE / waiting on you / unwatched ship."""
    loop, shipment, checkin = item.loop, item.shipment, item.checkin
    # A continued loop may still have a check-in coming ("can't tell yet" asks again).
    prefix = f"next: {shown(loop.next_step, 200)}" if loop.next_step else "broken"
    if loop.state == LoopState.SHIPPED:
        prefix = "shipped"
    if shipment is None or shipment.state not in (ShipmentState.WAITING, ShipmentState.UNWATCHED):
        return prefix
    if shipment.state == ShipmentState.UNWATCHED:
        return f"{prefix} · *unwatched ship*: nobody answered its check-in"
    if checkin is not None and checkin.asked_at is not None and checkin.answered_at is None:
        return f"{prefix} · *waiting on you*: answer its check-in"
    if shipment.checkin_on is not None:
        return f"{prefix} · check-in on {day(shipment.checkin_on)}"
    return prefix


def open_line(item: OpenLoop, now: datetime) -> str:
    return f"• *{loop_title(item.loop)}*\n   _{_age(item.loop, now)}_ · {where_it_stands(item)}"


def _age(loop: Loop, now: datetime) -> str:
    days = age_in_days(loop.opened_at, now)
    return "opened today" if days == 0 else f"{days} day{'s' if days != 1 else ''}"


def closed_sentence(item: ClosedLoop) -> str:
    """*Shipped X, Y happened.* for a loop closed by its check-in; plainer for one closed otherwise."""
    shipment, checkin = item.shipment, item.checkin
    if shipment is None or checkin is None:
        return "Closed."
    happened = shown(checkin.what_happened, 300)
    return f"Shipped {shown(shipment.what, 300)}, {happened}" + ("" if happened.endswith(".") else ".")


def _days(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 1:
        return "under a day"
    rounded = round(value, 1)
    shown_value = f"{rounded:g}"
    return f"{shown_value} day{'s' if rounded != 1 else ''}"


def figures_line(numbers: Figures) -> str:
    watched = (
        f"{numbers.watched} of {numbers.judged} ship{'s' if numbers.judged != 1 else ''} "
        f"({numbers.watched_share:.0%})"
        if numbers.watched_share is not None
        else "–"
    )
    return (
        f"*Last 90 days* ({numbers.shipments} ship{'s' if numbers.shipments != 1 else ''})\n"
        f"Problem → ship: median {_days(numbers.problem_to_shipment_days)} · "
        f"ship → known outcome: median {_days(numbers.shipment_to_outcome_days)} · "
        f"outcome watched: {watched}"
    )


def summary_message(summary: Summary, tz: ZoneInfo, now: datetime) -> dict[str, Any]:
    """The caller's own loops, for their eyes only (an ephemeral answer)."""
    if (
        not summary.open
        and not summary.closed
        and not summary.recent.shipments
        and not summary.previous.shipments
    ):
        return no_loops_message()
    blocks: list[dict[str, Any]] = [header("Your loops")]
    if summary.open:
        blocks.append(section(f"*Open* ({summary.open_count})"))
        for item in summary.open:
            blocks.append(section(open_line(item, now)))
        if summary.open_count > len(summary.open):
            blocks.append(context(f"…and {summary.open_count - len(summary.open)} more, older."))
    else:
        blocks.append(section("*Open*: none. :tada:"))
    if summary.closed:
        blocks += [divider(), section("*Recently closed*")]
        for closed in summary.closed:
            when = (
                f" _closed {day(closed.loop.closed_at.astimezone(tz).date())}_"
                if closed.loop.closed_at
                else ""
            )
            blocks.append(section(f"• *Loop #{closed.loop.number}*: {closed_sentence(closed)}{when}"))
    blocks += [divider(), section(figures_line(summary.recent))]
    if summary.unwatched:
        blocks.append(context(unwatched_line(summary.unwatched)))
    blocks.append(context("Only you can see this. `/loops help` lists the rest."))
    return message(f"Your loops: {summary.open_count} open, {len(summary.closed)} recently closed.", blocks)


# How each kind of entry reads in a loop's story.
ENTRY_LABELS = {
    "answer": "Opened",
    "reply": "Reply",
    "still_broken": "Still broken",
    "shipped": "Shipped",
    "edited": "Shipment edited",
    "checkin": "Check-in answered",
    "continued": "Next step",
    "closed": "Closed",
    "dropped": "Dropped",
    "unwatched": "Unwatched",
}
# Sections of a story message: Slack allows 50 blocks, and each section 3,000 characters.
STORY_SECTION_CHARS = 2800
ENTRY_CHARS = 700


def story_message(
    loop: Loop, entries: list[Entry], total: int, permalink: str | None, tz: ZoneInfo
) -> dict[str, Any]:
    """`/loops 12`: the loop's whole story in order, each entry with its local date."""
    blocks: list[dict[str, Any]] = [header(f"Loop #{loop.number}"), section(f"*{loop_title(loop)}*")]
    facts = [f"_{loop.state}_", f"opened {day(loop.opened_at.astimezone(tz).date())}"]
    if loop.next_step and loop.state in (LoopState.CONTINUED, LoopState.OPEN):
        facts.append(f"next: {shown(loop.next_step, 300)}")
    blocks.append(context(" · ".join(facts)))
    if total > len(entries):
        blocks.append(
            context(f"The {total - len(entries)} oldest entries are in the thread; here are the newest.")
        )
    lines: list[str] = []
    for entry in entries:
        when = day(entry.created_at.astimezone(tz).date())
        label = ENTRY_LABELS.get(entry.kind, entry.kind.replace("_", " ").capitalize())
        lines.append(f"*{when}* · {label}: {shown(entry.text, ENTRY_CHARS)}")
    chunk = ""
    for line in lines:
        if chunk and len(chunk) + len(line) + 1 > STORY_SECTION_CHARS:
            blocks.append(section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        blocks.append(section(chunk))
    if permalink:
        blocks.append(context(f"<{permalink}|Open the loop's thread>"))
    return message(f"Loop #{loop.number}: {len(entries)} entries", blocks)


REFLECTION_QUESTION = "What's one thing that changed because of something you shipped?"


# -- the filtered lists: /loops open, closed, search, month -----------------------------------

# Each page of a list holds this many loops (or ships): well inside 50 blocks and 3,000
# characters a section, however long each loop's text.
PAGE_SIZE = 15


def more_value(text: str, before: int, shown_so_far: int) -> str:
    """What a **More** button carries: the command again, and where the next page starts."""
    return json.dumps(
        {"text": text, "before": before, "shown": shown_so_far}, separators=(",", ":"), ensure_ascii=False
    )


def _paging(
    blocks: list[dict[str, Any]], command_text: str, before: int | None, shown_so_far: int, total: int | None
) -> None:
    """The footer: how many are shown, and a **More** button while there are more."""
    counted = f" of {total}" if total is not None else ""
    note = f"Showing {shown_so_far}{counted}." if shown_so_far else ""
    buttons = []
    if before is not None:
        value = more_value(command_text, before, shown_so_far)
        buttons.append(button("More", Action.HISTORY_MORE, value, style="primary"))
    blocks.append(context(f"{note} Only you can see this.".strip()))
    if buttons:
        blocks.append(actions(*buttons, block_id="history_paging"))


def _page_heading(title: str, first: int, count: int, total: int | None) -> str:
    if first == 1 and total is not None and count == total:
        return f"{title} ({total})"
    span = f"{first}–{first + count - 1}" if count > 1 else f"{first}"
    return f"{title} ({span}{f' of {total}' if total is not None else ''})"


def _list_message(
    title: str, command_text: str, lines: list[str], page: Page[Any], shown_before: int, empty: str
) -> dict[str, Any]:
    """One page of `/loops open` or `/loops closed`: a heading with where it is, a line a loop, More."""
    if not lines:
        return message(empty, [section(empty)])
    shown_so_far = shown_before + len(lines)
    blocks = [header(_page_heading(title, shown_before + 1, len(lines), page.total))]
    blocks += [section(line) for line in lines]
    _paging(blocks, command_text, page.before, shown_so_far, page.total)
    return message(f"Your {title.lower()}: {shown_so_far} of {page.total}.", blocks)


def open_list_message(page: Page[OpenLoop], now: datetime, shown_before: int) -> dict[str, Any]:
    """`/loops open`: every loop not closed or dropped, a page at a time."""
    lines = [open_line(item, now) for item in page.items]
    empty = "No open loops. :tada: When something's broken, the morning prompt opens one."
    return _list_message("Open loops", "open", lines, page, shown_before, empty)


def closed_list_message(page: Page[ClosedLoop], tz: ZoneInfo, shown_before: int) -> dict[str, Any]:
    """`/loops closed`: closed and dropped loops, each as one sentence."""
    lines = []
    for item in page.items:
        loop, ended = item.loop, item.loop.closed_at
        when = f" _{loop.state} {day(ended.astimezone(tz).date())}_" if ended else f" _{loop.state}_"
        sentence = closed_sentence(item) if loop.state == LoopState.CLOSED else "Dropped."
        lines.append(f"• *{loop_title(loop)}*\n   {sentence}{when}")
    empty = "No closed loops yet. A loop closes when its check-in says the fix worked."
    return _list_message("Closed loops", "closed", lines, page, shown_before, empty)


def search_message(
    page: Page[OpenLoop], looked_for: str, command_text: str, tz: ZoneInfo, shown_before: int
) -> dict[str, Any]:
    """`/loops search WORDS`: the person's own loops that mention every word (as typed: `looked_for`)."""
    looked_for = " ".join(looked_for.split())
    quoted = f"“{shown(looked_for, 200)}”"
    if not page.items and not shown_before:
        words_text = f"None of your loops mention {quoted}."
        return message(words_text, [section(words_text), context("Only you can see this.")])
    shown_so_far = shown_before + len(page.items)
    blocks: list[dict[str, Any]] = [
        header(_page_heading("Search", shown_before + 1, len(page.items), None)),
        context(f"Your loops that mention {quoted}, newest first."),
    ]
    for item in page.items:
        state = (
            where_it_stands(item)
            if item.loop.state not in (LoopState.CLOSED, LoopState.DROPPED)
            else f"{item.loop.state}"
        )
        opened = day(item.loop.opened_at.astimezone(tz).date())
        blocks.append(section(f"• *{loop_title(item.loop)}*\n   _opened {opened}_ · {state}"))
    _paging(blocks, command_text, page.before, shown_so_far, None)
    return message(f"{shown_so_far} of your loops mention {looked_for}.", blocks)


def shipment_outcome(item: MonthShipment) -> str:
    """How a ship of the month ended: its outcome sentence, or where its check-in stands."""
    shipment, checkin = item.shipment, item.checkin
    if checkin is not None and checkin.answered_at is not None and checkin.answer:
        answer = CheckinAnswer(checkin.answer)
        return f"{ANSWER_EMOJI[answer]} {outcome_sentence(shipment, checkin, checkin.closes_loop, None)}"
    if shipment.state == ShipmentState.UNWATCHED:
        what = shown(shipment.what, 300)
        return f":eyes: I shipped {what}; *unwatched ship*: nobody answered its check-in."
    if checkin is not None and checkin.asked_at is not None:
        return f"I shipped {shown(shipment.what, 300)}; *waiting on you*: answer its check-in."
    when = f" on {day(shipment.checkin_on)}" if shipment.checkin_on else ""
    return f"I shipped {shown(shipment.what, 300)}; check-in{when}."


def unknown_first(items: list[MonthShipment]) -> list[MonthShipment]:
    """Ships with no known outcome first (they are what to do something about), then the rest."""
    known = [i for i in items if i.checkin is not None and i.checkin.answered_at is not None]
    return [i for i in items if i not in known] + known


def month_message(month: Month, title: str, command_text: str, shown_before: int) -> dict[str, Any]:
    """`/loops month 2026-11`: what shipped, what changed because of it, and the reflection."""
    shipments = month.shipments
    shown_so_far = shown_before + len(shipments.items)
    blocks: list[dict[str, Any]] = [header(title)]
    if not shown_before:
        counts = (
            f"You shipped *{shipments.total}* thing{'s' if shipments.total != 1 else ''}, "
            f"opened {month.opened} "
            f"loop{'s' if month.opened != 1 else ''} and closed {month.closed}."
        )
        blocks.append(section(counts))
        for reflection in month.reflections:
            blocks.append(section(f":mirror: *{REFLECTION_QUESTION}*\n> {shown(reflection.text)}"))
    if not shipments.items:
        blocks.append(context("Nothing shipped that month. `/shipped` records a fix when one goes out."))
        return message(f"{title}: nothing shipped.", blocks)
    for item in shipments.items:
        name = f"*Loop #{item.loop.number}*: " if item.loop is not None else ""
        blocks.append(section(f"• {name}{shipment_outcome(item)}"))
    _paging(blocks, command_text, shipments.before, shown_so_far, shipments.total)
    return message(f"{title}: {shipments.total} shipped.", blocks)
