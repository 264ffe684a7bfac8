"""The App Home tab: published when opened, and its switch for the morning prompt."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from slackbot.app import people
from slackbot.app.blocks.home import LOOPS_ON_HOME, home_view
from slackbot.app.context import caller, defer, services_of, session_of
from slackbot.app.ids import Action
from slackbot.app.services import Services
from slackbot.store.models import Person
from slackbot.store.queries import open_loops


def publish_home(services: Services, client: WebClient, person_id: int) -> None:
    """Render the person's Home tab from what is stored now and publish it."""
    with services.database.session() as session:
        person = session.get(Person, person_id)
        if person is None:
            return
        view = home_view(person, open_loops(session, person, LOOPS_ON_HOME), services.now())
        user_id = person.slack_user_id
    client.views_publish(user_id=user_id, view=view)


def home_opened(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """Acknowledge at once; the view is published after the commit (a new person is stored first)."""
    if event.get("tab") != "home":
        return
    person_id, services = caller(context).id, services_of(context)
    defer(context, lambda: publish_home(services, client, person_id))


def switch(ack: Ack, action: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """Start, stop, pause for a week or resume, from the Home tab."""
    person, services, session = caller(context), services_of(context), session_of(context)
    chosen = action["action_id"]
    if chosen == Action.HOME_START:
        people.start(person, client, services)
    elif chosen == Action.HOME_STOP:
        people.stop(person, session)
    elif chosen == Action.HOME_PAUSE_WEEK:
        people.pause(person, "1 week", session, services)
    else:
        people.resume(person, services)
    ack()
    defer(context, lambda: publish_home(services, client, person.id))


def register(app: App) -> None:
    app.event("app_home_opened")(home_opened)
    for action_id in (Action.HOME_START, Action.HOME_STOP, Action.HOME_PAUSE_WEEK, Action.HOME_RESUME):
        app.action(action_id)(switch)
