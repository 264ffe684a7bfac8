"""Opening and moving loops, and what Slack is told afterwards; shared by buttons, modals and replies.

The storing half runs inside the request's unit of work; the Slack half (`after_*`
functions) runs deferred, after the commit. A loop's root message is a delivery, so
if posting it fails here the clock posts it on its next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from slackbot.app.services import Services
from slackbot.blocks.loop import thread_note
from slackbot.blocks.prompt import LOOPS_SHOWN, prompt_message
from slackbot.core.deliveries import DeliveryKind
from slackbot.core.loops import LoopState, PromptAnswer, move
from slackbot.outbox.sender import tick_clock
from slackbot.outbox.team import owe_daily_share, team_morning
from slackbot.store.digest import digest_channel_of
from slackbot.store.models import Delivery, Loop, Person
from slackbot.store.queries import (
    add_delivery,
    add_entry,
    agenda_of,
    index_terms,
    lock,
    loop_from_source,
    next_loop_number,
)

logger = logging.getLogger(__name__)

NUMBERING_ATTEMPTS = 5


def open_loop(
    session: Session,
    person: Person,
    *,
    what: str,
    for_whom: str | None,
    evidence: str | None,
    source: str,
    prompt: Delivery | None,
    entry_ts: str | None,
    now: datetime,
    story: bool = True,
    private: bool = False,
) -> tuple[Loop, int | None]:
    """Store a new loop (once per `source`) and owe its root message; returns it and that delivery.

    The person's row is locked first: a modal submitted twice opens one loop, and two
    answers at once take numbers one after the other. `story`: the answer is the loop's
    first entry (a loop opened by `/shipped` starts with its shipment instead).
    """
    lock(session, person)
    if prompt is not None:
        lock(session, prompt)
    existing = loop_from_source(session, person, source)
    if existing is not None:
        return existing, None
    for _ in range(NUMBERING_ATTEMPTS):
        loop = Loop(
            workspace_id=person.workspace_id,
            person_id=person.id,
            number=next_loop_number(session, person),
            private=private,
            what=what,
            for_whom=for_whom,
            evidence=evidence,
            state=LoopState.OPEN,
            opened_at=now,
            source=source,
            prompt_id=prompt.id if prompt is not None else None,
        )
        try:
            with session.begin_nested():
                session.add(loop)
        except IntegrityError:
            # Another request of this person took the number first (read before this
            # request began writing); take the next one.
            continue
        break
    else:
        raise RuntimeError(f"could not number a new loop for person {person.id}")
    index_terms(session, person.id, loop.id, what, for_whom, evidence)
    if story:
        text = what if not for_whom else f"{what}\nfor: {for_whom}"
        add_entry(
            session,
            loop_id=loop.id,
            person_id=person.id,
            kind="answer",
            text=text,
            slack_ts=entry_ts,
            created_at=now,
        )
    if prompt is not None and prompt.answer is None:
        prompt.answer, prompt.answered_at = PromptAnswer.LOOP, now
    root = add_delivery(
        session,
        workspace_id=person.workspace_id,
        person_id=person.id,
        kind=DeliveryKind.LOOP_ROOT,
        key=str(loop.id),
        due_at=now,
        loop_id=loop.id,
    )
    return loop, root


def answer_prompt(prompt: Delivery, answer: PromptAnswer, now: datetime) -> bool:
    """Record the first answer to a prompt; later answers leave it as it was (True if recorded)."""
    if prompt.answer is not None:
        return False
    prompt.answer, prompt.answered_at = answer, now
    return True


def set_state(
    session: Session, loop: Loop, to: LoopState, *, now: datetime, note: str, ts: str | None
) -> None:
    loop.state = move(loop.state, to, number=loop.number)
    if to in {LoopState.DROPPED, LoopState.CLOSED}:
        loop.closed_at = now
    add_entry(
        session,
        loop_id=loop.id,
        person_id=loop.person_id,
        kind=to.value,
        text=note,
        slack_ts=ts,
        created_at=now,
    )


def share_morning(session: Session, services: Services, person: Person, loop: Loop) -> int | None:
    """A morning answer opened `loop`: owe it to the day's thread in the digest channel, if the
    workspace has one and the loop is shared; the delivery, to send at once."""
    channel = digest_channel_of(person.workspace, services.settings.default_digest_channel)
    if channel is None or loop.private or not person.in_digest:
        return None
    now, settings = services.now(), services.settings
    today, morning = team_morning(
        session, person.workspace, settings.loops_team_tz, settings.loops_prompt_time, now
    )
    return owe_daily_share(
        session,
        person.workspace,
        person,
        loop,
        channel=channel,
        on=today,
        thread_at=morning if now < morning else now,
        now=now,
    )


def after_opening(
    services: Services,
    client: WebClient,
    root_delivery: int | None,
    prompt_id: int | None,
    share: int | None = None,
) -> None:
    """Post the loop's root message now (the clock retries if this fails), then refresh the
    prompt; a shared answer follows in the day's thread once its root message is there."""
    if root_delivery is not None:
        services.sender.send_now(root_delivery, tick_clock(services.now()))
    if prompt_id is not None:
        refresh_prompt(services, client, prompt_id)
    if share is not None:
        services.sender.send_now(share, tick_clock(services.now()))


def redraw_sent(
    services: Services,
    client: WebClient,
    delivery_id: int,
    body_of: Callable[[Session, Delivery], dict[str, Any] | None],
) -> None:
    """Rewrite a message the outbox sent, from what is stored now (None from `body_of`: leave it)."""
    with services.database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None or delivery.slack_ts is None or delivery.channel is None:
            return
        body = body_of(session, delivery)
        channel, ts = delivery.channel, delivery.slack_ts
    if body is not None:
        client.chat_update(channel=channel, ts=ts, **body)


def refresh_prompt(services: Services, client: WebClient, prompt_id: int) -> None:
    """Redraw a sent prompt: its answer instead of the buttons, and the loops open now."""

    def body(session: Session, prompt: Delivery) -> dict[str, Any] | None:
        person = session.get(Person, prompt.person_id)
        assert person is not None
        return prompt_message(
            prompt_id=prompt.id,
            welcome_back=False,
            agenda=agenda_of(session, person, LOOPS_SHOWN),
            now=services.now(),
            answer=prompt.answer,
        )

    redraw_sent(services, client, prompt_id, body)


def post_in_thread(client: WebClient, channel: str | None, thread_ts: str | None, text: str) -> None:
    """A note in a thread (a loop's or a prompt's); `text` must be safe mrkdwn already."""
    if channel and thread_ts:
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, **thread_note(text))
