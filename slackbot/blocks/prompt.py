"""The morning prompt: the question, three answers, and the person's loops still open."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slackbot.blocks.help import MORNING_QUESTION
from slackbot.blocks.ids import Action
from slackbot.blocks.kit import actions, button, context, divider, message, section
from slackbot.blocks.shipment import answer_buttons
from slackbot.blocks.text import loop_title, shown
from slackbot.core.loops import PromptAnswer, age_in_days
from slackbot.store.models import Loop
from slackbot.store.shipments import Agenda, Waiting

# The prompt reviews at most this many open loops, newest first.
LOOPS_SHOWN = 5

ANSWERED = {
    PromptAnswer.LOOP: ":white_check_mark: Noted; it's a loop now.",
    PromptAnswer.NOTHING: ":white_check_mark: Nothing broken today. Noted.",
    PromptAnswer.SKIP: ":fast_forward: Skipped today.",
}


def loop_age(loop: Loop, now: datetime) -> str:
    """`opened today`, `3 days open`, and the next step a check-in's answer set, if any."""
    days = age_in_days(loop.opened_at, now)
    age = "opened today" if days == 0 else f"{days} day{'s' if days != 1 else ''} open"
    if loop.next_step:
        return f"_{age}_ · *Next:* {shown(loop.next_step, 300)}"
    return f"_{age}_"


def waiting_blocks(waiting: Sequence[Waiting]) -> list[dict[str, Any]]:
    """Check-ins asked and not answered: each with its answer buttons, to answer from here."""
    blocks: list[dict[str, Any]] = [section("*Waiting on you*: did what you shipped work?")]
    for item in waiting:
        expected = (
            f"\nExpecting: {shown(item.shipment.expected_change, 300)}"
            if item.shipment.expected_change
            else ""
        )
        blocks += [
            section(
                f"*{loop_title(item.loop)}*\nYou shipped {shown(item.shipment.what, 300)}{expected}",
                block_id=f"waiting_{item.checkin.id}",
            ),
            answer_buttons(item.checkin),
        ]
    return blocks


def unwatched_line(count: int) -> str:
    ships = "ship" if count == 1 else "ships"
    return f":eyes: {count} unwatched {ships}: shipped, asked about, never answered."


def prompt_message(
    *, prompt_id: int, welcome_back: bool, agenda: Agenda, now: datetime, answer: str | None = None
) -> dict[str, Any]:
    """The prompt as first sent (answer None) and as it reads once answered.

    Check-ins waiting on the person come first, then the loops still open, then how many
    shipments nobody watched.
    """
    loops = agenda.loops
    opening = ":wave: Welcome back! " if welcome_back else ""
    blocks = [section(f"{opening}*{MORNING_QUESTION}*", block_id="prompt")]
    if answer is None:
        value = str(prompt_id)
        blocks += [
            actions(
                button("Something's broken", Action.PROMPT_BROKEN, value, style="primary"),
                button("Nothing today", Action.PROMPT_NOTHING, value),
                button("Skip today", Action.PROMPT_SKIP, value),
                block_id="prompt_answers",
            ),
            context("Or reply in this thread: the first line says what's broken, and `for: …` for whom."),
        ]
    else:
        blocks.append(context(ANSWERED.get(PromptAnswer(answer), answer)))
    if agenda.waiting:
        blocks += [divider(), *waiting_blocks(agenda.waiting[:LOOPS_SHOWN])]
    if loops:
        blocks += [divider(), section("*Still open*, newest first")]
        for loop in loops[:LOOPS_SHOWN]:
            value = str(loop.id)
            blocks += [
                section(f"*{loop_title(loop)}*\n{loop_age(loop, now)}", block_id=f"loop_{loop.id}"),
                actions(
                    button("Still broken", Action.LOOP_STILL_BROKEN, value),
                    button("Shipped a fix", Action.LOOP_SHIPPED, value),
                    button("Drop", Action.LOOP_DROP, value, style="danger"),
                    block_id=f"loop_actions_{loop.id}",
                ),
            ]
    if agenda.unwatched:
        blocks.append(context(unwatched_line(agenda.unwatched)))
    return message(f"{opening}{MORNING_QUESTION}", blocks)


def nudge_message() -> dict[str, Any]:
    text = (
        "Still there? This morning's question is waiting: what's broken right now, and for whom? "
        "Press a button above, or reply here."
    )
    return message(text, [section(text)])
