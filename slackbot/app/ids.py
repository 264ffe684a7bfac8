"""Names Slack sends back to us (commands, context keys): one place, no string typos."""

from __future__ import annotations

from enum import StrEnum


class Command(StrEnum):
    LOOPS = "/loops"
    SHIPPED = "/shipped"


class ContextKey(StrEnum):
    """Keys this app adds to Bolt's per-request context."""

    SESSION = "loops_session"
    WORKSPACE = "loops_workspace"
    PERSON = "loops_person"
    FAILED = "loops_failed"
