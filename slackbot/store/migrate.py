"""Bring a database to the newest schema with Alembic, from code (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from slackbot.config import SettingsError
from slackbot.store.db import Database

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = url
    return config


def upgrade(database: Database) -> None:
    """Migrate to head; running it on an up-to-date database changes nothing."""
    command.upgrade(alembic_config(database.url.render_as_string(hide_password=False)), "head")


def pending_revisions(database: Database) -> bool:
    """True when the schema is behind the code, so a process can refuse to start on it."""
    script = ScriptDirectory.from_config(alembic_config(database.url.render_as_string(hide_password=False)))
    with database.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current != set(script.get_heads())


def first_line(error: Exception) -> str:
    """The driver's own words, without SQLAlchemy's wrapping and links."""
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def require_current_schema(database: Database) -> None:
    """Stop a long-running process before it serves on a database it cannot use."""
    try:
        behind = pending_revisions(database)
    except SQLAlchemyError as error:
        raise SettingsError(f"DATABASE_URL: cannot use the database ({first_line(error)}).") from None
    if behind:
        raise SettingsError("the database schema is not up to date: run `slackbot migrate` first.")
