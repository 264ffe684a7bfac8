"""manifest.yml against Slack's published schemas and against what the code registers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from slackbot.blocks.ids import Command

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "slackbot" / "fakeslack" / "specs"  # vendored; see its README.md
# Events newer than the 2018 AsyncAPI file: https://api.slack.com/events/app_home_opened
EVENTS_MISSING_FROM_THE_SPEC: dict[str, list[str]] = {"app_home_opened": []}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_manifest_matches_slacks_schema(manifest: dict[str, Any]) -> None:
    schema = json.loads((SPECS / "manifest.schema.1.0.0.json").read_text())
    jsonschema.validate(manifest, schema)


def test_manifest_declares_exactly_the_commands_the_app_registers(manifest: dict[str, Any]) -> None:
    declared = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert declared == {c.value for c in Command}
    for command in manifest["features"]["slash_commands"]:
        assert command["description"] and command["usage_hint"]


def test_every_request_url_is_the_events_path(manifest: dict[str, Any]) -> None:
    urls = [c["url"] for c in manifest["features"]["slash_commands"]]
    urls += [manifest["settings"]["event_subscriptions"]["request_url"]]
    urls += [manifest["settings"]["interactivity"]["request_url"]]
    assert all(re.fullmatch(r"https://[^/]+/slack/events", url) for url in urls), urls


def test_http_mode_home_tab_and_interactivity(manifest: dict[str, Any]) -> None:
    assert manifest["settings"]["socket_mode_enabled"] is False
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["features"]["bot_user"]["display_name"]


def _topic(event: str) -> str:
    return event if event.startswith("message.") else event.replace("_", ".")


def test_bot_events_exist_and_their_scopes_are_granted(manifest: dict[str, Any]) -> None:
    topics = json.loads((SPECS / "slack_events_api_async_v1.json").read_text())["topics"]
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert set(events) == {
        "app_home_opened",
        "message.im",
        "user_change",
        "app_uninstalled",
        "tokens_revoked",
    }
    for event in events:
        if event in EVENTS_MISSING_FROM_THE_SPEC:
            needed = EVENTS_MISSING_FROM_THE_SPEC[event]
        else:
            assert _topic(event) in topics, f"{event} is not a Slack event"
            needed = topics[_topic(event)]["subscribe"].get("x-scopes-required", [])
        assert set(needed) <= scopes, f"{event} needs {needed}"


def test_every_scope_is_explained(manifest: dict[str, Any]) -> None:
    text = (ROOT / "manifest.yml").read_text()
    for scope in manifest["oauth_config"]["scopes"]["bot"]:
        line = text.index(f"- {scope}\n")
        comment = text.rfind("#", 0, line)
        assert comment != -1 and text.count("\n", comment, line) == 1, f"{scope} has no comment above it"
