"""The Slack surface of Loops: a Bolt app whose every request runs in one database session."""

from __future__ import annotations

import logging

from slack_bolt import App, BoltRequest, BoltResponse

from slackbot.app import middleware
from slackbot.app.client import request_client
from slackbot.app.errors import handle_error
from slackbot.app.ids import ContextKey
from slackbot.app.listeners import register_all
from slackbot.config import Settings
from slackbot.store.db import Database

logger = logging.getLogger(__name__)


class LoopsApp(App):
    """Bolt's App, with a unit of work around each request.

    Bolt's global middleware cannot wrap the listener (its `next()` only marks the
    request as passed on), so the session is opened and committed here instead.
    Listeners that must keep what a person typed whatever happens next commit early;
    the rest commits after the listener succeeds and before Slack gets its answer.
    """

    def __init__(self, *, database: Database, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.database = database

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        with self.database.session() as session:
            req.context[ContextKey.SESSION] = session
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
                session.commit()
            except Exception as error:
                session.rollback()
                req.context[ContextKey.FAILED] = False
                return handle_error(error, req, req.body)
            return response


def build_app(settings: Settings, database: Database) -> LoopsApp:
    """The Bolt app with every listener, middleware and the error handler registered."""
    app = LoopsApp(
        database=database,
        client=request_client(settings),
        signing_secret=settings.slack_signing_secret.get_secret_value()
        if settings.slack_signing_secret
        else None,
        # Answer Slack only after the listener has finished, so that what it stored is
        # committed before the person sees a reply and the session never crosses threads.
        process_before_response=True,
        # Checked lazily on the first request instead of at import: a web worker should
        # start, and answer /healthz, even while Slack is unreachable.
        token_verification_enabled=False,
        # Socket Mode requests arrive over our own websocket and carry no signature.
        request_verification_enabled=not settings.socket_mode,
    )
    middleware.register(app)
    register_all(app)
    app.error(handle_error)
    return app
