"""Where OAuth installs are kept: slack-sdk's SQLAlchemy stores, on our tables, tokens sealed.

The stores are slack-sdk's own (Bolt's OAuth flow, its authorize and its revocation
listeners all speak to them); what is ours is the schema (models.py, made by migrations)
and the sealing of every token column on the way in and out (core/sealing.py).
"""

from __future__ import annotations

import copy
import logging
import threading
from datetime import UTC, datetime
from typing import TypeVar

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import delete
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from slackbot.config import Settings
from slackbot.core.sealing import Sealer
from slackbot.store.db import Database
from slackbot.store.models import slack_oauth_states

logger = logging.getLogger(__name__)

# Ten minutes from "Add to Slack" to the redirect back, as Bolt's default.
STATE_EXPIRY_SECONDS = 600
# How long before a rotating token expires Bolt (for requests) and the clock refresh it.
REFRESH_MINUTES_BEFORE_EXPIRY = 120

_BOT_TOKENS = ("bot_token", "bot_refresh_token")
_ALL_TOKENS = (*_BOT_TOKENS, "user_token", "user_refresh_token")

T = TypeVar("T", Bot, Installation)

# Refreshed pairs not saved yet, by (client id, org, team): one for every store of the process
# (Bolt's and the clock's), so each uses the pair the other could not save.
_UNSAVED: dict[tuple[str, str | None, str | None], Bot] = {}
_UNSAVED_LOCK = threading.Lock()


def _with(found: T, fields: tuple[str, ...], change: object) -> T:
    """A copy of an installation or bot with each token field passed through `change`."""
    out = copy.copy(found)
    for name in fields:
        setattr(out, name, change(getattr(found, name)))  # type: ignore[operator]
    return out


class SealedInstallationStore(SQLAlchemyInstallationStore):
    """slack-sdk's SQLAlchemy installation store, with tokens encrypted at rest when a key is set.

    A refreshed token pair that cannot be saved is kept in memory (the process's), used, and
    saved again at each lookup until that works: Slack has spent the refresh token it replaces,
    so losing the pair would lose the workspace when its token expires.
    """

    def __init__(self, client_id: str, database: Database, sealer: Sealer) -> None:
        super().__init__(client_id=client_id, engine=database.engine)
        self.sealer = sealer
        self._installing = threading.local()

    def save(self, installation: Installation) -> None:
        # super().save() saves the bot too, through self.save_bot: already-sealed values pass.
        # An install that cannot be saved fails as a whole (the person is told to try again).
        self._installing.now = True
        try:
            super().save(_with(installation, _ALL_TOKENS, self.sealer.seal))
        finally:
            self._installing.now = False

    def save_bot(self, bot: Bot) -> None:
        if getattr(self._installing, "now", False) or bot.bot_refresh_token is None:
            super().save_bot(_with(bot, _BOT_TOKENS, self.sealer.seal))
            return
        key = (self.client_id, bot.enterprise_id, bot.team_id)
        with _UNSAVED_LOCK:
            _UNSAVED[key] = bot
        self._save_refreshed(key)

    def _save_refreshed(self, key: tuple[str, str | None, str | None]) -> Bot | None:
        """Save the pair kept for `key`, if any; the pair when it is still unsaved."""
        with _UNSAVED_LOCK:
            bot = _UNSAVED.get(key)
            if bot is None:
                return None
            try:
                stored = super().find_bot(enterprise_id=bot.enterprise_id, team_id=bot.team_id)
                if stored is None or stored.installed_at != bot.installed_at:
                    # Uninstalled (or installed again) since: the pair refreshes nothing kept.
                    del _UNSAVED[key]
                    return None
                super().save_bot(_with(bot, _BOT_TOKENS, self.sealer.seal))
            except SQLAlchemyError as error:
                logger.warning(
                    "could not save the refreshed token of team %s (%s); it is used from memory and "
                    "saved again at its next use",
                    bot.team_id,
                    type(error).__name__,
                )
                return bot
            del _UNSAVED[key]
            return None

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        key = (self.client_id, enterprise_id, team_id)
        if key in _UNSAVED:
            held = self._save_refreshed(key)
            if held is not None:
                return held
        found = super().find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
        )
        return None if found is None else _with(found, _BOT_TOKENS, self.sealer.open)

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        with _UNSAVED_LOCK:  # an uninstall: a pair kept in memory goes too
            _UNSAVED.pop((self.client_id, enterprise_id, team_id), None)
        super().delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = super().find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        return None if found is None else _with(found, _ALL_TOKENS, self.sealer.open)


def state_store(database: Database) -> SQLAlchemyOAuthStateStore:
    """The OAuth `state` values handed out by /slack/install, each good once for ten minutes."""
    return SQLAlchemyOAuthStateStore(expiration_seconds=STATE_EXPIRY_SECONDS, engine=database.engine)


def forget_expired_states(session: Session, now: datetime) -> int:
    """Delete the states nobody came back with (slack-sdk deletes only the ones used)."""
    cutoff = now.astimezone(UTC).replace(tzinfo=None)  # the column is naive UTC, as slack-sdk writes it
    result = session.execute(delete(slack_oauth_states).where(slack_oauth_states.c.expire_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


def warn_if_tokens_unsealed(settings: Settings) -> None:
    """Said once as a process starts: unsealed tokens are a choice the operator should know of."""
    if settings.oauth_mode and settings.loops_encryption_key is None:
        logger.warning(
            "Slack tokens are stored unencrypted in the database: set LOOPS_ENCRYPTION_KEY to a Fernet key "
            "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'; "
            "docs/OPERATIONS.md, Encrypting tokens)"
        )


def installation_store(settings: Settings, database: Database) -> SealedInstallationStore:
    """OAuth mode's store of installs, sealing with LOOPS_ENCRYPTION_KEY when it is set."""
    assert settings.slack_client_id is not None, "OAuth mode only"
    key = settings.loops_encryption_key
    return SealedInstallationStore(
        settings.slack_client_id, database, Sealer(key.get_secret_value() if key else None)
    )
