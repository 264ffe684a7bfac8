"""What an operator or a developer is told as the processes start: each mistake in one line,
and nothing alarming or repetitive on a start that is fine."""

from __future__ import annotations

import http.client
import logging
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit
from urllib.request import urlopen

import pytest
from cryptography.fernet import Fernet

from slackbot.fakeslack import FakeSlack
from slackbot.web import create_app
from tests.support.bot import BotFactory
from tests.support.processes import environment, slackbot

UNENCRYPTED = "stored unencrypted"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Output:
    """A child's combined output, read by a thread so the pipe never fills and a wait never hangs."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[bytes]) -> None:
        for raw in stream:
            self.lines.put(raw.decode("utf-8", "replace"))

    def until(self, pattern: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r}:\n{''.join(self.seen)}") from None
            self.seen.append(line)
            if re.search(pattern, line):
                return line

    def rest(self, process: subprocess.Popen[bytes]) -> str:
        process.wait(timeout=30)
        while True:
            try:
                self.seen.append(self.lines.get(timeout=5))
            except queue.Empty:
                return "".join(self.seen)


def _start(args: list[str], env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen[bytes], Output]:
    process = subprocess.Popen(
        [sys.executable, "-m", "slackbot", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    return process, Output(process.stdout)


def _oauth_env(fake: FakeSlack, database_url: str, **values: str) -> dict[str, str]:
    return environment(
        SLACK_CLIENT_ID=fake.client_id,
        SLACK_CLIENT_SECRET=fake.client_secret,
        SLACK_SIGNING_SECRET=fake.signing_secret,
        SLACK_API_URL=fake.api_url,
        DATABASE_URL=database_url,
        **values,
    )


# ---------------------------------------------------------------- tokens stored unencrypted


def test_the_web_process_says_once_that_oauth_tokens_are_unencrypted(
    fake: FakeSlack,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    for name, value in _oauth_env(fake, database_url).items():
        monkeypatch.setenv(name, value)
    for name in ("SLACK_BOT_TOKEN", "LOOPS_ENCRYPTION_KEY"):
        monkeypatch.delenv(name, raising=False)
    with caplog.at_level(logging.INFO):
        create_app()
    said = [r for r in caplog.records if UNENCRYPTED in r.getMessage()]
    assert len(said) == 1
    assert said[0].levelno == logging.WARNING
    assert "LOOPS_ENCRYPTION_KEY" in said[0].getMessage()

    caplog.clear()
    monkeypatch.setenv("LOOPS_ENCRYPTION_KEY", Fernet.generate_key().decode())
    with caplog.at_level(logging.INFO):
        create_app()
    assert UNENCRYPTED not in caplog.text


def test_the_clock_says_once_that_oauth_tokens_are_unencrypted(fake: FakeSlack, tmp_path: Path) -> None:
    env = _oauth_env(fake, f"sqlite:///{tmp_path}/loops.db", LOG_LEVEL="INFO")
    assert slackbot("migrate", env=env, cwd=tmp_path).returncode == 0
    clock, output = _start(["clock"], env, tmp_path)
    try:
        output.until("clock started")
    finally:
        clock.send_signal(signal.SIGTERM)
    text = output.rest(clock)
    (said,) = [line for line in text.splitlines() if UNENCRYPTED in line]
    assert "WARNING" in said and "LOOPS_ENCRYPTION_KEY" in said


# ---------------------------------------------------------------- local development


def test_run_with_a_placeholder_or_revoked_token_says_so_in_one_line(fake: FakeSlack, tmp_path: Path) -> None:
    env = environment(
        SLACK_SIGNING_SECRET=fake.signing_secret,
        SLACK_API_URL=fake.api_url,
        DATABASE_URL=f"sqlite:///{tmp_path}/loops.db",
        PORT=str(_free_port()),
    )
    fake.revoke_token(fake.bot_token)
    for token, answer in (("xoxb-your-bot-token", "invalid_auth"), (fake.bot_token, "token_revoked")):
        before = len(fake.calls("auth.test"))
        result = subprocess.run(
            [sys.executable, "-m", "slackbot", "run"],
            env={**env, "SLACK_BOT_TOKEN": token},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, result.stdout + result.stderr
        (line,) = [line for line in result.stderr.splitlines() if line.startswith("loops:")]
        assert "SLACK_BOT_TOKEN" in line and answer in line
        assert "Traceback" not in result.stdout + result.stderr
        assert len(fake.calls("auth.test")) == before + 1


def test_a_normal_run_has_no_token_warning_and_no_scheduler_chatter(fake: FakeSlack, tmp_path: Path) -> None:
    port = _free_port()
    env = environment(
        SLACK_BOT_TOKEN=fake.bot_token,
        SLACK_SIGNING_SECRET=fake.signing_secret,
        SLACK_API_URL=fake.api_url,
        DATABASE_URL=f"sqlite:///{tmp_path}/loops.db",
        PORT=str(port),
        LOG_LEVEL="INFO",
    )
    run, output = _start(["run"], env, tmp_path)
    try:
        output.until("Loops is listening")
        with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            assert response.status == 200
    finally:
        run.send_signal(signal.SIGINT)
    text = output.rest(run)
    assert run.returncode == 0, text
    assert "will be unused" not in text and "will be ignored" not in text
    assert "Running job" not in text and "executed successfully" not in text
    assert "WARNING" not in text and "Traceback" not in text
    assert len(fake.calls("auth.test")) == 1  # the start-up check


class Forward:
    """A port that passes connections on to another: Slack becoming reachable, on cue."""

    def __init__(self, port: int, to: int) -> None:
        self.server = socket.create_server(("127.0.0.1", port))
        self.to = to
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.to))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        self.server.close()


def test_socket_mode_waits_for_an_unreachable_slack_in_one_line(fake: FakeSlack, tmp_path: Path) -> None:
    port = _free_port()
    api = urlsplit(fake.api_url)
    env = environment(
        SLACK_APP_TOKEN=fake.app_token,
        SLACK_BOT_TOKEN=fake.bot_token,
        SLACK_API_URL=f"http://127.0.0.1:{port}{api.path}",
        DATABASE_URL=f"sqlite:///{tmp_path}/loops.db",
        LOG_LEVEL="INFO",
    )
    run, output = _start(["run"], env, tmp_path)
    forward = None
    try:
        said = output.until("cannot reach Slack")
        assert "WARNING" in said and f"127.0.0.1:{port}" in said
        assert api.port is not None
        forward = Forward(port, api.port)  # Slack is back: the next try connects
        output.until("Loops is running in Socket Mode")
        assert fake.socket_mode.connected() is not None
    finally:
        run.send_signal(signal.SIGINT)
        if forward is not None:
            forward.close()
    text = output.rest(run)
    assert len([line for line in text.splitlines() if "cannot reach Slack" in line]) == 1
    assert "Traceback" not in text and "ERROR" not in text


def test_a_wrong_signature_is_said_once_a_minute_naming_the_signing_secret(
    make_bot: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    bot = make_bot()
    url = urlsplit(bot.server.url)
    with caplog.at_level(logging.INFO):
        for _ in range(5):
            connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10)
            body = "command=%2Floops&text=help&team_id=T0LOOPS&user_id=U1"
            connection.request(
                "POST",
                "/slack/events",
                body=body,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Slack-Request-Timestamp": str(int(time.time())),
                    "X-Slack-Signature": "v0=" + "0" * 64,
                },
            )
            assert connection.getresponse().status == 401
            connection.close()
    said = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(said) == 1
    assert "SLACK_SIGNING_SECRET" in said[0].getMessage()
