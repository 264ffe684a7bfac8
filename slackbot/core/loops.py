"""A loop's life: which states exist, which moves between them are allowed, and how they read.

open → shipped → closed | continued (the check-in's answer decides); continued → shipped
again, or closed by a late "yes"; a loop not closed may be dropped. There is no resting
"checked" state: answering a check-in moves the loop straight on.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from slackbot.core.errors import InvalidInput


class LoopState(StrEnum):
    OPEN = "open"
    SHIPPED = "shipped"
    CLOSED = "closed"
    CONTINUED = "continued"
    DROPPED = "dropped"


ALLOWED = {
    LoopState.OPEN: {LoopState.SHIPPED, LoopState.DROPPED},
    LoopState.SHIPPED: {LoopState.SHIPPED, LoopState.CLOSED, LoopState.CONTINUED, LoopState.DROPPED},
    LoopState.CONTINUED: {LoopState.SHIPPED, LoopState.CLOSED, LoopState.CONTINUED, LoopState.DROPPED},
    LoopState.CLOSED: set(),
    LoopState.DROPPED: set(),
}

# A loop that still needs its owner: shown under the morning prompt and on the Home tab.
STILL_OPEN = frozenset({LoopState.OPEN, LoopState.CONTINUED})
# A loop a shipment can be linked to: not closed and not dropped.
SHIPPABLE = frozenset({LoopState.OPEN, LoopState.CONTINUED, LoopState.SHIPPED})


def move(current: str, to: LoopState, *, number: int) -> LoopState:
    """The new state, or an InvalidInput saying why this loop cannot go there."""
    state = LoopState(current)
    if to not in ALLOWED[state]:
        raise InvalidInput(f"Loop #{number} is {state.value}, so it can't be marked {to.value}.")
    return to


def age_in_days(opened_at: datetime, now: datetime) -> int:
    """Whole days a loop has been open; what the prompt shows beside it."""
    return max(0, (now - opened_at).days)


class PromptAnswer(StrEnum):
    """How a person answered a morning prompt."""

    LOOP = "loop"  # something's broken: a loop was opened
    NOTHING = "nothing"  # nothing broken today
    SKIP = "skip"  # not answering today
