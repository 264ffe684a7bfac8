"""Slash commands: parse what was typed once, let core decide, answer to the caller alone.

`/loops` dispatches through `SUBCOMMANDS`, one small handler per subcommand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from slackbot.app import digest, people
from slackbot.app.context import caller, defer, person_of, services_of, session_of, workspace_of
from slackbot.app.export import exporting_message, send_export
from slackbot.app.history import answer_after_ack, history_read
from slackbot.app.payloads import response_url_of, trigger_of
from slackbot.app.shipments import COMMAND_TEXT_LIMIT, Shipped, draft_shipment, record_shipment
from slackbot.blocks.help import help_message
from slackbot.blocks.ids import Command
from slackbot.blocks.kit import OPTIONS_LIMIT, message, section
from slackbot.blocks.leaving import forget_me_modal
from slackbot.blocks.modals.shipped import shipped_modal
from slackbot.blocks.shipment import shipped_confirmation
from slackbot.core.errors import InvalidInput
from slackbot.core.loops import SHIPPABLE
from slackbot.core.parse import FIELD_LIMIT, LoopsCommand, ShippedCommand, parse_loops_command, parse_shipped
from slackbot.slack.profile import fetch_profile
from slackbot.store.export import claim_export
from slackbot.store.leaving import holdings_of
from slackbot.store.loops import loop_numbered, shippable_loops
from slackbot.store.models import Loop

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Call:
    """One `/loops` as typed, with what its subcommand needs to answer it."""

    ack: Ack
    command: dict[str, str]
    request: LoopsCommand
    context: BoltContext
    client: WebClient
    respond: Respond

    def say(self, words: str) -> None:
        """Answer in the ack, to the caller alone; `words` are safe mrkdwn."""
        self.ack(response_type="ephemeral", **message(words, [section(words)]))


def loops(
    ack: Ack, command: dict[str, str], context: BoltContext, client: WebClient, respond: Respond
) -> None:
    request = parse_loops_command(command.get("text", ""))
    SUBCOMMANDS[request.subcommand.name](Call(ack, command, request, context, client, respond))


def read_history(call: Call) -> None:
    """Acknowledged at once (a mistake in what was typed is the ack's answer); the history follows."""
    read = history_read(call.request, person_of(call.context), services_of(call.context).now())
    response_url_of(call.command)  # where the answer goes
    call.ack()
    answer_after_ack(call.context, call.client, read, call.respond)


def show_help(call: Call) -> None:
    caller(call.context)  # someone who asks is known from then on, as for any other command
    call.ack(response_type="ephemeral", **help_message(call.request.not_understood))


def start(call: Call) -> None:
    # Slack first, while nothing is written yet: a new person is stored by `caller`.
    profile = fetch_profile(call.client, str(call.context.user_id))
    context = call.context
    call.say(people.start(caller(context), profile, session_of(context), services_of(context)))


def stop(call: Call) -> None:
    call.say(people.stop(caller(call.context), session_of(call.context)))


def pause(call: Call) -> None:
    context = call.context
    call.say(people.pause(caller(context), call.request.argument, session_of(context), services_of(context)))


def resume(call: Call) -> None:
    context = call.context
    call.say(people.resume(caller(context), session_of(context), services_of(context)))


def export(call: Call) -> None:
    """The files are made and uploaded after the ack, one export per person at a time; the ack
    says they are coming (or that the one asked for earlier still is)."""
    person_id, services, client = caller(call.context).id, services_of(call.context), call.client
    started = services.now()
    claimed = claim_export(session_of(call.context), person_id, started)
    if claimed:
        defer(
            call.context,
            lambda: services.run_apart(lambda: send_export(services, client, person_id, started)),
        )
    call.ack(response_type="ephemeral", **exporting_message(claimed))


def open_settings(call: Call) -> None:
    """Slack first, while nothing is written: the form opens from what is stored (or the defaults)."""
    form = people.settings_form(person_of(call.context), services_of(call.context))
    call.client.views_open(trigger_id=trigger_of(call.command), view=form)
    call.ack()


def forget_me(call: Call) -> None:
    """A confirmation modal that counts what will go; nothing is deleted until it is submitted."""
    person = person_of(call.context)
    if person is None:
        call.say("Loops holds nothing about you: there is nothing to delete.")
        return
    holdings = holdings_of(session_of(call.context), person)
    call.client.views_open(trigger_id=trigger_of(call.command), view=forget_me_modal(holdings))
    call.ack()


def choose_digest(call: Call) -> None:
    """Answered in the ack, except a channel typed by name: that is looked for after the ack."""
    context, services, team_id = call.context, services_of(call.context), str(call.context.team_id)
    answer = digest.choose(
        session_of(context),
        call.client,
        services,
        team_id,
        str(context.user_id),
        call.request.argument,
        workspace_of(context),
    )
    if isinstance(answer, str):
        call.say(answer)
        return
    response_url_of(call.command)  # where the answer goes
    call.ack()
    client, respond = call.client, call.respond
    defer(
        context,
        lambda: respond(
            response_type="ephemeral", **digest.choose_by_name(client, services, team_id, answer)
        ),
    )


# Every subcommand core.parse knows, by name.
SUBCOMMANDS: dict[str, Callable[[Call], None]] = {
    "history": read_history,
    "show": read_history,
    "open": read_history,
    "closed": read_history,
    "month": read_history,
    "search": read_history,
    "help": show_help,
    "start": start,
    "stop": stop,
    "pause": pause,
    "resume": resume,
    "settings": open_settings,
    "export": export,
    "forget-me": forget_me,
    "digest": choose_digest,
}


def no_such_loop(number: int) -> InvalidInput:
    """A number that is not the caller's reads exactly like one that does not exist."""
    return InvalidInput(
        f"You have no Loop #{number}. Your open loops are on your morning prompt and your Home tab; "
        "`/shipped &lt;what&gt;` without a number lets you pick one."
    )


def shipped(ack: Ack, command: dict[str, str], context: BoltContext, client: WebClient) -> None:
    """`/shipped #N <what> expect: <change>` records at once; anything less opens the modal."""
    request = parse_shipped(command.get("text", ""))
    loop = _typed_loop(context, request.loop_number)
    if len(request.what) > COMMAND_TEXT_LIMIT or len(request.expected or "") > COMMAND_TEXT_LIMIT:
        raise InvalidInput(f"That's more than {COMMAND_TEXT_LIMIT:,} characters; please shorten it.")
    # Slack mints a trigger per command: it names this one (a replayed request stores once).
    trigger = trigger_of(command)
    if request.quick:
        assert loop is not None and request.expected is not None
        _ship_quickly(ack, context, loop, Shipped(request.what, request.expected, None, None, None), trigger)
    else:
        _open_shipped_modal(context, client, request, loop, trigger)
        ack()


def _typed_loop(context: BoltContext, number: int | None) -> Loop | None:
    """The caller's own open Loop #`number`, when one was typed."""
    if number is None:
        return None
    person = person_of(context)
    loop = loop_numbered(session_of(context), person, number) if person is not None else None
    if loop is None:
        raise no_such_loop(number)
    if loop.state not in SHIPPABLE:
        raise InvalidInput(
            f"Loop #{loop.number} is {loop.state}. `/shipped &lt;what&gt;` records a shipment "
            "for an open loop, or opens a new one."
        )
    return loop


def _ship_quickly(ack: Ack, context: BoltContext, loop: Loop, said: Shipped, trigger: str) -> None:
    """Recorded at once with the default check-in; the ack says so, with an **Edit** button."""
    person, session, services = caller(context), session_of(context), services_of(context)
    said = replace(said, wait=people.default_wait(person, services))
    source = f"command:{trigger}"[:64]
    recorded = record_shipment(session, person, services, said, loop=loop, source=source)
    ack(response_type="ephemeral", **shipped_confirmation(loop, recorded.shipment, recorded.checkin.due_on))
    send = recorded.send
    defer(context, lambda: services.send_now(send))


def _open_shipped_modal(
    context: BoltContext, client: WebClient, request: ShippedCommand, loop: Loop | None, trigger: str
) -> None:
    """The modal, filled in with what was typed; a text longer than its inputs is kept whole."""
    person, session, services = person_of(context), session_of(context), services_of(context)
    long = len(request.what) > FIELD_LIMIT or len(request.expected or "") > FIELD_LIMIT
    draft = f"draft:{trigger}"[:64] if long else None
    # Slack first, while nothing is written: the trigger expires 3 seconds after the command.
    client.views_open(
        trigger_id=trigger,
        view=shipped_modal(
            what=request.what,
            expected=request.expected,
            link=None,
            loops=shippable_loops(session, person, OPTIONS_LIMIT) if person is not None else [],
            chosen=loop,
            wait=people.default_wait(person, services),
            draft=draft,
            typed_length=max(len(request.what), len(request.expected or "")) if long else None,
        ),
    )
    if draft is not None:
        # Kept whole in the database; the modal shows as much as its inputs hold.
        draft_shipment(session, caller(context), what=request.what, expected=request.expected, source=draft)


def register(app: App) -> None:
    app.command(Command.LOOPS)(loops)
    app.command(Command.SHIPPED)(shipped)
