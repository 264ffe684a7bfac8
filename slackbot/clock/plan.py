"""What is due now → Delivery rows. Idempotent: a delivery's key is (kind, person, local date).

Any number of processes may plan at once: people rows are taken with SKIP LOCKED on
PostgreSQL (each process plans different people), and a delivery that exists already
is left alone, so the worst a race can do is plan nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from slackbot.config import Settings
from slackbot.core.deliveries import DeliveryKind, DeliveryState
from slackbot.core.enrolment import Defaults, schedule_for
from slackbot.core.reflection import reflection_month
from slackbot.core.schedule import Decision, nudge_due, plan_prompts
from slackbot.store.db import Database
from slackbot.store.deliveries import Owed, owe_all
from slackbot.store.models import Person
from slackbot.store.people import people_due

logger = logging.getLogger(__name__)

BATCH = 500


@dataclass(frozen=True)
class PlanRules:
    defaults: Defaults
    catch_up: timedelta
    nudge_after: timedelta
    day_end: time

    @classmethod
    def from_settings(cls, settings: Settings) -> PlanRules:
        return cls(
            defaults=settings.defaults,
            catch_up=settings.loops_catch_up,
            nudge_after=settings.loops_nudge_after,
            day_end=settings.loops_day_end,
        )


@dataclass
class PlanReport:
    prompts: int = 0
    nudges: int = 0
    missed: int = 0
    paused: int = 0
    reflections: int = 0


def plan_due(database: Database, now: datetime, rules: PlanRules) -> PlanReport:
    """Turn every person whose prompt time has come into deliveries, batch by batch."""
    report = PlanReport()
    while True:
        with database.transaction() as session:
            people = people_due(session, now, BATCH)
            owed: list[Owed] = []
            for person in people:
                owed += _plan_person(person, now, rules, report)
            for _id, kind, state in owe_all(session, owed):
                if state == DeliveryState.MISSED:
                    report.missed += 1
                elif kind == DeliveryKind.PROMPT:
                    report.prompts += 1
                elif kind == DeliveryKind.REFLECTION:
                    report.reflections += 1
                else:
                    report.nudges += 1
        if len(people) < BATCH:
            return report


def _plan_person(person: Person, now: datetime, rules: PlanRules, report: PlanReport) -> list[Owed]:
    """The deliveries one person is owed now, and their schedule moved past them."""
    assert person.next_prompt_at is not None
    schedule = schedule_for(person, rules.defaults)
    plan = plan_prompts(
        schedule, person.next_prompt_at, now, catch_up=rules.catch_up, paused_until=person.paused_until
    )
    if plan.pause_ended:
        person.paused_until = None
        person.welcome_back = True
    person.next_prompt_at = plan.next_due
    owed: list[Owed] = []
    for occurrence in plan.occurrences:
        if occurrence.decision is Decision.PAUSED:
            report.paused += 1
            continue
        day = occurrence.local_date.isoformat()
        if occurrence.decision is Decision.MISSED:
            late = f"reached {now - occurrence.due} late; the catch-up window is {rules.catch_up}"
            owed.append(
                Owed(DeliveryKind.PROMPT, person.workspace_id, person.id, day, occurrence.due, missed=late)
            )
            continue
        owed.append(Owed(DeliveryKind.PROMPT, person.workspace_id, person.id, day, occurrence.due))
        looking_back_on = reflection_month(occurrence.local_date)
        if looking_back_on is not None:
            # Keyed by the month: the first prompt of the month brings it, later ones find it planned.
            owed.append(
                Owed(DeliveryKind.REFLECTION, person.workspace_id, person.id, looking_back_on, occurrence.due)
            )
        nudge_at = (
            nudge_due(occurrence.due, schedule, after=rules.nudge_after, day_end=rules.day_end)
            if person.nudges
            else None
        )
        if nudge_at is not None:
            owed.append(Owed(DeliveryKind.NUDGE, person.workspace_id, person.id, day, nudge_at))
    return owed
