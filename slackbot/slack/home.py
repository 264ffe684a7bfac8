"""Publish a person's Home tab from what is stored now: for the app after a change, and
for the clock after a check-in reaches them.

It reads in a short session, then calls Slack with no transaction open. views.publish
replaces the whole tab, so a publish is never partial; two racing publishes may land in
either order, and the next change or opening of the tab draws it from what is stored then.
"""

from __future__ import annotations

import logging
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from slackbot.blocks.home import LOOPS_ON_HOME, first_square, home_view
from slackbot.core.enrolment import Defaults, schedule_for
from slackbot.store.db import Database
from slackbot.store.history import home_of
from slackbot.store.models import Person, Workspace

logger = logging.getLogger(__name__)


def team_url(database: Database, client: WebClient, workspace_id: int) -> str | None:
    """The workspace's Slack URL, asked of auth.test once and kept (None while Slack won't say)."""
    with database.session() as session:
        workspace = session.get(Workspace, workspace_id)
        if workspace is None or workspace.url:
            return workspace.url if workspace is not None else None
    try:
        url = str(client.auth_test()["url"])
    except (SlackApiError, KeyError, OSError) as error:
        logger.warning("auth.test gave no team URL; the Home tab goes without thread links: %s", error)
        return None
    with database.transaction() as session:
        found = session.get(Workspace, workspace_id)
        if found is not None:
            found.url = url
    return url


def publish_home(
    database: Database, client: WebClient, person_id: int, now: datetime, defaults: Defaults
) -> bool:
    """Render and publish the tab of someone who has opened it; False when there was nothing to do."""
    with database.session() as session:
        person = session.get(Person, person_id)
        if person is None or person.home_opened_at is None:
            return False
        workspace_id = person.workspace_id
        cached_url = person.workspace.url
    url = cached_url or team_url(database, client, workspace_id)
    with database.session() as session:
        person = session.get(Person, person_id)
        if person is None:
            return False
        schedule = schedule_for(person, defaults)
        today = schedule.local_date(now)
        home = home_of(session, person, now, first_day=first_square(today), today=today, shown=LOOPS_ON_HOME)
        view = home_view(person, home, schedule, now, url)
        user_id = person.slack_user_id
    client.views_publish(user_id=user_id, view=view)
    return True
