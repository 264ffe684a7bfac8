"""What `/loops` answers: what's open, what shipped and what changed because of it, how long it takes."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slackbot.blocks.kit import context, divider, header, message, section
from slackbot.blocks.prompt import unwatched_line
from slackbot.blocks.text import day, loop_title, shown
from slackbot.core.figures import Figures
from slackbot.core.loops import LoopState, age_in_days
from slackbot.core.shipments import ShipmentState
from slackbot.store.models import Entry, Loop
from slackbot.store.queries import ClosedLoop, OpenLoop, Summary

NO_LOOPS = (
    "No loops yet. Every workday morning I ask *what's broken right now, and for whom?*; each answer "
    "opens a loop. `/loops start` turns that on, and `/shipped <what>` records a fix (it opens a loop "
    "for it if there is none)."
).replace("<what>", "&lt;what&gt;")


def where_it_stands(item: OpenLoop, tz: ZoneInfo) -> str:
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
        f"*Last 90 days* ({numbers.ships} ship{'s' if numbers.ships != 1 else ''})\n"
        f"Problem → ship: median {_days(numbers.problem_to_ship_days)} · "
        f"ship → known outcome: median {_days(numbers.ship_to_outcome_days)} · "
        f"outcome watched: {watched}"
    )


def summary_message(summary: Summary, numbers: Figures, tz: ZoneInfo, now: datetime) -> dict[str, Any]:
    """The caller's own loops, for their eyes only (an ephemeral answer)."""
    if not summary.open and not summary.closed and not summary.ships:
        return message(NO_LOOPS.replace("*", ""), [section(NO_LOOPS)])
    blocks: list[dict[str, Any]] = [header("Your loops")]
    if summary.open:
        blocks.append(section(f"*Open* ({summary.open_count})"))
        for item in summary.open:
            days = age_in_days(item.loop.opened_at, now)
            age = "opened today" if days == 0 else f"{days} day{'s' if days != 1 else ''}"
            blocks.append(section(f"• *{loop_title(item.loop)}*\n   _{age}_ · {where_it_stands(item, tz)}"))
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
    blocks += [divider(), section(figures_line(numbers))]
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
