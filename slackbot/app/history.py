"""`/loops`, `/loops 12`, `open`, `closed`, `search` and `month`: the caller's own history.

A plain `/loops` whose summary the clock kept is answered in its ack, from that row
(`kept_summary_ack`, which the web gate asks before Bolt). Otherwise the command is
acknowledged at once and the answer follows through its response_url, read in a session of
its own after the ack (in the web worker's reader process when there
is one, see app/reader.py): the ack never waits on a history read, so it is as quick for
someone with 5,000 loops as for someone with none. **More** carries the
command text and where the next page starts, and runs the same read for whoever clicked.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from slackbot.app.context import defer, services_of
from slackbot.app.errors import is_slack_outage, words_for
from slackbot.app.reader import ReadRequest
from slackbot.app.services import Services
from slackbot.blocks.history import (
    PAGE_SIZE,
    closed_list_message,
    month_message,
    no_loops_message,
    open_list_message,
    search_message,
    story_message,
)
from slackbot.blocks.ids import Command
from slackbot.blocks.kit import message, section
from slackbot.core.errors import InvalidInput
from slackbot.core.parse import LoopsCommand, parse_loops_command, parse_month, parse_search
from slackbot.core.reflection import month_span
from slackbot.core.schedule import zone
from slackbot.outbox.summary import summary_answer
from slackbot.store.db import Database
from slackbot.store.history import closed_page, month_of, open_page, search_page, story_of
from slackbot.store.leaving import mark_reinstalled
from slackbot.store.models import Person
from slackbot.store.queries import find_caller, find_workspace, loop_numbered
from slackbot.store.summaries import kept_summary

logger = logging.getLogger(__name__)

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


def answer_after(context: BoltContext, client: WebClient, read: ReadRequest, respond: Respond) -> None:
    """After the ack has gone: hand the read to the web worker's reader process, or build it here."""
    services = services_of(context)

    def work() -> None:
        came_back(services, read.team_id)
        if services.reader is not None and services.reader.submit(replace(read, bot_token=client.token)):
            return
        body = build_answer(services.database, client, read)
        respond(response_type="ephemeral", replace_original=read.replace, **body)

    defer(context, work)


# How long a process trusts that a workspace is installed before looking again (a history
# read is the hot path: one look per workspace per minute, not one per read).
INSTALLED_CHECK_EVERY = 60.0


def installed_lately(services: Services, team_id: str) -> bool:
    """This process looked within the last minute whether the workspace is installed."""
    seen = services.installed_seen.get(team_id)
    return seen is not None and time.monotonic() - seen < INSTALLED_CHECK_EVERY


def came_back(services: Services, team_id: str) -> None:
    """A person's command reached us, so the workspace has Loops installed again (the
    middleware notices on every other request; history reads skip it to ack at once)."""
    if installed_lately(services, team_id):
        return
    services.installed_seen[team_id] = time.monotonic()
    with services.database.session() as session:
        workspace = find_workspace(session, team_id)
        if workspace is None or workspace.uninstalled_at is None:
            return
    with services.database.transaction() as session:
        workspace = find_workspace(session, team_id)
        if workspace is None or workspace.uninstalled_at is None:
            return
        mark_reinstalled(session, workspace)
    logger.info("team %s installed Loops again", team_id)


def summary_kept(services: Services, read: ReadRequest) -> dict[str, Any] | None:
    """The caller's `/loops` summary as the clock rendered it, if it still holds: one row, so
    the ack can carry it (no work after the ack at all). None: build it after the ack."""
    kept = _kept_summary(services, read.team_id, read.user_id, read.now)
    return None if kept is None else dict(json.loads(kept))


def is_summary_read(body: Mapping[str, Any]) -> bool:
    """A plain `/loops` (no subcommand): the one history read the clock renders ahead."""
    return (
        body.get("command") == Command.LOOPS
        and parse_loops_command(str(body.get("text") or "")).subcommand.name == "history"
    )


def kept_summary_ack(services: Services, team_id: str, user_id: str) -> str | None:
    """The whole ack of a plain `/loops`, as JSON, when the clock kept the caller's summary
    and it still holds; None otherwise (the command then goes through Bolt as any other).

    Built without parsing the kept message: it is a JSON object written by `keep_summary`,
    so the `response_type` that Bolt's ack would add goes in front of its first key.
    """
    kept = _kept_summary(services, team_id, user_id, services.now())
    if kept is None or not kept.startswith('{"'):
        return None
    return '{"response_type": "ephemeral", ' + kept[1:]


def _kept_summary(services: Services, team_id: str, user_id: str, now: datetime) -> str | None:
    try:
        return kept_summary(services.database, team_id, user_id, now)
    except Exception as error:  # the answer built after the ack says what is wrong, in words
        logger.warning("could not read a kept /loops summary: %s", error)
        return None


def build_answer(database: Database, client: WebClient, read: ReadRequest) -> dict[str, Any]:
    """The answer to a history read, for the person who asked and nobody else.

    Looks the caller up in a session of its own (a read never stores anyone); a failure is
    said in words, as the person is waiting for an answer.
    """
    request = parse_loops_command(read.text)
    try:
        with database.session() as session:
            _, person = find_caller(session, read.team_id, read.user_id)
            name = request.subcommand.name
            if name in LISTS:
                return list_message(
                    session, person, request, read.now, before=read.before, shown_before=read.shown_before
                )
            if person is None:
                if request.loop_number is not None:
                    raise no_story(request.loop_number)
                return no_loops_message()
            if name == "show":
                assert request.loop_number is not None
                return loop_story(session, client, person, request.loop_number)
            return summary_answer(session, person, read.now)
    except Exception as error:
        words = words_for(error)
        return message(words, [section(words)])


# A story shows at most this many entries (the newest); the thread has them all.
STORY_ENTRIES = 40


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
        return open_list_message(page, now, shown_before)
    assert name == "closed", name
    return closed_list_message(closed_page(session, person, before=before, size=PAGE_SIZE), tz, shown_before)
