"""The App Home tab, published whenever the person opens it."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from slackbot.app.blocks.home import home_view


def home_opened(event: dict[str, Any], client: WebClient) -> None:
    if event.get("tab") != "home":
        return
    client.views_publish(user_id=event["user"], view=home_view())


def register(app: App) -> None:
    app.event("app_home_opened")(home_opened)
