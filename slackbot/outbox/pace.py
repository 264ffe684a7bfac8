"""Pacing a workspace's deliveries: an optional steady ceiling (LOOPS_SEND_RATE), Slack's 429
holds (slack/holds.py), and one call of a method at a time, shared by the process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from slackbot.slack.holds import HOLDS, Holds, hold_key


class LeaseRunningOut(Exception):
    """Too little of the claim's lease is left to start a Slack call: give the job back."""


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
        self._turns: dict[str, threading.Lock] = {}

    @contextmanager
    def turn(
        self, method: str, deadline: float = float("inf"), clock: Callable[[], float] | None = None
    ) -> Iterator[None]:
        """Wait (as `wait` does), then hold the workspace's turn at `method` through the call.

        One call of a method at a time per workspace: a 429 is known (and held) before the
        next call of that method starts, so none is already on its way inside the hold.
        """
        with self._lock:
            turn = self._turns.setdefault(method, threading.Lock())
        left = deadline - (clock or self._monotonic)()
        if left <= 0 or not turn.acquire(timeout=min(left, threading.TIMEOUT_MAX)):
            raise LeaseRunningOut
        try:
            self.wait(method, deadline, clock)
            yield
        finally:
            turn.release()

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
