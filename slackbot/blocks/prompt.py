"""The morning prompt: the question, three answers, and the person's loops still open."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slackbot.blocks.help import MORNING_QUESTION
from slackbot.blocks.ids import Action
from slackbot.blocks.kit import actions, button, context, divider, message, section
from slackbot.core.loops import PromptAnswer, age_in_days
from slackbot.core.parse import escape
from slackbot.store.models import Loop

# The prompt reviews at most this many open loops, newest first.
LOOPS_SHOWN = 5

ANSWERED = {
    PromptAnswer.LOOP: ":white_check_mark: Noted; it's a loop now.",
    PromptAnswer.NOTHING: ":white_check_mark: Nothing broken today. Noted.",
    PromptAnswer.SKIP: ":fast_forward: Skipped today.",
}


def loop_title(loop: Loop) -> str:
    """`Loop #3: checkout fails — mobile users`, escaped, as every message names a loop."""
    who = f" — {escape(loop.for_whom)}" if loop.for_whom else ""
    return f"Loop #{loop.number}: {escape(loop.what)}{who}"


def prompt_message(
    *, prompt_id: int, welcome_back: bool, loops: Sequence[Loop], now: datetime, answer: str | None = None
) -> dict[str, Any]:
    """The prompt as first sent (answer None) and as it reads once answered."""
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
    if loops:
        blocks += [divider(), section("*Still open*, newest first")]
        for loop in loops[:LOOPS_SHOWN]:
            days = age_in_days(loop.opened_at, now)
            age = "opened today" if days == 0 else f"{days} day{'s' if days != 1 else ''} open"
            value = str(loop.id)
            blocks += [
                section(f"*{loop_title(loop)}*\n_{age}_", block_id=f"loop_{loop.id}"),
                actions(
                    button("Still broken", Action.LOOP_STILL_BROKEN, value),
                    button("Shipped a fix", Action.LOOP_SHIPPED, value),
                    button("Drop", Action.LOOP_DROP, value, style="danger"),
                    block_id=f"loop_actions_{loop.id}",
                ),
            ]
    return message(f"{opening}{MORNING_QUESTION}", blocks)


def nudge_message() -> dict[str, Any]:
    text = (
        "Still there? This morning's question is waiting: what's broken right now, and for whom? "
        "Press a button above, or reply here."
    )
    return message(text, [section(text)])
