"""Domain errors: what went wrong in words a person can act on.

The app's one error handler shows `user_message` to the person (ephemerally, or as
an inline error in a modal when `field` names an input) and changes nothing.
"""

from __future__ import annotations


class LoopsError(Exception):
    """A request we understood and refuse, with a friendly explanation."""

    def __init__(self, user_message: str, *, field: str | None = None) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        # Inline errors for a modal, keyed by the input's block_id.
        self.fields: dict[str, str] = {field: user_message} if field else {}


class InvalidInput(LoopsError):
    """What the person typed cannot be used; nothing was stored."""


class InvalidFields(InvalidInput):
    """Several inputs of one modal are wrong at once; each gets its own inline error."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(next(iter(fields.values())))
        self.fields = dict(fields)
