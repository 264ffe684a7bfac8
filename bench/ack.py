"""How long the real `/loops` takes to ack next to a Bolt app that only acks, on a seeded database.

    python bench/ack.py                          # 1,000 people, 500,000 entries, SQLite, 50/s for 20 s
    python bench/ack.py --postgres               # the same against a throwaway PostgreSQL
    python bench/ack.py --postgres --database-nice 19  # PostgreSQL below the app, as on its own server
    python bench/ack.py --postgres --pin         # the apps on one core, Slack and PostgreSQL on the other
    python bench/ack.py --people 100 --entries 20000 --seconds 5      # a quick run
    python bench/ack.py --no-render-ahead        # every /loops built after its ack by the reader

A fresh database is migrated and filled by bench/seed.py (UHEAVY with 5,000 loops, ULIGHT
with 10, everyone else 5 to 15). The Slack emulator runs in its own process and knows every
seeded person under their seeded id, in team TBENCH. Two gunicorns run the Procfile's `web`
line with the same flags, workers and threads: one serves the app (`slackbot.web:create_app()`),
the other bench/bare_app.py, whose only listener acks `/loops` with "ok".

The apps take turns, bare first and last (bare, real, bare, real, … --turns real turns), so
that both see the same machine. Before the first turn each app gets --start-up seconds of load,
not counted (its workers start their readers, on the one `/loops open` in ten sent then, and
open connections once, as a deployment's do in its first minute); each turn gets a warm-up of
--warmup seconds, not counted, then --seconds of signed `/loops` (no text: the summary) at
--rate per second, open-loop as in bench/burst.py (request i leaves at t0 + i/R, each on a new
connection), cycling UHEAVY, ULIGHT, then the next ordinary person. After the seed, everyone's
summary is rendered as a running clock keeps them (outbox.summary), so the real app's web gate
answers each `/loops` in its ack from one row, before Bolt; --no-render-ahead leaves them out.
The figure is the time to the HTTP response. The goal checked (and only printed): p99 of the
real app within 1.3× the bare app's and within +5 ms.

With --pin, both apps (every gunicorn process and the real app's readers) run on the first
core and everything a deployment does not share with them (this load generator standing in for
Slack's senders, the emulator standing in for Slack's Web API and response_urls, PostgreSQL
standing in for a database server) on the others. Unpinned, all of it shares the machine's cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from burst import (  # noqa: E402
    Emulator,
    Outcome,
    _free_port,
    _quantile,
    _read_line,
    _web_log_summary,
    apology_sentences,
    command_bodies,
    environment,
    migrate,
    procfile_default,
    procfile_web,
    start_web,
    stop_web,
    wait_until_healthy,
)
from burst import burst as send_burst  # noqa: E402
from seed import (  # noqa: E402
    SeedReport,
    print_figures,
    print_report,
    print_summaries,
    render_summaries,
    seed,
    work_out_figures,
)

REAL_APP = "'slackbot.web:create_app()'"
BARE_APP = "'bare_app:create_app()'"
GOAL_RATIO = 1.3
GOAL_EXTRA = 0.005  # seconds

# argv: the team id and a JSON file of [user id, dm channel, tz] for every seeded person.
# stdin: "mint" (a response_url and trigger_id per person), "calls", "responses", "reset"; anything
# else stops it.
EMULATOR = """
import json, sys
from collections import Counter
from slackbot.fakeslack import FakeSlack
team, people = sys.argv[1], json.load(open(sys.argv[2]))
fake = FakeSlack(team_id=team).start()
users = []
for n, (uid, dm, tz) in enumerate(people):
    made = fake.add_user(name=f"bench{n}", tz=tz)
    with fake.state.lock:  # known under the id the database has for them
        user = fake.state.users.pop(made.id)
        user.id = uid
        fake.state.users[uid] = user
    users.append((uid, user.name, dm))
ready = {
    "api_url": fake.api_url, "token": fake.bot_token, "secret": fake.signing_secret,
    "team": fake.team_id, "domain": fake.team_domain, "app": fake.app_id,
    "verification": fake.verification_token, "users": [list(u) for u in users],
}
print(json.dumps(ready), flush=True)
for line in sys.stdin:
    word = line.strip()
    if word == "mint":
        minted = {
            uid: [fake.state.mint_response_url(uid, dm).url, fake.trigger_for(uid)] for uid, _, dm in users
        }
        print(json.dumps(minted), flush=True)
    elif word == "calls":
        print(json.dumps(dict(Counter(c.method for c in fake.calls()))), flush=True)
    elif word == "responses":  # what the app POSTed to response_urls: how many, by HTTP status
        print(json.dumps(dict(Counter(str(p.status) for p in fake.state.response_posts))), flush=True)
    elif word == "reset":
        fake.reset_calls()
        print("{}", flush=True)
    else:
        break
fake.stop()
"""


def start_seeded_emulator(report: SeedReport, folder: Path) -> Emulator:
    """burst.py's emulator, but knowing the seeded people by their ids, in the seeded team."""
    people = folder / "people.json"
    people.write_text(json.dumps(report.people))
    child = subprocess.Popen(
        [sys.executable, "-c", EMULATOR, report.team_id, str(people)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        start_new_session=True,
    )
    emulator = Emulator(child, {})
    try:
        emulator.ready = json.loads(_read_line(child, 120))
    except BaseException:
        emulator.stop()
        raise
    return emulator


@dataclass
class Web:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path


def start_both(
    folder: Path,
    database_url: str,
    ready: dict[str, Any],
    workers: int,
    threads: int,
    app_cores: set[int] | None = None,
) -> tuple[list[Web], list[IO[bytes]]]:
    """The real app and the bare one, from the same Procfile line and the same settings."""
    real = procfile_web()
    if REAL_APP not in real:
        raise RuntimeError(f"the Procfile's web line does not serve {REAL_APP}: {real}")
    commands = {"bare": real.replace(REAL_APP, BARE_APP), "real": real}
    if app_cores is not None:  # taskset execs the command: the same pid, its children inherit
        cores = ",".join(str(core) for core in sorted(app_cores))
        commands = {name: f"taskset -c {cores} {command}" for name, command in commands.items()}
    webs: list[Web] = []
    logs: list[IO[bytes]] = []
    for name, command in commands.items():
        port = _free_port()
        extra = {"PYTHONPATH": str(BENCH)} if name == "bare" else {}
        env = environment(
            PORT=str(port),
            DATABASE_URL=database_url,
            SLACK_BOT_TOKEN=ready["token"],
            SLACK_SIGNING_SECRET=ready["secret"],
            SLACK_API_URL=ready["api_url"],
            WEB_CONCURRENCY=str(workers),
            WEB_THREADS=str(threads),
            LOG_LEVEL="WARNING",
            **extra,
        )
        path = folder / f"web-{name}.log"
        log = path.open("wb")
        logs.append(log)
        webs.append(Web(name, port, start_web(command, env, folder, log), path))
    return webs, logs


def schedule(ready: dict[str, Any], bodies: list[bytes], heavy: str, light: str, n: int) -> list[bytes]:
    """n bodies cycling UHEAVY, ULIGHT and the next ordinary person."""
    by_user = {user_id: body for (user_id, _name, _dm), body in zip(ready["users"], bodies, strict=True)}
    ordinary = [body for user_id, body in by_user.items() if user_id not in {heavy, light}]
    out = []
    for i in range(n):
        if i % 3 == 0:
            out.append(by_user[heavy])
        elif i % 3 == 1:
            out.append(by_user[light])
        else:
            out.append(ordinary[(i // 3) % len(ordinary)] if ordinary else by_user[light])
    return out


TICK = os.sysconf("SC_CLK_TCK")


def process_stats() -> Iterator[tuple[int, list[str]]]:
    """Every live process's pid and the fields of /proc/PID/stat after its name (proc(5)):
    [0] state, [1] ppid, [11] utime, [12] stime."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended while we looked
        yield int(stat.parent.name), fields


def cpu_seconds(root: int, emulator: int, postmaster: int | None) -> dict[str, float]:
    """CPU time (user + system) so far of a gunicorn master's workers and of their children,
    of the emulator and of PostgreSQL's backends.

    The workers answer the acks; their children are the real app's readers (and
    multiprocessing's resource tracker), which build answers after the ack. The emulator
    (Slack's stand-in) takes the answers' posts, and the backends run the readers' queries.
    """
    stats = dict(process_stats())
    parents = {pid: int(fields[1]) for pid, fields in stats.items()}
    used = {pid: (int(fields[11]) + int(fields[12])) / TICK for pid, fields in stats.items()}
    workers = {pid for pid, parent in parents.items() if parent == root}
    children = {pid for pid, parent in parents.items() if parent in workers}
    backends = {pid for pid, parent in parents.items() if postmaster is not None and parent == postmaster}
    return {
        "workers": sum(used[pid] for pid in workers),
        "children": sum(used[pid] for pid in children),
        "emulator": used.get(emulator, 0.0),
        "database": sum(used[pid] for pid in backends),
    }


def postmaster_of(data: Path) -> int:
    return int((data / "postmaster.pid").read_text().split()[0])


def classes(n: int) -> list[str]:
    return [("heavy", "light", "ordinary")[i % 3] for i in range(n)]


def failed(outcome: Outcome, apologies: dict[str, str]) -> bool:
    return outcome.status != 200 or any(sentence in outcome.text for sentence in apologies.values())


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def figures_line(label: str, outcomes: list[Outcome], apologies: dict[str, str]) -> str:
    if not outcomes:
        return f"{label}: no requests"
    times = sorted(o.elapsed for o in outcomes)
    errors = sum(1 for o in outcomes if failed(o, apologies))
    behind = sorted(o.behind for o in outcomes)
    return (
        f"{label}: count {len(outcomes)}, errors {errors}, ms p50 {_ms(_quantile(times, 0.5))} "
        f"p90 {_ms(_quantile(times, 0.9))} p99 {_ms(_quantile(times, 0.99))} max {_ms(times[-1])} "
        f"(sender behind p99 {_ms(_quantile(behind, 0.99))})"
    )


def p99(outcomes: list[Outcome]) -> float:
    return _quantile(sorted(o.elapsed for o in outcomes), 0.99)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    web = procfile_web()
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=50.0, help="commands per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="of measured load, per app and turn")
    parser.add_argument("--turns", type=int, default=3, help="real turns, each between two bare ones")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before each, not counted")
    parser.add_argument(
        "--start-up", type=float, default=10.0, help="seconds of load for each app before the first turn"
    )
    parser.add_argument("--postgres", action="store_true", help="start a throwaway PostgreSQL and use it")
    parser.add_argument(
        "--no-render-ahead",
        dest="render_ahead",
        action="store_false",
        help="leave the summaries unrendered: every /loops is built after its ack (as before 0012)",
    )
    parser.add_argument(
        "--database-nice",
        type=int,
        default=0,
        help="run PostgreSQL at this niceness (19: as if on its own machine, the way a deployment runs it)",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="both apps on the first core; the generator, the emulator and PostgreSQL on the others",
    )
    parser.add_argument("--workers", type=int, default=procfile_default(web, "WEB_CONCURRENCY"))
    parser.add_argument("--threads", type=int, default=procfile_default(web, "WEB_THREADS"))
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (database, web logs)")
    args = parser.parse_args()
    if args.people < 3 or args.rate <= 0 or args.seconds <= 0 or args.turns < 1:
        parser.error("--people must be at least 3, --rate, --seconds and --turns positive")
    if args.warmup < 0 or args.start_up < 0:
        parser.error("--warmup and --start-up must not be negative")

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    if args.pin:
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) < 2:
            parser.error("--pin needs at least two cores")
        args.app_cores = {cores[0]}
        # Everything started from here on (PostgreSQL, the emulator) inherits the other cores.
        os.sched_setaffinity(0, set(cores[1:]))
        print(f"pinned: apps on core {cores[0]}, generator, emulator and PostgreSQL on {cores[1:]}")
    else:
        args.app_cores = None
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="loops-ack-"))
    server = None
    try:
        if args.postgres:
            from tests.support.pgserver import PostgresServer

            server = PostgresServer.start()
            database_url = server.admin_url
            args.postmaster = postmaster_of(server.root / "data")
            if args.database_nice:
                reniced = renice_postgres(server.root / "data", args.database_nice)
                print(
                    f"PostgreSQL at nice {args.database_nice} ({reniced} processes; new backends inherit it)"
                )
        else:
            database_url = f"sqlite:///{folder}/ack.db"
            args.postmaster = None
        return run(args, folder, database_url)
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


def renice_postgres(data: Path, nice: int) -> int:
    """The postmaster and its children at `nice`: backends it forks later start there too.

    On this machine PostgreSQL shares the web process's two cores; in a deployment it is a
    server of its own. The ack does no database work, but the answers built after it do.
    """
    postmaster = postmaster_of(data)
    pids = [postmaster, *(pid for pid, fields in process_stats() if int(fields[1]) == postmaster)]
    for pid in pids:
        os.setpriority(os.PRIO_PROCESS, pid, nice)
    return len(pids)


def run(args: argparse.Namespace, folder: Path, database_url: str) -> int:
    if not migrate(database_url, folder):
        return 1
    report = seed(database_url, people=args.people, entries=args.entries, seed=args.seed)
    print_report(report)
    print_figures(work_out_figures(database_url))  # as a running clock keeps them
    if args.render_ahead:
        print_summaries(render_summaries(database_url))
    apologies = apology_sentences()
    emulator = start_seeded_emulator(report, folder)
    webs: list[Web] = []
    logs: list[IO[bytes]] = []
    try:
        ready = emulator.ready
        webs, logs = start_both(folder, database_url, ready, args.workers, args.threads, args.app_cores)
        for web in webs:
            if not wait_until_healthy(f"http://127.0.0.1:{web.port}/healthz", web.process):
                code = web.process.poll()
                state = f"exited with {code}" if code is not None else "not healthy"
                print(f"the {web.name} web process did not start ({state}):", file=sys.stderr)
                print(web.log.read_text(errors="replace")[-3000:], file=sys.stderr)
                return 1
        return measure(args, emulator, {web.name: web for web in webs}, report, apologies, database_url)
    finally:
        for web in webs:
            stop_web(web.process)
        for log in logs:
            log.close()
        for web in webs:
            print(f"{web.name} ", end="")
            _web_log_summary(web.log)
        emulator.stop()


def measure(
    args: argparse.Namespace,
    emulator: Emulator,
    webs: dict[str, Web],
    report: SeedReport,
    apologies: dict[str, str],
    database_url: str,
) -> int:
    ready = emulator.ready
    minted = emulator.ask("mint")
    bodies = command_bodies(ready, minted, "")
    count = round(args.rate * args.seconds)
    warm = round(args.rate * args.warmup)
    measured = schedule(ready, bodies, report.heavy, report.light, count)
    warming = schedule(ready, bodies, report.heavy, report.light, warm)
    engine = database_url.split(":", 1)[0].split("+", 1)[0]
    print(
        f"/loops at {args.rate:g}/s for {args.seconds:g} s per turn (+{args.warmup:g} s warm-up; "
        f"{args.start_up:g} s of start-up for each app first), "
        f"gunicorn {args.workers} workers × {args.threads} threads, {engine}; new connection per request"
    )
    results: dict[str, list[Outcome]] = {"bare": [], "real": []}
    kinds = classes(count)
    by_class: dict[str, list[Outcome]] = {}
    turns = ("bare", "real") * args.turns + ("bare",)
    # Each worker's first requests pay for what it does once (the real app's readers start,
    # connections open, caches fill): load each app for a while before the first turn. A plain
    # /loops whose summary is kept never reaches the reader, so one in ten of these is a
    # `/loops open`, built by the reader after its ack: each worker starts its reader here,
    # not in a measured turn.
    opens = command_bodies(ready, minted, "open")
    start_up = [
        opens[i % len(opens)] if i % 10 == 0 else body
        for i, body in enumerate(
            schedule(ready, bodies, report.heavy, report.light, round(args.rate * args.start_up))
        )
    ]
    for name in ("bare", "real"):
        if start_up:
            send_burst(webs[name].port, ready["secret"], start_up, args.rate)
    for turn, name in enumerate(turns, start=1):
        port, secret = webs[name].port, ready["secret"]
        if warming:
            send_burst(port, secret, warming, args.rate)
        cpu_before = cpu_seconds(webs[name].process.pid, emulator.child.pid, args.postmaster)
        outcomes, _wall = send_burst(port, secret, measured, args.rate)
        cpu_after = cpu_seconds(webs[name].process.pid, emulator.child.pid, args.postmaster)
        results[name].extend(outcomes)
        print(figures_line(f"  turn {turn} {name}", outcomes, apologies))
        per = {k: (cpu_after[k] - cpu_before[k]) / len(outcomes) * 1000 for k in cpu_after}
        print(
            f"    CPU per request: workers {per['workers']:.2f} ms, children {per['children']:.2f} ms, "
            f"emulator {per['emulator']:.2f} ms, PostgreSQL backends {per['database']:.2f} ms"
        )
        if name == "real":
            for kind, outcome in zip(kinds, outcomes, strict=True):
                by_class.setdefault(kind, []).append(outcome)
            sample = next((o.text for o in outcomes if o.status == 200), "")
            print(f"    real ack: {len(sample):,} bytes, e.g. {sample[:100]!r}")
            kept = sum(1 for o in outcomes if '"blocks"' in o.text)
            print(f"    answered in the ack (a kept summary): {kept:,} of {len(outcomes):,}")
    print(figures_line("bare (every other turn)", results["bare"], apologies))
    print(figures_line("real", results["real"], apologies))
    for kind in ("heavy", "light", "ordinary"):
        print(figures_line(f"  real, {kind}", by_class.get(kind, []), apologies))
    bare, real = p99(results["bare"]), p99(results["real"])
    ratio = real / bare if bare > 0 else float("inf")
    extra = real - bare
    print(f"p99 real / bare: {ratio:.2f}× ({_ms(real)} vs {_ms(bare)} ms), difference {extra * 1000:+.1f} ms")
    within_ratio, within_extra = ratio <= GOAL_RATIO, extra <= GOAL_EXTRA
    verdict = "holds" if within_ratio and within_extra else "does not hold"
    print(
        f"goal (p99 within {GOAL_RATIO}× of bare and within +{GOAL_EXTRA * 1000:.0f} ms): {verdict} "
        f"(ratio {'ok' if within_ratio else 'over'}, difference {'ok' if within_extra else 'over'})"
    )
    calls = emulator.ask("calls")
    print("Slack calls: " + (", ".join(f"{m} {n}" for m, n in sorted(calls.items())) or "none"))
    # Every real /loops is answered after its ack, through its response_url (a minted URL takes
    # 5 posts, as Slack's do, so most of the repeats are refused: the work was done all the same).
    posted = emulator.ask("responses")
    print(
        "answers POSTed to response_urls, by status: "
        + (", ".join(f"{k} {n}" for k, n in sorted(posted.items())) or "none")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
