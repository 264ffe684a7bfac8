"""Typed access to what LoopsApp and the middleware put on Bolt's request context."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import BoltContext
from sqlalchemy.orm import Session

from slackbot.app.ids import ContextKey
from slackbot.app.services import Services
from slackbot.store.models import Person, Workspace


def session_of(context: BoltContext) -> Session:
    session = context.get(ContextKey.SESSION)
    assert isinstance(session, Session), "LoopsApp.dispatch puts a session on every request"
    return session


def services_of(context: BoltContext) -> Services:
    services = context.get(ContextKey.SERVICES)
    assert isinstance(services, Services), "LoopsApp.dispatch puts the services on every request"
    return services


def workspace_of(context: BoltContext) -> Workspace | None:
    workspace = context.get(ContextKey.WORKSPACE)
    return workspace if isinstance(workspace, Workspace) else None


def person_of(context: BoltContext) -> Person | None:
    person = context.get(ContextKey.PERSON)
    return person if isinstance(person, Person) else None


def caller(context: BoltContext) -> Person:
    """The person acting; every interactive request has one (the middleware ensures it)."""
    person = person_of(context)
    assert person is not None, "attach_person puts the caller on every interactive request"
    return person


def defer(context: BoltContext, *works: Callable[[], object]) -> None:
    """Run each of `works` after this request's commit, once Slack has its answer.

    Each runs on its own, so a failed thread note does not keep a loop's root from posting.
    """
    deferred = context.get(ContextKey.DEFERRED)
    assert isinstance(deferred, list)
    deferred.extend(works)
