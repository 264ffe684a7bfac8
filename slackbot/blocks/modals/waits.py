"""The choices of when to check back after a ship, as the modals offer them."""

from __future__ import annotations

from typing import Any

from slackbot.blocks.kit import option
from slackbot.core.shipments import WAIT_CHOICES, Wait


def wait_option(wait: Wait) -> dict[str, Any]:
    return option(f"In {wait.label}", wait.value)


def waits_with(wait: Wait) -> tuple[Wait, ...]:
    """The usual choices, and the workspace's default (LOOPS_CHECKIN_AFTER) if it is none of them."""
    return WAIT_CHOICES if wait in WAIT_CHOICES else (*WAIT_CHOICES, wait)
