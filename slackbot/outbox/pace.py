"""Pacing per workspace: an optional steady ceiling, and Slack's 429 holds, shared by the process.

Slack limits each Web API method per workspace. A 429 from any call of a method (the
clock's sender, the app's deferred work, a listener) holds every call of that method in
that workspace in this process until Retry-After has passed, not only the thread or the
sender object that met it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class LeaseRunningOut(Exception):
    """Too little of the claim's lease is left to start a Slack call: give the job back."""


def hold_key(workspace: str, method: str) -> str:
    """What a 429 holds: one method of one workspace."""
    return f"{workspace} {method}"


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

    def wait(
        self, method: str, deadline: float = float("inf"), clock: Callable[[], float] | None = None
    ) -> None:
        """Return when this caller may call `method`; raise LeaseRunningOut rather than wait past
        `deadline`, a time on the caller's `clock` (the pacer's own by default)."""
        while True:
            with self._lock:
                now = self._monotonic()
                slot = max(now, self._next_slot, self.holds.until(hold_key(self.key, method)))
                asked = clock() if clock is not None else now
                if asked + (slot - now) > deadline:
                    raise LeaseRunningOut
                if slot <= now:
                    self._next_slot = now + self.interval
                    return
            self._sleep(slot - now)


_pacers: dict[tuple[str, float], Pacer] = {}
_pacers_lock = threading.Lock()


def pacer_for(key: str, per_second: float) -> Pacer:
    """The process's pacer for a workspace, so every sender shares one ceiling."""
    with _pacers_lock:
        pacer = _pacers.get((key, per_second))
        if pacer is None:
            pacer = _pacers[(key, per_second)] = Pacer(key, per_second)
        return pacer
