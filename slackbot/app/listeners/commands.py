"""Slash commands: parse what was typed, let core decide, answer to the caller alone."""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from slackbot.app import people
from slackbot.app.blocks.help import help_message
from slackbot.app.blocks.kit import message, section
from slackbot.app.context import caller, defer, services_of, session_of
from slackbot.app.ids import Command
from slackbot.app.listeners.home import publish_home
from slackbot.core.errors import NotBuiltYet
from slackbot.core.parse import parse_loops_command


def loops(ack: Ack, command: dict[str, str], context: BoltContext, client: WebClient) -> None:
    request = parse_loops_command(command.get("text", ""))
    name = request.subcommand.name
    if not request.subcommand.available:
        raise NotBuiltYet(f"`{request.subcommand.usage}`")
    if name == "help":
        ack(response_type="ephemeral", **help_message())
        return
    person, services = caller(context), services_of(context)
    if name == "start":
        words = people.start(person, client, services)
    elif name == "stop":
        words = people.stop(person, session_of(context))
    elif name == "pause":
        words = people.pause(person, request.argument, session_of(context), services)
    else:
        words = people.resume(person, services)
    defer(context, lambda: publish_home(services, client, person.id))
    ack(response_type="ephemeral", **message(words, [section(words)]))


def shipped() -> None:
    raise NotBuiltYet("Recording a shipment with `/shipped`")


def register(app: App) -> None:
    app.command(Command.LOOPS)(loops)
    app.command(Command.SHIPPED)(shipped)
