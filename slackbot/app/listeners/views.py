"""Modal submissions: a new loop, a shipment, a check-in's answer; or inline errors say what to fix."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from slackbot.app.context import caller, defer, person_of, services_of, session_of
from slackbot.app.loops import after_opening, open_loop, refresh_prompt, share_morning
from slackbot.app.payloads import (
    chosen,
    metadata,
    metadata_id,
    picked_date,
    picked_time,
    row_id,
    ticked,
    typed,
)
from slackbot.app.people import next_prompt_words
from slackbot.app.reflection import reflection_asked, refresh_reflection
from slackbot.app.shipments import (
    answer_checkin,
    edit_shipment,
    record_shipment,
    refresh_note,
    refresh_question,
    send_now,
)
from slackbot.blocks.errors import NOT_YOURS
from slackbot.blocks.ids import (
    CLOSE_LOOP,
    FIELD_INPUT,
    IN_DIGEST_ON,
    KEEP_DAY,
    NOT_LINKED,
    NUDGES_ON,
    PRIVATE_FIELD,
    PRIVATE_LOOP,
    CheckinField,
    Field,
    ReflectionField,
    SettingsField,
    ShippedField,
    View,
)
from slackbot.blocks.leaving import FORGOTTEN_WORDS, forgotten_home, forgotten_modal
from slackbot.blocks.loop import thread_note
from slackbot.blocks.shipment import asks_tellable
from slackbot.core import enrolment
from slackbot.core.deliveries import DeliveryKind
from slackbot.core.errors import InvalidFields, InvalidInput
from slackbot.core.parse import FIELD_LIMIT, check_field
from slackbot.core.schedule import WEEKDAYS, known_zone
from slackbot.core.shipments import ASK_AGAIN, CheckinAnswer, ShipmentState, Wait, parse_wait
from slackbot.slack.profile import fetch_profile
from slackbot.store.leaving import forget_person, shared_posts
from slackbot.store.models import Delivery, Loop, Reflection
from slackbot.store.queries import (
    checkin_of,
    loop_of,
    prompt_in_thread,
    recheck_checkins,
    reflection_from_source,
    shipment_from_source,
    shipment_of,
    skip_pending_prompts,
)

logger = logging.getLogger(__name__)

LABELS = {Field.WHAT: "what's broken", Field.FOR_WHOM: "for whom", Field.EVIDENCE: "how you know"}


def _read_answer(view: dict[str, Any]) -> dict[str, str | None]:
    """Every field checked at once, so the person sees all the problems together."""
    answer: dict[str, str | None] = {}
    problems: dict[str, str] = {}
    for field in Field:
        try:
            answer[field] = check_field(
                LABELS[field],
                typed(view, field, FIELD_INPUT),
                required=field is not Field.EVIDENCE,
                field=field,
            )
        except InvalidInput as problem:
            problems.update(problem.fields)
    if problems:
        raise InvalidFields(problems)
    return answer


def answer_submitted(ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    answer = _read_answer(view)
    person, session, services = caller(context), session_of(context), services_of(context)
    prompt_id = metadata_id(view.get("private_metadata") or "", "prompt")
    prompt = session.get(Delivery, prompt_id) if prompt_id is not None else None
    if prompt is not None and (prompt.person_id != person.id or prompt.kind != DeliveryKind.PROMPT):
        prompt = None
    what = answer[Field.WHAT]
    assert what is not None
    loop, root = open_loop(
        session,
        person,
        what=what,
        for_whom=answer[Field.FOR_WHOM],
        evidence=answer[Field.EVIDENCE],
        source=f"view:{view.get('id')}",
        prompt=prompt,
        entry_ts=None,
        now=services.now(),
        private=PRIVATE_LOOP in ticked(view, PRIVATE_FIELD, FIELD_INPUT),
    )
    share = (
        share_morning(session, services, person, loop) if root is not None and prompt is not None else None
    )
    ack()
    prompt_to_refresh = prompt.id if prompt is not None else None
    defer(context, lambda: after_opening(services, client, root, prompt_to_refresh, share))


SHIPPED_LABELS = {
    ShippedField.WHAT: "what shipped",
    ShippedField.EXPECTED: "what should change",
    ShippedField.LINK: "the link",
}


def _text(
    view: dict[str, Any], field: str, label: str, *, required: bool, problems: dict[str, str]
) -> str | None:
    try:
        return check_field(label, typed(view, field, FIELD_INPUT), required=required, field=field)
    except InvalidInput as problem:
        problems.update(problem.fields)
        return None


def _wait(view: dict[str, Any], field: str, default: Wait, *, may_keep: bool = False) -> Wait | None:
    """The wait picked; None for "keep the day" (only offered when editing a shipment)."""
    value = chosen(view, field, FIELD_INPUT)
    if value == KEEP_DAY and may_keep:
        return None
    try:
        return parse_wait(value) if value else default
    except ValueError:
        raise InvalidInput("Pick one of the choices.", field=field) from None


def _kept_whole(submitted: str | None, stored: str | None) -> str | None:
    """A stored text longer than an input holds, left as the modal showed it, stays whole."""
    if (
        submitted is not None
        and stored
        and len(stored) > FIELD_LIMIT
        and submitted == stored[:FIELD_LIMIT].strip()
    ):
        return stored
    return submitted


def shipped_submitted(ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """Record (or edit) a shipment; every problem is shown inline, and nothing is stored with one."""
    problems: dict[str, str] = {}
    person, session, services = caller(context), session_of(context), services_of(context)
    data = metadata(view.get("private_metadata") or "")
    draft_source = data.get("draft") if isinstance(data.get("draft"), str) else None
    draft = shipment_from_source(session, person, draft_source) if draft_source else None
    if draft is not None and draft.state != ShipmentState.DRAFT:
        draft = None
    what = _text(view, ShippedField.WHAT, SHIPPED_LABELS[ShippedField.WHAT], required=True, problems=problems)
    expected = _text(
        view, ShippedField.EXPECTED, SHIPPED_LABELS[ShippedField.EXPECTED], required=True, problems=problems
    )
    link = _text(
        view, ShippedField.LINK, SHIPPED_LABELS[ShippedField.LINK], required=False, problems=problems
    )
    editing = metadata_id(view.get("private_metadata") or "", "shipment")
    shipment = shipment_of(session, person, editing) if editing is not None else None
    if editing is not None and (
        shipment is None or shipment.loop_id is None or shipment.state == ShipmentState.DRAFT
    ):
        raise InvalidInput(NOT_YOURS)
    # Left as the modal showed it, the whole of a long text (typed into /shipped, or stored) stays.
    kept = draft if draft is not None else shipment
    if kept is not None:
        what, expected = _kept_whole(what, kept.what), _kept_whole(expected, kept.expected_change)
    wait: Wait | None = services.settings.loops_checkin_after
    try:
        wait = _wait(
            view, ShippedField.WAIT, services.settings.loops_checkin_after, may_keep=shipment is not None
        )
    except InvalidInput as problem:
        problems.update(problem.fields)
    loop: Loop | None = None
    if shipment is None:
        picked = chosen(view, ShippedField.LOOP, FIELD_INPUT)
        if picked is None:
            problems[ShippedField.LOOP] = "Pick the loop this answers, or “Not linked”."
        elif picked != NOT_LINKED:
            loop_id = row_id(picked)
            loop = loop_of(session, person, loop_id) if loop_id is not None else None
            if loop is None:
                problems[ShippedField.LOOP] = NOT_YOURS
    if problems:
        raise InvalidFields(problems)
    assert what is not None and expected is not None
    on = picked_date(view, ShippedField.ON_DATE, FIELD_INPUT)
    if shipment is not None:
        recorded = edit_shipment(
            session, person, services, shipment, what=what, expected=expected, link=link, wait=wait, on=on
        )
    else:
        recorded = record_shipment(
            session,
            person,
            services,
            loop=loop,
            what=what,
            expected=expected,
            link=link,
            wait=wait or services.settings.loops_checkin_after,
            on=on,
            source=f"view:{view.get('id')}"[:64],
            draft=draft,
        )
    ack()
    send, note, question = recorded.send, recorded.update_note, recorded.update_question
    defer(context, lambda: send_now(services, send))
    if note is not None:
        defer(context, lambda: refresh_note(services, client, note))
    if question is not None:
        defer(context, lambda: refresh_question(services, client, question))


CHECKIN_LABELS = {
    CheckinField.HAPPENED: "what happened",
    CheckinField.NEXT: "what's next",
    CheckinField.TELLABLE: "what would make it tellable",
}


def checkin_submitted(ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """One answer per ask: the loop closes, or carries on with its next step (and a re-ask)."""
    person, session, services = caller(context), session_of(context), services_of(context)
    data = metadata(view.get("private_metadata") or "")
    checkin_id = row_id(data.get("checkin"))
    item = checkin_of(session, person, checkin_id) if checkin_id is not None else None
    problems: dict[str, str] = {}
    answer: CheckinAnswer | None = None
    try:
        if data.get("answer") is None:  # **Check it now**: the answer is the form's first input
            picked = chosen(view, CheckinField.ANSWER, FIELD_INPUT)
            if picked is None:
                problems[CheckinField.ANSWER] = (
                    "Pick what happened: changed, no change, can't tell yet or worse."
                )
            else:
                answer = CheckinAnswer(picked)
        else:
            answer = CheckinAnswer(str(data.get("answer")))
    except ValueError:
        item = None
    if item is None:
        raise InvalidInput(NOT_YOURS)
    if answer is None:
        raise InvalidFields(problems)
    happened = _text(
        view, CheckinField.HAPPENED, CHECKIN_LABELS[CheckinField.HAPPENED], required=True, problems=problems
    )
    closes = answer is CheckinAnswer.CHANGED and CLOSE_LOOP in ticked(view, CheckinField.CLOSED, FIELD_INPUT)
    next_step = _text(
        view, CheckinField.NEXT, CHECKIN_LABELS[CheckinField.NEXT], required=not closes, problems=problems
    )
    tellable = None
    if answer is CheckinAnswer.CANT_TELL and asks_tellable(item.shipment):
        tellable = _text(
            view,
            CheckinField.TELLABLE,
            CHECKIN_LABELS[CheckinField.TELLABLE],
            required=True,
            problems=problems,
        )
    again = None
    if answer is CheckinAnswer.CANT_TELL:
        try:
            again = _wait(view, CheckinField.ASK_AGAIN, ASK_AGAIN)
        except InvalidInput as problem:
            problems.update(problem.fields)
    if problems:
        raise InvalidFields(problems)
    assert happened is not None
    answered = answer_checkin(
        session,
        person,
        services,
        item,
        answer,
        happened=happened,
        next_step=next_step,
        closes=closes,
        again=again,
        tellable=tellable,
    )
    ack()
    if not answered.first:
        return
    outcome, question = answered.outcome, answered.question
    if outcome is not None:
        defer(context, lambda: send_now(services, [outcome]))
    if question is not None:
        defer(context, lambda: refresh_question(services, client, question))
    where = data.get("where")
    if isinstance(where, list) and len(where) == 2:
        prompt = prompt_in_thread(session, person, str(where[0]), str(where[1]))
        if prompt is not None:
            prompt_id = prompt.id
            defer(context, lambda: refresh_prompt(services, client, prompt_id))


def settings_submitted(ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """Save the person's own schedule and re-plan what is pending, at once."""
    services = services_of(context)
    problems: dict[str, str] = {}
    at = picked_time(view, SettingsField.PROMPT_TIME, FIELD_INPUT)
    if at is None:
        problems[SettingsField.PROMPT_TIME] = "Pick a time, such as 09:30."
    days = ticked(view, SettingsField.WORKDAYS, FIELD_INPUT)
    workdays = frozenset(WEEKDAYS.index(d) for d in days if d in WEEKDAYS)
    if not workdays or len(workdays) != len(days):
        problems[SettingsField.WORKDAYS] = "Pick at least one workday."
    typed_zone = (typed(view, SettingsField.TZ, FIELD_INPUT) or "").strip()
    if typed_zone and not known_zone(typed_zone):
        problems[SettingsField.TZ] = (
            f"I don't know the time zone “{typed_zone[:64]}”. "
            "Use a name such as Europe/Berlin, or leave it empty."
        )
    try:
        wait = _wait(view, SettingsField.CHECKIN_AFTER, services.settings.loops_checkin_after)
    except InvalidInput as problem:
        problems.update(problem.fields)
    if problems:
        raise InvalidFields(problems)
    assert at is not None and wait is not None
    before = person_of(context)
    slack_tz = None
    if not typed_zone and before is not None and not before.follows_slack_tz:
        # Back to Slack's zone: ask Slack now, while nothing is written.
        profile = fetch_profile(client, before.slack_user_id)
        slack_tz = profile.get("tz") if profile and isinstance(profile.get("tz"), str) else None
    person, session, now = caller(context), session_of(context), services.now()
    enrolment.set_schedule(
        person, services.defaults, now, at=at, workdays=workdays, tz=typed_zone or None, slack_tz=slack_tz
    )
    person.nudges = NUDGES_ON in ticked(view, SettingsField.NUDGES, FIELD_INPUT)
    if not person.nudges:
        skip_pending_prompts(
            session,
            person,
            before=None,
            reason="the person turned reminders off",
            kinds=(DeliveryKind.NUDGE,),
        )
    person.checkin_after = wait.value
    person.in_digest = IN_DIGEST_ON in ticked(view, SettingsField.IN_DIGEST, FIELD_INPUT)
    recheck_checkins(session, person, now)
    ack()
    words = f"Saved: {next_prompt_words(person)}." if person.enrolled else "Saved."
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
    in_channels = shared_posts(session, person)
    held = forget_person(session, person, str(context.team_id), services.now())
    logger.info("forgot a person of team %s at their request", context.team_id)
    ack(response_action="update", view=forgotten_modal(held))
    works: list[Callable[[], object]] = [
        lambda: client.chat_postMessage(channel=user_id, **thread_note(FORGOTTEN_WORDS))
    ]
    if had_home:
        works.append(lambda: client.views_publish(user_id=user_id, view=forgotten_home()))
    # What the daily thread showed of theirs goes too (each on its own: one already gone
    # must not keep the others).
    works += [partial(client.chat_delete, channel=channel, ts=ts) for channel, ts in in_channels]
    defer(context, *works)


def register(app: App) -> None:
    app.view(View.FORGET_ME)(forget_me_submitted)
    app.view(View.REFLECTION)(reflection_submitted)
    app.view(View.ANSWER)(answer_submitted)
    app.view(View.SHIPPED)(shipped_submitted)
    app.view(View.CHECKIN)(checkin_submitted)
    app.view(View.SETTINGS)(settings_submitted)
