"""Pacing per workspace: an optional steady ceiling, and Slack's 429 holds, shared by the process.

A 429 from any call (the clock's sender, the app's deferred work, a listener) holds
every call of that workspace in this process until Retry-After has passed: Slack's
limit is per workspace and method family, not per thread or per sender object.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class LeaseRunningOut(Exception):
    """Too little of the claim's lease is left to start a Slack call: give the job back."""


class Holds:
    """When each workspace may call Slack again (monotonic seconds), after a 429."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}

    def hold(self, key: str, seconds: float) -> None:
        """Slack said 429: nobody in this workspace calls again before `seconds` from now."""
        with self._lock:
            self._until[key] = max(self._until.get(key, 0.0), self._monotonic() + seconds)

    def until(self, key: str) -> float:
        with self._lock:
            return self._until.get(key, 0.0)

    def remaining(self, key: str) -> float:
        return max(0.0, self.until(key) - self._monotonic())


# One per process: every client and sender of a workspace sees the same hold.
HOLDS = Holds()


class Pacer:
    """Paces one workspace's calls: an optional steady ceiling, and the workspace's 429 hold.

    `wait` re-checks the hold after every sleep, so a call that was about to start
    when another thread's 429 arrived waits for that hold too.
    """

    def __init__(
        self,
        key: str,
        per_second: float,
        *,
        holds: Holds = HOLDS,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.key = key
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.holds = holds
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = 0.0

    def wait(self, deadline: float = float("inf")) -> None:
        """Return when this caller may call; raise LeaseRunningOut rather than wait past `deadline`."""
        while True:
            with self._lock:
                now = self._monotonic()
                slot = max(now, self._next_slot, self.holds.until(self.key))
                if slot > deadline:
                    raise LeaseRunningOut
                if slot <= now:
                    self._next_slot = now + self.interval
                    return
            self._sleep(slot - now)

    def hold(self, seconds: float) -> None:
        self.holds.hold(self.key, seconds)


_pacers: dict[tuple[str, float], Pacer] = {}
_pacers_lock = threading.Lock()


def pacer_for(key: str, per_second: float) -> Pacer:
    """The process's pacer for a workspace, so every sender shares one ceiling."""
    with _pacers_lock:
        pacer = _pacers.get((key, per_second))
        if pacer is None:
            pacer = _pacers[(key, per_second)] = Pacer(key, per_second)
        return pacer
