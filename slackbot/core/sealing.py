"""Tokens encrypted at rest: Fernet from the `cryptography` package, several keys for rotation.

LOOPS_ENCRYPTION_KEY holds one or more Fernet keys, comma-separated, newest first. A token
is sealed with the first key and opened with whichever key sealed it (MultiFernet), so a
new key is put in front of the old ones, and an old one is dropped once every stored token
has been sealed again (each is, the next time it is saved: at every token refresh with
token rotation on, or at a reinstall).

A sealed value carries a prefix, so a row written before a key was set is still read as
it was stored and is sealed the next time it is saved.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

SEALED = "fernet:"


class SealingError(Exception):
    """A sealed value that none of the keys opens (a key was dropped too early)."""


def parse_keys(text: str) -> MultiFernet:
    """The keys of LOOPS_ENCRYPTION_KEY; ValueError with the reason for a bad one."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise ValueError("no key (README: Encrypting tokens says how to generate one)")
    keys = []
    for number, part in enumerate(parts, start=1):
        try:
            keys.append(Fernet(part.encode()))
        except (ValueError, TypeError):
            raise ValueError(
                f"key {number} is not a Fernet key (32 bytes, url-safe base64, 44 characters)"
            ) from None
    return MultiFernet(keys)


class Sealer:
    """Seals and opens token columns; with no keys it leaves values as they are."""

    def __init__(self, keys: str | None) -> None:
        self._fernet = parse_keys(keys) if keys else None

    @property
    def enabled(self) -> bool:
        return self._fernet is not None

    def seal(self, value: str | None) -> str | None:
        if value is None or self._fernet is None or value.startswith(SEALED):
            return value
        return SEALED + self._fernet.encrypt(value.encode()).decode("ascii")

    def open(self, value: str | None) -> str | None:
        if value is None or not value.startswith(SEALED):
            return value
        if self._fernet is None:
            raise SealingError("a token is encrypted, but LOOPS_ENCRYPTION_KEY is not set")
        try:
            return self._fernet.decrypt(value[len(SEALED) :].encode("ascii")).decode()
        except InvalidToken:
            raise SealingError("no key in LOOPS_ENCRYPTION_KEY opens a stored token") from None
