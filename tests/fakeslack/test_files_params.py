"""Files v2 uploads end to end, and parameter names kept honest against Slack's OpenAPI file."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from slackbot.fakeslack import FakeSlack, User
from slackbot.fakeslack.methods import METHODS
from slackbot.fakeslack.params import (
    EXTRA_PARAMS,
    IMPLEMENTED_METHODS,
    METHODS_NEWER_THAN_THE_SPEC,
    spec_params,
)


def test_files_upload_v2_round_trip(fake: FakeSlack, client: WebClient, ana: User) -> None:
    channel = fake.add_channel("product", members=[ana.id])
    answer = client.files_upload_v2(
        channel=channel.id,
        content=b"\x00weekly report\xff",
        filename="report.bin",
        title="Weekly report",
        initial_comment="Here it is",
    )
    assert answer["file"]["title"] == "Weekly report"
    (stored,) = fake.files()
    assert (stored.name, stored.title, stored.data) == (
        "report.bin",
        "Weekly report",
        b"\x00weekly report\xff",
    )
    message = fake.last_message(channel.id)
    assert message is not None and message.text == "Here it is" and message.files == [stored.id]
    history = client.conversations_history(channel=channel.id)["messages"]
    assert history[0]["files"][0]["name"] == "report.bin"


def test_files_upload_v2_to_a_channel_without_the_bot(fake: FakeSlack, client: WebClient, ana: User) -> None:
    outside = fake.add_channel("random", members=[ana.id], bot_is_member=False)
    with pytest.raises(SlackApiError) as caught:
        client.files_upload_v2(channel=outside.id, content=b"x", filename="x.txt")
    assert caught.value.response["error"] == "not_in_channel"


def test_completing_an_upload_whose_bytes_never_came(fake: FakeSlack, client: WebClient) -> None:
    reserved = client.files_getUploadURLExternal(filename="a.txt", length=3)
    assert reserved["upload_url"].endswith(f"/upload/{fake.team_id}/{reserved['file_id']}")
    with pytest.raises(SlackApiError) as caught:
        client.files_completeUploadExternal(files=[{"id": reserved["file_id"], "title": "A"}])
    assert caught.value.response["error"] == "file_not_found"
    with pytest.raises(SlackApiError) as caught:
        client.api_call("files.getUploadURLExternal", params={"filename": "a.txt"})
    assert caught.value.response["error"] == "invalid_arguments"


def test_every_implemented_method_is_served_and_described() -> None:
    assert set(METHODS) == set(IMPLEMENTED_METHODS)
    table = spec_params()
    assert set(table) == set(IMPLEMENTED_METHODS)
    described = {method for method, names in table.items() if names}
    assert described.isdisjoint(METHODS_NEWER_THAN_THE_SPEC), "in the spec after all; drop the exception"
    assert described | set(METHODS_NEWER_THAN_THE_SPEC) == set(IMPLEMENTED_METHODS)
    for method, page in METHODS_NEWER_THAN_THE_SPEC.items():
        assert page == "https://docs.slack.dev/reference/methods/" + method
    for method, extras in EXTRA_PARAMS.items():
        assert method in IMPLEMENTED_METHODS
        for name, page in extras.items():
            assert page.startswith("https://docs.slack.dev/reference/methods/" + method), (method, name)
            assert name not in table[method], f"{method}.{name} is in the spec already; drop the exception"


def test_an_unknown_parameter_is_refused_loudly(client: WebClient, ana: User) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel=ana.id, text="hi", thread_tss="1.2")
    assert caught.value.response.data == {
        "ok": False,
        "error": "fakeslack_unknown_parameter",
        "parameter": "thread_tss",
    }
    with pytest.raises(SlackApiError) as caught:
        client.users_info(user=ana.id, include_locales=True)
    assert caught.value.response["parameter"] == "include_locales"


def test_parameters_newer_than_the_spec_and_the_sdks_own_are_accepted(fake: FakeSlack, ana: User) -> None:
    client = WebClient(
        token=fake.bot_token, base_url=fake.api_url, team_id=fake.team_id
    )  # adds team_id everywhere
    meta = {"event_type": "t", "event_payload": {}}
    posted = client.chat_postMessage(channel=ana.id, text="hi", metadata=meta)
    assert client.conversations_history(channel=posted["channel"], include_all_metadata=True)["ok"]
    assert fake.calls("chat.postMessage")[-1].params["team_id"] == fake.team_id
