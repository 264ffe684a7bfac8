"""`/loops export` of a long history: the web process's memory, and other people's acks meanwhile.

    python bench/export.py                      # 2,000 loops, 100,000 entries of 2,000 characters, SQLite
    python bench/export.py --postgres           # the same against a throwaway PostgreSQL
    python bench/export.py --loops 200 --entries 10000        # a quick run

One person (UEXPORT) has --loops loops and --entries entries of --chars characters each;
--others people have nothing. The Slack emulator runs in its own process (it keeps the
uploaded files, so their bytes do not count against the app). The Procfile's `web` line runs
the app (gunicorn, its default workers and threads). After --warmup seconds of `/loops` and
`/loops help` from the others, UEXPORT types `/loops export`, and once more a moment later;
the others go on at --rate per second until both files are in UEXPORT's DM.

Printed: the resident memory (VmRSS) growth of each gunicorn worker from just before the
export to its peak during it (sampled every 20 ms), the others' ack times (p50, p99, max)
during the export, what the second `/loops export` was answered, and whether the JSON file
holds every loop and entry in full. Then the goals, printed only: growth under 100 MB, every
other ack under 3 s.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import burst  # noqa: E402
from burst import Emulator, Outcome, _quantile  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from slackbot.config import normalize_database_url  # noqa: E402
from slackbot.store.db import Database  # noqa: E402
from slackbot.store.models import Entry, Loop, Person, Workspace  # noqa: E402

TEAM, EXPORTER = "TEXPORT", "UEXPORT"
BATCH = 2_000
GROWTH_MB, ACK_SECONDS = 100, 3.0  # the goals
ALREADY = "already on its way"

# argv: the team id and a JSON list of user ids. stdin: "mint [user ids]" (a response_url and
# trigger_id for each), "files" (every uploaded file: name, completed, channel ids, bytes),
# "check <file name>" (loops, entries and characters of entry text in that JSON file).
EMULATOR = """
import json, sys
from slackbot.fakeslack import FakeSlack
team, ids = sys.argv[1], json.load(open(sys.argv[2]))
fake = FakeSlack(team_id=team).start()
users = {}
for n, uid in enumerate(ids):
    made = fake.add_user(name=f"bench{n}", tz="Europe/Berlin")
    with fake.state.lock:  # known under the id the database has for them
        user = fake.state.users.pop(made.id)
        user.id = uid
        fake.state.users[uid] = user
    users[uid] = [uid, user.name, fake.dm_channel_id(uid)]
ready = {
    "api_url": fake.api_url, "token": fake.bot_token, "secret": fake.signing_secret,
    "team": fake.team_id, "domain": fake.team_domain, "app": fake.app_id,
    "verification": fake.verification_token, "users": list(users.values()),
}
print(json.dumps(ready), flush=True)
for line in sys.stdin:
    word, _, rest = line.strip().partition(" ")
    if word == "mint":
        mint = fake.state.mint_response_url
        print(json.dumps([[mint(u, users[u][2]).url, fake.trigger_for(u)] for u in json.loads(rest)]))
    elif word == "files":
        print(json.dumps([[f.name, f.completed, f.channels, len(f.data or b"")] for f in fake.files()]))
    elif word == "check":
        (found,) = [f for f in fake.files() if f.name == rest and f.completed]
        data = json.loads(found.data)
        entries = [e for loop in data["loops"] for e in loop["entries"]]
        print(json.dumps([len(data["loops"]), len(entries), sum(len(e["text"]) for e in entries)]))
    else:
        break
    sys.stdout.flush()
fake.stop()
"""


def fill(database_url: str, args: argparse.Namespace) -> None:
    """The workspace, the others, and UEXPORT's history, with the ORM's bulk INSERT in batches."""
    database = Database(normalize_database_url(database_url))
    now = datetime.now(UTC)
    text = ("It broke again for the same customers. " * (args.chars // 39 + 1))[: args.chars]
    try:
        with database.transaction() as session:
            workspace = Workspace(team_id=TEAM, name="Export bench", created_at=now)
            session.add(workspace)
            session.flush()
            people = [Person(workspace_id=workspace.id, slack_user_id=uid) for uid in user_ids(args)]
            session.add_all(people)
            session.flush()
            exporter = people[0]
            session.execute(
                insert(Loop),
                [
                    {
                        "workspace_id": workspace.id,
                        "person_id": exporter.id,
                        "number": n,
                        "what": f"Problem {n}",
                        "opened_at": now - timedelta(days=n),
                    }
                    for n in range(1, args.loops + 1)
                ],
            )
            loop_ids = [loop.id for loop in session.query(Loop.id).order_by(Loop.number)]
        for start in range(0, args.entries, BATCH):
            with database.transaction() as session:
                session.execute(
                    insert(Entry),
                    [
                        {
                            "loop_id": loop_ids[n % len(loop_ids)],
                            "person_id": exporter.id,
                            "kind": "answer",
                            "text": text,
                            "created_at": now - timedelta(seconds=args.entries - n),
                        }
                        for n in range(start, min(start + BATCH, args.entries))
                    ],
                )
    finally:
        database.dispose()


def user_ids(args: argparse.Namespace) -> list[str]:
    return [EXPORTER] + [f"UOTHER{n:03d}" for n in range(args.others)]


def workers(master: int) -> list[int]:
    """The gunicorn master's children: the processes that serve requests."""
    return [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Peaks(threading.Thread):
    """Each worker's highest resident memory since it started, sampled every 20 ms."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.before = {pid: rss_mb(pid) for pid in pids}
        self.peak = dict(self.before)
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.02):
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], rss_mb(pid))


ASKING = threading.Lock()  # the emulator answers one question at a time, in order


def ask(emulator: Emulator, word: str, timeout: float = 60) -> Any:
    with ASKING:
        return emulator.ask(word, timeout)


def command(emulator: Emulator, port: int, user: list[str], text: str) -> Outcome:
    ((url, trigger),) = ask(emulator, "mint " + json.dumps([user[0]]))
    body = burst.command_body(emulator.ready, user, url, trigger, text)
    return burst.send(port, emulator.ready["secret"], body, time.monotonic())


def load(
    emulator: Emulator, port: int, others: list[list[str]], rate: float, until: threading.Event
) -> list[Outcome]:
    """`/loops` and `/loops help` from the others in turn, at `rate`, until `until` is set."""
    outcomes: list[Outcome] = []
    threads: list[threading.Thread] = []
    n = 0
    while not until.is_set():
        user, text = others[n % len(others)], ("", "help")[n % 2]
        thread = threading.Thread(
            target=lambda u=user, t=text: outcomes.append(command(emulator, port, u, t))
        )
        thread.start()
        threads.append(thread)
        n += 1
        until.wait(1 / rate)
    for thread in threads:
        thread.join()
    return outcomes


def export_files(emulator: Emulator, dm: str) -> list[list[Any]]:
    return [f for f in ask(emulator, "files") if f[1] and f[2] == [dm]]


def measure(args: argparse.Namespace, emulator: Emulator, port: int, master: int) -> None:
    users = {user[0]: user for user in emulator.ready["users"]}
    exporter, others = users[EXPORTER], [u for uid, u in users.items() if uid != EXPORTER]
    warm = threading.Event()
    warming = threading.Thread(target=load, args=(emulator, port, others, args.rate, warm))
    warming.start()
    time.sleep(args.warmup)  # load before the export, not counted
    warm.set()
    warming.join()

    peaks = Peaks(workers(master))
    peaks.start()
    done = threading.Event()
    during: list[Outcome] = []
    loading = threading.Thread(target=lambda: during.extend(load(emulator, port, others, args.rate, done)))
    loading.start()
    started = time.monotonic()
    first = command(emulator, port, exporter, "export")
    second = command(emulator, port, exporter, "export")
    while len(export_files(emulator, exporter[2])) < 2 and time.monotonic() - started < args.timeout:
        time.sleep(0.2)  # polling the emulator for the files
    seconds = time.monotonic() - started
    done.set()
    loading.join()
    peaks.stopped.set()
    peaks.join()

    files = export_files(emulator, exporter[2])
    print(
        f"export of {args.loops:,} loops and {args.entries:,} entries of {args.chars:,} characters, "
        f"{args.engine}: files in the DM after {seconds:.1f} s: "
        + (", ".join(f"{name} {size / 1e6:.1f} MB" for name, _, _, size in files) or "none")
    )
    print(f"  first /loops export acked in {first.elapsed * 1000:.0f} ms (HTTP {first.status})")
    print(f"  second /loops export: {'one is on its way' if ALREADY in second.text else second.text[:200]}")
    growth = {pid: peaks.peak[pid] - before for pid, before in peaks.before.items()}
    for pid, before in peaks.before.items():
        print(
            f"  worker {pid}: {before:.0f} MB before, peak {peaks.peak[pid]:.0f} MB (+{growth[pid]:.0f} MB)"
        )
    acks = sorted(o.elapsed for o in during)
    bad = sum(1 for o in during if o.status != 200)
    print(
        f"  others' acks during the export: {len(acks)}, p50 {_quantile(acks, 0.5) * 1000:.0f} ms, "
        f"p99 {_quantile(acks, 0.99) * 1000:.0f} ms, max {acks[-1] * 1000:.0f} ms, not 200: {bad}"
        if acks
        else "  no acks measured"
    )
    complete = False
    json_files = [name for name, _, _, _ in files if name.endswith(".json")]
    if json_files:
        loops, entries, chars = ask(emulator, "check " + json_files[0], timeout=300)
        complete = (loops, entries, chars) == (args.loops, args.entries, args.entries * args.chars)
        print(f"  the JSON holds {loops:,} loops, {entries:,} entries, {chars:,} characters of entries")
    grew = max(growth.values())
    print("goals (printed, not asserted):")
    print(f"  memory growth under {GROWTH_MB} MB: +{grew:.0f} MB, {holds(grew < GROWTH_MB)}")
    worst = acks[-1] if acks else float("inf")
    print(
        f"  every other ack under {ACK_SECONDS:g} s: {worst:.2f} s, {holds(worst < ACK_SECONDS and not bad)}"
    )
    print(f"  a second export while one is on its way says so: {holds(ALREADY in second.text)}")
    print(f"  the export is complete: {holds(complete)}")


def holds(ok: bool) -> str:
    return "holds" if ok else "does NOT hold"


def run(args: argparse.Namespace, folder: Path, database_url: str) -> int:
    if not burst.migrate(database_url, folder):
        return 1
    began = time.monotonic()
    fill(database_url, args)
    print(f"seeded in {time.monotonic() - began:.1f} s", flush=True)
    ids = folder / "users.json"
    ids.write_text(json.dumps(user_ids(args)))
    emulator = burst.run_emulator(EMULATOR, TEAM, str(ids))
    try:
        port = burst.free_port()
        env = burst.web_environment(args, port, database_url, emulator.ready)
        log = folder / "web.log"
        with log.open("wb") as out:
            web = burst.start_web(burst.procfile_web(), env, folder, out)
        try:
            if not burst.wait_until_healthy(f"http://127.0.0.1:{port}/healthz", web):
                print("the web process did not start:", file=sys.stderr)
                print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
                return 1
            measure(args, emulator, port, web.pid)
            return 0
        finally:
            burst.stop_web(web)
            burst.web_log_summary(log)
    finally:
        emulator.stop()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    web = burst.procfile_web()
    parser.add_argument("--loops", type=int, default=2_000)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--chars", type=int, default=2_000, help="characters in each entry")
    parser.add_argument("--others", type=int, default=20, help="people whose acks are timed")
    parser.add_argument("--rate", type=float, default=5.0, help="their commands per second")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of their load before the export")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the files")
    parser.add_argument("--postgres", action="store_true", help="start a throwaway PostgreSQL and use it")
    parser.add_argument("--workers", type=int, default=burst.procfile_default(web, "WEB_CONCURRENCY"))
    parser.add_argument("--threads", type=int, default=burst.procfile_default(web, "WEB_THREADS"))
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (database, web log)")
    args = parser.parse_args()
    if args.loops < 1 or args.entries < 0 or args.others < 1 or args.rate <= 0:
        parser.error("--loops, --others and --rate must be positive")
    args.engine = "PostgreSQL" if args.postgres else "SQLite"
    return burst.on_a_database(args, "export", lambda folder, url: run(args, folder, url))


if __name__ == "__main__":
    sys.exit(main())
