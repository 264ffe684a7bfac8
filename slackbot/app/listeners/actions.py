"""Buttons on the morning prompt: answer it, or move one of the loops it lists.

A button's value is an id somebody could forge; every lookup is scoped to the caller,
so another person's prompt or loop is simply not found.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from slackbot.app.context import caller, defer, person_of, services_of, session_of
from slackbot.app.history import LISTS, answer_after_ack, history_read
from slackbot.app.loops import answer_prompt, post_in_thread, refresh_prompt, set_state
from slackbot.app.payloads import page_cursor, row_id, trigger_of
from slackbot.app.people import default_wait
from slackbot.app.reflection import reflection_asked
from slackbot.blocks.errors import NOT_YOURS
from slackbot.blocks.ids import Action
from slackbot.blocks.kit import OPTIONS_LIMIT
from slackbot.blocks.modals.checkin import checkin_modal
from slackbot.blocks.modals.loop import answer_modal
from slackbot.blocks.modals.shipped import shipped_modal
from slackbot.blocks.reflection import reflection_modal
from slackbot.blocks.shipment import ANSWER_ACTIONS
from slackbot.core.deliveries import DeliveryKind
from slackbot.core.errors import InvalidInput
from slackbot.core.loops import SHIPPABLE, LoopState, PromptAnswer, age_in_days
from slackbot.core.parse import parse_loops_command
from slackbot.core.shipments import ANSWER_LABELS, CheckinAnswer
from slackbot.store.deliveries import prompt_in_thread
from slackbot.store.loops import add_entry, loop_of, shippable_loops
from slackbot.store.models import Delivery, Loop, Person
from slackbot.store.rows import lock
from slackbot.store.shipments import checkin_of, not_asked_yet, shipment_of


def _id_of(action: dict[str, Any]) -> int:
    found = row_id(action.get("value"))
    if found is None:
        raise InvalidInput(NOT_YOURS)
    return found


def _own_prompt(context: BoltContext, action: dict[str, Any]) -> Delivery:
    """Only reads: "Something's broken" opens a modal next, and no Slack call follows a write."""
    person = person_of(context)
    prompt = session_of(context).get(Delivery, _id_of(action)) if person is not None else None
    if (
        person is None
        or prompt is None
        or prompt.person_id != person.id
        or prompt.kind != DeliveryKind.PROMPT
    ):
        raise InvalidInput(NOT_YOURS)
    return prompt


def _own_loop(context: BoltContext, action: dict[str, Any]) -> Loop:
    person = person_of(context)
    loop = loop_of(session_of(context), person, _id_of(action)) if person is not None else None
    if loop is None:
        raise InvalidInput(NOT_YOURS)
    return loop


def _checkin_form(
    context: BoltContext, action: dict[str, Any], answer: CheckinAnswer | None, where: tuple[str, str] | None
) -> dict[str, Any]:
    """The check-in form for the caller's own check-in ask that is still open (only reads)."""
    person = person_of(context)
    item = checkin_of(session_of(context), person, _id_of(action)) if person is not None else None
    if item is None:
        raise InvalidInput(NOT_YOURS)
    if item.checkin.answered_at is not None or item.shipment.asks != item.checkin.ask:
        answered = CheckinAnswer(item.checkin.answer) if item.checkin.answer else None
        said = f" ({ANSWER_LABELS[answered]})" if answered else ""
        raise InvalidInput(f"You answered this check-in already{said}; the loop's thread has it.")
    return checkin_modal(item.loop, item.shipment, item.checkin, answer, where=where)


def something_broken(
    ack: Ack, action: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    prompt = _own_prompt(context, action)
    # The trigger expires 3 seconds after the click: open the modal before anything else.
    client.views_open(trigger_id=trigger_of(body), view=answer_modal(prompt.id))
    ack()


def nothing_or_skip(ack: Ack, action: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    prompt = _own_prompt(context, action)
    lock(session_of(context), prompt)
    services = services_of(context)
    answer = PromptAnswer.NOTHING if action["action_id"] == Action.PROMPT_NOTHING else PromptAnswer.SKIP
    answer_prompt(prompt, answer, services.now())
    ack()
    defer(context, lambda: refresh_prompt(services, client, prompt.id))


def still_broken(
    ack: Ack, action: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
) -> None:
    loop = _own_loop(context, action)
    lock(session_of(context), loop)
    if loop.state not in {LoopState.OPEN, LoopState.CONTINUED}:
        raise InvalidInput(f"Loop #{loop.number} is {loop.state} already.")
    services = services_of(context)
    days = age_in_days(loop.opened_at, services.now())
    note = f"Still broken after {days} day{'s' if days != 1 else ''}."
    add_entry(
        session_of(context),
        loop,
        "still_broken",
        note,
        slack_ts=f"action:{action.get('action_ts')}",
        at=services.now(),
    )
    ack()
    channel, thread_ts, number = loop.channel, loop.thread_ts, loop.number

    defer(
        context,
        lambda: post_in_thread(client, channel, thread_ts, note),
        lambda: respond(
            response_type="ephemeral", replace_original=False, text=f"Noted: Loop #{number}. {note}"
        ),
    )


def shipped_a_fix(
    ack: Ack, action: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    """The `/shipped` modal with this loop chosen (from the morning prompt or the Home tab)."""
    loop = _own_loop(context, action)
    if loop.state not in SHIPPABLE:
        raise InvalidInput(f"Loop #{loop.number} is {loop.state} already.")
    person = person_of(context)
    assert person is not None  # the loop was found among theirs
    loops = shippable_loops(session_of(context), person, OPTIONS_LIMIT)
    wait = default_wait(person, services_of(context))
    view = shipped_modal(what="", expected=None, link=None, loops=loops, chosen=loop, wait=wait)
    client.views_open(trigger_id=trigger_of(body), view=view)
    ack()


def answer_checkin_button(
    ack: Ack, action: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    """Any of the four answers opens the short form; only the check-in's owner finds it."""
    answer = ANSWER_OF_ACTION[action["action_id"]]
    container = body.get("container") or {}
    channel, ts = container.get("channel_id"), container.get("message_ts")
    where = (str(channel), str(ts)) if channel and ts else None
    client.views_open(trigger_id=trigger_of(body), view=_checkin_form(context, action, answer, where))
    ack()


def edit_shipment_button(
    ack: Ack, action: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    """The `/shipped` modal, filled in with what a quick `/shipped` recorded."""
    person = person_of(context)
    session = session_of(context)
    shipment = shipment_of(session, person, _id_of(action)) if person is not None else None
    loop = loop_of(session, person, shipment.loop_id) if person and shipment and shipment.loop_id else None
    if shipment is None or loop is None:
        raise InvalidInput(NOT_YOURS)
    view = shipped_modal(
        what=shipment.what,
        expected=shipment.expected_change,
        link=shipment.link,
        loops=[],
        chosen=loop,
        wait=services_of(context).settings.loops_checkin_after,
        shipment_id=shipment.id,
        keep_day=shipment.checkin_on if not_asked_yet(session, shipment) else None,
        asked=not not_asked_yet(session, shipment),
    )
    client.views_open(trigger_id=trigger_of(body), view=view)
    ack()


def drop(
    ack: Ack, action: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    loop = _own_loop(context, action)
    lock(session_of(context), loop)
    services = services_of(context)
    set_state(session_of(context), loop, LoopState.DROPPED, now=services.now(), note="Dropped.", ts=None)
    ack()
    person: Person = caller(context)
    container = body.get("container") or {}
    prompt = prompt_in_thread(
        session_of(context), person, str(container.get("channel_id")), str(container.get("message_ts"))
    )
    channel, thread_ts, number = loop.channel, loop.thread_ts, loop.number
    prompt_id = prompt.id if prompt is not None else None

    defer(context, lambda: post_in_thread(client, channel, thread_ts, f"Loop #{number} dropped."))
    if prompt_id is not None:
        defer(context, lambda: refresh_prompt(services, client, prompt_id))


def check_it_now(
    ack: Ack, action: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    """**Check it now** on the monthly reflection: the check-in form, its answer chosen inside."""
    client.views_open(trigger_id=trigger_of(body), view=_checkin_form(context, action, None, None))
    ack()


def answer_reflection(
    ack: Ack, action: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    """The monthly question's form, for a month Loops asked this person about."""
    asked = reflection_asked(session_of(context), person_of(context), action.get("value"))
    if asked is None:
        raise InvalidInput(NOT_YOURS)
    client.views_open(trigger_id=trigger_of(body), view=reflection_modal(asked.key))
    ack()


def more(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
    context: BoltContext,
    client: WebClient,
    respond: Respond,
) -> None:
    """**More** on a `/loops` list: the next page, read again for whoever clicked, in its place."""
    cursor = page_cursor(action.get("value"))
    request = parse_loops_command(cursor.text) if cursor is not None else None
    listed = request is not None and request.subcommand.name in LISTS
    if cursor is None or request is None or not listed or not body.get("response_url"):
        raise InvalidInput("That list has changed; `/loops help` shows how to ask for it again.")
    read = history_read(
        request,
        person_of(context),
        services_of(context).now(),
        before=cursor.before,
        shown_before=cursor.shown,
        replace=True,
    )
    ack()
    answer_after_ack(context, client, read, respond)


def register(app: App) -> None:
    app.action(Action.PROMPT_BROKEN)(something_broken)
    app.action(Action.PROMPT_NOTHING)(nothing_or_skip)
    app.action(Action.PROMPT_SKIP)(nothing_or_skip)
    app.action(Action.LOOP_STILL_BROKEN)(still_broken)
    app.action(Action.LOOP_SHIPPED)(shipped_a_fix)
    app.action(Action.LOOP_DROP)(drop)
    for action_id in ANSWER_OF_ACTION:
        app.action(action_id)(answer_checkin_button)
    app.action(Action.SHIPMENT_EDIT)(edit_shipment_button)
    app.action(Action.HISTORY_MORE)(more)
    app.action(Action.CHECKIN_NOW)(check_it_now)
    app.action(Action.REFLECTION_ANSWER)(answer_reflection)


ANSWER_OF_ACTION = {action_id: answer for answer, action_id in ANSWER_ACTIONS.items()}
