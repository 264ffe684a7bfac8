"""Global middleware: drop Events API retries we already handled, give the request our Slack
client, and name the caller.

It runs after Bolt's own middleware (its signature check, where one is made, and authorize),
inside the request's session that `LoopsApp.dispatch` opened. Naming the caller only reads: a
person (or workspace) seen for the first time is stored when a listener asks for them
(`context.caller`), so a request that only reads never writes, and a refused one stores nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

from slackbot.app.context import ContextKey, session_of
from slackbot.slack.client import SlackClient
from slackbot.store.events import remember_event
from slackbot.store.leaving import mark_reinstalled
from slackbot.store.people import find_caller

logger = logging.getLogger(__name__)


class NameTheCaller(Middleware):
    """The three steps as one Bolt `Middleware`: Bolt calls its `process` as it is, where a plain
    function has its arguments worked out afresh on every request."""

    def __init__(self, client: SlackClient) -> None:
        self.client = client

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        handled = skip_handled_events(req.context, req.body)
        if handled is not None:
            return handled
        # Bolt gives each request a plain WebClient with the token authorize found; ours keeps
        # the rules every call of Loops follows (slack/client.py), with that same token.
        req.context["client"] = self.client.copy_for(req.context.token, req.context.team_id)
        attach_person(req.context, req.body)
        return next()


def skip_handled_events(context: BoltContext, body: dict[str, Any]) -> BoltResponse | None:
    """Slack redelivers an event it thinks we missed; act on each `event_id` once (the answer
    to a redelivery, or None to go on)."""
    event_id = body.get("event_id")
    if (
        body.get("type") == "event_callback"
        and isinstance(event_id, str)
        and not remember_event(session_of(context), event_id, context.team_id)
    ):
        logger.info("event %s was handled before; ignoring this delivery", event_id)
        return BoltResponse(status=200, body="")
    return None


def attach_person(context: BoltContext, body: dict[str, Any]) -> None:
    """Put the workspace and the calling person, as far as Loops knows them, on the context."""
    if not context.team_id:
        return
    session = session_of(context)
    workspace, person = find_caller(session, context.team_id, context.user_id)
    context[ContextKey.WORKSPACE], context[ContextKey.PERSON] = workspace, person
    from_a_person = body.get("type") != "event_callback"
    if from_a_person and workspace is not None and workspace.uninstalled_at:
        # Slack only sends a person's commands and clicks to an installed app: it was
        # installed again. Committed on its own, before the listener may call Slack.
        mark_reinstalled(session, workspace)
        session.commit()
        logger.info("team %s installed Loops again", workspace.team_id)
