"""The words of failure: short, honest, and never a stack trace."""

from __future__ import annotations

from typing import Any

from slackbot.blocks.kit import message, plain, section

APOLOGY = (
    "Sorry, something went wrong on our side and nothing was changed. It has been logged; please try again."
)
SLACK_DOWN = (
    "Sorry, Loops couldn't get an answer from Slack just now, so nothing was changed. Please try again."
)
SLACK_REFUSED = "Sorry, Slack didn't accept that just now, so nothing was changed. Please try again."
# A button value, a modal's metadata or a loop option that names no row of the caller's.
NOT_YOURS = "I couldn't find that. It may belong to someone else, or be gone."
DATABASE_DOWN = (
    "Sorry, Loops can't reach its database right now, so nothing was saved. Please try again in a minute."
)


def error_message(text: str) -> dict[str, Any]:
    return message(text, [section(f":warning: {text}")])


def error_modal(text: str) -> dict[str, Any]:
    """Replaces a modal whose submission failed unexpectedly, so the person is not left guessing."""
    return {
        "type": "modal",
        "title": plain("Loops"),
        "close": plain("Close"),
        "blocks": [section(f":warning: {text}")],
    }
