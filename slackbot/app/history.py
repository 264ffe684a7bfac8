"""`/loops`, `/loops 12`, `open`, `closed`, `search` and `month`: the caller's own history.

The command is acknowledged at once and the answer follows through its response_url,
read in a session of its own after the ack: the ack never waits on a history read, so it
is as quick for someone with 5,000 loops as for someone with none. **More** carries the
command text and where the next page starts, and runs the same read for whoever clicked.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from slack_bolt import Respond
from sqlalchemy.orm import Session

from slackbot.app.errors import words_for
from slackbot.app.services import Services
from slackbot.blocks.history import (
    PAGE_SIZE,
    closed_list_message,
    month_message,
    no_loops_message,
    open_list_message,
    search_message,
)
from slackbot.blocks.ids import Command
from slackbot.blocks.kit import message, section
from slackbot.core.parse import LoopsCommand, parse_loops_command, parse_month, parse_search
from slackbot.core.reflection import month_span
from slackbot.core.schedule import zone
from slackbot.store.history import closed_page, month_of, open_page, search_page
from slackbot.store.models import Person
from slackbot.store.queries import find_caller

# The subcommands answered here.
LISTS = frozenset({"open", "closed", "search", "month"})
# Subcommands that only read the caller's history: acknowledged first, answered after.
READS = LISTS | {"history", "show"}


def is_history_read(body: dict[str, Any]) -> bool:
    """A `/loops` that only reads history: its ack needs nothing from the database."""
    if body.get("command") != Command.LOOPS:
        return False
    return parse_loops_command(str(body.get("text") or "")).subcommand.name in READS


def check_list_request(request: LoopsCommand, today: date) -> None:
    """Raise what is wrong with the typed argument now, so a mistake is answered in the ack.

    (Which month `last` is depends on the person's zone, but whether it is a month does not.)
    """
    if request.subcommand.name == "search":
        parse_search(request.argument)
    elif request.subcommand.name == "month":
        parse_month(request.argument, today)


def answer_later(
    services: Services,
    respond: Respond,
    caller: tuple[str, str],
    build: Callable[[Session, Person | None], dict[str, Any]],
    *,
    replace: bool = False,
) -> Callable[[], None]:
    """Work for after the ack: find the caller (team id, user id) and read, in a fresh session,
    and answer through the response_url (in place of the message clicked, with `replace`)."""
    team_id, user_id = caller

    def work() -> None:
        try:
            with services.database.session() as session:
                _, person = find_caller(session, team_id, user_id)
                body = build(session, person)
        except Exception as error:  # the person asked and waits: say what went wrong
            words = words_for(error)
            body = message(words, [section(words)])
        respond(response_type="ephemeral", replace_original=replace, **body)

    return work


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
        return search_message(page, request.argument, f"search {request.argument}", tz, shown_before)
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
