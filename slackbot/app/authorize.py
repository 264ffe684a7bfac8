"""Who the bot is, for Bolt: a one-workspace `authorize` that does not tell people to reinstall.

The Slack clients themselves live in `slackbot.slack.client`, shared with the clock.
"""

from __future__ import annotations

import threading
from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from slackbot.config import Settings
from slackbot.core.deliveries import TOKEN_PASSING, WORKSPACE_GONE
from slackbot.core.errors import LoopsError
from slackbot.slack.client import SlackUnavailable, bot_token


class TokenRefused(LoopsError):
    """Slack refuses the bot token: nothing works until the app is reinstalled."""

    def __init__(self, error: str) -> None:
        super().__init__(
            f"Slack refused Loops' token ({error}). Please ask a workspace admin to reinstall the Loops app."
        )


# What someone in another workspace is told when a one-workspace Loops gets their command.
NOT_INSTALLED_HERE = (
    "Loops is not installed here. This Loops runs in one Slack workspace only, and it is not this one."
)


class NotInstalledHere(LoopsError):
    """A request from another workspace than the token's: Loops does not run there."""

    def __init__(self) -> None:
        super().__init__(NOT_INSTALLED_HERE)


class SingleWorkspace:
    """Bolt's `authorize` for a one-workspace install (SLACK_BOT_TOKEN).

    Bolt's built-in single-team authorization calls auth.test on the first request and,
    if that fails for any reason, tells the person to reinstall the app. Here a failure
    is an error like any other: an apology now, a retry from Slack for events, and the
    identity is cached once Slack has answered.
    """

    def __init__(self, settings: Settings, client: WebClient) -> None:
        self.token = bot_token(settings)
        self.client = client
        self._identity: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def resolve(self, enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
        with self._lock:
            if self._identity is None:
                self._identity = self._auth_test()
            identity = self._identity
        if team_id and team_id != identity.get("team_id"):
            raise NotInstalledHere()
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=self.token,
            bot_id=identity.get("bot_id"),
            bot_user_id=identity.get("user_id"),
            user_id=user_id,
        )

    def known_team(self) -> str | None:
        """The token's team, once auth.test has told it (until then `resolve` checks)."""
        with self._lock:
            return None if self._identity is None else self._identity.get("team_id")

    def _auth_test(self) -> dict[str, Any]:
        try:
            response = self.client.auth_test(token=self.token)
        except SlackApiError as error:
            code = str(error.response.get("error"))
            if code in WORKSPACE_GONE | TOKEN_PASSING:  # one fixed token: nothing will mend it
                raise TokenRefused(code) from error
            raise SlackUnavailable(f"auth.test: {code}") from error
        except Exception as error:
            raise SlackUnavailable(f"auth.test: {error!r}") from error
        return dict(response.data) if isinstance(response.data, dict) else {}

    def as_bolt_authorize(self) -> Any:
        """A plain function: Bolt passes arguments by the names it reads off the signature."""

        def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
            return self.resolve(enterprise_id, team_id, user_id)

        return authorize
