"""`/loops`, `/loops 12`, `open`, `closed`, `search` and `month`: the caller's own history.

Every read goes the same way. What was typed is read while Slack waits for the ack, so a
mistake is answered in the ack (`history_read`); the ack itself is empty, and the answer
follows through the command's response_url a moment later, built in a session of its own from
what is stored then (`answer_after_ack`). So the ack never waits on a history, and is as quick
for someone with 5,000 loops as for someone with none. **More** carries the command text and
where the next page starts, and runs the same read for whoever clicked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from slackbot.app.context import defer, services_of
from slackbot.app.errors import is_slack_outage, words_for
from slackbot.blocks.history import (
    PAGE_SIZE,
    closed_list_message,
    month_message,
    no_loops_message,
    open_list_message,
    search_message,
    story_message,
    summary_message,
)
from slackbot.blocks.kit import message, section
from slackbot.core.errors import InvalidInput
from slackbot.core.parse import LoopsCommand, parse_month, parse_search
from slackbot.core.reflection import month_span
from slackbot.core.schedule import zone
from slackbot.store.db import Database
from slackbot.store.history import closed_page, month_of, open_page, search_page, story_of, summary_of
from slackbot.store.loops import loop_numbered
from slackbot.store.models import Person

logger = logging.getLogger(__name__)

# The subcommands that read a list a page at a time (**More** goes on with them).
LISTS = frozenset({"open", "closed", "search", "month"})
# Every subcommand answered here.
READS = LISTS | {"history", "show"}
# A plain `/loops` lists this many open loops (newest first) and recently closed ones.
OPEN_SHOWN = 15
CLOSED_SHOWN = 5
# A story shows at most this many entries (the newest); the thread has them all.
STORY_ENTRIES = 40


@dataclass(frozen=True)
class HistoryRead:
    """One history read, as worked out from what was typed: who asks, what, and where a page starts."""

    person_id: int | None  # None: Loops has never stored them, so they have no loops
    request: LoopsCommand
    now: datetime
    tz: str | None  # the person's zone: dates and months are theirs
    search_words: list[str] = field(default_factory=list)
    month: tuple[int, int] | None = None  # (year, month) for `month`
    before: int | None = None
    shown_before: int = 0
    replace: bool = False  # **More**: the page takes the place of the one clicked


def history_read(
    request: LoopsCommand,
    person: Person | None,
    now: datetime,
    *,
    before: int | None = None,
    shown_before: int = 0,
    replace: bool = False,
) -> HistoryRead:
    """The read `request` asks for; InvalidInput when what was typed cannot be read (said in the ack)."""
    assert request.subcommand.name in READS, request.subcommand.name
    tz = person.tz if person is not None else None
    name = request.subcommand.name
    return HistoryRead(
        person_id=person.id if person is not None else None,
        request=request,
        now=now,
        tz=tz,
        search_words=parse_search(request.argument) if name == "search" else [],
        month=parse_month(request.argument, now.astimezone(zone(tz)).date()) if name == "month" else None,
        before=before,
        shown_before=shown_before,
        replace=replace,
    )


def answer_after_ack(context: BoltContext, client: WebClient, read: HistoryRead, respond: Respond) -> None:
    """Once the ack has gone: build the answer and post it to the request's response_url."""
    database = services_of(context).database

    def work() -> None:
        body = build_answer(database, client, read)
        respond(response_type="ephemeral", replace_original=read.replace, **body)

    defer(context, work)


def build_answer(database: Database, client: WebClient, read: HistoryRead) -> dict[str, Any]:
    """The answer to a history read, for the person who asked and nobody else.

    A failure is said in words: the person is waiting for an answer.
    """
    try:
        with database.session() as session:
            person = session.get(Person, read.person_id) if read.person_id is not None else None
            name = read.request.subcommand.name
            if person is None:
                if read.request.loop_number is not None:
                    raise no_story(read.request.loop_number)
                return no_loops_message()
            if name == "show":
                assert read.request.loop_number is not None
                return loop_story(session, client, person, read.request.loop_number)
            if name in LISTS:
                return list_message(session, person, read)
            summary = summary_of(session, person, read.now, shown=OPEN_SHOWN, closed=CLOSED_SHOWN)
            return summary_message(summary, zone(person.tz), read.now)
    except Exception as error:
        words = words_for(error)
        return message(words, [section(words)])


def no_story(number: int) -> InvalidInput:
    return InvalidInput(f"You have no Loop #{number}. `/loops` lists yours.")


def loop_story(session: Session, client: WebClient, person: Person, number: int) -> dict[str, Any]:
    """`/loops 12`, for the caller's own Loop #12 only; anyone else's reads as not existing."""
    loop = loop_numbered(session, person, number)
    if loop is None:
        raise no_story(number)
    entries, total = story_of(session, loop, STORY_ENTRIES)
    permalink = None
    if loop.channel and loop.thread_ts:
        try:
            found = client.chat_getPermalink(channel=loop.channel, message_ts=loop.thread_ts)
            permalink = str(found["permalink"])
        except Exception as error:
            if not (is_slack_outage(error) or isinstance(error, SlackApiError)):
                raise
            # The story is worth showing without its link.
            logger.warning("chat.getPermalink failed for loop %s: %s", loop.id, error)
    return story_message(loop, entries, total, permalink, zone(person.tz))


def list_message(session: Session, person: Person, read: HistoryRead) -> dict[str, Any]:
    """One page of the list `read` names, for `person` alone."""
    name, argument = read.request.subcommand.name, read.request.argument
    before, shown_before, tz = read.before, read.shown_before, zone(person.tz)
    if name == "search":
        page = search_page(session, person, read.search_words, before=before, size=PAGE_SIZE)
        return search_message(page, argument, f"search {argument}", tz, shown_before)
    if name == "month":
        assert read.month is not None
        year, month = read.month
        key = f"{year:04d}-{month:02d}"
        start, end = month_span(year, month, tz)
        found = month_of(session, person, key, start, end, before=before, size=PAGE_SIZE)
        return month_message(found, f"{date(year, month, 1):%B %Y}", f"month {key}", shown_before)
    if name == "open":
        return open_list_message(
            open_page(session, person, before=before, size=PAGE_SIZE), read.now, shown_before
        )
    assert name == "closed", name
    return closed_list_message(closed_page(session, person, before=before, size=PAGE_SIZE), tz, shown_before)
