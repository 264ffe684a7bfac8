"""Planning what a workspace is owed: the weekly digest, every Monday at 09:00 team time."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select

from slackbot.config import Settings
from slackbot.core.schedule import zone
from slackbot.outbox.team import plan_digest
from slackbot.store.db import Database
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

    @classmethod
    def from_settings(cls, settings: Settings) -> TeamRules:
        return cls(
            digest_channel=settings.default_digest_channel,
            team_tz=settings.loops_team_tz,
            day_end=settings.loops_day_end,
        )


def plan_digests(database: Database, now: datetime, rules: TeamRules) -> int:
    """Owe each installed workspace with a digest channel this Monday's digest, once; messages added."""
    added = 0
    with database.transaction() as session:
        workspaces = list(session.scalars(select(Workspace).where(Workspace.uninstalled_at.is_(None))))
        for workspace in workspaces:
            channel = digest_channel_of(workspace, rules.digest_channel)
            if channel is None:
                continue
            tz = zone(team_zone(session, workspace, rules.team_tz))
            local = now.astimezone(tz)
            if local.weekday() != MONDAY:
                continue
            monday = local.date()
            moment = datetime.combine(monday, DIGEST_AT, tzinfo=tz)
            until = datetime.combine(monday, rules.day_end, tzinfo=tz)
            if not moment <= now < max(until, moment + timedelta(hours=1)):
                continue
            parts = plan_digest(session, workspace, channel, monday, moment.astimezone(now.tzinfo))
            if parts:
                logger.info("the digest of team %s for %s: %s messages", workspace.team_id, monday, parts)
            added += parts
    return added
