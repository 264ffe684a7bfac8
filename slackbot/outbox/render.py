"""What each kind of delivery becomes at the moment it is sent, or why it is no longer sent.

Rendered at send time, not when planned: the prompt lists the loops open now, and a
nudge about a prompt answered meanwhile is withdrawn.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import time as time_of_day

from sqlalchemy.orm import Session

from slackbot.blocks.loop import loop_root_message
from slackbot.blocks.prompt import nudge_message, prompt_message
from slackbot.core.deliveries import PAUSED, STOPPED, DeliveryKind, DeliveryState
from slackbot.core.schedule import zone
from slackbot.outbox.model import Draft, Ended
from slackbot.store.models import Delivery, Loop, Person, Workspace
from slackbot.store.queries import prompt_of

WORKSPACE_GONE_REASON = "the workspace uninstalled Loops"
PERSON_GONE_REASON = "Slack cannot reach this person"


def render(
    session: Session,
    delivery: Delivery,
    person: Person,
    workspace: Workspace,
    open_loops: list[Loop],
    now: datetime,
    *,
    catch_up: timedelta,
    day_end: time_of_day,
) -> Draft | Ended:
    """Where the message goes and what it says now, or why it is not sent."""
    kind = DeliveryKind(delivery.kind)
    reason = no_longer_wanted(delivery, person, workspace)
    if reason in {WORKSPACE_GONE_REASON, PERSON_GONE_REASON}:
        return Ended(DeliveryState.SKIPPED, reason, "skipped")  # Slack cannot be asked anyway
    if kind is DeliveryKind.LOOP_ROOT:
        loop = session.get(Loop, delivery.loop_id)
        assert loop is not None and loop.person_id == person.id
        if loop.thread_ts:
            return Ended(DeliveryState.SENT, None, None)
        return Draft(person.dm_channel, None, loop_root_message(loop, zone(person.tz)))
    if kind is DeliveryKind.PROMPT:
        where: tuple[str | None, str | None] | None = (person.dm_channel, None)
    else:
        prompt = prompt_of(session, person, delivery.key)
        where = (prompt.channel, prompt.slack_ts) if prompt is not None and prompt.slack_ts else None
        if prompt is not None and prompt.answer:
            reason = reason or "the prompt was answered"
        elif where is None:
            reason = reason or "no prompt was sent"
    if reason:
        return Ended(DeliveryState.SKIPPED, reason, "skipped", where)
    if now - delivery.due_at > catch_up:
        return Ended(
            DeliveryState.MISSED, f"{now - delivery.due_at} late; catch-up window passed", "missed", where
        )
    if kind is DeliveryKind.NUDGE:
        local = now.astimezone(zone(person.tz))
        if local.date().isoformat() != delivery.key or local.time() > day_end:
            return Ended(DeliveryState.MISSED, "the working day was over", "missed", where)
        assert where is not None
        return Draft(where[0], where[1], nudge_message())
    body = prompt_message(prompt_id=delivery.id, welcome_back=person.welcome_back, loops=open_loops, now=now)
    return Draft(person.dm_channel, None, body)


def no_longer_wanted(delivery: Delivery, person: Person, workspace: Workspace) -> str | None:
    """Why a delivery should not go out any more, or None."""
    if workspace.uninstalled_at is not None:
        return WORKSPACE_GONE_REASON
    if person.deactivated or person.blocked_reason:
        return PERSON_GONE_REASON
    if delivery.kind in {DeliveryKind.PROMPT, DeliveryKind.NUDGE}:
        if not person.enrolled:
            return STOPPED
        if person.paused_until is not None and delivery.key < person.paused_until.isoformat():
            return PAUSED
    return None
