"""Opening and moving loops, and what Slack is told afterwards; shared by buttons, modals and replies.

The storing half runs inside the request's unit of work; the Slack half (`after_*`
functions) runs deferred, after the commit. A loop's root message is a delivery, so
if posting it fails here the clock posts it on its next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
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
from slackbot.store.deliveries import Owed, owe, owe_daily_share
from slackbot.store.digest import digest_channel_of, team_morning
from slackbot.store.loops import add_entry, index_terms, loop_from_source, next_loop_number
from slackbot.store.models import Delivery, Loop, Person
from slackbot.store.rows import lock
from slackbot.store.shipments import agenda_of

logger = logging.getLogger(__name__)

NUMBERING_ATTEMPTS = 5


@dataclass(frozen=True)
class Broken:
    """What opens a loop: what's broken, for whom, and how we know (checked already)."""

    what: str
    for_whom: str | None = None
    evidence: str | None = None
    private: bool = False  # never in the team digest or the daily thread


def open_loop(
    session: Session,
    person: Person,
    broken: Broken,
    *,
    source: str,
    now: datetime,
    prompt: Delivery | None = None,
    entry_ts: str | None = None,
    story: bool = True,
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
    loop = _numbered(
        session,
        person,
        lambda number: Loop(
            workspace_id=person.workspace_id,
            person_id=person.id,
            number=number,
            private=broken.private,
            what=broken.what,
            for_whom=broken.for_whom,
            evidence=broken.evidence,
            state=LoopState.OPEN,
            opened_at=now,
            source=source,
            prompt_id=prompt.id if prompt is not None else None,
        ),
    )
    index_terms(session, person.id, loop.id, broken.what, broken.for_whom, broken.evidence)
    if story:
        text = broken.what if not broken.for_whom else f"{broken.what}\nfor: {broken.for_whom}"
        add_entry(session, loop, "answer", text, slack_ts=entry_ts, at=now)
    if prompt is not None and prompt.answer is None:
        prompt.answer, prompt.answered_at = PromptAnswer.LOOP, now
    root = owe(
        session,
        Owed(DeliveryKind.LOOP_ROOT, person.workspace_id, person.id, str(loop.id), now, loop_id=loop.id),
    )
    return loop, root


def _numbered(session: Session, person: Person, loop_numbered: Callable[[int], Loop]) -> Loop:
    """The new loop stored under the person's next number ("Loop #N"). Another request of theirs
    may take that number first (read before this one began writing): then the next one."""
    for _ in range(NUMBERING_ATTEMPTS):
        loop = loop_numbered(next_loop_number(session, person))
        try:
            with session.begin_nested():
                session.add(loop)
        except IntegrityError:
            continue
        return loop
    raise RuntimeError(f"could not number a new loop for person {person.id}")


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
    add_entry(session, loop, to.value, note, slack_ts=ts, at=now)


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
    services.send_now([root_delivery])
    if prompt_id is not None:
        refresh_prompt(services, client, prompt_id)
    services.send_now([share])


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
