"""Planning what a workspace is owed: the weekly digest every Monday at 09:00 team time, and
on the team's workdays, at its morning, the day's thread for shared morning answers."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from slackbot.config import Settings
from slackbot.core.deliveries import DeliveryKind, digest_key
from slackbot.core.schedule import zone
from slackbot.outbox.team import digest_bodies
from slackbot.store.db import Database
from slackbot.store.deliveries import Owed, owe_all, owe_daily_thread, owed_to_team
from slackbot.store.digest import digest_channel_of, team_zone
from slackbot.store.models import Workspace

logger = logging.getLogger(__name__)

DIGEST_AT = time(9, 0)
MONDAY = 0


@dataclass(frozen=True)
class TeamRules:
    # LOOPS_DIGEST_CHANNEL: one workspace's channel, so only without OAuth (each workspace
    # that installs picks its own with `/loops digest #channel`).
    digest_channel: str | None
    team_tz: str | None
    day_end: time  # a Monday digest the clock could not send by then waits for next week
    morning: time = time(9, 30)  # LOOPS_PROMPT_TIME, in the team's zone: the day's thread
    workdays: frozenset[int] = frozenset(range(5))  # LOOPS_WORKDAYS

    @classmethod
    def from_settings(cls, settings: Settings) -> TeamRules:
        return cls(
            digest_channel=settings.default_digest_channel,
            team_tz=settings.loops_team_tz,
            day_end=settings.loops_day_end,
            morning=settings.loops_prompt_time,
            workdays=settings.loops_workdays,
        )


def plan_digests(database: Database, now: datetime, rules: TeamRules) -> int:
    """Owe each installed workspace with a digest channel this Monday's digest and today's
    thread, each once; how many messages were added."""
    added = 0
    with database.transaction() as session:
        workspaces = list(session.scalars(select(Workspace).where(Workspace.uninstalled_at.is_(None))))
        for workspace in workspaces:
            channel = digest_channel_of(workspace, rules.digest_channel)
            if channel is None:
                continue
            tz = zone(team_zone(session, workspace, rules.team_tz))
            local = now.astimezone(tz)
            today = local.date()
            until = datetime.combine(today, rules.day_end, tzinfo=tz)
            if local.weekday() == MONDAY:
                moment = datetime.combine(today, DIGEST_AT, tzinfo=tz)
                if moment <= now < max(until, moment + timedelta(hours=1)):
                    parts = owe_digest(session, workspace, channel, today, moment.astimezone(UTC))
                    if parts:
                        logger.info(
                            "the digest of team %s for %s: %s messages", workspace.team_id, today, parts
                        )
                    added += parts
            morning = datetime.combine(today, rules.morning, tzinfo=tz)
            if local.weekday() in rules.workdays and morning <= now < max(
                until, morning + timedelta(hours=1)
            ):
                added += owe_daily_thread(session, workspace, channel, today, morning.astimezone(UTC))
    return added


def owe_digest(session: Session, workspace: Workspace, channel: str, monday: date, moment: datetime) -> int:
    """Owe the week's digest to the workspace once, a delivery a message; how many this call
    owed (0: owed already)."""
    if owed_to_team(session, workspace.id, DeliveryKind.DIGEST, digest_key(monday, 1)) is not None:
        return 0
    parts = len(digest_bodies(session, workspace, monday, moment))
    owed = [
        Owed(DeliveryKind.DIGEST, workspace.id, None, digest_key(monday, part), moment, channel=channel)
        for part in range(1, parts + 1)
    ]
    return len(owe_all(session, owed))
