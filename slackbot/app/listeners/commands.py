"""Slash commands: parse what was typed, let core decide, answer to the caller alone."""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from slackbot.app import people
from slackbot.app.context import caller, services_of, session_of
from slackbot.app.listeners.home import redraw_home
from slackbot.blocks.help import help_message
from slackbot.blocks.ids import Command
from slackbot.blocks.kit import message, section
from slackbot.core.errors import NotBuiltYet
from slackbot.core.parse import parse_loops_command
from slackbot.outbox.profile import fetch_profile


def loops(ack: Ack, command: dict[str, str], context: BoltContext, client: WebClient) -> None:
    request = parse_loops_command(command.get("text", ""))
    name = request.subcommand.name
    if not request.subcommand.available:
        raise NotBuiltYet(f"`{request.subcommand.usage}`")
    # Slack first, while nothing is written yet: a new person is stored by `caller`.
    profile = fetch_profile(client, str(context.user_id)) if name == "start" else None
    person, services = caller(context), services_of(context)
    if name == "help":
        ack(response_type="ephemeral", **help_message(request.not_understood))
        return
    if name == "start":
        words = people.start(person, profile, session_of(context), services)
    elif name == "stop":
        words = people.stop(person, session_of(context))
    elif name == "pause":
        words = people.pause(person, request.argument, session_of(context), services)
    else:
        words = people.resume(person, session_of(context), services)
    redraw_home(context, client, person)
    ack(response_type="ephemeral", **message(words, [section(words)]))


def shipped() -> None:
    raise NotBuiltYet("Recording a shipment with `/shipped`")


def register(app: App) -> None:
    app.command(Command.LOOPS)(loops)
    app.command(Command.SHIPPED)(shipped)
