"""Slash commands: parse what was typed, let core decide, answer to the caller alone."""

from __future__ import annotations

from slack_bolt import Ack, App

from slackbot.app.blocks.help import help_message
from slackbot.app.ids import Command
from slackbot.core.errors import NotBuiltYet
from slackbot.core.parse import parse_loops_command


def loops(ack: Ack, command: dict[str, str]) -> None:
    request = parse_loops_command(command.get("text", ""))
    if not request.subcommand.available:
        raise NotBuiltYet(f"`{request.subcommand.usage}`")
    if request.subcommand.name == "help":
        ack(response_type="ephemeral", **help_message())


def shipped() -> None:
    raise NotBuiltYet("Recording a shipment with `/shipped`")


def register(app: App) -> None:
    app.command(Command.LOOPS)(loops)
    app.command(Command.SHIPPED)(shipped)
