"""How fast the clock sends the morning prompt, and whether a killed tick loses or doubles any.

    python bench/prompts.py                      # 10,000 people, 50 ms per Slack call, SQLite
    python bench/prompts.py --people 2000 --latency 0.05 --database postgresql://…
    python bench/prompts.py --kill               # SIGKILL a tick mid-send, then count

The emulator runs in its own process (so it does not share our interpreter's lock) and
every one of its Web API calls waits `--latency` seconds before answering. People are
written straight into the database with their DM already open, as after their first
week; the figure is prompts per second for one `tick` process from plan to last post.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from slackbot.store.db import Database  # noqa: E402
from slackbot.store.migrate import upgrade  # noqa: E402
from slackbot.store.models import Person, Workspace  # noqa: E402

DUE = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)  # 09:30 in Berlin

EMULATOR = """
import json, sys
from slackbot.fakeslack import FakeSlack
people, latency = int(sys.argv[1]), float(sys.argv[2])
fake = FakeSlack().start()
users = [fake.add_user(name=f"p{n}", tz="Europe/Berlin").id for n in range(people)]
dms = {u: fake.dm_channel_id(u) for u in users}
fake.faults.add(method="*", kind="latency", seconds=latency)
ready = {"api_url": fake.api_url, "token": fake.bot_token, "team": fake.team_id, "dms": dms}
print(json.dumps(ready), flush=True)
for line in sys.stdin:
    if line.strip() == "count":
        counts = {}
        for m in fake.messages_with_metadata("loops_delivery"):
            counts[m.channel] = counts.get(m.channel, 0) + 1
        print(json.dumps(counts), flush=True)
    else:
        break
fake.stop()
"""


def start_emulator(people: int, latency: float) -> tuple[subprocess.Popen[str], dict[str, object]]:
    child = subprocess.Popen(
        [sys.executable, "-c", EMULATOR, str(people), str(latency)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert child.stdout is not None
    return child, json.loads(child.stdout.readline())


def counts(child: subprocess.Popen[str]) -> dict[str, int]:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write("count\n")
    child.stdin.flush()
    return {k: int(v) for k, v in json.loads(child.stdout.readline()).items()}


def seed(database_url: str, team: str, dms: dict[str, str]) -> None:
    database = Database(database_url)
    upgrade(database)
    with database.transaction() as session:
        workspace = Workspace(team_id=team, created_at=DUE - timedelta(days=30))
        session.add(workspace)
        session.flush()
        session.add_all(
            Person(
                workspace_id=workspace.id,
                slack_user_id=user,
                tz="Europe/Berlin",
                tz_checked_at=DUE,
                enrolled=True,
                enrolled_by="self",
                dm_channel=dm,
                next_prompt_at=DUE,
                prompt_time=clock_time(9, 30),
            )
            for user, dm in dms.items()
        )
    database.dispose()


def tick(
    database_url: str, emulator: dict[str, object], at: datetime, concurrency: int
) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LOOPS_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN=str(emulator["token"]),
        SLACK_API_URL=str(emulator["api_url"]),
        LOOPS_SEND_CONCURRENCY=str(concurrency),
        LOG_LEVEL="WARNING",
    )
    return subprocess.Popen(
        [sys.executable, *_profiler(), "-m", "slackbot", "tick", "--at", at.isoformat()],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _profiler() -> list[str]:
    """BENCH_PROFILE=out.prof runs the tick under cProfile, to see where its time goes."""
    target = os.environ.get("BENCH_PROFILE")
    return ["-m", "cProfile", "-o", target] if target else []


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per Slack call")
    parser.add_argument("--concurrency", type=int, default=32, help="LOOPS_SEND_CONCURRENCY")
    parser.add_argument("--database", help="SQLAlchemy URL (default: a fresh SQLite file)")
    parser.add_argument("--postgres", action="store_true", help="start a throwaway PostgreSQL and use it")
    parser.add_argument("--kill", action="store_true", help="SIGKILL the tick mid-send, then tick again")
    args = parser.parse_args()

    server = None
    if args.postgres:
        from tests.support.pgserver import PostgresServer

        server = PostgresServer.start()
        args.database = server.admin_url
    try:
        return run(args)
    finally:
        if server is not None:
            server.stop()


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as folder:
        database_url = args.database or f"sqlite:///{folder}/bench.db"
        child, emulator = start_emulator(args.people, args.latency)
        try:
            dms = emulator["dms"]
            assert isinstance(dms, dict)
            seed(database_url, str(emulator["team"]), dms)
            engine = database_url.split(":", 1)[0]
            print(
                f"{args.people} people due at once, {args.latency * 1000:.0f} ms per Slack call, "
                f"concurrency {args.concurrency}, {engine}"
            )
            started = time.monotonic()
            first = tick(database_url, emulator, DUE, args.concurrency)
            if args.kill:
                while sum(counts(child).values()) < args.people // 3:
                    time.sleep(0.05)
                first.send_signal(signal.SIGKILL)
                first.wait()
                at_kill = sum(counts(child).values())
                print(f"killed the tick (SIGKILL) after {at_kill} prompts had reached Slack")
                second = tick(database_url, emulator, DUE + timedelta(minutes=3), args.concurrency)
                output = second.communicate()[0]
                print("next tick:", output.strip().splitlines()[-1])
            else:
                output = first.communicate()[0]
                elapsed = time.monotonic() - started
                if first.returncode != 0:
                    print(output)
                    return 1
                print(output.strip().splitlines()[-1])
                print(f"{args.people / elapsed:.0f} prompts per second ({elapsed:.1f} s for {args.people})")
            sent = counts(child)
            per_person = [sent.get(dm, 0) for dm in dms.values()]
            duplicates = sum(n - 1 for n in per_person if n > 1)
            lost = sum(1 for n in per_person if n == 0)
            print(f"duplicates: {duplicates}, lost: {lost}")
            return 0 if duplicates == lost == 0 else 1
        finally:
            if child.stdin:
                child.stdin.write("quit\n")
                child.stdin.flush()
            child.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
