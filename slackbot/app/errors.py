"""The one error handler: domain errors become friendly words, surprises an apology and a log line.

Slack never sees a 500 from us for a person's action: a slash command gets an
ephemeral reply, a button click a reply through its response_url (or a DM when it
came from the Home tab, which has none), a modal inline errors or an error screen.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any
from urllib.error import URLError

from slack_bolt import BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from slackbot.app.context import ContextKey
from slackbot.blocks.errors import (
    APOLOGY,
    DATABASE_DOWN,
    SLACK_DOWN,
    SLACK_REFUSED,
    error_message,
    error_modal,
)
from slackbot.core.errors import LoopsError
from slackbot.slack.client import HeldBySlack, SlackUnavailable

logger = logging.getLogger(__name__)

JSON_HEADERS: dict[str, str | Sequence[str]] = {"content-type": "application/json;charset=utf-8"}


def is_database_outage(error: BaseException) -> bool:
    """A database that cannot be reached (or is too busy), as opposed to a bug in a query."""
    return isinstance(error, OperationalError | PoolTimeout) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


def is_slack_outage(error: BaseException) -> bool:
    """Slack did not answer, or answered 5xx or 429: the same request may well work later."""
    if isinstance(error, SlackUnavailable | HeldBySlack | OSError | URLError):
        return True
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", 200)
        return bool(status == 429 or status >= 500)
    return False


def words_for(error: BaseException) -> str:
    """What the person reads; logs the error at the level it deserves."""
    if isinstance(error, LoopsError):
        logger.info("refused: %s", error.user_message)
        return error.user_message
    if is_database_outage(error):
        logger.error("database unavailable: %s", error)
        return DATABASE_DOWN
    if is_slack_outage(error):
        logger.error("Slack unavailable: %s", error)
        return SLACK_DOWN
    if isinstance(error, SlackApiError):
        # Slack answered and refused (an expired trigger, a message gone): not a bug of ours.
        logger.warning("Slack refused a call: %s", error.response.get("error"))
        return SLACK_REFUSED
    logger.error("unexpected error while handling a Slack request", exc_info=error)
    return APOLOGY


def handle_error(error: Exception, request: BoltRequest, body: dict[str, Any]) -> BoltResponse:
    """Bolt calls this for any exception in middleware or listeners (see `App.error`)."""
    request.context[ContextKey.FAILED] = True
    text = words_for(error)
    kind = body.get("type")
    if "command" in body:
        return BoltResponse(
            status=200,
            headers=JSON_HEADERS,
            body=json.dumps({"response_type": "ephemeral", **error_message(text)}),
        )
    if kind == "view_submission":
        fields = error.fields if isinstance(error, LoopsError) else {}
        if fields:
            answer: dict[str, Any] = {"response_action": "errors", "errors": fields}
        else:
            answer = {"response_action": "update", "view": error_modal(text)}
        return BoltResponse(status=200, headers=JSON_HEADERS, body=json.dumps(answer))
    if kind == "block_actions":
        # After the answer: Slack is waiting for it, and telling the person takes a call.
        services = request.context.get(ContextKey.SERVICES)
        if services is not None:
            services.run_later(lambda: _tell_person(request, body, text))
        return BoltResponse(status=200, body="")
    if kind == "event_callback" and (is_database_outage(error) or is_slack_outage(error)):
        # Nothing was stored; 503 asks Slack to deliver the event again later, so a
        # message typed during an outage is not lost (the event_id dedupe keeps it once).
        return BoltResponse(status=503, body="")
    return BoltResponse(status=200, body="")


def _tell_person(request: BoltRequest, body: dict[str, Any], text: str) -> None:
    """Best effort: the person should learn their click did nothing; failing here is only logged."""
    try:
        respond = request.context.respond
        if body.get("response_url") and respond is not None:
            respond(response_type="ephemeral", replace_original=False, **error_message(text))
            return
        user_id = request.context.user_id
        client = request.context.client
        if user_id and isinstance(client, WebClient):
            client.chat_postMessage(channel=user_id, **error_message(text))
    except Exception:
        logger.exception("could not tell the person about an error")
