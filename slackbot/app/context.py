"""Typed access to what the store middleware put on Bolt's request context."""

from __future__ import annotations

from slack_bolt import BoltContext
from sqlalchemy.orm import Session

from slackbot.app.ids import ContextKey
from slackbot.store.models import Person, Workspace


def session_of(context: BoltContext) -> Session:
    session = context.get(ContextKey.SESSION)
    assert isinstance(session, Session), "LoopsApp.dispatch puts a session on every request"
    return session


def workspace_of(context: BoltContext) -> Workspace | None:
    workspace = context.get(ContextKey.WORKSPACE)
    return workspace if isinstance(workspace, Workspace) else None


def person_of(context: BoltContext) -> Person | None:
    person = context.get(ContextKey.PERSON)
    return person if isinstance(person, Person) else None
