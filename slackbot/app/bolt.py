"""The Bolt app of Loops: every request runs in one database session, committed before Slack
gets its answer; work that talks to Slack afterwards runs once the answer has gone."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped, warning_token_skipped
from slack_sdk import WebClient

from slackbot.app.authorize import NOT_INSTALLED_HERE, SingleWorkspace
from slackbot.app.context import ContextKey
from slackbot.app.errors import JSON_HEADERS, handle_error
from slackbot.app.install import NOT_INSTALLED, build_oauth_flow
from slackbot.app.listeners import actions, commands, events, home, views
from slackbot.app.middleware import NameTheCaller
from slackbot.app.payloads import is_response_url, problem_with
from slackbot.app.services import Services, build_services
from slackbot.blocks.errors import error_message
from slackbot.config import Settings
from slackbot.slack.client import delivery_client, request_client
from slackbot.slack.home import publish_home
from slackbot.store.changes import changed_people
from slackbot.store.db import Database

logger = logging.getLogger(__name__)


class _TokenWarnings(logging.Filter):
    """Bolt warns that SLACK_BOT_TOKEN "will be unused" whenever a client or authorize is given
    with it in the environment; Loops gives both on purpose, so the warning only alarms."""

    said = frozenset({warning_client_prioritized_and_token_skipped(), warning_token_skipped()})

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in self.said


logging.getLogger("slack_bolt.App").addFilter(_TokenWarnings())


class LoopsApp(App):
    """Bolt's App, with a unit of work around each request.

    Bolt's global middleware cannot wrap the listener (its `next()` only marks the
    request as passed on), so the session is opened and committed here instead: what
    a listener stored is committed before Slack gets its answer. Work that only talks
    to Slack afterwards (posting a loop's thread, updating a message, a history answer) is
    deferred with `defer()` and starts once the commit has succeeded; whatever must not be
    lost was stored as a delivery first, so the clock finishes it if that work fails. The
    Home tab of everyone whose rows the request changed (store/changes.py) is redrawn then too.
    """

    def __init__(self, *, services: Services, single: SingleWorkspace | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services
        self.single = single  # one-workspace mode: the token's identity

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        problem = problem_with(req.body)
        if problem is not None:
            # Signed, but not a payload Slack sends: refuse it before anything reads it.
            logger.warning("refused a signed request: %s", problem)
            return BoltResponse(status=400, body="bad request")
        elsewhere = self._from_elsewhere(req)
        if elsewhere is not None:
            return elsewhere
        url = req.context.response_url
        if url is not None and not is_response_url(url, self.services.settings.slack_api_url):
            _answer_without_response_url(req)
        deferred: list[Callable[[], object]] = []
        database = self.services.database
        with database.answering(), database.session() as session:
            req.context[ContextKey.SESSION] = session
            req.context[ContextKey.SERVICES] = self.services
            req.context[ContextKey.DEFERRED] = deferred
            try:
                response = super().dispatch(req)
            except Exception:
                # Bolt reads the body before any listener runs; a body it cannot read
                # is the sender's fault, and must not become a 500.
                logger.warning("unreadable Slack request", exc_info=True)
                return BoltResponse(status=400, body="bad request")
            if req.context.get(ContextKey.FAILED):
                session.rollback()
                return response
            try:
                # A request that never wrote (an ack, a history read) has nothing to commit.
                if session.in_transaction():
                    session.commit()
            except Exception as error:
                session.rollback()
                return handle_error(error, req, req.body)
            homes = sorted(changed_people(session))
        for work in deferred:
            self.services.run_later(work)
        client = req.context.client
        for person_id in homes:
            self.services.run_later(self._home_publisher(client, person_id))
        return response

    def _from_elsewhere(self, req: BoltRequest) -> BoltResponse | None:
        """One-workspace mode: a request from another workspace than the token's is answered
        here, before anything reads or writes (commands are told Loops is not installed there,
        the rest acknowledged and ignored). Before the token's team is known, authorize refuses
        such a request (NotInstalledHere) with the same words."""
        team = req.context.team_id
        if self.single is None or not team:
            return None
        ours = self.single.known_team()
        if ours is None or team == ours:
            return None
        logger.info("a request from team %s, where Loops is not installed: ignored", team)
        if "command" in req.body:
            answer = {"response_type": "ephemeral", **error_message(NOT_INSTALLED_HERE)}
            return BoltResponse(status=200, headers=JSON_HEADERS, body=json.dumps(answer))
        return BoltResponse(status=200, body="")

    def _home_publisher(self, client: WebClient, person_id: int) -> Callable[[], object]:
        services = self.services
        return lambda: publish_home(services.database, client, person_id, services.now(), services.defaults)


def _answer_without_response_url(req: BoltRequest) -> None:
    """A response_url that is not Slack's is never requested (it could point anywhere): answers
    meant for it go to the person by chat.postEphemeral where the request names a channel."""
    logger.warning("ignoring a response_url that is not Slack's: %.80r", req.context.response_url)
    req.body.pop("response_url", None)
    context = req.context
    del context["response_url"]

    def respond(text: str = "", blocks: Any = None, **_: Any) -> None:
        if context.channel_id and context.user_id:
            context.client.chat_postEphemeral(
                channel=context.channel_id, user=context.user_id, text=text, blocks=blocks
            )

    context["respond"] = respond


def build_app(settings: Settings, database: Database, services: Services | None = None) -> LoopsApp:
    """The Bolt app with every listener, middleware and the error handler registered.

    Bolt checks no signature itself: over HTTP the web gate (web.py) checks every request
    before Bolt sees it, and Socket Mode requests carry none.
    """
    client = request_client(settings)
    # One workspace from SLACK_BOT_TOKEN, or any that installs through OAuth.
    single = None if settings.oauth_mode else SingleWorkspace(settings, client)
    who: dict[str, Any] = (
        {
            "oauth_flow": build_oauth_flow(settings, database, client),
            "user_facing_authorize_error_message": NOT_INSTALLED,
        }
        if single is None
        else {"authorize": single.as_bolt_authorize()}
    )
    app = LoopsApp(
        services=services or build_services(settings, database, delivery_client(settings)),
        single=single,
        client=client,
        **who,
        # Answer Slack only after the listener has finished, so that what it stored is
        # committed before the person sees a reply and the session never crosses threads.
        process_before_response=True,
        request_verification_enabled=False,
    )
    app.use(NameTheCaller(client))
    for listeners in (commands, actions, views, home):
        listeners.register(app)
    # Last: its catch-all acknowledges every event no earlier listener took.
    events.register(app)
    app.error(handle_error)
    return app
