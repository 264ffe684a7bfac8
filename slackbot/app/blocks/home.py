"""The App Home tab: who Loops is for and how to begin."""

from __future__ import annotations

from typing import Any

from slackbot.app.blocks.help import MORNING_QUESTION
from slackbot.app.blocks.kit import context, divider, header, section


def home_view() -> dict[str, Any]:
    return {
        "type": "home",
        "blocks": [
            header("Loops"),
            section(
                f"Every workday morning Loops asks you *{MORNING_QUESTION}* "
                "Your answer opens a loop; when you ship a fix, `/shipped` records it, and a few "
                "workdays later Loops asks whether anything changed for the people it was for."
            ),
            divider(),
            section("*Your loops*\nYour open loops and your history will appear here."),
            context("Type `/loops help` in any conversation to see what Loops can do today."),
        ],
    }
