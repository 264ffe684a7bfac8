"""Settings read from the environment and `.env`, validated once at start-up.

A deployment fails fast with one line that names the variable, so an operator
never has to read a traceback to learn that `LOOPS_WORKDAYS` has a typo.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

from slackbot.core.enrolment import Defaults
from slackbot.core.schedule import known_zone, parse_workdays
from slackbot.core.shipments import Wait, parse_wait


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line for the operator."""


_CLOCK_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_clock_time(text: str) -> time:
    """`HH:MM` on a 24-hour clock; seconds are not a thing people set prompts by."""
    match = _CLOCK_TIME.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a time of day as HH:MM (24-hour), such as 09:30")
    return time(int(match.group(1)), int(match.group(2)))


_DURATION = re.compile(r"^(?:(?P<h>\d+(?:\.\d+)?)\s*h(?:ours?)?)?\s*(?:(?P<m>\d+)\s*m(?:in(?:utes?)?)?)?$")


def parse_duration(text: str) -> timedelta:
    """`3h`, `90m`, `1h30m`, or a bare number of hours (`0` is zero, meaning off)."""
    cleaned = text.strip().lower()
    try:
        hours = float(cleaned)
    except ValueError:
        match = _DURATION.match(cleaned)
        if not cleaned or not match or not (match.group("h") or match.group("m")):
            raise ValueError(f"{text!r} is not a duration such as 3h, 90m or 1h30m") from None
        return timedelta(hours=float(match.group("h") or 0), minutes=int(match.group("m") or 0))
    if hours < 0 or hours != hours or hours > 24 * 7:
        raise ValueError(f"{text!r} is not a duration between 0 and a week")
    return timedelta(hours=hours)


_DAYS = re.compile(r"^(?P<n>\d{1,5})\s*(?:d|days?)?$")


def parse_days(text: str) -> timedelta:
    """`30d`, `30 days`, or a bare number of days; `0` is zero (at once)."""
    match = _DAYS.match(text.strip().lower())
    if not match:
        raise ValueError(f"{text!r} is not a number of days such as 30d (0: at once)")
    return timedelta(days=int(match.group("n")))


def normalize_database_url(url: str) -> str:
    """Accept Heroku's `postgres://` and plain `postgresql://`; use the psycopg 3 driver."""
    url = url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    """Every variable of CONTRACT.md; names are the environment variable names, lower-cased."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite:///loops.db"
    port: int = Field(default=3000, ge=1, le=65535)
    log_level: str = "INFO"

    loops_prompt_time: Annotated[time, NoDecode] = time(9, 30)
    loops_workdays: Annotated[frozenset[int], NoDecode] = frozenset(range(5))
    # One reminder in the prompt's thread this long after it, if unanswered; 0 turns it off.
    loops_nudge_after: Annotated[timedelta, NoDecode] = timedelta(hours=3)
    # A prompt the clock could not send on time still goes out if at most this late.
    loops_catch_up: Annotated[timedelta, NoDecode] = timedelta(hours=2)
    # The end of a person's working day: no nudges after it.
    loops_day_end: Annotated[time, NoDecode] = time(18, 0)
    # When the post-ship check-in asks, unless the person picks: N workdays or N weeks.
    loops_checkin_after: Annotated[Wait, NoDecode] = Wait(workdays=2)
    # An asked check-in with no answer this long after becomes an unwatched ship.
    loops_checkin_give_up: Annotated[Wait, NoDecode] = Wait(workdays=10)
    # Members of this channel (an id such as C0123ABCD) are enrolled automatically.
    loops_channel: str | None = None
    # The weekly team digest and the daily thread go here (a channel id), unless a workspace
    # admin picks its own with `/loops digest #channel`.
    loops_digest_channel: str | None = None
    # The team's time zone for the digest (Monday 09:00) and the daily thread; unset: the most
    # common zone among enrolled people.
    loops_team_tz: str | None = None
    # Deliveries sent at once by one tick; each waits on Slack, so more than the cores.
    loops_send_concurrency: int = Field(default=32, ge=1, le=128)
    # A ceiling on messages per second per workspace (0: none; Slack's 429s still pace us).
    loops_send_rate: float = Field(default=0.0, ge=0.0, le=1000.0)
    # The most connections one process (each web worker, the clock) opens to PostgreSQL.
    loops_database_connections: int = Field(default=15, ge=2, le=100)
    # Fernet keys, comma-separated, newest first: tokens are encrypted at rest with the first
    # and read with any (so a key can be rotated). Unset: tokens are stored as Slack gave them.
    loops_encryption_key: SecretStr | None = None
    # How long a workspace's data is kept after it uninstalls Loops (a reinstall within it
    # restores everything); the clock deletes it then. 0: at once.
    loops_retention_after_uninstall: Annotated[timedelta, NoDecode] = timedelta(days=30)

    @field_validator(
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "slack_client_id",
        "slack_client_secret",
        "loops_encryption_key",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # `SLACK_APP_TOKEN=` in a .env file means "not set", not "set to nothing".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("a bot token starts with xoxb-; copy it from OAuth & Permissions")
        return value

    @field_validator("loops_encryption_key")
    @classmethod
    def _encryption_keys_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from slackbot.core.sealing import parse_keys

            parse_keys(value.get_secret_value())  # ValueError with the reason
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("an app-level token starts with xapp-; create one under Basic Information")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_shape(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url_shape(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = normalize_database_url(value)
            if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", value):
                raise ValueError("must be sqlite:///path.db or postgres://user:pass@host/db")
            try:
                make_url(value).port  # noqa: B018 - reading the port is what checks it
            except ValueError as error:
                raise ValueError(f"cannot be read as a database URL ({error})") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level_shape(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value

    @field_validator("loops_prompt_time", "loops_day_end", mode="before")
    @classmethod
    def _clock_times(cls, value: Any) -> Any:
        return parse_clock_time(value) if isinstance(value, str) else value

    @field_validator("loops_nudge_after", "loops_catch_up", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) else value

    @field_validator("loops_retention_after_uninstall", mode="before")
    @classmethod
    def _days(cls, value: Any) -> Any:
        return parse_days(value) if isinstance(value, str) else value

    @field_validator("loops_checkin_after", "loops_checkin_give_up", mode="before")
    @classmethod
    def _waits(cls, value: Any) -> Any:
        return parse_wait(value) if isinstance(value, str) else value

    @field_validator("loops_team_tz", mode="before")
    @classmethod
    def _team_zone(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip() or None
            if value is not None and not known_zone(value):
                raise ValueError("must be an IANA time zone such as Europe/Berlin")
        return value

    @field_validator("loops_channel", "loops_digest_channel", mode="before")
    @classmethod
    def _channel_id(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            if not re.fullmatch(r"[CG][A-Z0-9]{2,}", value):
                raise ValueError(
                    "must be a channel id such as C0123ABCD (channel details → About → Channel ID)"
                )
        return value

    @field_validator("loops_workdays", mode="before")
    @classmethod
    def _workdays(cls, value: Any) -> Any:
        return parse_workdays(value) if isinstance(value, str) else value

    @property
    def defaults(self) -> Defaults:
        """The schedule a person has until they set their own."""
        return Defaults(
            prompt_time=self.loops_prompt_time, workdays=self.loops_workdays, catch_up=self.loops_catch_up
        )

    @property
    def socket_mode(self) -> bool:
        """Socket Mode is for development: an app-level token switches `run` to it."""
        return self.slack_app_token is not None

    @property
    def oauth_mode(self) -> bool:
        return self.slack_client_id is not None

    @property
    def default_digest_channel(self) -> str | None:
        """LOOPS_DIGEST_CHANNEL names one workspace's channel: with OAuth, each picks its own."""
        return None if self.oauth_mode else self.loops_digest_channel

    def require_slack(self, *, http: bool) -> None:
        """Check the Slack credentials a process needs before it starts serving.

        `migrate` and `tick` on an empty database need none; the web process needs
        the signing secret, because every request it accepts must be verified.
        """
        if self.oauth_mode:
            if self.slack_client_secret is None:
                raise SettingsError(
                    "SLACK_CLIENT_SECRET is missing: SLACK_CLIENT_ID is set, so Loops installs with "
                    "OAuth; copy the Client Secret from the app's Basic Information page."
                )
            if self.slack_bot_token is not None:
                raise SettingsError(
                    "SLACK_BOT_TOKEN and SLACK_CLIENT_ID are both set: set SLACK_BOT_TOKEN for one "
                    "workspace, or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install into any."
                )
            if self.socket_mode:
                raise SettingsError(
                    "SLACK_APP_TOKEN (Socket Mode) is for one workspace in development: unset it to "
                    "install with OAuth over HTTP, or unset SLACK_CLIENT_ID to use SLACK_BOT_TOKEN."
                )
        elif self.slack_bot_token is None:
            raise SettingsError(
                "SLACK_BOT_TOKEN is missing: set it to the app's bot token (xoxb-…) from "
                "OAuth & Permissions, in the environment or in .env."
            )
        if http and self.slack_signing_secret is None:
            raise SettingsError(
                "SLACK_SIGNING_SECRET is missing: set it to the Signing Secret from the app's "
                "Basic Information page (or set SLACK_APP_TOKEN to use Socket Mode)."
            )


def configure_logging(settings: Settings) -> None:
    """One format for every process; Alembic's and APScheduler's chatter only when debugging."""
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.log_level != "DEBUG":
        logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
        # APScheduler's "Running job…" and "…executed successfully", twice a minute.
        logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)


def _misspelled_variables(env_file: Any) -> list[str]:
    """LOOPS_* names that are no setting: a typo would otherwise be silently ignored."""
    names = {name.upper() for name in os.environ if name.upper().startswith("LOOPS_")}
    if env_file and Path(str(env_file)).is_file():
        names |= {name.upper() for name in dotenv_values(str(env_file)) if name.upper().startswith("LOOPS_")}
    return sorted(names - {name.upper() for name in Settings.model_fields})


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning pydantic's report into one line per bad variable."""
    unknown = _misspelled_variables(overrides.get("_env_file", Settings.model_config.get("env_file")))
    if unknown:
        known = [name.upper() for name in Settings.model_fields if name.startswith("loops_")]
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, known, n=1)
            hints.append(f"{name} is not a Loops setting" + (f" (did you mean {close[0]}?)" if close else ""))
        raise SettingsError("; ".join(hints) + ". README.md lists the settings.")
    try:
        return Settings(**overrides)
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            name = str(problem["loc"][0]).upper() if problem["loc"] else "settings"
            reason = str(problem["msg"]).removeprefix("Value error, ")
            lines.append(f"{name} is not valid: {reason}.")
        raise SettingsError(" ".join(lines)) from None
