"""Injected failures and optional rate limiting, so the app's unhappy paths can be exercised.

Fault kinds:

- ``ratelimited``: HTTP 429, ``Retry-After`` header, ``{"ok": false, "error": "ratelimited"}``.
- ``server_error``: HTTP 500/502/503. 500 and 503 carry a JSON body (``fatal_error`` and
  ``service_unavailable``, both documented Slack errors); 502 an HTML page, as a load
  balancer in front of Slack answers.
- ``error``: HTTP 200 ``{"ok": false, "error": <error>}``.
- ``timeout``: hold the connection ``seconds`` (longer than the client's timeout), then drop it.
- ``latency``: delay the call ``seconds``, then answer normally.
- ``hold``: keep the call waiting until the test calls ``fault.release()``, then answer
  normally; a test uses it to make an overlap certain instead of hoping a delay is enough.

With ``commit=True`` the call still takes effect before the failure is returned: Slack did the
work but the answer was lost, which is what makes retrying chat.postMessage (it has no
idempotency key) post twice.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

KINDS = ("ratelimited", "server_error", "error", "timeout", "latency", "hold")


@dataclass
class Fault:
    """One injected failure; ``times`` counts down to 0, None means forever."""

    method: str
    kind: str
    times: int | None = None
    retry_after: int = 1
    status: int = 500
    seconds: float = 0.0
    error: str = "fatal_error"
    commit: bool = False
    hits: int = 0
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        """Let every call a ``hold`` fault keeps waiting (and every later one) go on."""
        self.released.set()

    def matches(self, method: str) -> bool:
        """True when this fault applies to ``method`` and is not used up."""
        return (self.method in ("*", method)) and (self.times is None or self.times > 0)


class Faults:
    """The registry ``fake.faults`` exposes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self,
        method: str = "*",
        kind: str = "error",
        *,
        times: int | None = None,
        retry_after: int = 1,
        status: int = 500,
        seconds: float = 0.0,
        error: str = "fatal_error",
        commit: bool = False,
    ) -> Fault:
        """Inject a failure for ``method`` ("*" for every method)."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {KINDS}")
        if kind == "server_error" and status not in (500, 502, 503, 504):
            raise ValueError("server_error status must be 500, 502, 503 or 504")
        fault = Fault(
            method=method,
            kind=kind,
            times=times,
            retry_after=retry_after,
            status=status,
            seconds=seconds,
            error=error,
            commit=commit,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        """Stop injecting one fault."""
        with self._lock:
            if fault in self._faults:
                self._faults.remove(fault)

    def clear(self) -> None:
        """Stop injecting everything."""
        with self._lock:
            self._faults.clear()

    def take(self, method: str) -> tuple[float, list[Fault], Fault | None]:
        """Consume what applies to one call: total latency, holds, and the first failing fault."""
        latency = 0.0
        holds: list[Fault] = []
        failing: Fault | None = None
        with self._lock:
            for fault in self._faults:
                if not fault.matches(method):
                    continue
                if fault.kind == "latency":
                    latency += fault.seconds
                elif fault.kind == "hold":
                    holds.append(fault)
                elif failing is None:
                    failing = fault
                else:
                    continue
                fault.hits += 1
                if fault.times is not None:
                    fault.times -= 1
        return latency, holds, failing


# Per-method tiers (requests per minute), from each method's page on docs.slack.dev.
TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
TIER_BURST = {1: 1, 2: 5, 3: 10, 4: 20}
METHOD_TIERS = {
    "auth.test": 4,
    "users.info": 4,
    "users.list": 2,
    "conversations.open": 3,
    "conversations.members": 4,
    "conversations.history": 3,
    "conversations.replies": 3,
    "chat.postEphemeral": 4,
    "chat.update": 3,
    "chat.delete": 3,
    "chat.getPermalink": 4,
    "views.open": 4,
    "views.update": 4,
    "views.push": 4,
    "views.publish": 4,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
}
# chat.postMessage is "special": about one message per second per channel, short bursts allowed.
POST_PER_SECOND = 1.0
POST_BURST = 3


class RateLimiter:
    """Sliding-window tier limits and a per-channel token bucket, on the fake's clock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {}
        self._buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens, at)

    def check(self, method: str, channel: str | None) -> int | None:
        """None when the call may proceed (and is counted), else Retry-After seconds."""
        now = self._clock()
        with self._lock:
            if method == "chat.postMessage":
                return self._post(channel or "", now)
            tier = METHOD_TIERS.get(method)
            if tier is None:
                return None
            window = self._windows.setdefault(method, deque())
            while window and window[0] <= now - 60.0:
                window.popleft()
            if len(window) >= TIER_PER_MINUTE[tier] + TIER_BURST[tier]:
                return max(1, math.ceil(window[0] + 60.0 - now))
            window.append(now)
            return None

    def _post(self, channel: str, now: float) -> int | None:
        tokens, at = self._buckets.get(channel, (float(POST_BURST), now))
        tokens = min(float(POST_BURST), tokens + (now - at) * POST_PER_SECOND)
        if tokens < 1.0:
            self._buckets[channel] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / POST_PER_SECOND))
        self._buckets[channel] = (tokens - 1.0, now)
        return None
