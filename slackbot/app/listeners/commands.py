"""Slash commands: parse what was typed, let core decide, answer to the caller alone."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from slackbot.app import digest, people
from slackbot.app.context import ContextKey, caller, defer, person_of, services_of, session_of, workspace_of
from slackbot.app.export import exporting_message, send_export
from slackbot.app.history import (
    READS,
    answer_after,
    build_answer,
    check_list_request,
    summary_kept,
)
from slackbot.app.payloads import trigger_of
from slackbot.app.reader import ReadRequest
from slackbot.app.services import Services
from slackbot.app.shipments import (
    COMMAND_TEXT_LIMIT,
    default_wait,
    draft_shipment,
    record_shipment,
    send_now,
)
from slackbot.blocks.help import help_message
from slackbot.blocks.ids import Command
from slackbot.blocks.kit import OPTIONS_LIMIT, message, section
from slackbot.blocks.leaving import forget_me_modal
from slackbot.blocks.modals import settings_modal, shipped_modal
from slackbot.blocks.shipment import shipped_confirmation
from slackbot.core.enrolment import schedule_for
from slackbot.core.errors import InvalidInput
from slackbot.core.loops import SHIPPABLE
from slackbot.core.parse import FIELD_LIMIT, parse_loops_command, parse_shipped
from slackbot.outbox.profile import fetch_profile
from slackbot.store.leaving import holdings_of
from slackbot.store.models import Person
from slackbot.store.queries import loop_numbered, shippable_loops

logger = logging.getLogger(__name__)


def loops(
    ack: Ack, command: dict[str, str], context: BoltContext, client: WebClient, respond: Respond
) -> None:
    request = parse_loops_command(command.get("text", ""))
    name = request.subcommand.name
    if name == "settings":
        # Slack first, while nothing is written: the form opens from what is stored (or the defaults).
        client.views_open(
            trigger_id=trigger_of(command), view=settings_for(person_of(context), services_of(context))
        )
        ack()
        return
    if name == "forget-me":
        forget_me(ack, command, context, client)
        return
    if name == "digest":
        words = digest.choose(
            session_of(context),
            client,
            services_of(context),
            str(context.team_id),
            str(context.user_id),
            request.argument,
            workspace_of(context),
        )
        ack(response_type="ephemeral", **message(words, [section(words)]))
        return
    if name in READS:
        # Only reads: the middleware looked nobody up (the ack waits on no database), someone
        # Loops has never seen is not stored for asking, and a mistake in what was typed is
        # answered now; the history itself comes right after the ack.
        services = services_of(context)
        check_list_request(request, services.now().date())
        read = ReadRequest(
            team_id=str(context.team_id),
            user_id=str(context.user_id),
            text=command.get("text", ""),
            now=services.now(),
            response_url=command.get("response_url", ""),
        )
        # A kept summary (never one of an uninstalled workspace) is the answer itself; the web
        # gate looked for it before Bolt, so only a request from elsewhere (Socket Mode) looks.
        asked = bool(context.get(ContextKey.KEPT_SUMMARY_ASKED))
        kept = summary_kept(services, read) if name == "history" and not asked else None
        if kept is not None:
            ack(response_type="ephemeral", **kept)
            return
        if not read.response_url:  # Slack always sends one; answer a request without in the ack
            ack(response_type="ephemeral", **build_answer(services.database, client, read))
            return
        ack()
        answer_after(context, client, read, respond)
        return
    # Slack first, while nothing is written yet: a new person is stored by `caller`.
    profile = fetch_profile(client, str(context.user_id)) if name == "start" else None
    person, services = caller(context), services_of(context)
    if name == "help":
        ack(response_type="ephemeral", **help_message(request.not_understood))
        return
    if name == "export":
        person_id = person.id
        defer(context, lambda: send_export(services, client, person_id))
        ack(response_type="ephemeral", **exporting_message())
        return
    if name == "start":
        words = people.start(person, profile, session_of(context), services)
    elif name == "stop":
        words = people.stop(person, session_of(context))
    elif name == "pause":
        words = people.pause(person, request.argument, session_of(context), services)
    else:
        words = people.resume(person, session_of(context), services)
    ack(response_type="ephemeral", **message(words, [section(words)]))


def forget_me(ack: Ack, command: dict[str, str], context: BoltContext, client: WebClient) -> None:
    """A confirmation modal that counts what will go; nothing is deleted until it is submitted."""
    person = person_of(context)
    if person is None:
        words = "Loops holds nothing about you: there is nothing to delete."
        ack(response_type="ephemeral", **message(words, [section(words)]))
        return
    client.views_open(
        trigger_id=trigger_of(command), view=forget_me_modal(holdings_of(session_of(context), person))
    )
    ack()


def settings_for(person: Person | None, services: Services) -> dict[str, Any]:
    defaults = services.defaults
    schedule = schedule_for(person, defaults) if person is not None else None
    return settings_modal(
        prompt_time=schedule.at if schedule else defaults.prompt_time,
        workdays=schedule.workdays if schedule else defaults.workdays,
        tz=(person.tz if person is not None else None) or "UTC",
        follows_slack_tz=person.follows_slack_tz if person is not None else True,
        nudges=person.nudges if person is not None else True,
        wait=default_wait(person, services),
        in_digest=person.in_digest if person is not None else True,
    )


def no_such_loop(number: int) -> InvalidInput:
    """A number that is not the caller's reads exactly like one that does not exist."""
    return InvalidInput(
        f"You have no Loop #{number}. Your open loops are on your morning prompt and your Home tab; "
        "`/shipped &lt;what&gt;` without a number lets you pick one."
    )


def shipped(ack: Ack, command: dict[str, str], context: BoltContext, client: WebClient) -> None:
    """`/shipped #N <what> expect: <change>` records at once; anything less opens the modal."""
    request = parse_shipped(command.get("text", ""))
    person, session, services = person_of(context), session_of(context), services_of(context)
    loop = None
    if request.loop_number is not None:
        loop = loop_numbered(session, person, request.loop_number) if person is not None else None
        if loop is None:
            raise no_such_loop(request.loop_number)
        if loop.state not in SHIPPABLE:
            raise InvalidInput(
                f"Loop #{loop.number} is {loop.state}. `/shipped &lt;what&gt;` records a shipment "
                "for an open loop, or opens a new one."
            )
    if len(request.what) > COMMAND_TEXT_LIMIT or len(request.expected or "") > COMMAND_TEXT_LIMIT:
        raise InvalidInput(f"That's more than {COMMAND_TEXT_LIMIT:,} characters; please shorten it.")
    wait = default_wait(person, services)
    # Slack mints a trigger per command: it names this one (a replayed request stores once).
    trigger = trigger_of(command)
    if request.quick:
        assert loop is not None and request.expected is not None
        person = caller(context)
        recorded = record_shipment(
            session,
            person,
            services,
            loop=loop,
            what=request.what,
            expected=request.expected,
            link=None,
            wait=wait,
            on=None,
            source=f"command:{trigger}"[:64],
        )
        ack(
            response_type="ephemeral",
            **shipped_confirmation(loop, recorded.shipment, recorded.checkin.due_on),
        )
        send = recorded.send
        defer(context, lambda: send_now(services, send))
        return
    long = len(request.what) > FIELD_LIMIT or len(request.expected or "") > FIELD_LIMIT
    draft = f"draft:{trigger}"[:64] if long else None
    loops = shippable_loops(session, person, OPTIONS_LIMIT) if person is not None else []
    # Slack first, while nothing is written: the trigger expires 3 seconds after the command.
    client.views_open(
        trigger_id=trigger,
        view=shipped_modal(
            what=request.what,
            expected=request.expected,
            link=None,
            loops=loops,
            chosen=loop,
            wait=wait,
            draft=draft,
            typed_length=max(len(request.what), len(request.expected or "")) if long else None,
        ),
    )
    if draft is not None:
        # Kept whole in the database; the modal shows as much as its inputs hold.
        draft_shipment(session, caller(context), what=request.what, expected=request.expected, source=draft)
    ack()


def register(app: App) -> None:
    app.command(Command.LOOPS)(loops)
    app.command(Command.SHIPPED)(shipped)
