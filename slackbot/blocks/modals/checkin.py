"""The short form behind each check-in answer: what happened, and what's next."""

from __future__ import annotations

import json
from typing import Any

from slackbot.blocks.ids import CLOSE_LOOP, FIELD_INPUT, CheckinField, View
from slackbot.blocks.kit import (
    MODAL_TITLE_LIMIT,
    checkbox_input,
    option,
    plain,
    section,
    select_input,
    text_input,
)
from slackbot.blocks.modals.waits import wait_option
from slackbot.blocks.shipment import asks_tellable
from slackbot.blocks.text import loop_title, shown
from slackbot.core.parse import FIELD_LIMIT
from slackbot.core.shipments import ANSWER_LABELS, ASK_AGAIN, WAIT_CHOICES, CheckinAnswer
from slackbot.store.models import CheckIn, Loop, Shipment


def checkin_modal(
    loop: Loop,
    shipment: Shipment,
    checkin: CheckIn,
    answer: CheckinAnswer | None,
    *,
    where: tuple[str, str] | None,
) -> dict[str, Any]:
    """The short form behind each check-in answer: what happened, and what's next.

    With no answer chosen yet (**Check it now**, from the monthly reflection), the form asks
    for it first and offers every answer's fields; the submission checks what applies.
    """
    blocks: list[dict[str, Any]] = [section(f"*{loop_title(loop)}*\n*Shipped:* {shown(shipment.what, 300)}")]
    if answer is None:
        blocks.append(
            select_input(
                CheckinField.ANSWER,
                FIELD_INPUT,
                "Did the behaviour change?",
                options=[option(ANSWER_LABELS[a], a.value) for a in CheckinAnswer],
                initial=None,
            )
        )
    blocks.append(
        text_input(
            CheckinField.HAPPENED,
            FIELD_INPUT,
            "What happened?",
            placeholder="Numbers, quotes, links: what you saw",
            multiline=True,
            optional=False,
            max_length=FIELD_LIMIT,
        )
    )
    if answer in (CheckinAnswer.CHANGED, None):
        blocks.append(
            checkbox_input(
                CheckinField.CLOSED,
                FIELD_INPUT,
                "Is it fixed?" if answer else "If it changed: is it fixed?",
                option(f"Yes: close Loop #{loop.number}", CLOSE_LOOP),
            )
        )
    blocks += _next_blocks(shipment, answer)
    return {
        "type": "modal",
        "callback_id": View.CHECKIN,
        "private_metadata": json.dumps(
            {"checkin": checkin.id, "answer": answer.value if answer else None, "where": where}
        ),
        "title": plain(ANSWER_LABELS[answer] if answer else "Check it now", MODAL_TITLE_LIMIT),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "blocks": blocks,
    }


def _next_blocks(shipment: Shipment, answer: CheckinAnswer | None) -> list[dict[str, Any]]:
    """What's next, and for "can't tell yet" (or an answer not chosen yet) when to ask again and,
    after two, what would make it tellable. Which of them is needed is checked on submission."""
    cant_tell = answer in (CheckinAnswer.CANT_TELL, None)
    closes = answer in (CheckinAnswer.CHANGED, None)
    blocks: list[dict[str, Any]] = []
    if cant_tell and asks_tellable(shipment):
        blocks.append(
            text_input(
                CheckinField.TELLABLE,
                FIELD_INPUT,
                "What would make it tellable?",
                placeholder="200 more sign-ups; the weekly report on Monday; asking three customers",
                multiline=True,
                optional=answer is None,
                max_length=FIELD_LIMIT,
            )
        )
    blocks.append(
        text_input(
            CheckinField.NEXT,
            FIELD_INPUT,
            "What's next?",
            placeholder="Roll it out to cards too; try a different fix; wait for more data",
            multiline=True,
            optional=closes,  # needed unless the loop closes
            max_length=FIELD_LIMIT,
            hint="Needed unless you close the loop." if closes else None,
        )
    )
    if cant_tell:
        blocks.append(
            select_input(
                CheckinField.ASK_AGAIN,
                FIELD_INPUT,
                "Ask me again" if answer else "If you can't tell yet: ask me again",
                options=[wait_option(w) for w in WAIT_CHOICES],
                initial=wait_option(ASK_AGAIN),
            )
        )
    return blocks
