"""The CPU one `/loops` ack costs in the web worker, real app against bare, without HTTP.

    python bench/ack_cpu.py                  # 2,000 acks each, twice, then a profile of the real one
    python bench/ack_cpu.py --count 5000 --no-profile
    python bench/ack_cpu.py --kept --postgres  # the ack carries a kept summary read from PostgreSQL

bench/ack.py times acks from outside, and on a shared machine its figures move with whatever
else runs. This one calls both WSGI apps in one process, on a signed `/loops` from one person
(the emulator answers auth.test), and prints the CPU time per call: Bolt, our gate and
middleware, the listener and the hand-off after the ack (the reader takes nothing: a stand-in
accepts each read, so what is counted is the worker's side only). The difference is what the
real worker spends per ack that the bare one does not. --profile adds cProfile's top entries.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import hmac
import io
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from burst import migrate  # noqa: E402

from slackbot.app.reader import ReadRequest  # noqa: E402
from slackbot.fakeslack import FakeSlack  # noqa: E402

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class TakesEveryRead:
    """Stands in for the reader process: the worker's hand-off is counted, the answer is not."""

    def submit(self, request: ReadRequest) -> bool:
        return True

    def close(self) -> None:
        return None


def signed_environ(body: bytes, secret: str) -> dict[str, Any]:
    timestamp = str(int(time.time()))
    base = b"v0:" + timestamp.encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": timestamp,
        "HTTP_X_SLACK_SIGNATURE": signature,
        "HTTP_USER_AGENT": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }


def call(app: WsgiApp, body: bytes, secret: str) -> str:
    """One request as a WSGI server makes it, the body read to its end and closed."""
    statuses: list[str] = []
    result = app(signed_environ(body, secret), lambda status, _headers: statuses.append(status))
    b"".join(result)
    close = getattr(result, "close", None)
    if close is not None:
        close()
    return statuses[0]


def keep_a_summary(url: str, team_id: str, user_id: str) -> None:
    """Ten loops for the person, and their summary rendered as the clock renders it."""
    from datetime import UTC, datetime, timedelta

    from slackbot.outbox.summary import render_due_summaries
    from slackbot.store.db import Database
    from slackbot.store.models import Loop, Person, Workspace

    database, now = Database(url), datetime.now(UTC)
    with database.transaction() as session:
        workspace = Workspace(team_id=team_id)
        session.add(workspace)
        session.flush()
        person = Person(workspace_id=workspace.id, slack_user_id=user_id, tz="Europe/Berlin")
        session.add(person)
        session.flush()
        for number in range(1, 11):
            opened = now - timedelta(days=number, hours=1)
            session.add(
                Loop(
                    workspace_id=workspace.id,
                    person_id=person.id,
                    number=number,
                    what=f"problem {number}",
                    for_whom=f"people {number}",
                    state="open",
                    opened_at=opened,
                    source=f"bench:{number}",
                )
            )
    assert render_due_summaries(database, now, 10) == 1
    database.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=2000, help="acks per app and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-profile", dest="profile", action="store_false")
    parser.add_argument(
        "--kept", action="store_true", help="ana has loops and a kept summary: the ack carries it"
    )
    parser.add_argument("--postgres", action="store_true", help="start a throwaway PostgreSQL and use it")
    args = parser.parse_args()
    if args.count < 1 or args.rounds < 1:
        parser.error("--count and --rounds must be positive")
    server = None
    if args.postgres:
        from tests.support.pgserver import PostgresServer

        server = PostgresServer.start()
    try:
        return measure(args, server.admin_url if server is not None else None)
    finally:
        if server is not None:
            server.stop()


def measure(args: argparse.Namespace, database_url: str | None) -> int:
    with FakeSlack() as fake, tempfile.TemporaryDirectory(prefix="loops-ack-cpu-") as folder:
        url = database_url or f"sqlite:///{folder}/ack.db"
        if not migrate(url, Path(folder)):
            return 1
        os.environ.update(
            DATABASE_URL=url,
            SLACK_BOT_TOKEN=fake.bot_token,
            SLACK_SIGNING_SECRET=fake.signing_secret,
            SLACK_API_URL=fake.api_url,
            LOG_LEVEL="ERROR",
        )
        import bare_app

        import slackbot.web

        real = slackbot.web.create_app()
        real.app.services.reader = TakesEveryRead()  # type: ignore[assignment]
        apps: dict[str, WsgiApp] = {"real": real, "bare": bare_app.create_app()}
        ana = fake.add_user(name="ana")
        body = urlencode(
            {
                "token": fake.verification_token,
                "team_id": fake.team_id,
                "team_domain": fake.team_domain,
                "channel_id": fake.dm_channel_id(ana.id),
                "channel_name": "directmessage",
                "user_id": ana.id,
                "user_name": "ana",
                "command": "/loops",
                "text": "",
                "api_app_id": fake.app_id,
                "is_enterprise_install": "false",
                "response_url": fake.state.mint_response_url(ana.id, fake.dm_channel_id(ana.id)).url,
                "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            }
        ).encode()
        secret = fake.signing_secret
        if args.kept:
            keep_a_summary(url, fake.team_id, ana.id)
        for name, app in apps.items():  # warm: auth.test, imports, caches
            statuses = {call(app, body, secret) for _ in range(200)}
            if statuses != {"200 OK"}:
                print(f"the {name} app answered {sorted(statuses)}", file=sys.stderr)
                return 1
        real.app.services.settle()
        for turn in range(1, args.rounds + 1):
            for name, app in apps.items():
                started = time.process_time()
                for _ in range(args.count):
                    call(app, body, secret)
                if name == "real":
                    real.app.services.settle()  # the hand-off after each ack, counted too
                used = (time.process_time() - started) / args.count * 1000
                print(f"round {turn} {name}: {used:.3f} ms of CPU per ack")
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.count):
                call(real, body, secret)
            real.app.services.settle()
            profile.disable()
            if os.environ.get("DUMP"):
                profile.dump_stats(os.environ["DUMP"])
            pstats.Stats(profile).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(
                int(os.environ.get("TOP", "30"))
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
