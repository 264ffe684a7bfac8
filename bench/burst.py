"""How fast the web process acks a burst of slash commands, and how many people it fails.

    python bench/burst.py                        # 2,000 people at 200 per second, SQLite
    python bench/burst.py --postgres             # the same against a throwaway PostgreSQL
    python bench/burst.py --people 500 --rate 50 --workers 4 --threads 4 --keep

The `web` line of the Procfile runs as it would in a deployment (gunicorn, --preload,
WEB_CONCURRENCY workers of WEB_THREADS threads), bound to 127.0.0.1, against a fresh
database migrated with `python -m slackbot migrate`. The Slack emulator runs in its own
process (so it does not share our interpreter's lock), answers at once, and knows every
person with a time zone. Then N people send a signed `/loops start`, all of them
`/loops help`, and all of them `/loops pause 3 days`.

The load is open-loop: request i leaves at t0 + i/R whatever became of the earlier ones,
each on its own connection (`Connection: close`, as a new TCP connection per command), with
a 10 s timeout. "behind schedule" is how late the generator sent; when it is small next to
the acks, the figures are the server's. A phase ends when every request has its answer and
the emulator has had no call for a second (work deferred past the ack has finished).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any
from urllib.parse import urlencode
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from slackbot.config import normalize_database_url  # noqa: E402
from slackbot.fakeslack import sign  # noqa: E402
from slackbot.store.models import Person, Workspace  # noqa: E402

TIMEOUT = 10.0  # seconds a request may take before the generator gives up on it
SLACK_DEADLINE = 3.0  # Slack shows the person an error for an ack later than this
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "America/Los_Angeles", "Australia/Sydney")
PHASES = (("start", "start"), ("help", "help"), ("pause", "pause 3 days"))

EMULATOR = """
import json, sys
from collections import Counter
from slackbot.fakeslack import FakeSlack
people, zones = int(sys.argv[1]), json.loads(sys.argv[2])
fake = FakeSlack().start()
users = [fake.add_user(name=f"p{n}", tz=zones[n % len(zones)]) for n in range(people)]
dms = {u.id: fake.dm_channel_id(u.id) for u in users}
ready = {
    "api_url": fake.api_url, "token": fake.bot_token, "secret": fake.signing_secret,
    "team": fake.team_id, "domain": fake.team_domain, "app": fake.app_id,
    "verification": fake.verification_token,
    "users": [[u.id, u.name, dms[u.id]] for u in users],
}
print(json.dumps(ready), flush=True)
for line in sys.stdin:
    word = line.strip()
    if word == "mint":  # what Slack puts in a command: a response_url and a trigger_id
        minted = {
            u.id: [fake.state.mint_response_url(u.id, dms[u.id]).url, fake.trigger_for(u.id)]
            for u in users
        }
        print(json.dumps(minted), flush=True)
    elif word == "calls":
        print(json.dumps(dict(Counter(c.method for c in fake.calls()))), flush=True)
    elif word == "reset":
        fake.reset_calls()
        print("{}", flush=True)
    else:
        break
fake.stop()
"""


@dataclass
class Outcome:
    """One request: how late it left, how long its answer took, and what the answer was."""

    behind: float
    elapsed: float
    status: int  # 0: no answer (timeout, refused or reset)
    text: str
    started: float = 0.0  # time.monotonic() when it left


@dataclass
class Emulator:
    child: subprocess.Popen[str]
    ready: dict[str, Any]

    def ask(self, word: str, timeout: float = 60) -> Any:
        assert self.child.stdin is not None
        self.child.stdin.write(word + "\n")
        self.child.stdin.flush()
        return json.loads(_read_line(self.child, timeout))

    def stop(self) -> None:
        try:
            if self.child.poll() is None and self.child.stdin is not None:
                self.child.stdin.write("quit\n")
                self.child.stdin.flush()
            self.child.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.child.kill()
            self.child.wait(timeout=10)


def _read_line(child: subprocess.Popen[str], timeout: float) -> str:
    """The child's next line of output, or an error if it has none within `timeout` seconds."""
    assert child.stdout is not None
    ready, _, _ = select.select([child.stdout], [], [], timeout)
    line = child.stdout.readline() if ready else ""
    if not line:
        raise RuntimeError(f"the emulator said nothing within {timeout:.0f} s (exit code {child.poll()})")
    return line


def start_emulator(people: int) -> Emulator:
    return run_emulator(EMULATOR, str(people), json.dumps(ZONES))


def run_emulator(script: str, *argv: str) -> Emulator:
    """`script` in a Python process of its own, on this checkout: it prints its ready JSON first,
    then answers each word it reads on stdin with one line of JSON (see EMULATOR)."""
    child = subprocess.Popen(
        [sys.executable, "-c", script, *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        start_new_session=True,  # Ctrl-C reaches us only; we stop it in order
    )
    emulator = Emulator(child, {})
    try:
        emulator.ready = json.loads(_read_line(child, 120))
    except BaseException:
        emulator.stop()
        raise
    return emulator


def apology_sentences() -> dict[str, str]:
    """The apology texts as the app has them."""
    from slackbot.blocks import errors

    return {
        "database": errors.DATABASE_DOWN,
        "slack": errors.SLACK_DOWN,
        "refused": errors.SLACK_REFUSED,
        "other": errors.APOLOGY,
    }


def procfile_web() -> str:
    lines = (ROOT / "Procfile").read_text().splitlines()
    found = {name.strip(): command.strip() for name, _, command in (line.partition(":") for line in lines)}
    return found["web"]


def procfile_default(command: str, variable: str) -> int:
    match = re.search(r"\$\{" + variable + r":-(\d+)\}", command)
    if match is None:
        raise RuntimeError(f"the Procfile's web line has no ${{{variable}:-N}}")
    return int(match.group(1))


def environment(**values: str) -> dict[str, str]:
    """Ours without any setting of the app, so only what the benchmark gives counts."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "LOOPS_", "DATABASE_URL", "PORT", "WEB_", "LOG_LEVEL"))
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(values)
    return env


def migrate(database_url: str, folder: Path) -> bool:
    result = subprocess.run(
        [sys.executable, "-m", "slackbot", "migrate"],
        env=environment(DATABASE_URL=database_url),
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        print(f"migrate failed (exit {result.returncode}):\n{result.stdout}{result.stderr}", file=sys.stderr)
    return result.returncode == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_web(command: str, env: dict[str, str], folder: Path, log: IO[bytes]) -> subprocess.Popen[bytes]:
    # The Procfile binds 0.0.0.0 for a platform's router; here nothing but loopback.
    local = command.replace("--bind 0.0.0.0:", "--bind 127.0.0.1:")
    return subprocess.Popen(
        ["sh", "-c", "exec " + local],
        env=env,
        cwd=folder,  # no .env of the checkout is read
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the workers go with the master
    )


def wait_until_healthy(url: str, web: subprocess.Popen[bytes], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if web.poll() is not None:
            return False
        try:
            with urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.1)  # polling for the port to open, not waiting a fixed time
    return False


def stop_web(web: subprocess.Popen[bytes]) -> None:
    if web.poll() is None:
        web.send_signal(signal.SIGTERM)  # gunicorn's graceful stop
        try:
            web.wait(timeout=40)
            return
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(web.pid, signal.SIGKILL)  # the group we started: master and workers
    web.wait(timeout=10)


def command_bodies(ready: dict[str, Any], minted: dict[str, list[str]], text: str) -> list[bytes]:
    """`/loops <text>` from every person, form-encoded with the fields Slack sends."""
    return [command_body(ready, user, *minted[user[0]], text) for user in ready["users"]]


def command_body(
    ready: dict[str, Any], user: Sequence[str], response_url: str, trigger_id: str, text: str
) -> bytes:
    """`/loops <text>` from one person (user id, name, DM channel), as Slack sends it."""
    user_id, name, dm = user
    fields = {
        "token": ready["verification"],
        "team_id": ready["team"],
        "team_domain": ready["domain"],
        "channel_id": dm,
        "channel_name": "directmessage",
        "user_id": user_id,
        "user_name": name,
        "command": "/loops",
        "text": text,
        "api_app_id": ready["app"],
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
    return urlencode(fields).encode()


def send(port: int, secret: str, body: bytes, due: float) -> Outcome:
    """One signed POST on a new connection; the timestamp and signature are made as it leaves."""
    started = time.monotonic()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        "Accept": "application/json,*/*",
        "Accept-Encoding": "identity",
        "Connection": "close",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": sign(secret, timestamp, body),
    }
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.request("POST", "/slack/events", body=body, headers=headers)
        if connection.sock is not None:  # the 10 s are for the whole request, not for each read
            connection.sock.settimeout(max(0.01, TIMEOUT - (time.monotonic() - started)))
        response = connection.getresponse()
        status, text = response.status, response.read().decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as error:
        status, text = 0, f"{type(error).__name__}: {error}"
    finally:
        connection.close()
    return Outcome(started - due, time.monotonic() - started, status, text, started)


def burst(port: int, secret: str, bodies: list[bytes], rate: float) -> tuple[list[Outcome], float]:
    """Request i at t0 + i/rate, open-loop, with a thread for every request that can be in flight.

    Returns the outcomes and the seconds from t0 to the last answer.
    """
    threads = min(len(bodies), math.ceil(rate * (TIMEOUT + 1))) + 1
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="burst")
    futures: list[Future[Outcome]] = []
    try:
        t0 = time.monotonic() + 0.2
        for i, body in enumerate(bodies):
            due = t0 + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(send, port, secret, body, due))
        outcomes = [future.result(timeout=TIMEOUT + 30) for future in futures]
        return outcomes, time.monotonic() - t0
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def settle(emulator: Emulator, timeout: float = 30) -> None:
    """Until the app has made no Slack call for a second: deferred work of the phase is done."""
    deadline = time.monotonic() + timeout
    before = -1
    while time.monotonic() < deadline:
        total = sum(emulator.ask("calls").values())
        if total == before:
            return
        before = total
        time.sleep(1)


def census(database_url: str, team: str, users: set[str]) -> tuple[int, int]:
    """(enrolled, paused) among our people, read straight from the database."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(Person.slack_user_id, Person.enrolled, Person.paused_until)
                .join(Workspace, Person.workspace_id == Workspace.id)
                .where(Workspace.team_id == team)
            ).all()
    finally:
        engine.dispose()
    ours = [row for row in rows if row.slack_user_id in users]
    return sum(1 for row in ours if row.enrolled), sum(1 for row in ours if row.paused_until is not None)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def _quantile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, math.ceil(q * len(sorted_values)) - 1)]


def report(name: str, text: str, outcomes: list[Outcome], apologies: dict[str, str], wall: float) -> None:
    acks = sorted(o.elapsed for o in outcomes)
    behind = sorted(o.behind for o in outcomes)
    non_200 = [o for o in outcomes if o.status != 200]
    unanswered = sum(1 for o in non_200 if o.status == 0)
    statuses = Counter(o.status for o in non_200 if o.status != 0)
    kinds: Counter[str] = Counter()
    for outcome in outcomes:
        for kind, sentence in apologies.items():
            if sentence in outcome.text or sentence in _ack_text(outcome.text):
                kinds[kind] += 1
                break
    late = sum(1 for o in outcomes if o.status == 200 and o.elapsed > SLACK_DEADLINE)
    print(f"{name}: count {len(outcomes)} × /loops {text}, all answered {wall:.1f} s after the first left")
    print(
        f"  ack ms: p50 {_ms(_quantile(acks, 0.5))}, p99 {_ms(_quantile(acks, 0.99))}, "
        f"max {_ms(acks[-1])}; 200 but later than Slack's 3 s: {late}"
    )
    other = ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items()))
    print(f"  non-200: {len(non_200)} (no answer: {unanswered}{', ' + other if other else ''})")
    detail = ", ".join(f"{kind} {kinds[kind]}" for kind in apologies)
    print(f"  apologies: {sum(kinds.values())} ({detail})")
    print(
        f"  generator behind schedule ms: p50 {_ms(_quantile(behind, 0.5))}, "
        f"p99 {_ms(_quantile(behind, 0.99))}, max {_ms(behind[-1])}"
    )
    failures = Counter(o.text[:120] for o in non_200 if o.status == 0)
    for failure, n in failures.most_common(3):
        print(f"    no answer ×{n}: {failure}")


def _ack_text(body: str) -> str:
    try:
        answer = json.loads(body)
    except ValueError:
        return ""
    return str(answer.get("text", "")) if isinstance(answer, dict) else ""


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    web = procfile_web()
    parser.add_argument("--people", type=int, default=2_000)
    parser.add_argument("--rate", type=float, default=200.0, help="commands per second")
    parser.add_argument("--postgres", action="store_true", help="start a throwaway PostgreSQL and use it")
    parser.add_argument(
        "--workers", type=int, default=procfile_default(web, "WEB_CONCURRENCY"), help="WEB_CONCURRENCY"
    )
    parser.add_argument(
        "--threads", type=int, default=procfile_default(web, "WEB_THREADS"), help="WEB_THREADS"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (database, web.log)")
    args = parser.parse_args()
    if args.people < 1 or args.rate <= 0:
        parser.error("--people and --rate must be positive")

    return on_a_database(args, "burst", lambda folder, url: run(args, web, folder, url))


def on_a_database(args: argparse.Namespace, name: str, work: Callable[[Path, str], int]) -> int:
    """Run a benchmark in a temp folder, on a SQLite file there or (`--postgres`) a throwaway
    PostgreSQL server; a SIGTERM stops it and its children as Ctrl-C does. `--keep` keeps the folder."""

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix=f"loops-{name}-"))
    server = None
    try:
        if args.postgres:
            from tests.support.pgserver import PostgresServer

            server = PostgresServer.start()
            database_url = server.admin_url
        else:
            database_url = f"sqlite:///{folder}/{name}.db"
        return work(folder, database_url)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
        print(f"total {time.monotonic() - started:.1f} s")


def web_environment(
    args: argparse.Namespace, port: int, database_url: str, ready: dict[str, Any], **more: str
) -> dict[str, str]:
    """A web process's environment: the Procfile's, pointed at the emulator and the database."""
    return environment(
        PORT=str(port),
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN=ready["token"],
        SLACK_SIGNING_SECRET=ready["secret"],
        SLACK_API_URL=ready["api_url"],
        WEB_CONCURRENCY=str(args.workers),
        WEB_THREADS=str(args.threads),
        LOG_LEVEL="WARNING",
        **more,
    )


def run(args: argparse.Namespace, command: str, folder: Path, database_url: str) -> int:
    if not migrate(database_url, folder):
        return 1
    apologies = apology_sentences()
    emulator = start_emulator(args.people)
    try:
        ready = emulator.ready
        port = free_port()
        env = web_environment(args, port, database_url, ready)
        with (folder / "web.log").open("wb") as log:
            web = start_web(command, env, folder, log)
            try:
                if not wait_until_healthy(f"http://127.0.0.1:{port}/healthz", web):
                    state = "exited with " + str(web.returncode) if web.poll() is not None else "not healthy"
                    print(f"the web process did not start ({state}):", file=sys.stderr)
                    print((folder / "web.log").read_text(errors="replace")[-3000:], file=sys.stderr)
                    return 1
                return burst_phases(args, emulator, port, database_url, apologies)
            finally:
                stop_web(web)
                web_log_summary(folder / "web.log")
    finally:
        emulator.stop()


def burst_phases(
    args: argparse.Namespace, emulator: Emulator, port: int, database_url: str, apologies: dict[str, str]
) -> int:
    ready = emulator.ready
    users = {user_id for user_id, _name, _dm in ready["users"]}
    engine = database_url.split(":", 1)[0].split("+", 1)[0]
    print(
        f"{args.people} people, {args.rate:g} commands per second, gunicorn {args.workers} workers × "
        f"{args.threads} threads, {engine}; a new connection per request, timeout {TIMEOUT:.0f} s"
    )
    read_url = normalize_database_url(database_url)
    for name, text in PHASES:
        bodies = command_bodies(ready, emulator.ask("mint"), text)
        emulator.ask("reset")
        outcomes, wall = burst(port, ready["secret"], bodies, args.rate)
        settle(emulator)
        report(name, text, outcomes, apologies, wall)
        calls = emulator.ask("calls")
        print("  Slack calls: " + (", ".join(f"{m} {n}" for m, n in sorted(calls.items())) or "none"))
        enrolled, paused = census(read_url, ready["team"], users)
        line = f"  in the database: {enrolled} of {args.people} enrolled"
        print(line + (f", {paused} with paused_until set" if name == "pause" else ""))
    return 0


def web_log_summary(path: Path) -> None:
    """A count of what went wrong inside gunicorn, for whoever reads the figures."""
    text = path.read_text(errors="replace") if path.exists() else ""
    marks = {
        "worker timeouts": text.count("WORKER TIMEOUT"),
        "tracebacks": text.count("Traceback"),
        "ERROR lines": len(re.findall(r" ERROR |\[ERROR\]", text)),
    }
    found = ", ".join(f"{what} {n}" for what, n in marks.items() if n)
    print(f"web log: {found or 'no errors'}")


if __name__ == "__main__":
    sys.exit(main())
