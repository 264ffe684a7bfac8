"""Slack's 429 holds, shared by the process.

Slack limits each Web API method per workspace. A 429 from any call of a method (the
clock's sender, the app's deferred work, a listener) holds every call of that method in
that workspace in this process until Retry-After has passed, not only the thread or the
object that met it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


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
