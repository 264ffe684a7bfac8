"""Events about people and the install: time zone changes, deactivation, uninstall."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import App, BoltContext

from slackbot.app.context import person_of, workspace_of
from slackbot.store.models import utcnow

logger = logging.getLogger(__name__)


def user_changed(event: dict[str, Any], context: BoltContext) -> None:
    """Keep a known person's time zone and activity current; strangers are not recorded."""
    person = person_of(context)
    user = event.get("user")
    if person is None or not isinstance(user, dict):
        return
    tz = user.get("tz")
    if isinstance(tz, str) and tz:
        person.tz = tz
    person.deactivated = bool(user.get("deleted", False))


def app_uninstalled(context: BoltContext) -> None:
    workspace = workspace_of(context)
    if workspace is not None and workspace.uninstalled_at is None:
        workspace.uninstalled_at = utcnow()
        logger.info("uninstalled from team %s", workspace.team_id)


def tokens_revoked(event: dict[str, Any], context: BoltContext) -> None:
    tokens = event.get("tokens") or {}
    if tokens.get("bot"):
        app_uninstalled(context)


def any_other_event(body: dict[str, Any]) -> None:
    """Acknowledge what we subscribe to but do not act on, so Slack does not retry it."""
    event = body.get("event") or {}
    logger.debug("ignoring event %s/%s", event.get("type"), event.get("subtype"))


def register(app: App) -> None:
    app.event("user_change")(user_changed)
    app.event("app_uninstalled")(app_uninstalled)
    app.event("tokens_revoked")(tokens_revoked)
    app.event(re.compile(".*"))(any_other_event)
