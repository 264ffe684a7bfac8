"""The Slack half of sending: open the DM, look for an earlier attempt's post, post. No database here.

Exactly once: chat.postMessage has no idempotency key, so every message carries its
delivery id in message metadata. Whenever an earlier attempt may have reached Slack
(a timeout, a 5xx, a process killed mid-send), the job first looks for that id in the
conversation and reports what it finds instead of posting again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.error import URLError

from slack_sdk.errors import SlackApiError

from slackbot.blocks.ids import DELIVERY_EVENT
from slackbot.core.deliveries import LEASE, DeliveryState, Failure, Verdict, judge
from slackbot.outbox.model import Ended, Job, Outcome, SendReport
from slackbot.outbox.pace import LeaseRunningOut, Pacer, pacer_for
from slackbot.slack.client import HeldBySlack, SlackClient, retry_after, workspace_key

logger = logging.getLogger(__name__)

# Waiting out a Retry-After longer than this would hold a claim too long: release it instead.
LONGEST_WAIT = 60.0
RATE_LIMIT_WAITS = 3
# How far before an attempt's first try to look for its post (clocks differ a little).
LOOK_BACK_SECONDS = 120
# Messages a page of the look-back asks for: Slack's recommended most (apps it limits get 15).
LOOK_BACK_PAGE = 200

SLACK_ERRORS = (SlackApiError, HeldBySlack, OSError, URLError)
NEVER_POSTED = Ended(DeliveryState.SKIPPED, "the share never reached Slack", "skipped")


class Poster:
    """Makes a job's Slack calls through one client, paced per workspace."""

    def __init__(
        self, client: SlackClient, per_second: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.client = client
        self.monotonic = monotonic
        self.pacer: Pacer = pacer_for(workspace_key(client.token), per_second)

    def attempt(self, job: Job, report: SendReport) -> Outcome:
        channel = job.channel
        looked = False
        try:
            if job.removal is not None:
                return self._remove(job, report)
            if channel is None:
                try:
                    opened = self._call(
                        report,
                        job,
                        "conversations.open",
                        self.client.conversations_open,
                        users=job.slack_user_id,
                    )
                except SLACK_ERRORS as error:
                    # Opening a DM posts nothing; what an earlier attempt did is as unknown as before.
                    failure = failure_of(error)
                    return Outcome(job, failure=replace(failure, outcome_unknown=False))
                channel = str(opened["channel"]["id"])
            if job.maybe_posted:
                try:
                    found = self._find_posted(job, channel, report)
                except SLACK_ERRORS as error:
                    # Not knowing whether it was posted, never post blindly: try again later.
                    failure = failure_of(error)
                    return Outcome(job, channel, failure=replace(failure, outcome_unknown=True))
                looked = True
                if found:
                    return Outcome(job, channel, ts=found, found=True, looked=True)
            if job.body is None:
                return Outcome(job, channel, looked=looked, ended=job.otherwise)
            try:
                response = self._call(
                    report,
                    job,
                    "chat.postMessage",
                    self.client.chat_postMessage,
                    channel=channel,
                    thread_ts=job.thread_ts,
                    metadata={
                        "event_type": DELIVERY_EVENT,
                        "event_payload": {"delivery_id": job.delivery_id},
                    },
                    **job.body,
                )
            except SLACK_ERRORS as error:
                return Outcome(job, channel, looked=looked, failure=failure_of(error))
            return Outcome(job, str(response["channel"]), ts=str(response["ts"]), looked=looked)
        except LeaseRunningOut:
            return Outcome(job, channel, looked=looked, gave_back=True)
        except Exception as error:
            # A bug of ours must not kill the pool; treat it as a failure whose outcome is unknown.
            logger.exception("delivery %s: unexpected error", job.delivery_id)
            return Outcome(job, channel, failure=Failure(Verdict.RETRY, repr(error), outcome_unknown=True))

    def _call(
        self, report: SendReport, job: Job, name: str, method: Callable[..., Any], **arguments: Any
    ) -> Any:
        """One Web API call, paced; a 429 (the client holds the workspace) waits, then tries again.

        No call starts after the job's `post_by`: its lease could run out mid-call, and
        another sender could then post the same delivery.
        """
        for attempt in range(RATE_LIMIT_WAITS + 1):
            with self.pacer.turn(name, deadline=job.post_by, clock=self.monotonic):
                if self.monotonic() > job.post_by:
                    raise LeaseRunningOut
                try:
                    return method(**arguments)
                except (SlackApiError, HeldBySlack) as error:
                    failure = failure_of(error)
                    if failure.verdict is not Verdict.RATE_LIMITED:
                        raise
                    report.count("rate_limited")
                    if attempt == RATE_LIMIT_WAITS or failure.retry_after > LONGEST_WAIT:
                        raise
        raise AssertionError("unreachable")

    def _remove(self, job: Job, report: SendReport) -> Outcome:
        """Delete a post of ours; one already gone is as good as deleted."""
        assert job.removal is not None and job.channel is not None
        ts = job.removal.ts
        if ts is None:
            # A share that was being sent: deleted only if it landed.
            assert job.removal.of_delivery is not None
            try:
                ts = self._find_posted(job, job.channel, report, job.removal.of_delivery)
            except SLACK_ERRORS as error:
                return Outcome(job, job.channel, failure=failure_of(error))
            if ts is None:
                return Outcome(job, job.channel, looked=True, ended=NEVER_POSTED)
        try:
            self._call(report, job, "chat.delete", self.client.chat_delete, channel=job.channel, ts=ts)
        except SlackApiError as error:
            if error.response.get("error") != "message_not_found":
                return Outcome(job, job.channel, failure=failure_of(error))
        except SLACK_ERRORS as error:
            return Outcome(job, job.channel, failure=failure_of(error))
        return Outcome(job, job.channel, ts=ts)

    def _find_posted(
        self, job: Job, channel: str, report: SendReport, delivery_id: int | None = None
    ) -> str | None:
        """The ts of this delivery's message (or `delivery_id`'s) if an earlier attempt did post it."""
        wanted = job.delivery_id if delivery_id is None else delivery_id
        # A thread reply is found among the thread's replies, a top-level post in the history.
        name, method, where = (
            ("conversations.replies", self.client.conversations_replies, {"ts": job.thread_ts})
            if job.thread_ts
            else ("conversations.history", self.client.conversations_history, {})
        )
        # Page by page (cursor) back to the first attempt's moment: in a busy channel the post
        # may lie many messages back. Only a post whose outcome is unknown is looked for, as
        # new apps get these methods at one call a minute.
        cursor: dict[str, str] = {}
        while True:
            response = self._call(
                report,
                job,
                name,
                method,
                channel=channel,
                oldest=f"{job.since.timestamp() - LOOK_BACK_SECONDS:.6f}",
                # Only one attempt's post can be unaccounted for, and it was made within its
                # lease: a channel's later chatter is never paged through.
                latest=f"{job.since.timestamp() + LEASE.total_seconds() + LOOK_BACK_SECONDS:.6f}",
                include_all_metadata=True,
                limit=LOOK_BACK_PAGE,
                **where,
                **cursor,
            )
            for posted in response.get("messages") or []:
                metadata = posted.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == DELIVERY_EVENT and payload.get("delivery_id") == wanted:
                    return str(posted["ts"])
            following = (response.get("response_metadata") or {}).get("next_cursor")
            if not response.get("has_more") or not following:
                return None
            cursor = {"cursor": str(following)}


def failure_of(error: Exception) -> Failure:
    """What a failed call means for the delivery (see core.deliveries.judge)."""
    if isinstance(error, HeldBySlack):
        return Failure(Verdict.RATE_LIMITED, str(error), outcome_unknown=False, retry_after=error.seconds)
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", None)
        data = error.response.data if isinstance(error.response.data, dict) else {}
        failure = judge(status=status, error=data.get("error"))
        if failure.verdict is Verdict.RATE_LIMITED:
            return replace(failure, retry_after=retry_after(error))
        return failure
    return judge(status=None, error=type(error).__name__)
