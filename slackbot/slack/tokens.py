"""Which token the clock sends a workspace's messages with: SLACK_BOT_TOKEN's, or its install's.

In OAuth mode every workspace has its own bot token, kept in the installation store. The
clock works outside Bolt's requests, so it refreshes a rotating token itself (slack-sdk's
TokenRotator, as Bolt does for requests) within REFRESH_MINUTES_BEFORE_EXPIRY of its
expiry, and saves the new pair before using it: a refresh token is good once. A workspace
of an Enterprise Grid org has its install saved under the org's id, kept on its row.
"""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackTokenRotationError
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy import select

from slackbot.config import Settings
from slackbot.slack.client import SlackClient, delivery_client
from slackbot.store.db import Database
from slackbot.store.installations import REFRESH_MINUTES_BEFORE_EXPIRY, installation_store
from slackbot.store.models import Workspace, slack_bots

logger = logging.getLogger(__name__)


class WorkspaceClients:
    """A delivery client per workspace (one for all with SLACK_BOT_TOKEN)."""

    def __init__(self, settings: Settings, database: Database) -> None:
        self.base = delivery_client(settings)
        self.oauth = settings.oauth_mode
        self.database = database
        self._lock = threading.Lock()
        self._by_team: dict[str, SlackClient] = {}  # a refreshed token replaces the team's client
        self._unfound: set[str] = set()  # teams whose missing install was logged (once each)
        if self.oauth:
            assert settings.slack_client_id is not None and settings.slack_client_secret is not None
            self.store = installation_store(settings, database)
            self.rotator = TokenRotator(
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret.get_secret_value(),
                client=WebClient(base_url=settings.slack_api_url, timeout=10),
            )

    def for_team(self, team_id: str | None) -> SlackClient | None:
        """The client for one workspace; None when no usable install of it is found.

        Then nothing is sent there (no call without a token) and its deliveries wait. Finding
        nothing is not an uninstall: only Slack says that (app_uninstalled, tokens_revoked,
        or a refused token), and a lookup can miss for reasons of ours.
        """
        if not self.oauth:
            return self.base
        token = self._token(team_id) if team_id is not None else None
        with self._lock:
            if token is None:
                if team_id not in self._unfound:
                    self._unfound.add(str(team_id))
                    logger.warning(
                        "no usable install of Loops found for team %s: nothing is sent there and its "
                        "deliveries wait (installing Loops there again sends them)",
                        team_id,
                    )
                return None
            assert team_id is not None
            self._unfound.discard(team_id)
            client = self._by_team.get(team_id)
            if client is None or client.token != token:
                client = self._by_team[team_id] = self.base.with_token(token, team_id)
            return client

    def _enterprise_of(self, team_id: str) -> str | None:
        """The workspace's Grid org, under which its install is saved (None outside Grid); from
        the newest install itself when the workspace's row never got it (its write failed)."""
        with self.database.session() as session:
            known = session.scalar(select(Workspace.enterprise_id).where(Workspace.team_id == team_id))
            return known or session.scalar(
                select(slack_bots.c.enterprise_id)
                .where(slack_bots.c.team_id == team_id)
                .order_by(slack_bots.c.installed_at.desc())
                .limit(1)
            )

    def _token(self, team_id: str) -> str | None:
        enterprise_id = self._enterprise_of(team_id)
        bot = self.store.find_bot(enterprise_id=enterprise_id, team_id=team_id)
        if bot is None:
            return None
        if bot.bot_refresh_token is None:
            return bot.bot_token
        try:
            refreshed = self.rotator.perform_bot_token_rotation(
                bot=bot, minutes_before_expiration=REFRESH_MINUTES_BEFORE_EXPIRY
            )
        except SlackTokenRotationError as error:
            # Another process may have refreshed it first (the refresh token is spent): what it
            # saved is the token to use (the old one, if it saved nothing, still works until it expires).
            logger.warning(
                "refreshing %s's token: Slack said %s", team_id, error.api_error.response.get("error")
            )
            again = self.store.find_bot(enterprise_id=enterprise_id, team_id=team_id)
            return again.bot_token if again is not None and _alive(again) else None
        if refreshed is None:
            return bot.bot_token
        # The store keeps the pair in memory if it cannot save it (store/installations.py).
        self.store.save_bot(refreshed)
        return refreshed.bot_token


def _alive(bot: Bot) -> bool:
    """A token past its expiry is refused as token_expired: not worth a call."""
    return bot.bot_token_expires_at is None or bot.bot_token_expires_at > time.time()
