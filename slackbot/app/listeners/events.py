"""Events: replies in the DM (answers and loop stories), profile changes, and leaving.

Every reply a person writes is stored before anything is said back, and each Slack
message is stored once however often its event arrives (event_id dedupe in the
middleware, and the (loop, ts) and (person, source) keys underneath it).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from slackbot.app.context import caller, defer, person_of, services_of, session_of, workspace_of
from slackbot.app.loops import Broken, after_opening, open_loop, post_in_thread, share_morning
from slackbot.app.payloads import MessageEvent, TokensRevoked, UserChange
from slackbot.app.services import Services
from slackbot.blocks.loop import thread_note
from slackbot.core import enrolment
from slackbot.core.errors import InvalidInput
from slackbot.core.parse import Answer, check_field, escape, parse_answer, unescape
from slackbot.store.deliveries import prompt_in_thread, recheck_checkins
from slackbot.store.leaving import (
    mark_uninstalled,
    purge_workspaces,
    put_back_for_person,
    withdraw_for_person,
)
from slackbot.store.loops import add_entry, latest_loop_from_prompt, loop_in_thread
from slackbot.store.models import Delivery
from slackbot.store.rows import lock

logger = logging.getLogger(__name__)

# Message subtypes that are a person writing (a plain message, one with a file, one also sent to the channel).
WRITTEN = {None, "file_share", "thread_broadcast"}

NOT_IN_A_LOOP = (
    "I keep everything in threads: reply in the thread of a morning prompt to open a loop, "
    "or in a loop's thread to add to its story. `/loops help` lists the rest."
)


def direct_message(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    message = MessageEvent.model_validate(event)
    if message.channel_type != "im" or message.bot_id or message.subtype not in WRITTEN or not message.user:
        return
    person = caller(context)
    text, channel, ts, thread_ts = message.text, message.channel, message.ts, message.thread_ts
    if person.dm_channel is None:
        # Loops has never written to this person, so no thread of theirs exists, and the
        # event's channel is not known to be their DM with the bot: answer in that DM by id.
        user_id = person.slack_user_id
        defer(context, lambda: client.chat_postMessage(channel=user_id, **thread_note(NOT_IN_A_LOOP)))
        return
    if channel != person.dm_channel:
        logger.warning("ignored a message in %s: it is not %s's DM with Loops", channel, person.slack_user_id)
        return
    if thread_ts is None or thread_ts == ts:
        defer(context, lambda: post_in_thread(client, channel, ts, NOT_IN_A_LOOP))
        return
    session = session_of(context)
    answer = parse_answer(text)

    def say(words: str) -> None:
        defer(context, lambda: post_in_thread(client, channel, thread_ts, words))

    loop = loop_in_thread(session, person, channel, thread_ts)
    if loop is None:
        prompt = prompt_in_thread(session, person, channel, thread_ts)
        if prompt is None:
            say(NOT_IN_A_LOOP)
            return
        if answer.what:
            _open_from_reply(context, client, answer, prompt, channel, thread_ts, ts)
            return
        # A reply that only says for whom completes the loop this prompt opened last.
        loop = latest_loop_from_prompt(session, person, prompt)
        if loop is None or not answer.for_whom:
            say("Tell me what's broken on the first line, and `for: …` who it's broken for.")
            return
    add_entry(session, loop, "reply", unescape(text), slack_ts=ts, at=services_of(context).now())
    lock(session, loop)
    if answer.for_whom and not loop.for_whom:
        try:
            loop.for_whom = check_field("for whom", answer.for_whom, required=True)
        except InvalidInput as problem:
            say(problem.user_message)
            return
        say(f"Noted: Loop #{loop.number} is for {escape(answer.for_whom)}.")


def _open_from_reply(
    context: BoltContext,
    client: WebClient,
    answer: Answer,
    prompt: Delivery,
    channel: str,
    thread_ts: str,
    ts: str,
) -> None:
    person, session, services = caller(context), session_of(context), services_of(context)
    try:
        what = check_field("what's broken", answer.what, required=True)
        for_whom = check_field("for whom", answer.for_whom, required=False)
        evidence = check_field("how you know", answer.evidence, required=False)
    except InvalidInput as problem:
        refusal = problem.user_message
        defer(context, lambda: post_in_thread(client, channel, thread_ts, refusal))
        return
    assert what is not None
    broken = Broken(what, for_whom, evidence)
    now = services.now()
    loop, root = open_loop(
        session, person, broken, source=f"message:{ts}", now=now, prompt=prompt, entry_ts=ts
    )
    confirmation = f"Opened *Loop #{loop.number}*: {escape(loop.what)}." + (
        "" if loop.for_whom else " Who is it broken for? Reply `for: …` here."
    )
    prompt_id = prompt.id
    share = share_morning(session, services, person, loop) if root is not None else None

    defer(
        context,
        lambda: after_opening(services, client, root, prompt_id, share),
        lambda: post_in_thread(client, channel, thread_ts, confirmation),
    )


def user_changed(event: dict[str, Any], context: BoltContext) -> None:
    """Keep a known person's time zone and activity current; strangers are not recorded."""
    person = person_of(context)
    profile = UserChange.model_validate(event).user
    if person is None or profile.id != person.slack_user_id:
        return
    services, session = services_of(context), session_of(context)
    was_deactivated = person.deactivated
    if enrolment.refresh_profile(
        person, services.defaults, services.now(), tz=profile.tz or None, deleted=profile.deleted
    ):
        recheck_checkins(session, person, services.now())
    if person.deactivated and not was_deactivated:
        # Their account is gone: nothing already owed to them goes out either.
        withdrawn = withdraw_for_person(session, person)
        logger.info("%s was deactivated; %s deliveries withdrawn", person.slack_user_id, withdrawn)
    elif was_deactivated and not person.deactivated:
        put_back_for_person(session, person)


Revoke = Callable[[dict[str, Any], BoltContext], None]


def leaving(bolt_listener: Revoke | None) -> Callable[[dict[str, Any], BoltContext], None]:
    """`app_uninstalled`, and `tokens_revoked` of the bot token: the workspace is leaving.

    Ours first: the workspace is marked and its deliveries withdrawn, committed before
    anything else, so no tick sends with its token again. Then Bolt's own revocation
    listener removes the install from the installation store (OAuth mode). The data stays
    for LOOPS_RETENTION_AFTER_UNINSTALL (a reinstall restores it); the clock deletes it then.
    """

    def listener(event: dict[str, Any], context: BoltContext) -> None:
        if event.get("type") == "tokens_revoked" and not TokensRevoked.model_validate(event).tokens.bot:
            return  # only user tokens, which Loops never asks for
        services, session = services_of(context), session_of(context)
        workspace = workspace_of(context)
        if workspace is not None:
            withdrawn = mark_uninstalled(session, workspace, services.now())
            logger.info("uninstalled from team %s; %s deliveries withdrawn", workspace.team_id, withdrawn)
        session.commit()
        if bolt_listener is not None:
            bolt_listener(event, context)
        if not services.settings.loops_retention_after_uninstall:
            services.run_later(lambda: purge_now(services))

    return listener


def purge_now(services: Services) -> None:
    """LOOPS_RETENTION_AFTER_UNINSTALL=0: delete at once rather than at the next tick."""
    with services.database.transaction() as session:
        purge_workspaces(session, services.now(), services.settings.loops_retention_after_uninstall)


def any_other_event(body: dict[str, Any]) -> None:
    """Acknowledge what we subscribe to but do not act on, so Slack does not retry it."""
    event = body.get("event") or {}
    logger.debug("ignoring event %s/%s", event.get("type"), event.get("subtype"))


def register(app: App) -> None:
    app.event("message")(direct_message)
    app.event("user_change")(user_changed)
    uninstalled = revoked = None
    if app.installation_store is not None:  # OAuth mode: Bolt's own listeners clear the store
        builtin_uninstalled = app.default_app_uninstalled_event_listener()
        builtin_revoked = app.default_tokens_revoked_event_listener()

        def uninstalled(_event: dict[str, Any], context: BoltContext) -> None:
            builtin_uninstalled(context=context)

        def revoked(event: dict[str, Any], context: BoltContext) -> None:
            builtin_revoked(event=event, context=context)

    app.event("app_uninstalled")(leaving(uninstalled))
    app.event("tokens_revoked")(leaving(revoked))
    app.event(re.compile(".*"))(any_other_event)
