"""`/loops open`, `closed`, `search` and `month`: the caller's own lists, a page at a time.

The first page answers the command; **More** carries the command text and where the
next page starts, and runs the same read again for the person who clicked.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from slackbot.blocks.history import (
    PAGE_SIZE,
    closed_list_message,
    month_message,
    no_loops_message,
    open_list_message,
    search_message,
)
from slackbot.core.parse import LoopsCommand, parse_month, parse_search
from slackbot.core.reflection import month_span
from slackbot.core.schedule import zone
from slackbot.store.history import closed_page, month_of, open_page, search_page
from slackbot.store.models import Person

# The subcommands answered here.
LISTS = frozenset({"open", "closed", "search", "month"})


def list_message(
    session: Session,
    person: Person | None,
    request: LoopsCommand,
    now: datetime,
    *,
    before: int | None = None,
    shown_before: int = 0,
) -> dict[str, Any]:
    """One page of the list `request` names, for `person` alone; someone new has no loops yet."""
    name = request.subcommand.name
    tz = zone(person.tz if person is not None else None)
    # What was typed is checked first, so a mistake gets its own answer even with no loops.
    words = parse_search(request.argument) if name == "search" else []
    year, month = parse_month(request.argument, now.astimezone(tz).date()) if name == "month" else (0, 0)
    if person is None:
        return no_loops_message()
    if name == "search":
        page = search_page(session, person, words, before=before, size=PAGE_SIZE)
        return search_message(page, words, f"search {' '.join(words)}", tz, shown_before)
    if name == "month":
        key = f"{year:04d}-{month:02d}"
        start, end = month_span(year, month, tz)
        found = month_of(session, person, key, start, end, before=before, size=PAGE_SIZE)
        return month_message(found, f"{date(year, month, 1):%B %Y}", f"month {key}", shown_before)
    if name == "open":
        page = open_page(session, person, before=before, size=PAGE_SIZE)
        return open_list_message(page, tz, now, shown_before)
    assert name == "closed", name
    return closed_list_message(closed_page(session, person, before=before, size=PAGE_SIZE), tz, shown_before)
