"""Modal submissions: "Something's broken" becomes a loop, or inline errors say what to fix."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from slackbot.app.context import caller, defer, services_of, session_of
from slackbot.app.loops import after_opening, open_loop
from slackbot.app.payloads import metadata_id, typed
from slackbot.blocks.ids import FIELD_INPUT, Field, View
from slackbot.core.deliveries import DeliveryKind
from slackbot.core.errors import InvalidFields, InvalidInput
from slackbot.core.parse import check_field
from slackbot.store.models import Delivery

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
    _, root = open_loop(
        session,
        person,
        what=what,
        for_whom=answer[Field.FOR_WHOM],
        evidence=answer[Field.EVIDENCE],
        source=f"view:{view.get('id')}",
        prompt=prompt,
        entry_ts=None,
        now=services.now(),
    )
    ack()
    prompt_to_refresh = prompt.id if prompt is not None else None
    defer(context, lambda: after_opening(services, client, root, prompt_to_refresh))


def register(app: App) -> None:
    app.view(View.ANSWER)(answer_submitted)
