"""The `/shipped` modal: what went out, which loop it answers, what should change, when to look."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from slackbot.blocks.ids import FIELD_INPUT, KEEP_DAY, NOT_LINKED, ShippedField, View
from slackbot.blocks.kit import OPTIONS_LIMIT, context, date_input, option, plain, select_input, text_input
from slackbot.blocks.modals.waits import wait_option, waits_with
from slackbot.blocks.text import day, loop_title
from slackbot.core.parse import FIELD_LIMIT
from slackbot.core.shipments import Wait
from slackbot.store.models import Loop

# Slack's own cap for a single-line input is FIELD_LIMIT too; a link longer than this is no link.
LINK_LIMIT = 1000


def _loop_option(loop: Loop) -> dict[str, Any]:
    # Option text is plain text: nothing to escape, only to shorten.
    who = f" — {loop.for_whom}" if loop.for_whom else ""
    return option(f"#{loop.number} {loop.what}{who}", str(loop.id))


def shipped_modal(
    *,
    what: str,
    expected: str | None,
    link: str | None,
    loops: Sequence[Loop],
    chosen: Loop | None,
    wait: Wait,
    shipment_id: int | None = None,
    draft: str | None = None,
    typed_length: int | None = None,
    keep_day: date | None = None,
    asked: bool = False,
) -> dict[str, Any]:
    """`/shipped`: what went out, which loop it answers, what should change, when to look, a link.

    Editing (`shipment_id`) keeps the loop it was recorded for, and offers to keep the
    check-in day (`keep_day`) while it is not asked yet; once it is (`asked`), the day is
    shown, not offered. A draft holds a text too long for an
    input; the modal says so and keeps the whole of it unless the person changes it.
    """
    blocks: list[dict[str, Any]] = []
    if typed_length is not None:
        blocks.append(
            context(
                f":scissors: You typed {typed_length:,} characters; a field here holds {FIELD_LIMIT:,}. "
                "All of it is kept unless you change the text below."
            )
        )
    blocks += [
        text_input(
            ShippedField.WHAT,
            FIELD_INPUT,
            "What shipped?",
            placeholder="Retry the SMS provider after 10 s, and fall back to voice",
            multiline=True,
            optional=False,
            max_length=FIELD_LIMIT,
            initial=what,
        ),
        _loop_block(loops, chosen, editing=shipment_id is not None),
        text_input(
            ShippedField.EXPECTED,
            FIELD_INPUT,
            "What should change, for whom, and how will you know?",
            placeholder="Sign-ups in India finish OTP in under a minute; the SMS delivery report shows it",
            multiline=True,
            optional=False,
            max_length=FIELD_LIMIT,
            initial=expected,
            hint="A behaviour, a metric, or something users should now do.",
        ),
        *_when_blocks(wait, keep_day, asked=asked),
        text_input(
            ShippedField.LINK,
            FIELD_INPUT,
            "Link",
            placeholder="A PR, a release, a dashboard",
            multiline=False,
            optional=True,
            max_length=LINK_LIMIT,
            initial=link,
        ),
    ]
    return {
        "type": "modal",
        "callback_id": View.SHIPPED,
        "private_metadata": json.dumps({"shipment": shipment_id, "draft": draft}),
        "title": plain("Shipped"),
        "submit": plain("Save" if shipment_id is not None else "Record shipment"),
        "close": plain("Cancel"),
        "blocks": blocks,
    }


def _loop_block(loops: Sequence[Loop], chosen: Loop | None, *, editing: bool) -> dict[str, Any]:
    """Which loop the shipment answers: the person picks (an edit keeps the loop it was for)."""
    if editing and chosen is not None:
        return context(f"For *{loop_title(chosen)}*")
    not_linked = option("Not linked: open a new loop for it", NOT_LINKED)
    choices = [*(_loop_option(loop) for loop in loops[: OPTIONS_LIMIT - 1]), not_linked]
    # With loops to choose from and none named, the person picks: a wrong default link is worse.
    initial = _loop_option(chosen) if chosen is not None else (None if loops else not_linked)
    return select_input(
        ShippedField.LOOP,
        FIELD_INPUT,
        "Which loop does it answer?",
        options=choices,
        initial=initial,
        hint="Your loops not closed yet, newest first.",
    )


def _when_blocks(wait: Wait, keep_day: date | None, *, asked: bool) -> list[dict[str, Any]]:
    """When to check back: a wait in workdays, or a day; an edit may keep the day, and once the
    check-in was asked, the day is shown rather than offered."""
    if asked:
        return [context(":calendar: Its check-in was asked already; the loop's thread has it.")]
    waits = [wait_option(w) for w in waits_with(wait)]
    keep = option(f"Keep {day(keep_day)}", KEEP_DAY) if keep_day is not None else None
    return [
        select_input(
            ShippedField.WAIT,
            FIELD_INPUT,
            "When should I check back?",
            options=[keep, *waits] if keep is not None else waits,
            initial=keep or wait_option(wait),
            hint="Counted in your workdays; I ask at your morning prompt time.",
        ),
        date_input(ShippedField.ON_DATE, FIELD_INPUT, "Or on this day", optional=True),
    ]
