"""One scheduling pass (`tick`) and the APScheduler wiring that repeats it.

Every process that ticks (`clock`, `run`, cron calling `tick`) runs the same pass,
and the pass is safe to run in several processes at once: planning is idempotent
and sending claims each delivery under a lease.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from slackbot.clock.plan import PlanReport, PlanRules, plan_due
from slackbot.clock.roster import RosterReport, refresh_zones, sync_channel
from slackbot.clock.team import TeamRules, plan_digests
from slackbot.config import Settings
from slackbot.outbox.model import SendReport, SendRules
from slackbot.outbox.sender import Sender, tick_clock
from slackbot.slack.client import SlackClient, delivery_client
from slackbot.slack.tokens import WorkspaceClients
from slackbot.store.db import Database
from slackbot.store.events import forget_events_before
from slackbot.store.figures import store_figures
from slackbot.store.installations import forget_expired_states
from slackbot.store.leaving import purge_workspaces
from slackbot.store.models import Workspace

logger = logging.getLogger(__name__)

TICK_SECONDS = 30
# Slack retries an event for a few minutes at most; two days is a wide margin.
EVENT_MEMORY = timedelta(days=2)
# Expired OAuth states are deleted this often per process: they only pile up when someone
# presses Add to Slack and never comes back.
STATE_PURGE_EVERY = timedelta(hours=1)


@dataclass
class TickReport:
    at: datetime
    forgotten_events: int = 0
    forgotten_states: int = 0  # expired OAuth states deleted
    planned: PlanReport = field(default_factory=PlanReport)
    sent: SendReport = field(default_factory=SendReport)
    roster: RosterReport = field(default_factory=RosterReport)
    figures: int = 0  # people whose figures were worked out and kept
    purged: list[str] = field(default_factory=list)  # team ids whose data was deleted
    digests: int = 0  # messages of team digests planned

    def __str__(self) -> str:
        p, s, r = self.planned, self.sent, self.roster
        return (
            f"tick at {self.at.isoformat()}: planned {p.prompts} prompts, {p.nudges} nudges "
            f"({p.missed} missed, {p.paused} paused); sent {s.sent} ({s.found_in_slack} already in Slack), "
            f"{s.retried} to retry, {s.failed} failed, {s.missed} missed, {s.skipped} skipped, "
            f"{s.rate_limited} rate-limited waits, {s.waiting} not due yet; "
            f"roster +{r.enrolled} -{r.unenrolled}, {r.refreshed} zones checked; "
            f"forgot {self.forgotten_events} old event ids"
            + (f"; deleted the data of {len(self.purged)} uninstalled workspaces" if self.purged else "")
        )


@dataclass(frozen=True)
class Ticker:
    """Everything one pass needs; `client` is made only when there is something for Slack."""

    database: Database
    plan_rules: PlanRules
    send_rules: SendRules
    client: Callable[[], SlackClient]
    team_id: Callable[[SlackClient], str | None]
    channel: str | None = None
    # OAuth mode: each workspace's client by team id (slack/tokens.py); None: `client` for all.
    clients: Callable[[], WorkspaceClients] | None = None
    retention: timedelta = timedelta(days=30)  # LOOPS_RETENTION_AFTER_UNINSTALL
    team_rules: TeamRules = field(default_factory=lambda: TeamRules(None, None, time(18, 0)))
    # When this process last deleted expired OAuth states (by the tick's time).
    states_purged: list[datetime] = field(default_factory=list, init=False, repr=False)

    def tick(self, at: datetime) -> TickReport:
        """One pass as if the time were `at` (UTC-aware); time moves on while it runs."""
        clock = tick_clock(at)
        report = TickReport(at=at)
        with self.database.transaction() as session:
            report.forgotten_events = forget_events_before(session, at - EVENT_MEMORY)
            if not self.states_purged or abs(at - self.states_purged[-1]) >= STATE_PURGE_EVERY:
                # Never past the real time: a `tick --at` ahead must not void a link being used.
                report.forgotten_states = forget_expired_states(session, min(at, datetime.now(UTC)))
                self.states_purged[:] = [at]
            # Workspaces that left longer ago than the retention take their data with them.
            report.purged = purge_workspaces(session, at, self.retention)
            installed = session.scalar(
                select(Workspace.id).where(Workspace.uninstalled_at.is_(None)).limit(1)
            )
        if report.purged:
            logger.info(
                "deleted the data of workspaces uninstalled %s ago or more: %s", self.retention, report.purged
            )
        report.planned = plan_due(self.database, clock(), self.plan_rules)
        report.digests = plan_digests(self.database, clock(), self.team_rules)
        if installed is None and not self.channel:
            # Nobody to talk to yet: a fresh install needs no Slack token to tick.
            logger.debug("%s", report)
            return report
        client = self.client()
        clients = self.clients() if self.clients is not None else None
        client_for = clients.for_team if clients is not None else (lambda _team: client)
        if self.channel and clients is None:  # LOOPS_CHANNEL is one workspace's channel
            team = self.team_id(client)
            if team:
                report.roster = sync_channel(
                    self.database, client, team, self.channel, self.plan_rules.defaults, clock()
                )
        zones = refresh_zones(self.database, client_for, self.plan_rules.defaults, clock())
        report.roster.refreshed = zones.refreshed
        # Planning again picks up people the roster passes just enrolled or moved.
        more = plan_due(self.database, clock(), self.plan_rules)
        report.planned.prompts += more.prompts
        report.planned.nudges += more.nudges
        report.sent = Sender(
            self.database, client, self.send_rules, clients=clients.for_team if clients is not None else None
        ).send_due(clock)
        # Today's figures for `/loops` and the Home tab, a batch at a time: a day's first ticks
        # work out everyone's, later ones those whose ships changed.
        for _ in range(FIGURES_BATCHES):
            with self.database.transaction() as session:
                stored = store_figures(session, clock(), FIGURES_BATCH)
            report.figures += stored
            if stored < FIGURES_BATCH:
                break
        logger.debug("%s", report)
        return report


FIGURES_BATCH = 200
FIGURES_BATCHES = 5


def ticker_for(settings: Settings, database: Database) -> Ticker:
    """The pass as `tick`, `clock` and `run` run it, from settings; Slack is reached lazily."""
    clients: list[SlackClient] = []
    by_workspace: list[WorkspaceClients] = []
    teams: dict[str, str] = {}

    def client() -> SlackClient:
        if not clients:
            settings.require_slack(http=False)
            clients.append(delivery_client(settings))
        return clients[0]

    def workspace_clients() -> WorkspaceClients:
        if not by_workspace:
            by_workspace.append(WorkspaceClients(settings, database))
        return by_workspace[0]

    def team_id(slack: SlackClient) -> str | None:
        if "team" not in teams:
            try:
                teams["team"] = str(slack.auth_test()["team_id"])
            except Exception:
                logger.warning("auth.test failed; the channel sync waits for the next tick", exc_info=True)
                return None
        return teams["team"]

    return Ticker(
        database=database,
        plan_rules=PlanRules.from_settings(settings),
        send_rules=SendRules.from_settings(settings),
        client=client,
        team_id=team_id,
        channel=settings.loops_channel,
        clients=workspace_clients if settings.oauth_mode else None,
        retention=settings.loops_retention_after_uninstall,
        team_rules=TeamRules.from_settings(settings),
    )


def tick_now(ticker: Ticker) -> Callable[[], TickReport | None]:
    """The scheduled job: a tick at the current time, whose failure is logged, not fatal."""

    def job() -> TickReport | None:
        try:
            return ticker.tick(datetime.now(UTC))
        except Exception:
            logger.exception("tick failed; the next one will pick up where it left off")
            return None

    return job


def start_background_clock(ticker: Ticker) -> BackgroundScheduler:
    """For `run`: the clock in a thread beside the web server."""
    scheduler = BackgroundScheduler(timezone=UTC)
    _add_tick(scheduler, tick_now(ticker))
    scheduler.start()
    return scheduler


def run_clock(ticker: Ticker) -> None:
    """For `clock`: tick every TICK_SECONDS until the process is told to stop."""
    scheduler = BackgroundScheduler(timezone=UTC)
    _add_tick(scheduler, tick_now(ticker))
    scheduler.start()
    logger.info("clock started: a tick every %s seconds", TICK_SECONDS)
    try:
        # The wait is ours, not the scheduler's: a BlockingScheduler's loop catches anything
        # raised while it submits a job, so a SIGTERM landing there was lost and the clock ran on.
        threading.Event().wait()
    finally:
        scheduler.shutdown(wait=True)  # a tick under way ends before the database is let go


def _add_tick(scheduler: BackgroundScheduler, job: Callable[[], object]) -> None:
    scheduler.add_job(
        job,
        IntervalTrigger(seconds=TICK_SECONDS, timezone=UTC),
        id="tick",
        # A slow tick is never run twice at once in one process, and missed runs
        # collapse into one: the next tick catches up on everything due.
        max_instances=1,
        coalesce=True,
        misfire_grace_time=TICK_SECONDS,
        next_run_time=datetime.now(UTC),
    )
