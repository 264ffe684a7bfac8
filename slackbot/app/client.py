"""The Slack Web API client, with retry rules that fit where it is used.

A request from Slack must be answered within 3 seconds, so the client used while
answering retries a 429 only when Slack asks for a short wait; the clock process can
afford to wait out a longer Retry-After.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from slackbot.config import Settings


class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Retry a 429 only when its Retry-After is at most `max_wait` seconds."""

    def __init__(self, *, max_wait: float, max_retry_count: int = 1) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        retry_after = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), ["1"])
        try:
            wait = float(retry_after[0] if isinstance(retry_after, list) else retry_after)
        except ValueError:
            return False
        return wait <= self.max_wait


def retry_handlers(*, max_rate_limit_wait: float, max_retries: int) -> list[RetryHandler]:
    return [
        ConnectionErrorRetryHandler(max_retry_count=max_retries),
        ServerErrorRetryHandler(max_retry_count=max_retries),
        BoundedRateLimitRetryHandler(max_wait=max_rate_limit_wait, max_retry_count=max_retries),
    ]


def request_client(settings: Settings) -> WebClient:
    """For listeners: quick to give up, because Slack is waiting for our answer."""
    return WebClient(
        token=settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None,
        base_url=settings.slack_api_url,
        timeout=5,
        retry_handlers=retry_handlers(max_rate_limit_wait=1.0, max_retries=1),
    )
