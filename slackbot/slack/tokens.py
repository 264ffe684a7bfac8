"""Which token the clock sends a workspace's messages with: SLACK_BOT_TOKEN's, or its install's.

In OAuth mode every workspace has its own bot token, kept in the installation store. The
clock works outside Bolt's requests, so it refreshes a rotating token itself (slack-sdk's
TokenRotator, as Bolt does for requests) within REFRESH_MINUTES_BEFORE_EXPIRY of its
expiry, and saves the new pair before using it: a refresh token is good once.
"""

from __future__ import annotations

import logging
import threading

from slack_sdk import WebClient
from slack_sdk.errors import SlackTokenRotationError
from slack_sdk.oauth.token_rotation import TokenRotator

from slackbot.config import Settings
from slackbot.slack.client import SlackClient, delivery_client
from slackbot.store.db import Database
from slackbot.store.installations import REFRESH_MINUTES_BEFORE_EXPIRY, installation_store

logger = logging.getLogger(__name__)


class WorkspaceClients:
    """A delivery client per workspace (one for all with SLACK_BOT_TOKEN)."""

    def __init__(self, settings: Settings, database: Database) -> None:
        self.base = delivery_client(settings)
        self.oauth = settings.oauth_mode
        self._lock = threading.Lock()
        self._by_team: dict[str, SlackClient] = {}  # a refreshed token replaces the team's client
        if self.oauth:
            assert settings.slack_client_id is not None and settings.slack_client_secret is not None
            self.store = installation_store(settings, database)
            self.rotator = TokenRotator(
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret.get_secret_value(),
                client=WebClient(base_url=settings.slack_api_url, timeout=10),
            )

    def for_team(self, team_id: str | None) -> SlackClient:
        """The client for one workspace. With no install found, a client with no token: its calls
        fail as `not_authed`, which the outbox reads as the workspace gone (it is)."""
        if not self.oauth or team_id is None:
            return self.base
        token = self._token(team_id)
        if token is None:
            return self.base
        with self._lock:
            client = self._by_team.get(team_id)
            if client is None or client.token != token:
                client = self._by_team[team_id] = self.base.with_token(token, team_id)
            return client

    def _token(self, team_id: str) -> str | None:
        bot = self.store.find_bot(enterprise_id=None, team_id=team_id)
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
            again = self.store.find_bot(enterprise_id=None, team_id=team_id)
            return again.bot_token if again is not None else None
        if refreshed is None:
            return bot.bot_token
        self.store.save_bot(refreshed)
        return refreshed.bot_token
