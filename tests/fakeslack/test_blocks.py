"""Block Kit limits: each rule refused as Slack refuses it, and exactly-at-the-limit accepted."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from slackbot.fakeslack import FakeSlack, User

Blocks = list[dict[str, Any]]


def section(text: str = "hi") -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def button(text: str = "Go", action_id: str = "go", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": plain(text), "action_id": action_id, **extra}


def actions(*elements: dict[str, Any], block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "actions", "elements": list(elements)}
    if block_id is not None:
        block["block_id"] = block_id
    return block


def select(n: int) -> dict[str, Any]:
    options = [{"text": plain(f"o{i}"), "value": f"v{i}"} for i in range(n)]
    return {"type": "static_select", "action_id": "pick", "placeholder": plain("Pick"), "options": options}


def text_input(max_length: int) -> dict[str, Any]:
    element = {"type": "plain_text_input", "action_id": "t", "max_length": max_length}
    return {"type": "input", "block_id": "in", "label": plain("Say"), "element": element}


# (name, blocks at the limit, blocks one past it, json-pointer Slack names)
MESSAGE_RULES: list[tuple[str, Blocks, Blocks, str]] = [
    ("50 blocks", [section()] * 50, [section()] * 51, "/blocks"),
    ("section text 3000", [section("x" * 3000)], [section("x" * 3001)], "/blocks/0/text/text"),
    (
        "section fields 10",
        [{"type": "section", "fields": [plain("f")] * 10}],
        [{"type": "section", "fields": [plain("f")] * 11}],
        "/blocks/0/fields",
    ),
    (
        "section field 2000",
        [{"type": "section", "fields": [plain("f" * 2000)]}],
        [{"type": "section", "fields": [plain("f" * 2001)]}],
        "/blocks/0/fields/0/text",
    ),
    (
        "header 150",
        [{"type": "header", "text": plain("h" * 150)}],
        [{"type": "header", "text": plain("h" * 151)}],
        "/blocks/0/text/text",
    ),
    (
        "header needs plain_text",
        [{"type": "header", "text": plain("h")}],
        [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}],
        "/blocks/0/text/type",
    ),
    (
        "button text 75",
        [actions(button("b" * 75))],
        [actions(button("b" * 76))],
        "/blocks/0/elements/0/text/text",
    ),
    (
        "button value 2000",
        [actions(button(value="v" * 2000))],
        [actions(button(value="v" * 2001))],
        "/blocks/0/elements/0/value",
    ),
    (
        "button url 3000",
        [actions(button(url="u" * 3000))],
        [actions(button(url="u" * 3001))],
        "/blocks/0/elements/0/url",
    ),
    (
        "action_id 255",
        [actions(button(action_id="a" * 255))],
        [actions(button(action_id="a" * 256))],
        "/blocks/0/elements/0/action_id",
    ),
    (
        "block_id 255",
        [actions(button(), block_id="b" * 255)],
        [actions(button(), block_id="b" * 256)],
        "/blocks/0/block_id",
    ),
    (
        "block_id unique in a message",
        [actions(button(), block_id="one"), actions(button(), block_id="two")],
        [actions(button(), block_id="one"), actions(button(), block_id="one")],
        "/blocks/1/block_id",
    ),
    (
        "action_id unique in its block",
        [actions(button(action_id="x")), actions(button(action_id="x"))],
        [actions(button(action_id="x"), button(action_id="x"))],
        "/blocks/0/elements/1/action_id",
    ),
    (
        "actions 25 elements",
        [actions(*[button(action_id=f"a{i}") for i in range(25)])],
        [actions(*[button(action_id=f"a{i}") for i in range(26)])],
        "/blocks/0/elements",
    ),
    (
        "context 10 elements",
        [{"type": "context", "elements": [plain("c")] * 10}],
        [{"type": "context", "elements": [plain("c")] * 11}],
        "/blocks/0/elements",
    ),
    ("unknown block type", [section()], [{"type": "carousel"}], "/blocks/0/type"),
    (
        "unknown element type",
        [actions(button())],
        [actions({"type": "slider", "action_id": "s"})],
        "/blocks/0/elements/0/type",
    ),
    (
        "static_select 100 options",
        [actions(select(100))],
        [actions(select(101))],
        "/blocks/0/elements/0/options",
    ),
    ("max_length 3000", [text_input(3000)], [text_input(3001)], "/blocks/0/element/max_length"),
    (
        "plain_text_input belongs in an input block",
        [text_input(10)],
        [actions({"type": "plain_text_input", "action_id": "t"})],
        "/blocks/0/elements/0/type",
    ),
    ("unknown property", [actions(button())], [actions(button(disabled=True))], "/blocks/0/elements/0"),
    (
        "file_input is for modals",
        [text_input(10)],
        [{"type": "input", "label": plain("F"), "element": {"type": "file_input", "action_id": "f"}}],
        "/blocks/0/element/type",
    ),
]


@pytest.mark.parametrize(("name", "good", "bad", "pointer"), MESSAGE_RULES, ids=[r[0] for r in MESSAGE_RULES])
def test_message_block_rule(
    client: WebClient, ana: User, name: str, good: Blocks, bad: Blocks, pointer: str
) -> None:
    assert client.chat_postMessage(channel=ana.id, text=name, blocks=good)["ok"]
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel=ana.id, text=name, blocks=bad)
    answer = caught.value.response
    assert answer.status_code == 200 and answer["error"] == "invalid_blocks"
    assert any(e.endswith(f"[json-pointer:{pointer}]") for e in answer["errors"]), answer["errors"]
    assert all(m.startswith("[ERROR] ") for m in answer["response_metadata"]["messages"])


def test_blocks_that_are_not_a_json_array_are_invalid_blocks_format(client: WebClient, ana: User) -> None:
    for blocks in ("[{not json", '{"type": "section"}'):
        with pytest.raises(SlackApiError) as caught:
            client.api_call("chat.postMessage", data={"channel": ana.id, "text": "x", "blocks": blocks})
        assert caught.value.response["error"] == "invalid_blocks_format"


def test_every_message_surface_validates(fake: FakeSlack, client: WebClient, ana: User) -> None:
    bad = [section("x" * 3001)]
    posted = client.chat_postMessage(channel=ana.id, text="ok")
    with pytest.raises(SlackApiError) as caught:
        client.chat_update(channel=posted["channel"], ts=posted["ts"], text="x", blocks=bad)
    assert caught.value.response["error"] == "invalid_blocks"
    with pytest.raises(SlackApiError) as caught:
        client.chat_postEphemeral(channel=posted["channel"], user=ana.id, text="x", blocks=bad)
    assert caught.value.response["error"] == "invalid_blocks"


def test_slack_fills_in_block_and_action_ids(client: WebClient, ana: User) -> None:
    answer = client.chat_postMessage(
        channel=ana.id, text="x", blocks=[actions({"type": "button", "text": plain("Go")})]
    )
    block = answer["message"]["blocks"][0]
    assert block["block_id"] and block["elements"][0]["action_id"]


def modal(**changes: Any) -> dict[str, Any]:
    view: dict[str, Any] = {"type": "modal", "title": plain("Title"), "blocks": [section()]}
    view.update(changes)
    return view


# (name, view at the limit, view one past it, json-pointer)
VIEW_RULES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("title 24", modal(title=plain("t" * 24)), modal(title=plain("t" * 25)), "/view/title/text"),
    ("submit 24", modal(submit=plain("s" * 24)), modal(submit=plain("s" * 25)), "/view/submit/text"),
    ("close 24", modal(close=plain("c" * 24)), modal(close=plain("c" * 25)), "/view/close/text"),
    (
        "private_metadata 3000",
        modal(private_metadata="p" * 3000),
        modal(private_metadata="p" * 3001),
        "/view/private_metadata",
    ),
    ("callback_id 255", modal(callback_id="c" * 255), modal(callback_id="c" * 256), "/view/callback_id"),
    ("100 blocks", modal(blocks=[section()] * 100), modal(blocks=[section()] * 101), "/view/blocks"),
    (
        "input needs submit",
        modal(blocks=[text_input(10)], submit=plain("Save")),
        modal(blocks=[text_input(10)]),
        "/view",
    ),
    (
        "no markdown block in modals",
        modal(blocks=[section()]),
        modal(blocks=[{"type": "markdown", "text": "**x**"}]),
        "/view/blocks/0/type",
    ),
    ("title is plain_text", modal(), modal(title={"type": "mrkdwn", "text": "t"}), "/view/title/type"),
]


@pytest.mark.parametrize(("name", "good", "bad", "pointer"), VIEW_RULES, ids=[r[0] for r in VIEW_RULES])
def test_view_rule(
    fake: FakeSlack,
    client: WebClient,
    ana: User,
    name: str,
    good: dict[str, Any],
    bad: dict[str, Any],
    pointer: str,
) -> None:
    assert client.views_open(trigger_id=fake.trigger_for(ana.id), view=good)["ok"]
    with pytest.raises(SlackApiError) as caught:
        client.views_open(trigger_id=fake.trigger_for(ana.id), view=bad)
    answer = caught.value.response
    assert answer["error"] == "invalid_arguments"
    messages = answer["response_metadata"]["messages"]
    assert messages[0] == "[ERROR] failed to match all allowed schemas [json-pointer:/view]"
    assert any(m.endswith(f"[json-pointer:{pointer}]") for m in messages), messages


def test_home_tab_allows_100_blocks(fake: FakeSlack, client: WebClient, ana: User) -> None:
    assert client.views_publish(user_id=ana.id, view={"type": "home", "blocks": [section()] * 100})["ok"]
    with pytest.raises(SlackApiError) as caught:
        client.views_publish(user_id=ana.id, view={"type": "home", "blocks": [section()] * 101})
    assert (
        "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]"
        in (caught.value.response["response_metadata"]["messages"])
    )
