"""Installing Loops into any workspace: Bolt's OAuth flow, on our database, with pages in words.

With SLACK_CLIENT_ID and SLACK_CLIENT_SECRET set, `/slack/install` shows a short page with
the Add to Slack button, whose link (`/slack/install?start=slack`) issues the OAuth state and
redirects to Slack (so a crawler or a script reading the page writes no state row), Slack
sends the person back to `/slack/oauth_redirect`, and Bolt
exchanges the code (oauth.v2.access) and saves the installation in slack-sdk's SQLAlchemy
store (store/installations.py: our tables, tokens sealed). Every request is then authorized
from that store, with rotating tokens refreshed when near expiry (Bolt's
InstallationStoreAuthorize); the clock sends with each workspace's own token
(slack/tokens.py).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from functools import partial
from urllib.parse import urlencode

from slack_bolt import BoltResponse
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.error import BoltError
from slack_bolt.oauth import OAuthFlow
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy.exc import SQLAlchemyError

from slackbot.config import Settings
from slackbot.store.db import Database
from slackbot.store.installations import (
    REFRESH_MINUTES_BEFORE_EXPIRY,
    STATE_EXPIRY_SECONDS,
    installation_store,
    state_store,
)
from slackbot.store.leaving import mark_reinstalled
from slackbot.store.migrate import first_line
from slackbot.store.people import ensure_workspace

logger = logging.getLogger(__name__)

# The bot scopes of manifest.yml (tests/test_install.py checks they are the same).
BOT_SCOPES: Sequence[str] = (
    "commands",
    "chat:write",
    "im:write",
    "im:history",
    "users:read",
    "channels:read",
    "channels:history",
    "files:write",
)

HTML = {"Content-Type": "text/html; charset=utf-8"}

# What someone in a workspace without an installation sees (Bolt's authorize found no token).
NOT_INSTALLED = (
    "Loops isn't installed in this workspace (or was removed from it). "
    "A workspace admin can add it from Loops' install page."
)

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 36em;
       margin: 4em auto; padding: 0 1em; line-height: 1.5; color: #1d1c1d; }}
h1 {{ font-size: 1.6em; }}
</style>
</head>
<body>
<h1>{title}</h1>
{body}
</body>
</html>
"""

ADD_TO_SLACK = (
    '<a href="{url}"><img alt="Add to Slack" height="40" width="139" '
    'src="https://platform.slack-edge.com/img/add_to_slack.png" '
    'srcset="https://platform.slack-edge.com/img/add_to_slack.png 1x, '
    'https://platform.slack-edge.com/img/add_to_slack@2x.png 2x"></a>'
)


def page(title: str, *paragraphs: str) -> str:
    """A whole HTML page; `paragraphs` are HTML already (escape what a person or Slack typed)."""
    return _PAGE.format(title=html.escape(title), body="\n".join(f"<p>{p}</p>" for p in paragraphs))


def install_page(authorize_url: str) -> str:
    return page(
        "Add Loops to Slack",
        "Loops asks each person, on workday mornings, <em>what's broken right now, and for whom?</em> "
        "When they ship a fix, it comes back a few days later to ask what changed.",
        ADD_TO_SLACK.format(url=html.escape(authorize_url, quote=True)),
        "Slack will ask you to allow Loops into your workspace, then bring you back here.",
    )


# What each of Bolt's failure reasons means to the person in the browser.
FAILURES: dict[str, tuple[str, str]] = {
    "access_denied": (
        "Loops was not installed",
        "You cancelled on Slack's page, so nothing was installed. You can start again whenever you like.",
    ),
    "invalid_browser": (
        "This install link does not match this browser",
        "The install was started in another browser, or its cookie has gone. Start again from the "
        "install page in this browser.",
    ),
    "invalid_state": (
        "This install link has expired",
        "Install links work once, for ten minutes. Start again from the install page.",
    ),
    "missing_code": (
        "Slack did not confirm the install",
        "Slack sent you back without a confirmation. Start again from the install page.",
    ),
    "invalid_code": (
        "Slack did not confirm the install",
        "Slack refused the confirmation code (it may have been used already). Start again from the "
        "install page.",
    ),
    "storage_error": (
        "Loops could not save the install",
        "Slack confirmed the install, but Loops could not store it. Please try again in a minute.",
    ),
}

FAILURE_OTHERWISE = (
    "Loops was not installed",
    "Something went wrong on the way back from Slack. Please start again.",
)


# The query of the install page's link: only a request carrying it is given a state.
START = "start"


class LoopsOAuthFlow(OAuthFlow):
    """Bolt's OAuth flow with our install page, and states issued only on the way to Slack."""

    def handle_installation(self, request: BoltRequest) -> BoltResponse:
        """The page alone writes nothing; its link comes back here and Bolt issues the state and
        redirects (`install_page_rendering_enabled=False`), so each state row is a person's click."""
        if START in request.query:
            return super().handle_installation(request)
        team = request.query.get("team", [""])[0]
        link = "?" + urlencode({"team": team, START: "slack"} if team else {START: "slack"})
        return BoltResponse(status=200, body=install_page(link), headers=dict(HTML))

    def store_installation(self, request: BoltRequest, installation: Installation) -> None:
        """Bolt shows its failure page only for a BoltError: a database error would be a 500."""
        try:
            super().store_installation(request, installation)
        except BoltError:
            raise
        except Exception as error:
            # The driver's first line only: SQLAlchemy's message goes on with the tokens.
            raise BoltError(f"{type(error).__name__}: {first_line(error)}") from None


def authorize_url_for(api_url: str) -> str:
    """Slack's authorize page beside its Web API (the emulator serves both on one port)."""
    base = api_url.rstrip("/")
    base = base[: -len("/api")] if base.endswith("/api") else base
    return base + "/oauth/v2/authorize"


def installed(database: Database, args: SuccessArgs) -> BoltResponse:
    """Bolt saved the install: the workspace is ours (again, within the retention: all of it is kept)."""
    installation = args.installation
    team_id = installation.team_id
    try:
        with database.transaction() as session:
            if team_id:
                workspace = ensure_workspace(session, team_id)
                workspace.name = installation.team_name or workspace.name
                # A Grid workspace's install is kept under its org: the clock looks it up by both.
                workspace.enterprise_id = installation.enterprise_id
                if workspace.uninstalled_at is not None:
                    mark_reinstalled(session, workspace)
    except SQLAlchemyError as error:
        # The install itself is saved; the workspace's row is not: installing again mends it.
        logger.warning("an install of %s was saved but its workspace was not: %s", team_id, first_line(error))
        return _failure_page(FAILURES["storage_error"], 503, args.settings)
    logger.info("installed into %s (%s)", installation.team_name, team_id)
    name = html.escape(installation.team_name or "your workspace")
    return BoltResponse(
        status=200,
        body=page(
            "Loops is installed",
            f"Loops is now in <strong>{name}</strong>.",
            "In Slack, type <code>/loops start</code> to get your first morning question, or "
            "<code>/loops help</code> to see everything Loops does.",
            f'<a href="https://app.slack.com/client/{html.escape(team_id or "", quote=True)}">Open Slack</a>',
        ),
        headers={**HTML, "Set-Cookie": [args.settings.state_utils.build_set_cookie_for_deletion()]},
    )


def install_failed(args: FailureArgs) -> BoltResponse:
    """Why the install did not happen, in words, with the way back to the install page."""
    logger.warning("an install failed: %s %s", args.reason, args.error or "")
    # Our own store failing is not the person's doing, and passes: "try again in a minute".
    status = 503 if args.reason == "storage_error" else args.suggested_status_code
    return _failure_page(FAILURES.get(args.reason, FAILURE_OTHERWISE), status, args.settings)


def _failure_page(failure: tuple[str, str], status: int, settings: OAuthSettings) -> BoltResponse:
    title, words = failure
    return BoltResponse(
        status=status,
        body=page(title, html.escape(words), '<a href="/slack/install">Back to the install page</a>'),
        headers={**HTML, "Set-Cookie": [settings.state_utils.build_set_cookie_for_deletion()]},
    )


def build_oauth_flow(settings: Settings, database: Database, client: WebClient) -> LoopsOAuthFlow:
    """The flow for `App(oauth_flow=…)`: our stores, our pages, an authorize that caches auth.test."""
    assert settings.slack_client_id is not None and settings.slack_client_secret is not None
    secret = settings.slack_client_secret.get_secret_value()
    store = installation_store(settings, database)

    oauth_settings = OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=secret,
        scopes=list(BOT_SCOPES),
        installation_store=store,
        installation_store_bot_only=True,
        state_store=state_store(database),
        state_expiration_seconds=STATE_EXPIRY_SECONDS,
        install_page_rendering_enabled=False,  # our page, without a state (handle_installation)
        authorization_url=authorize_url_for(settings.slack_api_url),
        callback_options=CallbackOptions(success=partial(installed, database), failure=install_failed),
        token_rotation_expiration_minutes=REFRESH_MINUTES_BEFORE_EXPIRY,
    )
    # Bolt's default calls auth.test on every request; once per token is enough (a token's
    # identity never changes, and a rotated token is a new key).
    oauth_settings.authorize = InstallationStoreAuthorize(
        logger=logger,
        installation_store=store,
        client_id=settings.slack_client_id,
        client_secret=secret,
        token_rotation_expiration_minutes=REFRESH_MINUTES_BEFORE_EXPIRY,
        bot_only=True,
        cache_enabled=True,
        client=client,
    )
    return LoopsOAuthFlow(client=client, settings=oauth_settings)
