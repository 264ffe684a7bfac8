"""Global middleware: drop Events API retries we already handled, then name the caller.

Both run after Bolt has verified the signature, inside the request's session that
`LoopsApp.dispatch` opened, so what they write commits or rolls back with the listener.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse

from slackbot.app.context import session_of
from slackbot.app.ids import ContextKey
from slackbot.store.queries import ensure_person, ensure_workspace, find_person, remember_event

logger = logging.getLogger(__name__)

# Events in which a person talks to the bot: they become known to Loops. Other events
# (a profile change anywhere in the workspace) only touch people we already know.
EVENTS_FROM_THE_PERSON = frozenset({"app_home_opened", "message"})


def skip_handled_events(
    context: BoltContext, body: dict[str, Any], next: Callable[[], None]
) -> BoltResponse | None:
    """Slack redelivers an event it thinks we missed; act on each `event_id` once."""
    event_id = body.get("event_id")
    if (
        body.get("type") == "event_callback"
        and isinstance(event_id, str)
        and not remember_event(session_of(context), event_id, context.team_id)
    ):
        logger.info("event %s was handled before; ignoring this delivery", event_id)
        return BoltResponse(status=200, body="")
    next()
    return None


def attach_person(context: BoltContext, body: dict[str, Any], next: Callable[[], None]) -> None:
    """Put the workspace and the calling person on the context for every listener."""
    if context.team_id:
        session = session_of(context)
        workspace = ensure_workspace(session, context.team_id)
        context[ContextKey.WORKSPACE] = workspace
        user_id = context.user_id
        if user_id:
            event = body.get("event") if body.get("type") == "event_callback" else None
            if event is None or (isinstance(event, dict) and event.get("type") in EVENTS_FROM_THE_PERSON):
                context[ContextKey.PERSON] = ensure_person(session, workspace, user_id)
                if event is None and workspace.uninstalled_at is not None:
                    # Slack only sends a person's clicks and commands to an installed app.
                    workspace.uninstalled_at = None
            else:
                context[ContextKey.PERSON] = find_person(session, workspace, user_id)
    next()


def register(app: App) -> None:
    app.use(skip_handled_events)
    app.use(attach_person)
