"""Typed access to what LoopsApp and the middleware put on Bolt's request context."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from slack_bolt import BoltContext
from sqlalchemy.orm import Session

from slackbot.app.services import Services
from slackbot.store.models import Person, Workspace
from slackbot.store.people import ensure_person, ensure_workspace


class ContextKey(StrEnum):
    """Keys this app adds to Bolt's per-request context."""

    SESSION = "loops_session"
    WORKSPACE = "loops_workspace"
    PERSON = "loops_person"
    FAILED = "loops_failed"
    SERVICES = "loops_services"
    DEFERRED = "loops_deferred"


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
    """The person acting, stored on first sight (with their workspace) in this request's transaction.

    This is a write for someone new: a listener that must call Slack (users.info,
    views.open) does so before it asks for the caller, never after.
    """
    person = person_of(context)
    if person is not None:
        return person
    team_id, user_id = context.team_id, context.user_id
    assert team_id and user_id, "the middleware refuses requests that name no person"
    session = session_of(context)
    workspace = workspace_of(context) or ensure_workspace(session, team_id)
    # The middleware looked for them already: create straight away.
    person = ensure_person(session, workspace, user_id, known_missing=True)
    context[ContextKey.WORKSPACE], context[ContextKey.PERSON] = workspace, person
    return person


def defer(context: BoltContext, *works: Callable[[], object]) -> None:
    """Run each of `works` after this request's commit, once Slack has its answer.

    Each runs on its own, so a failed thread note does not keep a loop's root from posting.
    """
    deferred = context.get(ContextKey.DEFERRED)
    assert isinstance(deferred, list)
    deferred.extend(works)
