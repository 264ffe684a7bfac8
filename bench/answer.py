"""What a person notices of `/loops`: the ack, then the answer at its response_url, beside a bare Bolt app.

    python bench/answer.py                       # 1,000 people, 500,000 entries, SQLite, 50/s, 10 s per app
    python bench/answer.py --postgres            # the same against a throwaway PostgreSQL
    python bench/answer.py --people 100 --entries 20000 --seconds 3      # a quick run

A fresh database is seeded by bench/seed.py (UHEAVY with 5,000 loops, ULIGHT with 10, everyone
else 5 to 15; figures worked out as a running clock keeps them). The Slack emulator runs in its
own process. Two gunicorns run the Procfile's `web` line with the same flags: the app, and
bench/bare_app.py (an empty ack, then a fixed text posted to the response_url from a thread).

Both get signed `/loops` (no text) at --rate per second, open-loop as in bench/burst.py (request
i leaves at t0 + i/R, on a new connection), from UHEAVY, ULIGHT and the next ordinary person in
turn, each with a response_url of its own. Each app's --seconds are cut into --turns turns,
taken bare, real, real, bare, … so that both see the same machine; each turn starts with
--warmup seconds not counted, and ends when every answer has come or --stragglers seconds after
its last request. Printed per turn and per app: the ack (request sent → HTTP response) and the
answer (request sent → its POST reaching the emulator, both on time.monotonic(), one clock
across processes on Linux), p50 and p99 in ms, and how many commands were answered. Then the
goals, printed only: real ack p99 within 2x bare, every answer posted, real answer p99 < 250 ms.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import burst  # noqa: E402
from burst import Emulator, Outcome, _quantile  # noqa: E402
from seed import SeedReport, print_figures, print_report, seed, work_out_figures  # noqa: E402

REAL_APP = "'slackbot.web:create_app()'"
BARE_APP = "'bare_app:create_app()'"
ACK_RATIO, ANSWER_P99 = 2.0, 0.250  # the goals: real ack p99 / bare ack p99; real answer p99 (s)
Result = tuple[Outcome, list[Any] | None]  # a command's ack, and its answer's first post if any

# argv: the team id and a JSON file of [user id, dm channel, tz] for every seeded person.
# stdin: "mint [user ids]" (a fresh response_url and trigger_id for each), "arrivals" (the
# response_url posts since the last ask: url, status, arrival, text); anything else stops it.
EMULATOR = """
import json, sys
from slackbot.fakeslack import FakeSlack
team, people = sys.argv[1], json.load(open(sys.argv[2]))
fake = FakeSlack(team_id=team).start()
users = {}
for n, (uid, dm, tz) in enumerate(people):
    made = fake.add_user(name=f"bench{n}", tz=tz)
    with fake.state.lock:  # known under the id the database has for them
        user = fake.state.users.pop(made.id)
        user.id = uid
        fake.state.users[uid] = user
    users[uid] = [uid, user.name, dm]
ready = {
    "api_url": fake.api_url, "token": fake.bot_token, "secret": fake.signing_secret,
    "team": fake.team_id, "domain": fake.team_domain, "app": fake.app_id,
    "verification": fake.verification_token, "users": list(users.values()),
}
print(json.dumps(ready), flush=True)
seen = 0
for line in sys.stdin:
    word, _, rest = line.strip().partition(" ")
    if word == "mint":
        mint = fake.state.mint_response_url
        print(json.dumps([[mint(u, users[u][2]).url, fake.trigger_for(u)] for u in json.loads(rest)]))
    elif word == "arrivals":
        posts = fake.response_posts()[seen:]
        seen += len(posts)
        text = lambda p: str(p.body.get("text") or "")[:200]
        print(json.dumps([[p.response_url, p.status, p.arrived, text(p)] for p in posts]))
    else:
        break
    sys.stdout.flush()
fake.stop()
"""


@dataclass
class Figures:
    ack_p99: float  # seconds
    answer_p99: float
    all_answered: bool  # every command acked (200, no apology) and answered at its response_url


def start_emulator(seeded: SeedReport, folder: Path) -> Emulator:
    people = folder / "people.json"
    people.write_text(json.dumps(seeded.people))
    return burst.run_emulator(EMULATOR, seeded.team_id, str(people))


def start_web_apps(
    folder: Path, database_url: str, ready: dict[str, Any], args: argparse.Namespace
) -> dict[str, tuple[int, subprocess.Popen[bytes], Path]]:
    """The real app and the bare one from the Procfile's web line: name → (port, process, log)."""
    real = burst.procfile_web()
    if REAL_APP not in real:
        raise RuntimeError(f"the Procfile's web line does not serve {REAL_APP}: {real}")
    webs = {}
    for name, command in (("bare", real.replace(REAL_APP, BARE_APP)), ("real", real)):
        port = burst.free_port()
        extra = {"PYTHONPATH": str(BENCH)} if name == "bare" else {}
        env = burst.web_environment(args, port, database_url, ready, **extra)
        log = folder / f"web-{name}.log"
        with log.open("wb") as out:  # the child has its own copy
            webs[name] = (port, burst.start_web(command, env, folder, out), log)
    return webs


def turn(emulator: Emulator, port: int, who: list[list[str]], rate: float, stragglers: float) -> list[Result]:
    """`/loops` from each of `who` at `rate`, then the first post to each one's response_url."""
    ready = emulator.ready
    minted = emulator.ask("mint " + json.dumps([user[0] for user in who]))
    bodies = [burst.command_body(ready, user, *urls, "") for user, urls in zip(who, minted, strict=True)]
    outcomes, _wall = burst.burst(port, ready["secret"], bodies, rate)
    deadline = max(o.started for o in outcomes) + stragglers
    urls = {url for url, _ in minted}
    first: dict[str, list[Any]] = {}
    while len(first) < len(urls) and time.monotonic() < deadline:
        time.sleep(0.1)
        for post in emulator.ask("arrivals"):
            if post[0] in urls:
                first.setdefault(post[0], post)
    return [(o, first.get(url)) for o, (url, _) in zip(outcomes, minted, strict=True)]


def figures(label: str, results: list[Result], apologies: list[str]) -> Figures:
    """One line of figures (problems only when there are some)."""
    acks = sorted(o.elapsed for o, _ in results)
    bad = sum(1 for o, _ in results if o.status != 200 or any(a in o.text for a in apologies))
    came = [(o, post) for o, post in results if post is not None]
    answered = [(o, post) for o, post in came if post[1] == 200 and not any(a in post[3] for a in apologies)]
    times = sorted(post[2] - o.started for o, post in answered)
    problems = {
        "acks not 200 or an apology": bad,
        "acks with a body": sum(1 for o, _ in results if o.status == 200 and o.text.strip()),
        "answers refused or apologies": len(came) - len(answered),
    }
    print(
        f"{label}: {len(results)} /loops, ack ms p50 {ms(acks, 0.5)} p99 {ms(acks, 0.99)}, answer ms "
        f"p50 {ms(times, 0.5)} p99 {ms(times, 0.99)}, answered {len(answered)} of {len(results)}"
        + "".join(f"; {what} {n}" for what, n in problems.items() if n)
    )
    p99 = _quantile(times, 0.99) if times else float("inf")
    return Figures(_quantile(acks, 0.99), p99, len(answered) == len(results) and bad == 0)


def ms(values: list[float], q: float) -> str:
    return f"{_quantile(values, q) * 1000:.1f}" if values else "-"


def measure(args: argparse.Namespace, emulator: Emulator, ports: dict[str, int], seeded: SeedReport) -> None:
    by_id = {user[0]: user for user in emulator.ready["users"]}
    ordinary = [user for uid, user in by_id.items() if uid not in {seeded.heavy, seeded.light}]
    cycle = [by_id[seeded.heavy], by_id[seeded.light]]

    def who(n: int) -> list[list[str]]:  # UHEAVY, ULIGHT, the next ordinary person, …
        return [cycle[i % 3] if i % 3 < 2 else ordinary[(i // 3) % len(ordinary)] for i in range(n)]

    per_turn, warm = round(args.rate * args.seconds / args.turns), round(args.rate * args.warmup)
    print(
        f"/loops at {args.rate:g}/s, {args.seconds:g} s per app in {args.turns} turns (+{args.warmup:g} s "
        f"warm-up each), gunicorn {args.workers} workers × {args.threads} threads, {args.engine}"
    )
    apologies = list(burst.apology_sentences().values())
    results: dict[str, list[Result]] = {"bare": [], "real": []}
    for n in range(args.turns):
        for name in ("bare", "real") if n % 2 == 0 else ("real", "bare"):
            done = turn(emulator, ports[name], who(warm + per_turn), args.rate, args.stragglers)[warm:]
            figures(f"  turn {n + 1} {name}", done, apologies)
            results[name].extend(done)
    bare, real = (figures(name, results[name], apologies) for name in ("bare", "real"))
    ratio, p99 = real.ack_p99 / bare.ack_p99, real.answer_p99 * 1000
    print("goals (printed, not asserted):")
    print(f"  real ack p99 within {ACK_RATIO:g}x the bare app's: {ratio:.2f}x, {holds(ratio <= ACK_RATIO)}")
    print(f"  every real /loops answered at its response_url: {holds(real.all_answered)}")
    print(
        f"  real answer p99 under {ANSWER_P99 * 1000:.0f} ms: {p99:.1f} ms, {holds(p99 < ANSWER_P99 * 1000)}"
    )


def holds(ok: bool) -> str:
    return "holds" if ok else "does NOT hold"


def run(args: argparse.Namespace, folder: Path, database_url: str) -> int:
    if not burst.migrate(database_url, folder):
        return 1
    seeded = seed(database_url, people=args.people, entries=args.entries, seed=args.seed)
    print_report(seeded)
    print_figures(work_out_figures(database_url))  # as a running clock keeps them
    emulator = start_emulator(seeded, folder)
    webs: dict[str, tuple[int, subprocess.Popen[bytes], Path]] = {}
    try:
        webs = start_web_apps(folder, database_url, emulator.ready, args)
        for name, (port, process, log) in webs.items():
            if not burst.wait_until_healthy(f"http://127.0.0.1:{port}/healthz", process):
                print(f"the {name} web process did not start:", file=sys.stderr)
                print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
                return 1
        measure(args, emulator, {name: port for name, (port, _, _) in webs.items()}, seeded)
        return 0
    finally:
        for name, (_port, process, log) in webs.items():
            burst.stop_web(process)
            print(f"{name} ", end="")
            burst.web_log_summary(log)
        emulator.stop()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    web = burst.procfile_web()
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=50.0, help="commands per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="of measured load, per app")
    parser.add_argument("--turns", type=int, default=2, help="per app, alternating (bare, real, real, bare)")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds of load before each turn, not counted"
    )
    parser.add_argument("--stragglers", type=float, default=10.0, help="seconds to wait for answers")
    parser.add_argument("--postgres", action="store_true", help="start a throwaway PostgreSQL and use it")
    parser.add_argument("--workers", type=int, default=burst.procfile_default(web, "WEB_CONCURRENCY"))
    parser.add_argument("--threads", type=int, default=burst.procfile_default(web, "WEB_THREADS"))
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (database, web logs)")
    args = parser.parse_args()
    if args.people < 3 or args.turns < 1 or args.rate * args.seconds < args.turns or args.warmup < 0:
        parser.error("--people must be at least 3, and each of the --turns needs a request")
    args.engine = "PostgreSQL" if args.postgres else "SQLite"

    return burst.on_a_database(args, "answer", lambda folder, url: run(args, folder, url))


if __name__ == "__main__":
    sys.exit(main())
