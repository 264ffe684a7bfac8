"""Running `slackbot` commands and clock ticks as real subprocesses (`python -m slackbot …`),
in an environment cleared of the machine's own SLACK_*, LOOPS_*, DATABASE_URL (and PORT)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from tests.support.bot import Bot


def environment(**values: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LOOPS_", "DATABASE_URL", "PORT"))
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(values)
    return env


def slackbot(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slackbot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def tick_process(
    bot: Bot, at: datetime, cwd: Path, concurrency: int = 16, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    extra = env or {}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LOOPS_", "DATABASE_URL"))}
    env.update(extra)
    env.update(
        DATABASE_URL=bot.settings.database_url,
        SLACK_BOT_TOKEN=bot.fake.bot_token,
        SLACK_API_URL=bot.fake.api_url,
        LOG_LEVEL="WARNING",
        LOOPS_SEND_CONCURRENCY=str(concurrency),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "slackbot", "tick", "--at", at.isoformat()],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
