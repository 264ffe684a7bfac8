"""Slack Web API clients for both processes, with three rules that hold for every call.

1. No call while this thread holds a database write: a slow Slack would hold SQLite's
   single write lock (or PostgreSQL row locks) for as long as it takes. The client
   refuses, loudly; it is a bug in the caller, not a condition to handle.
2. No call inside a 429 hold of its method in its workspace, whoever got the 429: a
   client waits out a short hold and refuses a long one (`HeldBySlack`) without calling.
   A request's client is patient only after Slack has its answer (deferred work).
3. No blind retries: chat.postMessage has no idempotency key, so the outbox decides
   what a failed post means; a request's client gives up quickly, because Slack waits
   only 3 seconds for our answer.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from slackbot.config import Settings
from slackbot.slack.holds import HOLDS, Holds, hold_key
from slackbot.store.writers import write_open

# Slack waits 3 s for our answer; a call made while it waits must end well before that.
REQUEST_TIMEOUT = 2
DELIVERY_TIMEOUT = 10
# How long a call may wait out a 429 hold: a listener little, background work longer
# (but well inside the outbox's lease margin).
REQUEST_HOLD_WAIT = 1.0
DELIVERY_HOLD_WAIT = 10.0


class SlackUnavailable(Exception):
    """Slack did not answer a call we needed to serve a request; worth trying again later."""


class WriteTransactionOpen(RuntimeError):
    """A Slack call was attempted while this thread holds a database write (a bug)."""


class HeldBySlack(Exception):
    """The workspace is inside a 429 hold longer than this client may wait; nothing was called."""

    def __init__(self, method: str, seconds: float) -> None:
        super().__init__(f"{method}: rate limited by Slack for {seconds:.1f} s more")
        self.seconds = seconds


def retry_after(error: SlackApiError) -> float:
    """Seconds Slack asked us to wait (Retry-After), 1 when it did not say."""
    for name, value in (error.response.headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(0.0, float(raw))
            except ValueError:
                break
    return 1.0


def workspace_key(token: str | None) -> str:
    """Which workspace a call belongs to, for holds and pacing: a bot token is one workspace's."""
    return token or ""


class SlackClient(WebClient):
    """slack_sdk's WebClient with the three rules of this module.

    `max_hold_wait` is how long a call may wait out a hold; a request's copy
    (`copy_for`) allows that only on the request's own thread, while Slack waits for
    the answer, and the background's patience on any other thread (work deferred until
    after the answer).
    """

    def __init__(
        self,
        *,
        max_hold_wait: float,
        holds: Holds = HOLDS,
        request_thread: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_hold_wait = max_hold_wait
        self.holds = holds
        self.request_thread = request_thread

    def _patience(self) -> float:
        if self.request_thread is None or threading.get_ident() == self.request_thread:
            return self.max_hold_wait
        return DELIVERY_HOLD_WAIT

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        if write_open():
            raise WriteTransactionOpen(f"{api_method} was called while a database write transaction is open")
        token = self.token
        for part in ("data", "params", "json"):
            given = kwargs.get(part)
            if isinstance(given, dict) and isinstance(given.get("token"), str):
                token = given["token"]
        key = hold_key(workspace_key(token), api_method)
        held = self.holds.remaining(key)
        if held > self._patience():
            raise HeldBySlack(api_method, held)
        if held > 0:
            time.sleep(held)
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as error:
            if getattr(error.response, "status_code", None) == 429:
                self.holds.hold(key, retry_after(error))
            raise

    def with_token(self, token: str, team_id: str | None) -> SlackClient:
        """This client for another workspace's token (the clock, in OAuth mode)."""
        return self._copy(token, team_id, self.request_thread)

    def copy_for(self, token: str | None, team_id: str | None) -> SlackClient:
        """The same client for one request on this thread (Bolt makes a fresh client per request)."""
        return self._copy(token, team_id, threading.get_ident())

    def _copy(self, token: str | None, team_id: str | None, request_thread: int | None) -> SlackClient:
        return SlackClient(
            max_hold_wait=self.max_hold_wait,
            holds=self.holds,
            request_thread=request_thread,
            token=token,
            base_url=self.base_url,
            timeout=self.timeout,
            team_id=team_id,
            retry_handlers=[],
        )


def bot_token(settings: Settings) -> str | None:
    """SLACK_BOT_TOKEN as the clients send it (None until it is set)."""
    return settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None


def delivery_client(settings: Settings) -> SlackClient:
    """For the outbox and deferred work: no automatic retries at all (see outbox/post.py)."""
    return SlackClient(
        max_hold_wait=DELIVERY_HOLD_WAIT,
        token=bot_token(settings),
        base_url=settings.slack_api_url,
        timeout=DELIVERY_TIMEOUT,
        retry_handlers=[],
    )


def request_client(settings: Settings) -> SlackClient:
    """For listeners, while Slack waits: a short timeout, no retries, little patience for holds."""
    return SlackClient(
        max_hold_wait=REQUEST_HOLD_WAIT,
        base_url=settings.slack_api_url,
        timeout=REQUEST_TIMEOUT,
        retry_handlers=[],
    )
