"""The "Something's broken" modal: what, for whom, how we know; its answer opens a loop."""

from __future__ import annotations

import json
from typing import Any

from slackbot.blocks.ids import FIELD_INPUT, PRIVATE_FIELD, PRIVATE_LOOP, Field, View
from slackbot.blocks.kit import checkbox_input, option, plain, section, text_input
from slackbot.core.parse import FIELD_LIMIT


def answer_modal(prompt_id: int | None) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": View.ANSWER,
        "private_metadata": json.dumps({"prompt": prompt_id}),
        "title": plain("Something's broken"),
        "submit": plain("Open loop"),
        "close": plain("Cancel"),
        "blocks": [
            section("Each answer opens a *loop*: one thread that follows this problem until it's fixed."),
            text_input(
                Field.WHAT,
                FIELD_INPUT,
                "What's broken?",
                placeholder="Checkout fails after the address step",
                multiline=True,
                optional=False,
                max_length=FIELD_LIMIT,
            ),
            text_input(
                Field.FOR_WHOM,
                FIELD_INPUT,
                "For whom?",
                placeholder="New customers on mobile",
                multiline=False,
                optional=False,
                max_length=FIELD_LIMIT,
            ),
            text_input(
                Field.EVIDENCE,
                FIELD_INPUT,
                "How do you know?",
                placeholder="A ticket, a metric, a quote, a link",
                multiline=True,
                optional=True,
                max_length=FIELD_LIMIT,
            ),
            checkbox_input(
                PRIVATE_FIELD,
                FIELD_INPUT,
                "Team digest",
                option("Keep this loop private: never in the team digest", PRIVATE_LOOP),
            ),
        ],
    }
