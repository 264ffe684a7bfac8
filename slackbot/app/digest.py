"""`/loops digest #channel`: where a workspace's weekly digest goes, chosen by an admin or owner.

Slack is asked everything first (is the caller an admin, which channel is meant, is Loops in
it), while nothing is written; only then is the choice stored. Anyone may ask where it goes.
A channel typed by name is looked for after the ack (`choose_by_name`): finding it pages
conversations.list, which may take longer than Slack waits for an ack.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from slackbot.app.errors import words_for
from slackbot.app.services import Services
from slackbot.blocks.kit import message, section
from slackbot.core.errors import InvalidInput
from slackbot.core.parse import ChannelRef, escape, parse_channel
from slackbot.slack.profile import fetch_profile
from slackbot.store.digest import digest_channel_of, team_zone
from slackbot.store.models import Workspace
from slackbot.store.people import ensure_workspace

logger = logging.getLogger(__name__)

USAGE = (
    "`/loops digest #channel` posts the team digest there every Monday at 09:00; "
    "`/loops digest off` stops it. Only a workspace admin or owner can choose."
)
NOT_AN_ADMIN = (
    "Only a workspace admin or owner can choose where the team digest goes. "
    "Ask one of them to type `/loops digest #channel`."
)
LIST_PAGES = 20  # conversations.list pages of 200 looked through for a channel by name


def is_admin(profile: dict[str, Any] | None) -> bool:
    return profile is not None and any(
        bool(profile.get(k)) for k in ("is_admin", "is_owner", "is_primary_owner")
    )


def current_channel(workspace: Workspace | None, services: Services) -> str | None:
    default = services.settings.default_digest_channel
    return digest_channel_of(workspace, default) if workspace is not None else default


def where_it_goes(session: Session, workspace: Workspace | None, services: Services) -> str:
    channel = current_channel(workspace, services)
    if channel is None:
        return "The team digest is off: no channel is chosen. " + USAGE
    zone = team_zone(session, workspace, services.settings.loops_team_tz) if workspace else "UTC"
    return f"The team digest goes to <#{channel}> every Monday at 09:00 ({zone}). " + USAGE


def find_channel(client: WebClient, ref: ChannelRef) -> tuple[str, str | None]:
    """(id, name) of the channel meant; InvalidInput when Slack knows none by that name."""
    if ref.id is not None:
        return ref.id, None
    assert ref.name is not None
    cursor = None
    for _ in range(LIST_PAGES):
        page = client.conversations_list(
            types="public_channel", exclude_archived=True, limit=200, cursor=cursor
        )
        for channel in page.get("channels") or []:
            if channel.get("name") == ref.name:
                return str(channel["id"]), ref.name
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    raise InvalidInput(f"I can't find a public channel called #{escape(ref.name)}. " + USAGE)


def check_postable(client: WebClient, channel_id: str) -> None:
    """Loops posts with chat:write only, so it must be a member of the channel."""
    try:
        info = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as error:
        if error.response.get("error") in {"channel_not_found", "invalid_channel"}:
            raise InvalidInput("I can't see that channel. Pick a public channel with `#`.") from error
        raise
    if info.get("is_archived"):
        raise InvalidInput(f"<#{channel_id}> is archived; pick another channel.")
    if not info.get("is_member"):
        raise InvalidInput(
            f"I'm not in <#{channel_id}> yet: type `/invite @Loops` there, then `/loops digest` again."
        )


def choose(
    session: Session,
    client: WebClient,
    services: Services,
    team_id: str,
    user_id: str,
    argument: str,
    workspace: Workspace | None,
) -> str | ChannelRef:
    """What `/loops digest …` answers; the choice is stored only for an admin, after Slack agreed.

    A channel typed by name comes back as its ChannelRef: `choose_by_name` answers it after the ack.
    """
    if not argument.strip():
        return where_it_goes(session, workspace, services)
    ref = parse_channel(argument)
    if ref is None:
        raise InvalidInput(f"That isn't a channel I can read: `{escape(argument[:80])}`. " + USAGE)
    if not is_admin(fetch_profile(client, user_id)):
        return NOT_AN_ADMIN
    if ref.off:
        workspace = workspace or ensure_workspace(session, team_id)
        workspace.digest_channel = None
        logger.info("team %s turned its digest channel off", team_id)
        still = current_channel(workspace, services)
        return "Done: no team digest." + (
            f" (LOOPS_DIGEST_CHANNEL still sends it to <#{still}>.)" if still else ""
        )
    if ref.id is None:
        return ref
    check_postable(client, ref.id)
    workspace = workspace or ensure_workspace(session, team_id)
    return chosen(session, workspace, ref.id, services)


def choose_by_name(client: WebClient, services: Services, team_id: str, ref: ChannelRef) -> dict[str, Any]:
    """The answer to `/loops digest #name`, once the ack has gone: Slack first, then the write.

    A failure is said in words: the admin is waiting for an answer.
    """
    try:
        channel_id, _name = find_channel(client, ref)
        check_postable(client, channel_id)
        with services.database.transaction() as session:
            words = chosen(session, ensure_workspace(session, team_id), channel_id, services)
    except Exception as error:
        words = words_for(error)
    return message(words, [section(words)])


def chosen(session: Session, workspace: Workspace, channel_id: str, services: Services) -> str:
    """Store the digest's channel (Slack agreed already) and say where and when it goes."""
    workspace.digest_channel = channel_id
    logger.info("team %s set its digest channel", workspace.team_id)
    zone = team_zone(session, workspace, services.settings.loops_team_tz)
    return (
        f"Done: every Monday at 09:00 ({zone}) I'll post the team digest in <#{channel_id}>: "
        "what was broken last week and for whom, what shipped and what changed. People choose in "
        "`/loops settings` whether their loops appear there; private loops never do."
    )
