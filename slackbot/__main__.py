"""The `slackbot` command: migrate | run | clock | tick [--at] | demo."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from types import FrameType

from sqlalchemy.exc import SQLAlchemyError

from slackbot.config import Settings, SettingsError, configure_logging, load_settings
from slackbot.store.db import Database
from slackbot.store.migrate import first_line, require_current_schema, upgrade

logger = logging.getLogger("slackbot")


def parse_at(text: str) -> datetime:
    """`--at` as ISO-8601; a time without an offset is taken as UTC."""
    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO-8601 time such as 2026-11-27T09:30:00Z"
        ) from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    database = Database(settings.database_url)
    try:
        upgrade(database)
    except SQLAlchemyError as error:
        raise SettingsError(f"DATABASE_URL: cannot migrate the database ({first_line(error)}).") from None
    finally:
        database.dispose()
    print(f"database at newest schema: {database.url.render_as_string(hide_password=True)}")
    return 0


def _stop(_signum: int, _frame: FrameType | None) -> None:
    """SIGTERM (a deploy, Ctrl-C's polite cousin) ends a long-running command as Ctrl-C does."""
    raise KeyboardInterrupt


def cmd_run(settings: Settings, _args: argparse.Namespace) -> int:
    from slackbot.app.bolt import build_app
    from slackbot.clock.runner import start_background_clock, ticker_for
    from slackbot.web import HttpServer, wsgi_app

    settings.require_slack(http=not settings.socket_mode)
    database = Database(settings.database_url, connections=settings.loops_database_connections)
    # Development convenience: one command brings a fresh SQLite file up to date.
    try:
        upgrade(database)
    except SQLAlchemyError as error:
        raise SettingsError(f"DATABASE_URL: cannot migrate the database ({first_line(error)}).") from None
    clock = start_background_clock(ticker_for(settings, database))
    signal.signal(signal.SIGTERM, _stop)
    try:
        if settings.socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            assert settings.slack_app_token is not None
            app = build_app(settings, database)
            logger.info("Loops is running in Socket Mode")
            handler = SocketModeHandler(app, settings.slack_app_token.get_secret_value())
            try:
                handler.start()  # type: ignore[no-untyped-call]
            finally:
                handler.close()  # type: ignore[no-untyped-call]
        else:
            server = HttpServer(wsgi_app(settings, database), host="0.0.0.0", port=settings.port)  # noqa: S104
            logger.info("Loops is listening on http://0.0.0.0:%s/slack/events", settings.port)
            server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        clock.shutdown(wait=False)
        database.dispose()
    return 0


def cmd_clock(settings: Settings, _args: argparse.Namespace) -> int:
    from slackbot.clock.runner import run_clock, ticker_for

    settings.require_slack(http=False)
    database = Database(settings.database_url, connections=settings.loops_database_connections)
    require_current_schema(database)
    signal.signal(signal.SIGTERM, _stop)
    try:
        run_clock(ticker_for(settings, database))
    except (KeyboardInterrupt, SystemExit):
        logger.info("clock stopped")
    finally:
        database.dispose()
    return 0


def cmd_tick(settings: Settings, args: argparse.Namespace) -> int:
    from slackbot.clock.runner import ticker_for

    database = Database(settings.database_url)
    try:
        require_current_schema(database)
        report = ticker_for(settings, database).tick(args.at or datetime.now(UTC))
    finally:
        database.dispose()
    print(report)
    return 0


def cmd_demo(_settings: Settings, _args: argparse.Namespace) -> int:
    from slackbot.demo.story import run_demo

    return run_demo(sys.stdout)


COMMANDS = {
    "migrate": (cmd_migrate, "bring the database schema to the newest revision (safe to run twice)"),
    "run": (cmd_run, "development: the whole bot in one process, with its scheduler"),
    "clock": (cmd_clock, "the long-running scheduler process of a deployment"),
    "tick": (cmd_tick, "one scheduling pass, then exit (safe from cron, and in parallel)"),
    "demo": (cmd_demo, "the product against the bundled Slack emulator; no Slack account needed"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slackbot", description="Loops, a Slack bot that closes product loops."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_func, summary) in COMMANDS.items():
        sub = commands.add_parser(name, help=summary, description=summary)
        if name == "tick":
            sub.add_argument(
                "--at", type=parse_at, help="act as if it were this ISO-8601 time (default: now)"
            )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func, _summary = COMMANDS[args.command]
    try:
        settings = load_settings()
        configure_logging(settings)
        return func(settings, args)
    except SettingsError as error:
        print(f"loops: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
