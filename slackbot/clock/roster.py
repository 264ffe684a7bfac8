"""Keeping the roster true: LOOPS_CHANNEL's members enrolled, and everyone's time zone fresh.

Both passes are spread over ticks and bounded per tick, so they stay inside Slack's
Tier 2-4 limits (conversations.members, users.info) however large the workspace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy import or_, select, update

from slackbot.core import enrolment
from slackbot.core.enrolment import Defaults
from slackbot.slack.profile import apply_profile, fetch_profile
from slackbot.store.db import Database
from slackbot.store.deliveries import recheck_checkins
from slackbot.store.leaving import forgotten_among
from slackbot.store.models import Person, Workspace
from slackbot.store.people import ensure_person, ensure_workspace

logger = logging.getLogger(__name__)

CHANNEL_SYNC_EVERY = timedelta(hours=1)
ZONE_REFRESH_EVERY = timedelta(days=1)
# users.info is Tier 4 (100+ a minute); two ticks a minute stay well inside it.
PROFILES_PER_TICK = 30


@dataclass
class RosterReport:
    enrolled: int = 0
    unenrolled: int = 0
    refreshed: int = 0


def sync_channel(
    database: Database, client: WebClient, team_id: str, channel: str, defaults: Defaults, now: datetime
) -> RosterReport:
    """Enrol LOOPS_CHANNEL's people (never bots, the deactivated, who said /loops stop or forget-me);
    unenrol those the channel enrolled who have left it. At most once an hour."""
    report = RosterReport()
    with database.transaction() as session:
        workspace = ensure_workspace(session, team_id)
        if workspace.channel_synced_at is not None and now - workspace.channel_synced_at < CHANNEL_SYNC_EVERY:
            return report
        workspace.channel_synced_at = now
        workspace_id = workspace.id
    members = _members(client, channel)
    if members is None:
        return report
    newcomers = _newcomers(database, workspace_id, team_id, members)
    for user_id in newcomers[:PROFILES_PER_TICK]:
        if _enrol_member(database, client, workspace_id, user_id, defaults, now):
            report.enrolled += 1
    if len(newcomers) > PROFILES_PER_TICK:
        # Come back next tick for the rest instead of waiting an hour.
        with database.transaction() as session:
            session.execute(
                update(Workspace).where(Workspace.id == workspace_id).values(channel_synced_at=None)
            )
    with database.transaction() as session:
        leavers = session.scalars(
            select(Person).where(
                Person.workspace_id == workspace_id,
                Person.enrolled.is_(True),
                Person.enrolled_by == "channel",
                Person.slack_user_id.not_in(members),
            )
        ).all()
        for person in leavers:
            enrolment.unenrol(person, opted_out=False)
            report.unenrolled += 1
    return report


def _members(client: WebClient, channel: str) -> set[str] | None:
    """The channel's members, every page; None when Slack would not say (tried again next hour)."""
    members: set[str] = set()
    cursor = None
    try:
        while True:
            page = client.conversations_members(channel=channel, limit=200, cursor=cursor)
            members.update(str(m) for m in page.get("members") or [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return members
    except Exception:
        logger.warning("could not read the members of %s; trying again next hour", channel, exc_info=True)
        return None


def _newcomers(database: Database, workspace_id: int, team_id: str, members: set[str]) -> list[str]:
    """Members not enrolled yet who never said /loops stop; who said forget-me is not signed up
    by being here, even if they have used Loops since."""
    with database.transaction() as session:
        known = {
            p.slack_user_id: p
            for p in session.scalars(select(Person).where(Person.workspace_id == workspace_id))
        }
        forgotten = forgotten_among(session, workspace_id, team_id, members)
    return [
        m
        for m in sorted(members)
        if m not in forgotten and (m not in known or not (known[m].enrolled or known[m].opted_out))
    ]


def _enrol_member(
    database: Database, client: WebClient, workspace_id: int, user_id: str, defaults: Defaults, now: datetime
) -> bool:
    """Enrol one member from their profile (asked before writing); False for a bot, a deactivated
    account, or someone who opted out meanwhile."""
    user = fetch_profile(client, user_id)
    if user is None or user.get("is_bot") or user.get("deleted") or user_id == "USLACKBOT":
        return False
    with database.transaction() as session:
        member_of = session.get(Workspace, workspace_id)
        assert member_of is not None
        person = ensure_person(session, member_of, user_id)
        if person.opted_out or person.enrolled:
            return False
        apply_profile(person, user, defaults, now)
        enrolment.enrol(person, defaults, now, by="channel")
        return True


def refresh_zones(
    database: Database,
    client_for: Callable[[str | None], WebClient | None],
    defaults: Defaults,
    now: datetime,
) -> RosterReport:
    """Re-read the time zone of enrolled people not checked for a day (Slack sends no event
    for the twice-yearly offset change, but a person who moved changes `tz`).

    The people are claimed first (checked "now", rows other ticks hold are skipped), so
    several clock processes do not ask Slack about the same people.
    """
    report = RosterReport()
    with database.transaction() as session:
        stale = session.execute(
            select(Person, Workspace.team_id)
            .join(Workspace, Workspace.id == Person.workspace_id)
            .where(
                Person.enrolled.is_(True),
                or_(Person.tz_checked_at.is_(None), Person.tz_checked_at < now - ZONE_REFRESH_EVERY),
            )
            .order_by(Person.tz_checked_at.is_(None).desc(), Person.tz_checked_at)
            .limit(PROFILES_PER_TICK)
            .with_for_update(skip_locked=True, of=Person)
        ).all()
        claimed = [(person.id, person.slack_user_id, team_id) for person, team_id in stale]
        for person, _ in stale:
            person.tz_checked_at = now  # if Slack does not answer, try again tomorrow, not every tick
    for person_id, slack_user_id, team_id in claimed:
        client = client_for(team_id)
        if client is None:  # no install found: no call without a token
            continue
        user = fetch_profile(client, slack_user_id)
        if user is None:
            continue
        with database.transaction() as session:
            refreshed = session.get(Person, person_id)
            if refreshed is not None:
                if apply_profile(refreshed, user, defaults, now):
                    recheck_checkins(session, refreshed, now)
                report.refreshed += 1
    return report
