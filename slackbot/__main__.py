"""The `slackbot` command: migrate | run | clock | tick [--at] | demo."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from slackbot.config import Settings, SettingsError, configure_logging, load_settings
from slackbot.store.db import Database
from slackbot.store.installations import warn_if_tokens_unsealed
from slackbot.store.migrate import first_line, require_current_schema, upgrade

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

logger = logging.getLogger("slackbot")
# The start-up calls' client logs here, unheard: what went wrong is said once, in our words.
_unheard = logging.getLogger("slackbot.startup.slack")
_unheard.setLevel(logging.CRITICAL)

# Slack's answers that mean the token itself is wrong: a placeholder, revoked, or its app gone.
TOKEN_REFUSED = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
)
SOCKET_RETRY_SECONDS = 5


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


def startup_client(settings: Settings, token: str | None) -> WebClient:
    """No retries, and its failure lines unheard: the caller says what went wrong."""
    return WebClient(
        token=token, base_url=settings.slack_api_url, timeout=10, retry_handlers=[], logger=_unheard
    )


def check_bot_token(settings: Settings) -> None:
    """One auth.test before serving, so a placeholder or revoked SLACK_BOT_TOKEN is said in one line
    rather than as every request's failure. OSError: Slack could not be reached."""
    if settings.oauth_mode or settings.slack_bot_token is None:
        return
    try:
        startup_client(settings, settings.slack_bot_token.get_secret_value()).auth_test()
    except SlackApiError as error:
        code = error.response.get("error")
        if code in TOKEN_REFUSED:
            raise SettingsError(
                f"SLACK_BOT_TOKEN: Slack refused it ({code}). Copy the Bot User OAuth Token (xoxb-…) "
                "from your app's OAuth & Permissions page, or reinstall the app if it was removed."
            ) from None
        logger.warning("auth.test at start-up answered %s; going on", code or error.response.status_code)


def connect_socket_mode(handler: SocketModeHandler, settings: Settings) -> None:
    """Check the bot token and open the socket, waiting for a Slack that cannot be reached yet:
    one line when it first fails, then a quiet try every SOCKET_RETRY_SECONDS."""
    told = False
    while True:
        try:
            check_bot_token(settings)
            handler.connect()  # type: ignore[no-untyped-call]
            break
        except SlackApiError as error:
            code = error.response.get("error")
            if code in TOKEN_REFUSED:
                raise SettingsError(
                    f"SLACK_APP_TOKEN: Slack refused it ({code}). Make an app-level token (xapp-…) with "
                    "connections:write on your app's Basic Information page."
                ) from None
            reason = f"apps.connections.open answered {code or error.response.status_code}"
        except OSError as error:
            reason = str(getattr(error, "reason", None) or error)
        if not told:
            logger.warning(
                "cannot reach Slack at %s (%s); trying again every %s s",
                settings.slack_api_url,
                reason,
                SOCKET_RETRY_SECONDS,
            )
            told = True
        time.sleep(SOCKET_RETRY_SECONDS)
    if told:
        logger.info("reached Slack")


def cmd_run(settings: Settings, _args: argparse.Namespace) -> int:
    from slackbot.app.bolt import build_app
    from slackbot.clock.runner import start_background_clock, ticker_for
    from slackbot.web import HttpServer, wsgi_app

    settings.require_slack(http=not settings.socket_mode)
    warn_if_tokens_unsealed(settings)
    database = Database(settings.database_url, connections=settings.loops_database_connections)
    # Development convenience: one command brings a fresh SQLite file up to date.
    try:
        upgrade(database)
    except SQLAlchemyError as error:
        raise SettingsError(f"DATABASE_URL: cannot migrate the database ({first_line(error)}).") from None
    if not settings.socket_mode:
        try:
            check_bot_token(settings)
        except OSError as error:
            logger.warning(
                "cannot reach Slack at %s to check SLACK_BOT_TOKEN (%s)",
                settings.slack_api_url,
                error,
            )
    clock = start_background_clock(ticker_for(settings, database))
    signal.signal(signal.SIGTERM, _stop)
    try:
        if settings.socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            assert settings.slack_app_token is not None
            app = build_app(settings, database)
            handler = SocketModeHandler(
                app, settings.slack_app_token.get_secret_value(), web_client=startup_client(settings, None)
            )
            try:
                connect_socket_mode(handler, settings)
                logger.info("Loops is running in Socket Mode")
                threading.Event().wait()  # as Bolt's start() does, after its connect()
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
    warn_if_tokens_unsealed(settings)
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
