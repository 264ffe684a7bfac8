"""The monthly reflection: last month's shipments and their outcomes, and one question."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from slackbot.blocks.history import REFLECTION_QUESTION, shipment_outcome, unknown_first
from slackbot.blocks.ids import FIELD_INPUT, Action, ReflectionField, View
from slackbot.blocks.kit import (
    MODAL_TITLE_LIMIT,
    actions,
    button,
    context,
    header,
    message,
    plain,
    section,
    text_input,
)
from slackbot.blocks.text import shown
from slackbot.core.parse import FIELD_LIMIT
from slackbot.store.history import MonthShipment, Page

# The DM lists at most this many shipments; `/loops month` has them all.
REFLECTION_SHIPMENTS = 15


def month_title(key: str) -> str:
    year, month = (int(part) for part in key.split("-"))
    return f"{date(year, month, 1):%B}"


def reflection_message(
    key: str, shipments: Page[MonthShipment], *, answer: str | None = None
) -> dict[str, Any]:
    """*Last month you shipped N things*, the unknown outcomes first with **Check it now**."""
    name = month_title(key)
    total = shipments.total or 0
    if not total:
        words = (
            f"Nothing shipped in {name} that Loops knows of. When a fix goes out, `/shipped` records it, "
            "and a few workdays later I'll ask what changed."
        )
        return message(words, [section(f":calendar: {words}")])
    blocks: list[dict[str, Any]] = [
        header(f"{name} in loops"),
        section(f"*Last month you shipped {total} thing{'s' if total != 1 else ''}.*"),
    ]
    for item in unknown_first(shipments.items):
        text = f"• {f'*Loop #{item.loop.number}*: ' if item.loop else ''}{shipment_outcome(item)}"
        known = item.checkin is not None and item.checkin.answered_at is not None
        if known or item.checkin is None:
            blocks.append(section(text))
        else:
            check = button("Check it now", Action.CHECKIN_NOW, str(item.checkin.id))
            blocks.append(section(text, block_id=f"reflect_ship_{item.shipment.id}", accessory=check))
    if total > len(shipments.items):
        blocks.append(
            context(f"…and {total - len(shipments.items)} more: `/loops month {key}` lists them all.")
        )
    if answer is None:
        blocks += [
            section(f":mirror: *{REFLECTION_QUESTION}*", block_id="reflection_question"),
            actions(
                button("Answer", Action.REFLECTION_ANSWER, key, style="primary"),
                block_id="reflection_actions",
            ),
        ]
    else:
        blocks += [
            section(f":mirror: *{REFLECTION_QUESTION}*\n> {shown(answer)}", block_id="reflection_question"),
            context(f"Kept. `/loops month {key}` shows it beside {name}'s shipments."),
        ]
    return message(
        f"Last month you shipped {total} thing{'s' if total != 1 else ''}. {REFLECTION_QUESTION}", blocks
    )


def reflection_modal(key: str) -> dict[str, Any]:
    """The one question, for the month `key`; the answer is kept as that month's reflection."""
    return {
        "type": "modal",
        "callback_id": View.REFLECTION,
        "private_metadata": json.dumps({"month": key}),
        "title": plain(f"{month_title(key)}, looking back", MODAL_TITLE_LIMIT),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "blocks": [
            text_input(
                ReflectionField.CHANGED,
                FIELD_INPUT,
                REFLECTION_QUESTION,
                placeholder="Sign-ups in India stopped failing after the SMS retry; support tickets halved",
                multiline=True,
                optional=False,
                max_length=FIELD_LIMIT,
            )
        ],
    }
