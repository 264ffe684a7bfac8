"""Waiting on what the emulator does not see (a row, a lock): FakeSlack.wait_for wakes on the
emulator's own changes only."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def until(condition: Callable[[], T | None], timeout: float = 30.0, every: float = 0.005) -> T:
    """Check `condition` every `every` seconds until it is truthy, and return it; TimeoutError
    after `timeout`. A wait for a state, not for an amount of time."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true within {timeout} s: {condition}")
        time.sleep(every)
