"""Listeners, one module per kind of Slack request, each with `register(app)`."""

from __future__ import annotations

from slack_bolt import App

from slackbot.app.listeners import actions, commands, events, home, views


def register_all(app: App) -> None:
    commands.register(app)
    actions.register(app)
    views.register(app)
    home.register(app)
    # Last: its catch-all acknowledges every event no earlier listener took.
    events.register(app)
