"""Settings: every CONTRACT.md variable, friendly one-line failures, and the small parsers."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slackbot.config import (
    Settings,
    SettingsError,
    load_settings,
    normalize_database_url,
    parse_clock_time,
)
from slackbot.core.schedule import WEEKDAYS, format_workdays, parse_workdays


def clean_env(**values: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LOOPS_", "DATABASE_URL", "PORT"))
    }
    env.update(values)
    return env


def test_defaults_match_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("SLACK_", "LOOPS_")) or name in {"DATABASE_URL", "PORT"}:
            monkeypatch.delenv(name)
    settings = Settings(_env_file=None)
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.database_url == "sqlite:///loops.db"
    assert settings.port == 3000
    assert settings.loops_prompt_time == time(9, 30)
    assert settings.loops_workdays == frozenset({0, 1, 2, 3, 4})
    assert settings.slack_bot_token is None and not settings.socket_mode


def test_every_contract_variable_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "sig",
        "SLACK_APP_TOKEN": "xapp-1",
        "SLACK_CLIENT_ID": "123.456",
        "SLACK_CLIENT_SECRET": "cs",
        "SLACK_API_URL": "http://127.0.0.1:9/api",
        "DATABASE_URL": "postgres://u:p@db.example:5432/loops",
        "PORT": "8080",
        "LOOPS_PROMPT_TIME": "08:05",
        "LOOPS_WORKDAYS": "sun-thu",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    assert settings.slack_bot_token is not None and settings.slack_bot_token.get_secret_value() == "xoxb-1"
    assert "xoxb-1" not in repr(settings), "secrets must not show up in logs"
    assert settings.slack_signing_secret is not None
    assert settings.socket_mode and settings.oauth_mode
    assert settings.slack_client_secret is not None
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert settings.database_url == "postgresql+psycopg://u:p@db.example:5432/loops"
    assert settings.port == 8080
    assert settings.loops_prompt_time == time(8, 5)
    assert settings.loops_workdays == frozenset({6, 0, 1, 2, 3})


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOOPS_PROMPT_TIME", raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text("LOOPS_PROMPT_TIME=07:45\nSLACK_APP_TOKEN=\n")
    settings = Settings(_env_file=env_file)
    assert settings.loops_prompt_time == time(7, 45)
    assert settings.slack_app_token is None, "an empty value in .env means unset"


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("LOOPS_WORKDAYS", "weekdays", "LOOPS_WORKDAYS"),
        ("LOOPS_PROMPT_TIME", "9.30am", "LOOPS_PROMPT_TIME"),
        ("PORT", "http", "PORT"),
        ("SLACK_BOT_TOKEN", "xoxp-user-token", "SLACK_BOT_TOKEN"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
    ],
)
def test_malformed_setting_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, words: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        load_settings(_env_file=None)
    message = str(raised.value)
    assert words in message and "\n" not in message


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
    ],
)
def test_missing_slack_settings_stop_the_web_process(env: dict[str, Any], missing: str) -> None:
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})
    with pytest.raises(SettingsError, match=missing):
        settings.require_slack(http=True)


def test_socket_mode_needs_no_signing_secret() -> None:
    settings = Settings(_env_file=None, slack_bot_token="xoxb-1", slack_app_token="xapp-1")
    settings.require_slack(http=not settings.socket_mode)


def test_cli_reports_a_bad_setting_in_one_line_without_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "slackbot", "tick"],
        env=clean_env(LOOPS_WORKDAYS="someday", DATABASE_URL=f"sqlite:///{tmp_path}/x.db"),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "LOOPS_WORKDAYS" in lines[0]


def test_heroku_style_urls_use_psycopg() -> None:
    assert normalize_database_url("postgres://a:b@h/d") == "postgresql+psycopg://a:b@h/d"
    assert normalize_database_url("postgresql://a@h/d") == "postgresql+psycopg://a@h/d"
    assert normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"


@given(st.sets(st.integers(min_value=0, max_value=6), min_size=1))
def test_workdays_round_trip(days: set[int]) -> None:
    assert parse_workdays(format_workdays(frozenset(days))) == frozenset(days)


@given(st.integers(0, 6), st.integers(0, 6))
def test_workday_ranges_wrap_around_the_week(first: int, last: int) -> None:
    days = parse_workdays(f"{WEEKDAYS[first]}-{WEEKDAYS[last]}")
    assert first in days and last in days
    assert len(days) == (last - first) % 7 + 1


@given(st.text(max_size=12))
def test_workdays_parser_accepts_or_refuses_never_crashes(text: str) -> None:
    try:
        days = parse_workdays(text)
    except ValueError:
        return
    assert days and days <= frozenset(range(7))


@given(st.times())
def test_clock_time_round_trip(moment: time) -> None:
    assert parse_clock_time(moment.strftime("%H:%M")) == moment.replace(second=0, microsecond=0)


@given(st.text(max_size=8))
def test_clock_time_parser_accepts_or_refuses_never_crashes(text: str) -> None:
    try:
        moment = parse_clock_time(text)
    except ValueError:
        return
    assert moment.second == 0
