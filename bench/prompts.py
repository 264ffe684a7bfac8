"""How fast the clock sends the morning prompt, and whether a killed tick loses or doubles any.

    python bench/prompts.py                      # 10,000 people, 50 ms per Slack call, SQLite
    python bench/prompts.py --people 2000 --latency 0.05 --database postgresql://…
    python bench/prompts.py --kill               # SIGKILL a tick mid-send, then count
    python bench/prompts.py --checkins           # the post-ship check-in instead of the prompt
    python bench/prompts.py --checkins --kill    # SIGKILL a tick mid-send of check-ins, then count

The emulator runs in its own process (so it does not share our interpreter's lock) and
every one of its Web API calls waits `--latency` seconds before answering. People are
written straight into the database with their DM already open, as after their first
week; the figure is prompts per second for one `tick` process from plan to last post.

With `--checkins` nobody is due a prompt: each person has one shipped loop whose root
message is already in their DM (posted as the bot by the emulator, without delivery
metadata), a shipment waiting for its check-in and the check-in's delivery due at once.
The tick posts each check-in as a broadcast reply in that loop's thread, and what is
counted per person is the delivery-carrying replies in that thread.
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
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from slackbot.store.db import Database  # noqa: E402
from slackbot.store.migrate import upgrade  # noqa: E402
from slackbot.store.models import CheckIn, Delivery, Loop, Person, Shipment, Workspace  # noqa: E402

DUE = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)  # 09:30 in Berlin
BERLIN = ZoneInfo("Europe/Berlin")

# argv: people, latency, and "roots" to give everyone a loop's root message in their DM.
# Its stdin answers "count" (delivery messages per DM) and "count threads" (per DM and
# thread: "D…" for top-level ones, "D… <root ts>" for replies); anything else stops it.
EMULATOR = """
import json, sys
from slackbot.fakeslack import FakeSlack
from slackbot.fakeslack.methods import METHODS, Params
people, latency, with_roots = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3] == "roots"
fake = FakeSlack().start()
users = [fake.add_user(name=f"p{n}", tz="Europe/Berlin").id for n in range(people)]
dms = {u: fake.dm_channel_id(u) for u in users}
roots = {}
if with_roots:
    # What the app's own chat.postMessage would have posted: the same handler, minus HTTP.
    post = METHODS["chat.postMessage"]
    with fake.state.lock:
        for u, dm in dms.items():
            roots[u] = post(fake.state, Params({"channel": dm, "text": "Loop #1: bench"}))["ts"]
fake.faults.add(method="*", kind="latency", seconds=latency)
ready = {"api_url": fake.api_url, "token": fake.bot_token, "team": fake.team_id, "dms": dms, "roots": roots}
print(json.dumps(ready), flush=True)
for line in sys.stdin:
    words = line.split()
    if words[:1] == ["count"]:
        by_thread = words[1:] == ["threads"]
        counts = {}
        for m in fake.messages_with_metadata("loops_delivery"):
            key = f"{m.channel} {m.thread_ts}" if by_thread and m.thread_ts else m.channel
            counts[key] = counts.get(key, 0) + 1
        print(json.dumps(counts), flush=True)
    else:
        break
fake.stop()
"""


def start_emulator(
    people: int, latency: float, *, roots: bool = False
) -> tuple[subprocess.Popen[str], dict[str, object]]:
    child = subprocess.Popen(
        [sys.executable, "-c", EMULATOR, str(people), str(latency), "roots" if roots else "none"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert child.stdout is not None
    return child, json.loads(child.stdout.readline())


def counts(child: subprocess.Popen[str], *, threads: bool = False) -> dict[str, int]:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write("count threads\n" if threads else "count\n")
    child.stdin.flush()
    return {k: int(v) for k, v in json.loads(child.stdout.readline()).items()}


def seed(database_url: str, team: str, dms: dict[str, str], roots: dict[str, str] | None = None) -> None:
    """Everyone due a prompt at DUE or, given `roots` (user → loop root ts), a check-in instead."""
    database = Database(database_url)
    upgrade(database)
    with database.transaction() as session:
        workspace = Workspace(team_id=team, created_at=DUE - timedelta(days=30))
        session.add(workspace)
        session.flush()
        first = _next_id(session, Person)
        people = [
            {
                "id": first + n,
                "workspace_id": workspace.id,
                "slack_user_id": user,
                "tz": "Europe/Berlin",
                "tz_checked_at": DUE,
                "enrolled": True,
                "enrolled_by": "self",
                "dm_channel": dm,
                # With check-ins, nobody is also due a prompt: only check-ins are counted.
                "next_prompt_at": DUE if roots is None else None,
                "prompt_time": clock_time(9, 30),
            }
            for n, (user, dm) in enumerate(dms.items())
        ]
        session.execute(insert(Person), people)
        if roots is not None:
            _seed_checkins(session, workspace.id, people, roots)
    database.dispose()


def _next_id(session: Session, model: type[Person | Loop | Shipment | CheckIn | Delivery]) -> int:
    return int(session.scalar(select(func.max(model.id))) or 0) + 1


def _seed_checkins(
    session: Session, workspace_id: int, people: list[dict[str, Any]], roots: dict[str, str]
) -> None:
    """A shipped loop per person, threaded under its root, with its check-in due at DUE."""
    shipped_at, checkin_on = DUE - timedelta(days=3), DUE.astimezone(BERLIN).date()
    loop_id, shipment_id = _next_id(session, Loop), _next_id(session, Shipment)
    checkin_id, delivery_id = _next_id(session, CheckIn), _next_id(session, Delivery)
    loops, shipments, checkins, deliveries = [], [], [], []
    for n, person in enumerate(people):
        ids = {"loop": loop_id + n, "shipment": shipment_id + n, "checkin": checkin_id + n}
        common = {"workspace_id": workspace_id, "person_id": person["id"]}
        loops.append(
            {
                "id": ids["loop"],
                **common,
                "number": 1,
                "what": "bench",
                "state": "shipped",
                "opened_at": DUE - timedelta(days=10),
                "shipped_at": shipped_at,
                "channel": person["dm_channel"],
                "thread_ts": roots[person["slack_user_id"]],
            }
        )
        shipments.append(
            {
                "id": ids["shipment"],
                **common,
                "loop_id": ids["loop"],
                "what": "the bench fix",
                "expected_change": "fewer bench failures",
                "state": "waiting",
                "source": f"bench:{n}",
                "asks": 1,
                "checkin_on": checkin_on,
                "shipped_at": shipped_at,
            }
        )
        checkins.append(
            {
                "id": ids["checkin"],
                "shipment_id": ids["shipment"],
                "person_id": person["id"],
                "ask": 1,
                "due_on": checkin_on,
                "created_at": shipped_at,
            }
        )
        deliveries.append(
            {
                "id": delivery_id + n,
                **common,
                "kind": "checkin",
                "key": str(ids["checkin"]),
                "due_at": DUE,
                "ready_at": DUE,
                "state": "pending",
                "loop_id": ids["loop"],
                "shipment_id": ids["shipment"],
                "checkin_id": ids["checkin"],
                "attempts": 0,
                "maybe_posted": False,
                "created_at": shipped_at,
            }
        )
    for model, rows in ((Loop, loops), (Shipment, shipments), (CheckIn, checkins), (Delivery, deliveries)):
        session.execute(insert(model), rows)


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
    parser.add_argument(
        "--checkins", action="store_true", help="send post-ship check-ins in loop threads instead of prompts"
    )
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
        child, emulator = start_emulator(args.people, args.latency, roots=args.checkins)
        what = "check-ins" if args.checkins else "prompts"
        try:
            dms, roots = emulator["dms"], emulator["roots"]
            assert isinstance(dms, dict) and isinstance(roots, dict)
            seed(database_url, str(emulator["team"]), dms, roots if args.checkins else None)
            engine = database_url.split(":", 1)[0]
            print(
                f"{args.people} people due{' a check-in' if args.checkins else ''} at once, "
                f"{args.latency * 1000:.0f} ms per Slack call, "
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
                print(f"killed the tick (SIGKILL) after {at_kill} {what} had reached Slack")
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
                print(f"{args.people / elapsed:.0f} {what} per second ({elapsed:.1f} s for {args.people})")
            sent = counts(child, threads=args.checkins)
            if args.checkins:
                # Only replies in the loop's thread count; the root carries no delivery metadata.
                places = [f"{dm} {roots[user]}" for user, dm in dms.items()]
            else:
                places = list(dms.values())
            per_person = [sent.get(place, 0) for place in places]
            elsewhere = sum(sent.values()) - sum(per_person)
            if elsewhere:
                print(f"{elsewhere} delivery messages landed outside the conversation counted")
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
