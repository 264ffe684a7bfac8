"""Modal submissions: a new loop, a shipment, a check-in's answer, settings, a reflection, leaving.

Each form is read by app/forms.py, which shows every problem at once as inline errors;
nothing is stored while one is left.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from slackbot.app import people
from slackbot.app.checkins import answer_checkin, refresh_question
from slackbot.app.context import caller, defer, person_of, services_of, session_of
from slackbot.app.forms import (
    Form,
    read_broken,
    read_checkin_answer,
    read_checkin_reply,
    read_settings,
    read_shipped,
)
from slackbot.app.loops import after_opening, open_loop, refresh_prompt, share_morning
from slackbot.app.payloads import metadata, metadata_id, row_id, typed
from slackbot.app.reflection import reflection_asked, refresh_reflection
from slackbot.app.shipments import edit_shipment, record_shipment, refresh_note
from slackbot.blocks.errors import NOT_YOURS
from slackbot.blocks.ids import FIELD_INPUT, NOT_LINKED, ReflectionField, ShippedField, View
from slackbot.blocks.leaving import FORGOTTEN_WORDS, forgotten_home, forgotten_modal
from slackbot.blocks.loop import thread_note
from slackbot.blocks.shipment import asks_tellable
from slackbot.core.deliveries import DeliveryKind
from slackbot.core.errors import InvalidInput
from slackbot.core.parse import check_field
from slackbot.core.shipments import ShipmentState
from slackbot.slack.profile import fetch_profile
from slackbot.store.deliveries import prompt_in_thread
from slackbot.store.export import reflection_from_source
from slackbot.store.leaving import forget_person
from slackbot.store.loops import loop_of
from slackbot.store.models import Delivery, Loop, Person, Reflection, Shipment
from slackbot.store.shipments import checkin_of, shipment_from_source, shipment_of

logger = logging.getLogger(__name__)


def answer_submitted(ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """ "Something's broken": a new loop, with its thread; the prompt that asked shows its answer."""
    broken = read_broken(Form(view))
    person, session, services = caller(context), session_of(context), services_of(context)
    prompt_id = metadata_id(view.get("private_metadata") or "", "prompt")
    prompt = session.get(Delivery, prompt_id) if prompt_id is not None else None
    if prompt is not None and (prompt.person_id != person.id or prompt.kind != DeliveryKind.PROMPT):
        prompt = None
    source = f"view:{view.get('id')}"
    loop, root = open_loop(session, person, broken, source=source, now=services.now(), prompt=prompt)
    share = (
        share_morning(session, services, person, loop) if root is not None and prompt is not None else None
    )
    ack()
    prompt_to_refresh = prompt.id if prompt is not None else None
    defer(context, lambda: after_opening(services, client, root, prompt_to_refresh, share))


def shipped_submitted(ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """Record (or edit) a shipment; every problem is shown inline, and nothing is stored with one."""
    person, session, services = caller(context), session_of(context), services_of(context)
    form = Form(view)
    editing = _shipment_edited(session, person, form)
    draft = None if editing else _draft_of(session, person, form)
    kept = editing or draft
    said = read_shipped(
        form,
        services.settings.loops_checkin_after,
        editing=editing is not None,
        kept_what=kept.what if kept else None,
        kept_expected=kept.expected_change if kept else None,
    )
    loop = None if editing else _loop_chosen(session, person, form)
    form.check()
    if editing is not None:
        recorded = edit_shipment(session, person, services, editing, said)
    else:
        source = f"view:{view.get('id')}"[:64]
        recorded = record_shipment(session, person, services, said, loop=loop, source=source, draft=draft)
    ack()
    send, note, question = recorded.send, recorded.update_note, recorded.update_question
    defer(context, lambda: services.send_now(send))
    if note is not None:
        defer(context, lambda: refresh_note(services, client, note))
    if question is not None:
        defer(context, lambda: refresh_question(services, client, question))


def _shipment_edited(session: Session, person: Person, form: Form) -> Shipment | None:
    """The caller's own recorded shipment the form edits, or None for a new one."""
    editing = row_id(form.metadata.get("shipment"))
    if editing is None:
        return None
    shipment = shipment_of(session, person, editing)
    if shipment is None or shipment.loop_id is None or shipment.state == ShipmentState.DRAFT:
        raise InvalidInput(NOT_YOURS)
    return shipment


def _draft_of(session: Session, person: Person, form: Form) -> Shipment | None:
    """The whole text of a `/shipped` too long for the modal's inputs, kept while it was open."""
    source = form.metadata.get("draft")
    draft = shipment_from_source(session, person, source) if isinstance(source, str) else None
    return draft if draft is not None and draft.state == ShipmentState.DRAFT else None


def _loop_chosen(session: Session, person: Person, form: Form) -> Loop | None:
    """The caller's own loop the shipment answers; None for "not linked" (it opens one)."""
    picked = form.choice(ShippedField.LOOP)
    if picked is None:
        form.problems[ShippedField.LOOP] = "Pick the loop this answers, or “Not linked”."
        return None
    if picked == NOT_LINKED:
        return None
    loop_id = row_id(picked)
    loop = loop_of(session, person, loop_id) if loop_id is not None else None
    if loop is None:
        form.problems[ShippedField.LOOP] = NOT_YOURS
    return loop


def checkin_submitted(ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """One answer per ask: the loop closes, or carries on with its next step (and a re-ask)."""
    person, session, services = caller(context), session_of(context), services_of(context)
    form = Form(view)
    checkin_id = row_id(form.metadata.get("checkin"))
    item = checkin_of(session, person, checkin_id) if checkin_id is not None else None
    answer = read_checkin_answer(form) if item is not None else None
    if item is None or answer is None:
        raise InvalidInput(NOT_YOURS)
    reply = read_checkin_reply(form, answer, asks_tellable=asks_tellable(item.shipment))
    answered = answer_checkin(session, person, services, item, reply)
    ack()
    if not answered.first:
        return
    outcome, question = answered.outcome, answered.question
    defer(context, lambda: services.send_now([outcome]))
    if question is not None:
        defer(context, lambda: refresh_question(services, client, question))
    where = form.metadata.get("where")
    prompt = (
        prompt_in_thread(session, person, str(where[0]), str(where[1]))
        if isinstance(where, list) and len(where) == 2
        else None
    )
    if prompt is not None:
        prompt_id = prompt.id
        defer(context, lambda: refresh_prompt(services, client, prompt_id))


def settings_submitted(ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """Save the person's own schedule and re-plan what is pending, at once."""
    services = services_of(context)
    chosen = read_settings(Form(view), services.settings.loops_checkin_after)
    before = person_of(context)
    slack_tz = None
    if chosen.tz is None and before is not None and not before.follows_slack_tz:
        # Back to Slack's zone: ask Slack now, while nothing is written.
        profile = fetch_profile(client, before.slack_user_id)
        slack_tz = profile.get("tz") if profile and isinstance(profile.get("tz"), str) else None
    person = caller(context)
    people.save_settings(person, chosen, slack_tz, session_of(context), services)
    ack()
    words = f"Saved: {people.next_prompt_words(person)}." if person.enrolled else "Saved."
    user_id = person.slack_user_id
    defer(context, lambda: client.chat_postMessage(channel=user_id, **thread_note(words)))


def reflection_submitted(ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """Keep the month's reflection (once per submission), then redraw the DM that asked."""
    person, session, services = caller(context), session_of(context), services_of(context)
    key = str(metadata(view.get("private_metadata") or "").get("month"))
    asked = reflection_asked(session, person, key)
    if asked is None:
        raise InvalidInput(NOT_YOURS)
    text = check_field(
        "what changed",
        typed(view, ReflectionField.CHANGED, FIELD_INPUT),
        required=True,
        field=ReflectionField.CHANGED,
    )
    assert text is not None
    source = f"view:{view.get('id')}"[:64]
    if not reflection_from_source(session, person, source):
        session.add(
            Reflection(
                workspace_id=person.workspace_id,
                person_id=person.id,
                month=key,
                text=text,
                source=source,
                created_at=services.now(),
            )
        )
    ack()
    delivery_id = asked.id
    defer(context, lambda: refresh_reflection(services, client, delivery_id))


def forget_me_submitted(ack: Ack, context: BoltContext, client: WebClient) -> None:
    """Delete the caller's data; the modal and a DM say what went once it is committed."""
    person, session, services = person_of(context), session_of(context), services_of(context)
    if person is None:  # a second modal, or a second click after the first delete
        ack(response_action="update", view=forgotten_modal(None))
        return
    user_id, had_home = person.slack_user_id, person.home_opened_at is not None
    held, removals = forget_person(session, person, str(context.team_id), services.now())
    logger.info("forgot a person of team %s at their request", context.team_id)
    ack(response_action="update", view=forgotten_modal(held))
    works: list[Callable[[], object]] = [
        lambda: client.chat_postMessage(channel=user_id, **thread_note(FORGOTTEN_WORDS))
    ]
    if had_home:
        works.append(lambda: client.views_publish(user_id=user_id, view=forgotten_home()))
    # What the daily thread showed of theirs goes too: owed deliveries, sent now if Slack
    # lets us, else by the clock until it does.
    works.append(lambda: services.send_now(removals))
    defer(context, *works)


def register(app: App) -> None:
    app.view(View.FORGET_ME)(forget_me_submitted)
    app.view(View.REFLECTION)(reflection_submitted)
    app.view(View.ANSWER)(answer_submitted)
    app.view(View.SHIPPED)(shipped_submitted)
    app.view(View.CHECKIN)(checkin_submitted)
    app.view(View.SETTINGS)(settings_submitted)
