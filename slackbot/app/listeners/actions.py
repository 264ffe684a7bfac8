"""Buttons on the morning prompt: answer it, or move one of the loops it lists.

A button's value is an id somebody could forge; every lookup is scoped to the caller,
so another person's prompt or loop is simply not found.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from slackbot.app.context import caller, defer, person_of, services_of, session_of
from slackbot.app.loops import answer_prompt, post_in_thread, refresh_prompt, set_state
from slackbot.app.payloads import row_id
from slackbot.blocks.ids import Action
from slackbot.blocks.modals import answer_modal
from slackbot.core.deliveries import DeliveryKind
from slackbot.core.errors import InvalidInput, NotBuiltYet
from slackbot.core.loops import LoopState, PromptAnswer, age_in_days
from slackbot.store.models import Delivery, Loop, Person
from slackbot.store.queries import add_entry, lock, loop_of, prompt_in_thread

NOT_YOURS = "I couldn't find that. It may belong to someone else, or be gone."


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


def something_broken(
    ack: Ack, action: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    prompt = _own_prompt(context, action)
    # The trigger expires 3 seconds after the click: open the modal before anything else.
    client.views_open(trigger_id=body["trigger_id"], view=answer_modal(prompt.id))
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
        loop_id=loop.id,
        person_id=loop.person_id,
        kind="still_broken",
        text=note,
        slack_ts=f"action:{action.get('action_ts')}",
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


def shipped_a_fix() -> None:
    raise NotBuiltYet("Recording a fix with `/shipped`")


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


def register(app: App) -> None:
    app.action(Action.PROMPT_BROKEN)(something_broken)
    app.action(Action.PROMPT_NOTHING)(nothing_or_skip)
    app.action(Action.PROMPT_SKIP)(nothing_or_skip)
    app.action(Action.LOOP_STILL_BROKEN)(still_broken)
    app.action(Action.LOOP_SHIPPED)(shipped_a_fix)
    app.action(Action.LOOP_DROP)(drop)
