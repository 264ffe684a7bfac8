"""Conversations and chat.* against the emulator, through slack_sdk's WebClient."""

from __future__ import annotations

import json
import re
import threading

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from slackbot.fakeslack import FakeSlack, Message, User

from .conftest import FakeClock


def error_of(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(SlackApiError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return str(caught.value.response["error"])


# ---------------------------------------------------------------- conversations.open / members


def test_conversations_open_is_stable_per_user(
    fake: FakeSlack, client: WebClient, ana: User, ben: User
) -> None:
    first = client.conversations_open(users=ana.id)
    again = client.conversations_open(users=[ana.id])
    assert first["channel"]["id"] == again["channel"]["id"] == fake.dm_channel_id(ana.id)
    assert first["channel"]["id"].startswith("D")
    assert again["already_open"] is True
    assert client.conversations_open(users=ben.id)["channel"]["id"] != first["channel"]["id"]
    full = client.conversations_open(users=ana.id, return_im=True)["channel"]
    assert full["is_im"] is True and full["user"] == ana.id


def test_conversations_open_refuses_unknown_and_deactivated_people(
    fake: FakeSlack, client: WebClient
) -> None:
    gone = fake.add_user("gone", deleted=True)
    assert error_of(client.conversations_open, users="U0NOBODY") == "user_not_found"
    assert error_of(client.conversations_open, users=gone.id) == "user_disabled"
    assert error_of(client.conversations_open, channel="D0NOPE") == "channel_not_found"


def test_conversations_members_pages(fake: FakeSlack, client: WebClient) -> None:
    people = [fake.add_user(f"m{n}").id for n in range(5)]
    channel = fake.add_channel("product", members=people)
    seen: list[str] = []
    cursor = None
    while True:
        answer = client.conversations_members(channel=channel.id, limit=2, cursor=cursor)
        seen += answer["members"]
        cursor = answer["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert seen == [*people, fake.bot_user_id]
    assert error_of(client.conversations_members, channel="C0NOPE") == "channel_not_found"


# ---------------------------------------------------------------- chat.postMessage


def test_post_to_a_user_id_lands_in_the_bots_dm(fake: FakeSlack, client: WebClient, ana: User) -> None:
    answer = client.chat_postMessage(channel=ana.id, text="hello")
    assert answer["channel"] == fake.dm_channel_id(ana.id)
    assert re.fullmatch(r"\d{10}\.\d{6}", answer["ts"])
    assert answer["message"]["bot_id"] == fake.bot_id and answer["message"]["user"] == fake.bot_user_id
    by_d = client.chat_postMessage(channel=answer["channel"], text="again")
    assert [m.text for m in fake.messages(channel=by_d["channel"])] == ["hello", "again"]


def test_post_to_a_deactivated_persons_dm_still_succeeds(fake: FakeSlack, client: WebClient) -> None:
    gone = fake.add_user("gone", deleted=True)
    assert client.chat_postMessage(channel=gone.id, text="still there?")["ok"] is True


def test_post_to_a_channel_needs_membership(fake: FakeSlack, client: WebClient, ana: User) -> None:
    joined = fake.add_channel("product", members=[ana.id])
    outside = fake.add_channel("random", members=[ana.id], bot_is_member=False)
    assert client.chat_postMessage(channel=joined.id, text="hi")["channel"] == joined.id
    assert error_of(client.chat_postMessage, channel=outside.id, text="hi") == "not_in_channel"
    assert error_of(client.chat_postMessage, channel="C0NOPE", text="hi") == "channel_not_found"
    assert error_of(client.chat_postMessage, channel="U0NOBODY", text="hi") == "channel_not_found"


def test_post_needs_text_or_blocks(client: WebClient, ana: User) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    with pytest.warns(UserWarning, match="text"):  # slack_sdk nags; Slack itself accepts blocks alone
        missing = error_of(client.chat_postMessage, channel=ana.id)
    assert missing == "no_text"
    with pytest.warns(UserWarning, match="text"):
        answer = client.chat_postMessage(channel=ana.id, blocks=blocks)
    assert answer["ok"]


def test_text_over_40000_characters_is_truncated_with_a_warning(
    fake: FakeSlack, client: WebClient, ana: User
) -> None:
    exact = client.chat_postMessage(channel=ana.id, text="x" * 40_000)
    assert "warning" not in exact.data and len(exact["message"]["text"]) == 40_000
    long = client.chat_postMessage(channel=ana.id, text="y" * 40_001)
    assert long["warning"] == "message_truncated"
    assert long["response_metadata"]["warnings"] == ["message_truncated"]
    assert fake.messages(channel=long["channel"])[-1].text == "y" * 40_000


def test_ts_is_strictly_increasing_per_channel_under_concurrent_posts(
    fake: FakeSlack, clock: FakeClock, ana: User, ben: User
) -> None:
    channel = fake.add_channel("product", members=[ana.id, ben.id])
    results: list[tuple[str, str]] = []
    lock = threading.Lock()

    def poster(n: int) -> None:
        c = WebClient(token=fake.bot_token, base_url=fake.api_url)
        for i in range(10):
            target = channel.id if (n + i) % 2 else ana.id
            answer = c.chat_postMessage(channel=target, text=f"{n}-{i}")
            with lock:
                results.append((answer["channel"], answer["ts"]))

    threads = [threading.Thread(target=poster, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 60
    for cid in {c for c, _ in results}:
        stored = [m.ts for m in fake.messages(channel=cid)]
        assert len(set(stored)) == len(stored)
        as_numbers = [(int(s.split(".")[0]), int(s.split(".")[1])) for s in stored]
        assert as_numbers == sorted(as_numbers)
        assert all(re.fullmatch(r"\d+\.\d{6}", s) for s in stored)


def test_ts_follows_the_fakes_clock(fake: FakeSlack, clock: FakeClock, client: WebClient, ana: User) -> None:
    first = client.chat_postMessage(channel=ana.id, text="a")["ts"]
    clock.advance(90)
    second = client.chat_postMessage(channel=ana.id, text="b")["ts"]
    assert int(second.split(".")[0]) - int(first.split(".")[0]) == 90


# ---------------------------------------------------------------- threads, history, replies


def test_thread_replies_and_parent_counters(fake: FakeSlack, client: WebClient, ana: User) -> None:
    parent = client.chat_postMessage(channel=ana.id, text="parent")
    dm, root = parent["channel"], parent["ts"]
    r1 = client.chat_postMessage(channel=dm, text="r1", thread_ts=root)
    assert r1["message"]["thread_ts"] == root
    r2 = client.chat_postMessage(
        channel=dm, text="r2", thread_ts=r1["ts"]
    )  # a reply's ts joins the parent thread
    assert r2["message"]["thread_ts"] == root
    client.chat_postMessage(channel=dm, text="loud", thread_ts=root, reply_broadcast=True)
    history = client.conversations_history(channel=dm)["messages"]
    assert [m["text"] for m in history] == ["loud", "parent"]  # newest first, quiet replies hidden
    top = history[1]
    assert top["reply_count"] == 3 and top["latest_reply"] == fake.messages(channel=dm)[-1].ts
    replies = client.conversations_replies(channel=dm, ts=r1["ts"])["messages"]
    assert [m["text"] for m in replies] == ["parent", "r1", "r2", "loud"]
    assert error_of(client.conversations_replies, channel=dm, ts="1.000001") == "thread_not_found"


def test_a_thread_ts_naming_no_message_is_accepted_and_the_reply_is_orphaned(
    fake: FakeSlack, client: WebClient, ana: User
) -> None:
    answer = client.chat_postMessage(channel=ana.id, text="lost", thread_ts="1000000000.000001")
    assert answer["ok"] and answer["message"]["thread_ts"] == "1000000000.000001"
    assert client.conversations_history(channel=answer["channel"])["messages"] == []


@pytest.mark.parametrize("thread_ts", ["not-a-ts", "0", "1764230000.00x"])
def test_a_thread_ts_that_is_no_timestamp_at_all_is_invalid_thread_ts(
    fake: FakeSlack, client: WebClient, ana: User, thread_ts: str
) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel=ana.id, text="lost", thread_ts=thread_ts)
    assert (caught.value.response.status_code, caught.value.response["error"]) == (200, "invalid_thread_ts")
    assert caught.value.response["response_metadata"]["messages"] == [
        f"[ERROR] {thread_ts} is not a valid thread_ts"
    ]
    assert fake.messages() == []


def test_messages_with_metadata_counts_tagged_live_messages_oldest_first(
    fake: FakeSlack, client: WebClient, ana: User, ben: User
) -> None:
    def tagged(event_type: str, n: int) -> dict[str, object]:
        return {"event_type": event_type, "event_payload": {"n": n}}

    first = client.chat_postMessage(channel=ana.id, text="1", metadata=tagged("loops_delivery", 1))
    client.chat_postMessage(channel=ben.id, text="2", metadata=tagged("loops_delivery", 2))
    client.chat_postMessage(channel=ana.id, text="untagged")
    client.chat_postMessage(channel=ana.id, text="other", metadata=tagged("loops_other", 3))
    client.chat_postMessage(channel=ana.id, text="4", metadata=tagged("loops_delivery", 4))
    found = fake.messages_with_metadata("loops_delivery")
    assert [m.text for m in found] == ["1", "2", "4"]
    assert found[0].metadata == tagged("loops_delivery", 1)
    client.chat_delete(channel=first["channel"], ts=first["ts"])
    assert [m.text for m in fake.messages_with_metadata("loops_delivery")] == ["2", "4"]
    assert fake.messages_with_metadata("nothing") == []


def test_history_pages_and_windows(fake: FakeSlack, client: WebClient, clock: FakeClock, ana: User) -> None:
    stamps = []
    for n in range(7):
        stamps.append(client.chat_postMessage(channel=ana.id, text=str(n))["ts"])
        clock.advance(1)
    dm = fake.dm_channel_id(ana.id)
    texts: list[str] = []
    cursor = None
    while True:
        answer = client.conversations_history(channel=dm, limit=3, cursor=cursor)
        texts += [m["text"] for m in answer["messages"]]
        if not answer["has_more"]:
            break
        cursor = answer["response_metadata"]["next_cursor"]
    assert texts == ["6", "5", "4", "3", "2", "1", "0"]
    window = client.conversations_history(channel=dm, oldest=stamps[2], latest=stamps[5])["messages"]
    assert [m["text"] for m in window] == ["4", "3"]
    inclusive = client.conversations_history(channel=dm, oldest=stamps[2], latest=stamps[5], inclusive=True)
    assert [m["text"] for m in inclusive["messages"]] == ["5", "4", "3", "2"]
    assert error_of(client.conversations_history, channel=dm, oldest="soon") == "invalid_ts_oldest"


def test_history_needs_membership(fake: FakeSlack, client: WebClient, ana: User) -> None:
    outside = fake.add_channel("random", members=[ana.id], bot_is_member=False)
    assert error_of(client.conversations_history, channel=outside.id) == "not_in_channel"
    assert error_of(client.conversations_history, channel="C0NOPE") == "channel_not_found"


def test_metadata_round_trips_only_when_asked_for(fake: FakeSlack, client: WebClient, ana: User) -> None:
    meta = {"event_type": "loop_prompt", "event_payload": {"loop_id": 7}}
    as_object = client.chat_postMessage(channel=ana.id, text="with metadata", metadata=meta)
    client.api_call(
        "chat.postMessage",
        data={"channel": ana.id, "text": "as string", "metadata": json.dumps(meta)},
    )
    dm = as_object["channel"]
    plain = client.conversations_history(channel=dm)["messages"]
    assert all("metadata" not in m for m in plain)
    rich = client.conversations_history(channel=dm, include_all_metadata=True)["messages"]
    assert [m["metadata"] for m in rich] == [meta, meta]
    thread = client.conversations_replies(channel=dm, ts=as_object["ts"], include_all_metadata=True)
    assert thread["messages"][0]["metadata"] == meta
    assert error_of(client.chat_postMessage, channel=ana.id, text="x", metadata={"event_payload": {}}) == (
        "invalid_metadata_format"
    )


# ---------------------------------------------------------------- ephemeral, update, delete, permalink


def test_post_ephemeral(fake: FakeSlack, client: WebClient, ana: User, ben: User) -> None:
    channel = fake.add_channel("product", members=[ana.id])
    answer = client.chat_postEphemeral(channel=channel.id, user=ana.id, text="only you")
    assert re.fullmatch(r"\d+\.\d{6}", answer["message_ts"])
    assert [m.text for m in fake.ephemeral_for(ana.id)] == ["only you"]
    assert fake.messages(channel=channel.id) == []
    assert client.conversations_history(channel=channel.id)["messages"] == []
    assert (
        error_of(client.chat_postEphemeral, channel=channel.id, user=ben.id, text="x")
        == "user_not_in_channel"
    )
    dm = fake.dm_channel_id(ana.id)
    assert client.chat_postEphemeral(channel=dm, user=ana.id, text="in the dm")["ok"]


def test_update_keeps_history_and_only_touches_own_messages(
    fake: FakeSlack, client: WebClient, ana: User
) -> None:
    posted = client.chat_postMessage(channel=ana.id, text="v1")
    dm, ts = posted["channel"], posted["ts"]
    updated = client.chat_update(channel=dm, ts=ts, text="v2")
    assert updated["text"] == "v2" and updated["message"]["edited"]["ts"]
    stored = fake.message(dm, ts)
    assert stored.text == "v2" and [e.text for e in stored.edited] == ["v1"]
    assert error_of(client.chat_update, channel=dm, ts="1.000001", text="x") == "message_not_found"
    assert (
        error_of(client.chat_update, channel=ana.id, ts=ts, text="x") == "channel_not_found"
    )  # needs the D id
    human = fake.state.post(Message(channel=dm, ts="1000000000.000001", text="mine", user=ana.id))
    assert error_of(client.chat_update, channel=dm, ts=human.ts, text="x") == "cant_update_message"
    assert error_of(client.chat_delete, channel=dm, ts=human.ts) == "cant_delete_message"


def test_update_without_blocks_keeps_them_and_an_empty_list_clears_them(
    fake: FakeSlack, client: WebClient, ana: User
) -> None:
    section = [{"type": "section", "block_id": "s", "text": {"type": "mrkdwn", "text": "*Due* Friday"}}]
    note = [{"text": "a note", "fallback": "a note"}]
    posted = client.chat_postMessage(channel=ana.id, text="v1", blocks=section, attachments=note)
    dm, ts = posted["channel"], posted["ts"]
    updated = client.chat_update(channel=dm, ts=ts, text="v2")
    assert updated["message"]["blocks"] == section and updated["message"]["attachments"] == note
    assert fake.message(dm, ts).blocks == section and fake.message(dm, ts).text == "v2"
    client.chat_update(channel=dm, ts=ts, text="v3", blocks=[], attachments=[])
    stored = fake.message(dm, ts)
    assert not stored.blocks and not stored.attachments and stored.text == "v3"
    assert [e.blocks for e in stored.edited] == [section, section]


def test_delete_and_permalink(fake: FakeSlack, client: WebClient, ana: User) -> None:
    posted = client.chat_postMessage(channel=ana.id, text="bye")
    dm, ts = posted["channel"], posted["ts"]
    link = client.chat_getPermalink(channel=dm, message_ts=ts)["permalink"]
    assert link == f"https://loops-demo.slack.com/archives/{dm}/p{ts.replace('.', '')}"
    reply = client.chat_postMessage(channel=dm, text="re", thread_ts=ts)
    reply_link = client.chat_getPermalink(channel=dm, message_ts=reply["ts"])["permalink"]
    assert reply_link.endswith(f"?thread_ts={ts}&cid={dm}")
    client.chat_delete(channel=dm, ts=reply["ts"])
    assert fake.message(dm, ts).reply_count == 0
    client.chat_delete(channel=dm, ts=ts)
    assert fake.messages(channel=dm) == []
    assert error_of(client.chat_getPermalink, channel=dm, message_ts=ts) == "message_not_found"
