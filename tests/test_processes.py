"""The processes as an operator starts them: the CLI commands and the Procfile's lines."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import IO
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from slackbot.fakeslack import FakeSlack, SlackSender
from slackbot.store.db import Database
from slackbot.store.migrate import pending_revisions
from tests.support.processes import environment, slackbot

ROOT = Path(__file__).resolve().parents[1]


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {
        name: command.strip() for name, _, command in (line.partition(":") for line in lines if line.strip())
    }


def slack_env(fake: FakeSlack, **values: str) -> dict[str, str]:
    """The environment of a process that talks to the emulator."""
    return environment(
        SLACK_BOT_TOKEN=fake.bot_token,
        SLACK_SIGNING_SECRET=fake.signing_secret,
        SLACK_API_URL=fake.api_url,
        **values,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, as on a first deploy."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/empty.db"
        return
    admin_url: str = request.getfixturevalue("postgres_admin_url")
    name = f"loops_empty_{os.getpid()}_{tmp_path.name[-12:].lower().replace('-', '_')}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        engine.dispose()


def test_release_migrates_and_is_safe_to_run_twice_at_once(empty_database_url: str, tmp_path: Path) -> None:
    env = environment(DATABASE_URL=empty_database_url)
    release = procfile()["release"].split()
    both = [
        subprocess.Popen(release, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120)[0].decode() for process in both]
    assert [process.returncode for process in both] == [0, 0], outputs
    database = Database(empty_database_url)
    assert not pending_revisions(database)
    database.dispose()
    again = subprocess.run(release, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0
    assert "newest schema" in again.stdout


def test_tick_needs_a_migrated_database_and_says_so(empty_database_url: str, tmp_path: Path) -> None:
    result = slackbot("tick", env=environment(DATABASE_URL=empty_database_url), cwd=tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr.strip() == "loops: the database schema is not up to date: run `slackbot migrate` first."
    )


def test_tick_at_a_given_time_exits_0(database_url: str, tmp_path: Path) -> None:
    result = slackbot(
        "tick", "--at", "2026-11-30T09:30:00+01:00", env=environment(DATABASE_URL=database_url), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "tick at 2026-11-30T08:30:00+00:00" in result.stdout


def test_tick_refuses_a_time_it_cannot_read(tmp_path: Path) -> None:
    result = slackbot("tick", "--at", "next tuesday", env=environment(), cwd=tmp_path)
    assert result.returncode == 2
    assert "is not an ISO-8601 time" in result.stderr
    assert "Traceback" not in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"web process exited: {process.communicate()[0].decode()[-2000:]}")
        try:
            with urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)  # waiting for a port to open, not for timing
    raise AssertionError("web process did not become healthy")


def test_procfile_web_serves_signed_requests_with_gunicorn(database_url: str, tmp_path: Path) -> None:
    port = _free_port()
    with FakeSlack() as fake:
        env = slack_env(fake, PORT=str(port), DATABASE_URL=database_url, WEB_CONCURRENCY="2")
        web = subprocess.Popen(
            ["sh", "-c", "exec " + procfile()["web"]],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_healthy(f"http://127.0.0.1:{port}/healthz", web)
            ana = fake.add_user(name="ana")
            reply = SlackSender(fake, app_url=f"http://127.0.0.1:{port}/slack/events").command(
                ana.id, "/loops", "help"
            )
            assert reply.status == 200
            assert "/loops start" in reply.text
            # A history read is acknowledged at once and answered through its response_url.
            sender = SlackSender(fake, app_url=f"http://127.0.0.1:{port}/slack/events")
            read = sender.command(ana.id, "/loops")
            assert read.status == 200
            url = read.extra["response_url"]
            fake.wait_for(lambda fake: bool(fake.response_url_posts(url)), timeout=60)
            (answer,) = fake.response_url_posts(url)
            assert answer["response_type"] == "ephemeral" and "/shipped" in json.dumps(answer)
            # The access log names the path, never the OAuth redirect's code and state.
            redirect = f"http://127.0.0.1:{port}/slack/oauth_redirect?code=C0DE4242&state=S7ATE4242"
            with suppress(HTTPError):  # not installing with OAuth here: only the log line matters
                urlopen(redirect, timeout=10).close()
        finally:
            web.send_signal(signal.SIGTERM)
            output = web.communicate(timeout=30)[0].decode()
    assert "Traceback" not in output
    assert "/slack/oauth_redirect" in output, output
    assert "C0DE4242" not in output and "S7ATE4242" not in output, output


def test_procfile_web_stops_with_one_line_on_a_bad_setting(tmp_path: Path) -> None:
    env = environment(PORT=str(_free_port()), SLACK_BOT_TOKEN="xoxb-1", LOOPS_PROMPT_TIME="25:00")
    result = subprocess.run(
        ["sh", "-c", procfile()["web"]], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if line.startswith("loops:")]
    assert len(ours) == 1
    assert "LOOPS_PROMPT_TIME" in ours[0]
    assert "Traceback" not in result.stderr


def _lines_until(stream: IO[bytes], pattern: str, timeout: float = 60) -> list[str]:
    """Read a child's output until a line matches; a reader thread keeps a hung child from hanging us."""
    found: queue.Queue[list[str]] = queue.Queue()

    def read() -> None:
        seen = []
        for raw in stream:
            seen.append(raw.decode())
            if re.search(pattern, seen[-1]):
                break
        found.put(seen)

    threading.Thread(target=read, daemon=True).start()
    try:
        return found.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"no line matching {pattern!r} within {timeout}s") from None


def test_procfile_clock_ticks_and_stops_on_sigterm(database_url: str, tmp_path: Path) -> None:
    with FakeSlack() as fake:
        clock = subprocess.Popen(
            ["sh", "-c", "exec " + procfile()["clock"]],
            env=slack_env(fake, DATABASE_URL=database_url, LOG_LEVEL="DEBUG"),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert clock.stdout is not None
        try:
            seen = _lines_until(
                clock.stdout, r"tick at .*forgot 0 old event ids"
            )  # the first tick, at start-up
        finally:
            clock.send_signal(signal.SIGTERM)
            rest = clock.communicate(timeout=30)[0].decode()
    assert clock.returncode == 0, "".join(seen) + rest
    assert "clock stopped" in rest


def test_run_serves_http_with_its_clock_inside(database_url: str, tmp_path: Path) -> None:
    port = _free_port()
    with FakeSlack() as fake:
        env = slack_env(fake, PORT=str(port), DATABASE_URL=database_url, LOG_LEVEL="DEBUG")
        run = subprocess.Popen(
            [sys.executable, "-m", "slackbot", "run"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_healthy(f"http://127.0.0.1:{port}/healthz", run)
            ana = fake.add_user(name="ana")
            sender = SlackSender(fake, app_url=f"http://127.0.0.1:{port}/slack/events")
            assert "/loops start" in sender.command(ana.id, "/loops", "help").text
        finally:
            run.send_signal(signal.SIGINT)
            output = run.communicate(timeout=30)[0].decode()
    assert run.returncode == 0, output
    assert "forgot 0 old event ids" in output, "the clock ticks inside `run`"
    assert "Traceback" not in output


def test_demo_tells_the_whole_morning(tmp_path: Path) -> None:
    result = slackbot("demo", env=environment(), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for seen in (
        "Friday 27 November at 09:30 (Asia/Kolkata)",
        "Loop #1: OTP SMS arrive minutes late — new sign-ups in India",
        "customers paying with <SEPA> & cards",
        "Still there?",
        "_3 days open_",
        "Every prompt went out once",
        "Last month you shipped 1 thing.",
        "*Recently closed*",
        "*Your last four weeks*",
    ):
        assert seen in out, seen
    assert "Traceback" not in result.stderr
