"""The Slack surface of Loops: a Bolt app whose every request runs in one database session."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from slackbot.app import middleware
from slackbot.app.client import SingleWorkspace
from slackbot.app.context import ContextKey
from slackbot.app.errors import handle_error
from slackbot.app.history import is_summary_read, kept_summary_ack
from slackbot.app.install import NOT_INSTALLED, build_oauth_flow
from slackbot.app.listeners import register_all
from slackbot.app.payloads import problem_with
from slackbot.app.services import Services, build_services
from slackbot.config import Settings
from slackbot.outbox.client import SlackClient, delivery_client, request_client
from slackbot.outbox.home import publish_home
from slackbot.store.db import Database
from slackbot.store.models import CheckIn, Delivery, Entry, Loop, Person, Reflection, Shipment

logger = logging.getLogger(__name__)


class LoopsApp(App):
    """Bolt's App, with a unit of work around each request.

    Bolt's global middleware cannot wrap the listener (its `next()` only marks the
    request as passed on), so the session is opened and committed here instead: what
    a listener stored is committed before Slack gets its answer. Work that only talks
    to Slack afterwards (posting a loop's thread, updating a message) is deferred with
    `defer()` and starts once the commit has succeeded; whatever must not be lost was
    stored as a delivery first, so the clock finishes it if that work fails.
    """

    def __init__(self, *, services: Services, client: SlackClient, **kwargs: object) -> None:
        super().__init__(client=client, **kwargs)  # type: ignore[arg-type]
        self.services = services
        self.request_client = client

    def _init_context(self, req: BoltRequest) -> None:
        # Bolt makes a plain WebClient for each request; ours keeps the outbox client's rules
        # (no Slack call inside a write transaction, 429 holds shared by the workspace).
        super()._init_context(req)
        req.context["client"] = self.request_client.copy_for(req.context.get("token"), req.context.team_id)

    def reads_kept_summary(self, body: dict[str, Any]) -> bool:
        """A plain `/loops` of the right shape: the web gate answers it from the kept summary
        when there is one (`kept_summary_ack`), before Bolt builds its request."""
        return is_summary_read(body) and problem_with(body) is None

    def kept_summary_ack(self, body: dict[str, Any]) -> str | None:
        """The ack of a plain `/loops` whose summary the clock kept, as JSON; None: Bolt runs
        the command as any other, and its answer is built after the ack.

        That summary is one row to read and needs nothing else Bolt does for a request (no
        token, no client, no session, no listener), while Bolt's own dispatch costs the
        worker more CPU than the read: so the gate asks this first. A workspace that
        uninstalled has no kept summary here: its command goes through Bolt, whose authorize
        refuses it or whose listener marks the install back.
        """
        return kept_summary_ack(self.services, str(body["team_id"]), str(body["user_id"]))

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        problem = problem_with(req.body)
        if problem is not None:
            # Signed, but not a payload Slack sends: refuse it before anything reads it.
            logger.warning("refused a signed request: %s", problem)
            return BoltResponse(status=400, body="bad request")
        deferred: list[Callable[[], object]] = []
        homes: set[int] = set()
        with self.services.database.session() as session:
            req.context[ContextKey.SESSION] = session
            req.context[ContextKey.SERVICES] = self.services
            req.context[ContextKey.DEFERRED] = deferred
            req.context[ContextKey.HOMES] = homes
            session.info[HOMES_CHANGED] = homes
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
                # A request that never touched the database (an ack, a history read handed on)
                # has no transaction: committing would begin one only to end it.
                if session.in_transaction():
                    session.commit()
            except Exception as error:
                session.rollback()
                return handle_error(error, req, req.body)
        for work in deferred:
            self.services.run_later(work)
        client = req.context.get("client")
        assert isinstance(client, WebClient), "_init_context puts a client on every request"
        for person_id in sorted(homes):
            self.services.run_later(self._home_publisher(client, person_id))
        return response

    def _home_publisher(self, client: WebClient, person_id: int) -> Callable[[], object]:
        services = self.services
        return lambda: publish_home(services.database, client, person_id, services.now(), services.defaults)


# What a person's Home tab shows: a request that changes any of these redraws it.
_ON_HOME = (Person, Loop, Entry, Shipment, CheckIn, Delivery, Reflection)


HOMES_CHANGED = "loops.homes_changed"  # Session.info key: the request's set of person ids


def watch_for_changes(database: Database) -> None:
    """Note whose Home tab a request changed, however its listener changed it.

    Listens once on the database's sessions; a session outside a request (the clock's,
    a reader's) carries no set and is passed over.
    """
    database.listen_to_sessions("before_flush", _note_homes_changed)


def _note_homes_changed(session: Session, _context: object, _instances: object) -> None:
    homes = session.info.get(HOMES_CHANGED)
    if homes is None:
        return
    for row in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(row, _ON_HOME) or (row in session.dirty and not session.is_modified(row)):
            continue
        person_id = row.id if isinstance(row, Person) else row.person_id
        if person_id is not None:
            homes.add(person_id)


def build_app(settings: Settings, database: Database, services: Services | None = None) -> LoopsApp:
    """The Bolt app with every listener, middleware and the error handler registered."""
    client = request_client(settings)
    # One workspace from SLACK_BOT_TOKEN, or any that installs through OAuth.
    who: dict[str, Any] = (
        {
            "oauth_flow": build_oauth_flow(settings, database, client),
            "user_facing_authorize_error_message": NOT_INSTALLED,
        }
        if settings.oauth_mode
        else {"authorize": SingleWorkspace(settings, client).as_bolt_authorize()}
    )
    app = LoopsApp(
        services=services or build_services(settings, database, delivery_client(settings)),
        client=client,
        **who,
        signing_secret=settings.slack_signing_secret.get_secret_value()
        if settings.slack_signing_secret
        else None,
        # Answer Slack only after the listener has finished, so that what it stored is
        # committed before the person sees a reply and the session never crosses threads.
        process_before_response=True,
        # Socket Mode requests arrive over our own websocket and carry no signature.
        request_verification_enabled=not settings.socket_mode,
    )
    watch_for_changes(app.services.database)
    middleware.register(app)
    register_all(app)
    app.error(handle_error)
    return app
