"""The App Home tab: published when opened, and its switch for the morning prompt."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from slackbot.app import people
from slackbot.app.context import caller, defer, services_of, session_of
from slackbot.app.services import Services
from slackbot.blocks.home import LOOPS_ON_HOME, home_view
from slackbot.blocks.ids import Action
from slackbot.outbox.profile import fetch_profile
from slackbot.store.models import Person
from slackbot.store.queries import agenda_of


def publish_home(services: Services, client: WebClient, person_id: int) -> None:
    """Render the person's Home tab from what is stored now and publish it."""
    with services.database.session() as session:
        person = session.get(Person, person_id)
        if person is None:
            return
        view = home_view(person, agenda_of(session, person, LOOPS_ON_HOME), services.now())
        user_id = person.slack_user_id
    client.views_publish(user_id=user_id, view=view)


def home_opened(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """Acknowledge at once; the view is published after the commit (a new person is stored first)."""
    if event.get("tab") != "home":
        return
    person, services = caller(context), services_of(context)
    if person.home_opened_at is None:
        person.home_opened_at = services.now()
    person_id = person.id
    defer(context, lambda: publish_home(services, client, person_id))


def redraw_home(context: BoltContext, client: WebClient, person: Person) -> None:
    """After a change, redraw the Home tab of someone who has one (nobody else would see it)."""
    if person.home_opened_at is not None:
        services, person_id = services_of(context), person.id
        defer(context, lambda: publish_home(services, client, person_id))


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
    redraw_home(context, client, person)


def register(app: App) -> None:
    app.event("app_home_opened")(home_opened)
    for action_id in (Action.HOME_START, Action.HOME_STOP, Action.HOME_PAUSE_WEEK, Action.HOME_RESUME):
        app.action(action_id)(switch)
