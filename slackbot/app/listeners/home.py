"""The App Home tab: published when opened, its switch for the morning prompt, and settings.

Any request that changes what the tab shows redraws it after the commit (store/changes.py
notes whose rows changed); opening the tab always redraws it, since days move on.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from slackbot.app import people
from slackbot.app.context import caller, person_of, services_of, session_of
from slackbot.app.payloads import trigger_of
from slackbot.blocks.ids import Action
from slackbot.slack.profile import fetch_profile
from slackbot.store.changes import changed_people
from slackbot.store.models import Person


def redraw_home(context: BoltContext, person: Person) -> None:
    """Publish the person's tab after this request's commit (if they have ever opened it)."""
    changed_people(session_of(context)).add(person.id)


def home_opened(event: dict[str, Any], context: BoltContext) -> None:
    """Acknowledge at once; the view is published after the commit (a new person is stored first)."""
    if event.get("tab") != "home":
        return
    person, services = caller(context), services_of(context)
    if person.home_opened_at is None:
        person.home_opened_at = services.now()
    redraw_home(context, person)


def switch(ack: Ack, action: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """Start, stop, pause for a week or resume, from the Home tab."""
    chosen = action["action_id"]
    # Slack first, while nothing is written yet: a new person is stored by `caller`.
    profile = fetch_profile(client, str(context.user_id)) if chosen == Action.HOME_START else None
    person, services, session = caller(context), services_of(context), session_of(context)
    if chosen == Action.HOME_START:
        people.start(person, profile, session, services)
    elif chosen == Action.HOME_STOP:
        people.stop(person, session)
    elif chosen == Action.HOME_PAUSE_WEEK:
        people.pause(person, "1 week", session, services)
    else:
        people.resume(person, session, services)
    if person.home_opened_at is None:  # the click came from the tab, so the person has one
        person.home_opened_at = services.now()
    ack()
    redraw_home(context, person)


def open_settings(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """The settings form, as `/loops settings` opens it (only reads, so Slack is called first)."""
    client.views_open(
        trigger_id=trigger_of(body), view=people.settings_form(person_of(context), services_of(context))
    )
    ack()


def thread_link(ack: Ack) -> None:
    """Slack opens the link itself; the click it sends us only needs its answer."""
    ack()


def register(app: App) -> None:
    app.event("app_home_opened")(home_opened)
    for action_id in (Action.HOME_START, Action.HOME_STOP, Action.HOME_PAUSE_WEEK, Action.HOME_RESUME):
        app.action(action_id)(switch)
    app.action(Action.HOME_SETTINGS)(open_settings)
    app.action(re.compile(f"^{Action.LOOP_THREAD}:[0-9]+$"))(thread_link)
