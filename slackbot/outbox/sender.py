"""The Sender: rounds of claim, read, post and record, for the clock and the app alike.

Each round claims a small batch, reads all of it in one transaction, makes the Slack
calls in a bounded pool of threads (no database there, so no Slack call is ever made
inside a transaction), and records every outcome in one write transaction, only for
deliveries this sender still holds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from slackbot.blocks.prompt import LOOPS_SHOWN
from slackbot.core.deliveries import DeliveryKind
from slackbot.outbox.claim import claim, owner_name, post_by
from slackbot.outbox.model import Draft, Ended, Job, Later, Outcome, SendReport, SendRules
from slackbot.outbox.post import Poster
from slackbot.outbox.record import finish, record, wait_until
from slackbot.outbox.render import preload_threads, render
from slackbot.outbox.team import render_team
from slackbot.slack.client import SlackClient
from slackbot.slack.home import publish_home
from slackbot.store.db import Database
from slackbot.store.models import Delivery, Person, Workspace, utcnow
from slackbot.store.shipments import Agenda, agendas_of

logger = logging.getLogger(__name__)

# A workspace whose install is not found is looked up again this much later.
NO_INSTALL_WAIT = timedelta(minutes=1)
NO_INSTALL = "no install of Loops found for the workspace"

# Deliveries that change what a person's Home tab shows once they reach Slack.
HOME_KINDS = frozenset({DeliveryKind.CHECKIN, DeliveryKind.UNWATCHED})


class Sender:
    """Sends due deliveries through one Slack client."""

    def __init__(
        self,
        database: Database,
        client: SlackClient,
        rules: SendRules,
        *,
        owner: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        clients: Callable[[str | None], SlackClient | None] | None = None,
    ) -> None:
        self.database = database
        self.rules = rules
        self.owner = owner or owner_name()
        self.monotonic = monotonic
        self.poster = Poster(client, rules.per_second, monotonic)
        # OAuth mode: each workspace's client, by team id (slack/tokens.py); else `client` for all.
        self.clients = clients
        self._posters: dict[str | None, Poster] = {}  # by team id; a rotated token replaces its own

    def _poster_for(self, team_id: str | None) -> Poster | None:
        """None: no install of the workspace found, so no token to call Slack with."""
        if self.clients is None:
            return self.poster
        client = self.clients(team_id)
        if client is None:
            return None
        poster = self._posters.get(team_id)
        if poster is None or poster.client is not client:
            poster = self._posters[team_id] = Poster(client, self.rules.per_second, self.monotonic)
        return poster

    def send_due(self, clock: Callable[[], datetime]) -> SendReport:
        """Claim and send until nothing is ready; `clock` is the tick's time, moving forward."""
        report = SendReport()
        # Two jobs per thread: enough to keep the pool busy, small enough that a round
        # ends long before its lease does.
        batch = self.rules.concurrency * 2
        with ThreadPoolExecutor(max_workers=self.rules.concurrency, thread_name_prefix="loops-send") as pool:
            while self._round(clock, report, pool, limit=batch, only=None):
                pass
        return report

    def send_now(self, delivery_id: int, clock: Callable[[], datetime]) -> SendReport:
        """Send one delivery at once if it is ready (used right after a listener stored it)."""
        report = SendReport()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="loops-send-now") as pool:
            self._round(clock, report, pool, limit=1, only=delivery_id)
        return report

    def _round(
        self,
        clock: Callable[[], datetime],
        report: SendReport,
        pool: ThreadPoolExecutor,
        *,
        limit: int,
        only: int | None,
    ) -> bool:
        if self.clients is None and self.poster.client.token is None:
            # No token to send with at all: calls would fail as not_authed and mark the
            # workspace gone; the deliveries wait instead.
            return False
        claimed = claim(self.database, clock(), owner=self.owner, limit=limit, only=only)
        if not claimed:
            return False
        homes: set[int] = set()
        jobs = self._prepare(claimed, clock(), post_by(self.monotonic), report, homes)
        posters = {team: self._poster_for(team) for team in {job.team_id for job in jobs}}
        outcomes = list(pool.map(lambda job: _attempt(posters[job.team_id], job, report, clock), jobs))
        if outcomes:
            with self.database.transaction() as session:
                record(session, outcomes, owner=self.owner, now=clock(), report=report)
        self._redraw_homes(outcomes, homes, clock)
        # A round that had to give everything back (it ran out of lease before any call)
        # ends the pass rather than spinning; the next tick takes it up.
        return not outcomes or not all(outcome.gave_back for outcome in outcomes)

    def _redraw_homes(self, outcomes: list[Outcome], homes: set[int], clock: Callable[[], datetime]) -> None:
        """A check-in that reached someone (or went unwatched) changes their Home tab: redraw it.

        Best effort, after the record's commit: the tab is drawn again whenever it is opened.
        """
        people = {
            o.job.person_id: o.job.team_id
            for o in outcomes
            if o.job.delivery_id in homes and o.ts and o.failure is None and o.job.person_id is not None
        }
        for person_id, team_id in sorted(people.items()):
            poster = self._poster_for(team_id)
            if poster is None:
                continue
            try:
                publish_home(self.database, poster.client, person_id, clock(), self.rules.defaults)
            except Exception as error:
                logger.warning("could not redraw the Home tab of person %s: %s", person_id, error)

    def _prepare(
        self,
        claimed: dict[int, bool],
        now: datetime,
        deadline: float,
        report: SendReport,
        homes: set[int],
    ) -> list[Job]:
        """Read the batch and render each delivery; those that end or wait without a post are
        recorded here, the others become the round's jobs."""
        jobs: list[Job] = []
        started = utcnow()
        with self.database.transaction() as session:
            batch = _Batch.read(session, claimed)
            for delivery in batch.deliveries:
                workspace = batch.workspaces[delivery.workspace_id]
                person = batch.people[delivery.person_id] if delivery.person_id is not None else None
                if person is None:  # owed to the workspace (TEAM_KINDS)
                    decided = render_team(session, delivery, workspace, now)
                else:
                    if delivery.kind in HOME_KINDS and person.home_opened_at is not None:
                        homes.add(delivery.id)
                    agenda = batch.agendas.get(person.id) or Agenda()
                    decided = render(session, delivery, person, workspace, agenda, now, self.rules)
                maybe_posted = claimed[delivery.id]
                if isinstance(decided, Draft) or (maybe_posted and decided.where is not None):
                    jobs.append(_job(delivery, person, workspace, decided, maybe_posted, deadline, started))
                elif isinstance(decided, Later):
                    wait_until(delivery, decided.at, decided.reason)
                    report.count("waiting")
                else:
                    finish(delivery, decided.state, decided.reason)
                    if decided.counter:
                        report.count(decided.counter)
        return jobs


@dataclass
class _Batch:
    """A claimed batch as its rendering needs it, read in a few queries (not a few per delivery)."""

    deliveries: Sequence[Delivery]
    people: dict[int, Person]
    workspaces: dict[int, Workspace]
    agendas: dict[int, Agenda]  # of the people whose morning prompt is in the batch
    threads: list[object]  # the loops, shipments and check-ins rendered, held in the identity map

    @classmethod
    def read(cls, session: Session, claimed: Iterable[int]) -> _Batch:
        deliveries = session.scalars(select(Delivery).where(Delivery.id.in_(claimed))).all()
        people_ids = {d.person_id for d in deliveries if d.person_id}
        people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(people_ids)))}
        workspace_ids = {d.workspace_id for d in deliveries}
        workspaces = {
            w.id: w for w in session.scalars(select(Workspace).where(Workspace.id.in_(workspace_ids)))
        }
        prompted = [
            people[d.person_id]
            for d in deliveries
            if d.kind == DeliveryKind.PROMPT and d.person_id is not None
        ]
        agendas = agendas_of(session, prompted, LOOPS_SHOWN)
        return cls(deliveries, people, workspaces, agendas, preload_threads(session, deliveries))


def _attempt(poster: Poster | None, job: Job, report: SendReport, clock: Callable[[], datetime]) -> Outcome:
    """The job's post; with no install found for its workspace, no call: it waits (not failed)."""
    if poster is None:
        return Outcome(job, ended=Later(clock() + NO_INSTALL_WAIT, NO_INSTALL))
    return poster.attempt(job, report)


def _job(
    delivery: Delivery,
    person: Person | None,
    workspace: Workspace,
    decided: Draft | Ended | Later,
    maybe_posted: bool,
    deadline: float,
    started: datetime,
) -> Job:
    """The Slack side of one delivery: its post, or (for one that may be in Slack already but
    ends or waits now) the look for that post before it ends or waits."""
    removal = None
    if isinstance(decided, Draft):
        channel, thread_ts, body, otherwise = decided.channel, decided.thread_ts, decided.body, None
        removal = decided.removal
    else:
        assert decided.where is not None
        (channel, thread_ts), body, otherwise = decided.where, None, decided
    return Job(
        delivery_id=delivery.id,
        person_id=person.id if person is not None else None,
        slack_user_id=person.slack_user_id if person is not None else None,
        channel=channel,
        thread_ts=thread_ts,
        body=body,
        otherwise=otherwise,
        maybe_posted=maybe_posted,
        since=delivery.first_attempt_at or delivery.created_at,
        started=started,
        post_by=deadline,
        team_id=workspace.team_id,
        removal=removal,
    )


def tick_clock(start: datetime, monotonic: Callable[[], float] = time.monotonic) -> Callable[[], datetime]:
    """The tick's time: `start`, moving forward with real time while the pass runs."""
    began = monotonic()
    return lambda: start + timedelta(seconds=monotonic() - began)
