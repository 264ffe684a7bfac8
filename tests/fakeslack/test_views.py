"""views.open/update/push/publish: triggers, hashes and the modal stack."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from slackbot.fakeslack import FakeSlack, User

from .conftest import FakeClock


def modal(title: str = "Loops", **extra: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": title}}],
        **extra,
    }


def error_of(call: Any, **kwargs: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        call(**kwargs)
    return str(caught.value.response["error"])


def test_views_open_returns_the_view_as_slack_does(fake: FakeSlack, client: WebClient, ana: User) -> None:
    view = client.views_open(
        trigger_id=fake.trigger_for(ana.id),
        view=modal(callback_id="start", private_metadata="loop=7", notify_on_close=True),
    )["view"]
    assert view["id"].startswith("V") and view["hash"]
    assert (view["type"], view["callback_id"], view["private_metadata"]) == ("modal", "start", "loop=7")
    assert view["team_id"] == fake.team_id and view["app_id"] == fake.app_id and view["bot_id"] == fake.bot_id
    assert view["root_view_id"] == view["id"] and view["previous_view_id"] is None
    assert view["state"] == {"values": {}} and view["notify_on_close"] is True
    assert [v.id for v in fake.views_of(ana.id)] == [view["id"]]


def test_a_trigger_works_once_and_for_three_seconds(
    fake: FakeSlack, client: WebClient, clock: FakeClock, ana: User
) -> None:
    trigger = fake.trigger_for(ana.id)
    clock.advance(3.0)
    assert client.views_open(trigger_id=trigger, view=modal())["ok"]
    assert error_of(client.views_open, trigger_id=trigger, view=modal()) == "exchanged_trigger_id"
    late = fake.trigger_for(ana.id)
    clock.advance(3.01)
    assert error_of(client.views_open, trigger_id=late, view=modal()) == "expired_trigger_id"
    assert error_of(client.views_open, trigger_id="123.456.abc", view=modal()) == "invalid_trigger_id"


def test_views_update_with_hash(fake: FakeSlack, client: WebClient, ana: User) -> None:
    opened = client.views_open(trigger_id=fake.trigger_for(ana.id), view=modal())["view"]
    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Step 2"))["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    assert updated["title"]["text"] == "Step 2"
    stale = error_of(client.views_update, view_id=opened["id"], hash=opened["hash"], view=modal("Step 3"))
    assert stale == "hash_conflict"
    assert client.views_update(view_id=opened["id"], view=modal("No hash, no check"))["ok"]
    assert error_of(client.views_update, view_id="V0NOPE", view=modal()) == "not_found"


def test_views_update_by_external_id_and_its_uniqueness(
    fake: FakeSlack, client: WebClient, ana: User, ben: User
) -> None:
    client.views_open(trigger_id=fake.trigger_for(ana.id), view=modal(external_id="loop-7-ana"))
    updated = client.views_update(external_id="loop-7-ana", view=modal("Again", external_id="loop-7-ana"))
    assert updated["view"]["title"]["text"] == "Again"
    duplicate = error_of(
        client.views_open, trigger_id=fake.trigger_for(ben.id), view=modal(external_id="loop-7-ana")
    )
    assert duplicate == "duplicate_external_id"


def test_views_push_up_to_three(fake: FakeSlack, client: WebClient, ana: User) -> None:
    root = client.views_open(trigger_id=fake.trigger_for(ana.id), view=modal("One"))["view"]
    second = client.views_push(trigger_id=fake.trigger_for(ana.id), view=modal("Two"))["view"]
    assert (second["root_view_id"], second["previous_view_id"]) == (root["id"], root["id"])
    third = client.views_push(trigger_id=fake.trigger_for(ana.id), view=modal("Three"))["view"]
    assert third["previous_view_id"] == second["id"]
    assert (
        error_of(client.views_push, trigger_id=fake.trigger_for(ana.id), view=modal("Four"))
        == "push_limit_reached"
    )
    assert [v.payload["title"]["text"] for v in fake.views_of(ana.id)] == ["One", "Two", "Three"]


def test_views_push_needs_an_open_modal(fake: FakeSlack, client: WebClient, ana: User) -> None:
    assert error_of(client.views_push, trigger_id=fake.trigger_for(ana.id), view=modal()) == "not_found"


def test_views_open_refuses_a_home_view(fake: FakeSlack, client: WebClient, ana: User) -> None:
    home = {"type": "home", "blocks": []}
    assert error_of(client.views_open, trigger_id=fake.trigger_for(ana.id), view=home) == "invalid_arguments"


def test_views_publish_keeps_one_home_per_person(fake: FakeSlack, client: WebClient, ana: User) -> None:
    first = client.views_publish(user_id=ana.id, view={"type": "home", "blocks": []})["view"]
    second = client.views_publish(
        user_id=ana.id, hash=first["hash"], view={"type": "home", "blocks": [], "callback_id": "h"}
    )
    assert second["view"]["id"] == first["id"] and second["view"]["hash"] != first["hash"]
    home = fake.home_view(ana.id)
    assert home is not None and home.callback_id == "h"
    stale = error_of(
        client.views_publish, user_id=ana.id, hash=first["hash"], view={"type": "home", "blocks": []}
    )
    assert stale == "hash_conflict"
    assert error_of(client.views_publish, user_id=ana.id, view=modal()) == "invalid_arguments"
    assert (
        error_of(client.views_publish, user_id="U0NOBODY", view={"type": "home", "blocks": []})
        == "user_not_found"
    )


def test_input_blocks_start_with_their_initial_state(fake: FakeSlack, client: WebClient, ana: User) -> None:
    view = modal(
        submit={"type": "plain_text", "text": "Save"},
        blocks=[
            {
                "type": "input",
                "block_id": "what",
                "label": {"type": "plain_text", "text": "What"},
                "element": {"type": "plain_text_input", "action_id": "text", "initial_value": "draft"},
            }
        ],
    )
    opened = client.views_open(trigger_id=fake.trigger_for(ana.id), view=view)["view"]
    assert opened["state"]["values"] == {"what": {"text": {"type": "plain_text_input", "value": "draft"}}}
