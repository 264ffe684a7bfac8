"""SlackSender: signed requests as Slack sends them, and what Slack does with the app's answers."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from slackbot.fakeslack import FakeSlack, Message, SlackSender, User, sign

from .conftest import FakeClock, Receiver


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def buttons(*labels: str) -> list[dict[str, Any]]:
    elements = [
        {"type": "button", "text": plain(label), "action_id": f"b{i}", "value": label.lower()}
        for i, label in enumerate(labels)
    ]
    return [{"type": "actions", "block_id": "choices", "elements": elements}]


# ---------------------------------------------------------------- signing and transport


def test_every_kind_of_request_is_signed_as_slack_signs(
    sender: SlackSender, receiver: Receiver, ana: User
) -> None:
    sender.command(ana.id, "/loops", "help")
    sender.event({"type": "app_home_opened", "user": ana.id, "tab": "home"})
    sender.url_verification("abc")
    assert [r.valid_signature for r in receiver.requests] == [True, True, True]
    assert receiver.requests[0].headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert receiver.requests[1].headers["Content-Type"] == "application/json"
    assert abs(int(receiver.requests[0].headers["X-Slack-Request-Timestamp"]) - time.time()) < 5


def test_requests_are_signed_with_wall_clock_time_whatever_the_fakes_clock_says(
    fake: FakeSlack, sender: SlackSender, receiver: Receiver, clock: FakeClock, ana: User
) -> None:
    clock.advance(6 * 3600)  # the test jumps to the afternoon; the app's clock does not move
    reply = sender.command(ana.id, "/loops", "help")
    assert reply.status == 200 and receiver.last.valid_signature
    assert abs(int(receiver.last.headers["X-Slack-Request-Timestamp"]) - time.time()) < 5
    assert reply.extra["trigger_id"].startswith(str(int(clock()))), "the fake's clock still mints ids"
    assert sender.post(b"a=b", timestamp=int(time.time()) - 301).status == 401, "override still works"


def test_signature_matches_slack_sdk(fake: FakeSlack, clock: FakeClock) -> None:
    verifier = SignatureVerifier(fake.signing_secret, clock=clock)
    body = b"token=x&text=hi"
    ts = int(clock())
    assert verifier.is_valid(body, str(ts), sign(fake.signing_secret, ts, body))
    assert not verifier.is_valid(body, str(ts), sign("other", ts, body))


def test_raw_post_can_break_the_signature_and_the_clock(
    sender: SlackSender, receiver: Receiver, clock: FakeClock
) -> None:
    assert sender.post(b"a=b").status == 200
    assert sender.post(b"a=b", signature="v0=" + "0" * 64).status == 401
    assert sender.post(b"a=b", sign=False).status == 401
    assert "X-Slack-Signature" not in receiver.last.headers
    assert sender.post(b"a=b", timestamp=int(time.time()) - 301).status == 401


# ---------------------------------------------------------------- slash commands


def test_command_form_fields(fake: FakeSlack, sender: SlackSender, receiver: Receiver, ana: User) -> None:
    reply = sender.command(ana.id, "/loops", "start weekly")
    form = receiver.last.form()
    assert form["command"] == "/loops" and form["text"] == "start weekly"
    assert form["user_id"] == ana.id and form["user_name"] == "ana"
    assert form["channel_id"] == fake.dm_channel_id(ana.id) and form["channel_name"] == "directmessage"
    assert (form["team_id"], form["team_domain"], form["api_app_id"]) == (
        fake.team_id,
        "loops-demo",
        fake.app_id,
    )
    assert form["is_enterprise_install"] == "false" and form["token"] == fake.verification_token
    assert form["response_url"] == reply.extra["response_url"] and form["response_url"].startswith(
        fake.base_url
    )
    assert form["trigger_id"] == reply.extra["trigger_id"]
    channel = fake.add_channel("product", members=[ana.id])
    sender.command(ana.id, "/loops", "", channel_id=channel.id)
    assert receiver.last.form()["channel_name"] == "product"


def test_the_ack_body_is_what_the_person_sees(
    fake: FakeSlack, sender: SlackSender, receiver: Receiver, ana: User
) -> None:
    receiver.reply_json({"text": "Only you can see this"})
    reply = sender.command(ana.id, "/loops", "help")
    assert reply.json() == {"text": "Only you can see this"} and reply.slack_error is None
    (seen,) = fake.ephemeral_for(ana.id)
    assert (seen.text, seen.source) == ("Only you can see this", "ack")
    receiver.reply_json({"response_type": "in_channel", "text": "Everyone sees this"})
    sender.command(ana.id, "/loops", "share")
    assert [m.text for m in fake.messages(channel=fake.dm_channel_id(ana.id))] == ["Everyone sees this"]
    receiver.answer = lambda _r: (200, {}, b"")
    sender.command(ana.id, "/loops", "quiet")
    assert len(fake.ephemeral_for(ana.id)) == 1


def test_an_invalid_ack_or_a_late_one_shows_slacks_error(
    fake: FakeSlack, receiver: Receiver, ana: User
) -> None:
    sender = SlackSender(fake, app_url=receiver.url)
    receiver.reply_json({"blocks": [{"type": "header", "text": plain("x" * 151)}]})
    assert sender.command(ana.id, "/loops", "x").slack_error == "invalid_command_response"
    late = SlackSender(fake, app_url=receiver.url, ack_deadline=0.0)  # every answer counts as late
    receiver.reply_json({"text": "too late"})
    assert late.command(ana.id, "/loops", "x").slack_error == "operation_timeout"
    receiver.answer = lambda _r: (500, {}, b"boom")
    assert sender.command(ana.id, "/loops", "x").slack_error == "dispatch_failed"
    shown = [(m.source, m.text) for m in fake.ephemeral_for(ana.id)]
    assert shown == [
        ("slack", '/loops failed with the error "invalid_command_response"'),
        ("slack", '/loops failed with the error "operation_timeout"'),
        ("slack", '/loops failed with the error "dispatch_failed"'),
    ]


# ---------------------------------------------------------------- events


def test_event_envelope_and_retries(
    fake: FakeSlack, sender: SlackSender, receiver: Receiver, ana: User
) -> None:
    first = sender.event({"type": "app_home_opened", "user": ana.id, "tab": "home"})
    envelope = receiver.last.json()
    assert envelope["type"] == "event_callback" and envelope["event_id"] == first.event_id
    assert envelope["event_id"].startswith("Ev") and envelope["api_app_id"] == fake.app_id
    assert envelope["team_id"] == fake.team_id and envelope["is_ext_shared_channel"] is False
    assert envelope["authorizations"][0]["user_id"] == fake.bot_user_id
    assert "event_ts" in envelope["event"] and "X-Slack-Retry-Num" not in receiver.last.headers
    sender.event(envelope["event"], event_id=first.event_id, retry_num=2, retry_reason="http_timeout")
    assert receiver.last.json()["event_id"] == first.event_id
    assert (receiver.last.headers["X-Slack-Retry-Num"], receiver.last.headers["X-Slack-Retry-Reason"]) == (
        "2",
        "http_timeout",
    )
    receiver.answer = lambda _r: (503, {}, b"")
    assert sender.event({"type": "app_home_opened", "user": ana.id}).slack_error == "http_error"


def test_url_verification(sender: SlackSender, receiver: Receiver) -> None:
    receiver.answer = lambda r: (200, {"Content-Type": "text/plain"}, r.json()["challenge"].encode())
    reply = sender.url_verification("xyz")
    assert reply.text == "xyz" and receiver.last.json()["type"] == "url_verification"


def test_user_message_is_stored_and_delivered_as_message_im(
    fake: FakeSlack, client: WebClient, sender: SlackSender, receiver: Receiver, ana: User
) -> None:
    message, _reply = sender.user_message(ana.id, "shipped the fix")
    event = receiver.last.json()["event"]
    assert (event["type"], event["channel_type"], event["channel"]) == (
        "message",
        "im",
        fake.dm_channel_id(ana.id),
    )
    assert (event["user"], event["text"], event["ts"]) == (ana.id, "shipped the fix", message.ts)
    assert "thread_ts" not in event and "bot_id" not in event
    sender.user_message(ana.id, "and tested it", thread_ts=message.ts)
    event = receiver.last.json()["event"]
    assert (event["thread_ts"], event["parent_user_id"]) == (message.ts, ana.id)
    history = client.conversations_history(channel=message.channel)["messages"]
    assert [m["text"] for m in history] == ["shipped the fix"]
    thread = client.conversations_replies(channel=message.channel, ts=message.ts)["messages"]
    assert [m["text"] for m in thread] == ["shipped the fix", "and tested it"]


def test_open_home_carries_the_published_view(
    fake: FakeSlack, client: WebClient, sender: SlackSender, receiver: Receiver, ana: User
) -> None:
    sender.open_home(ana.id)
    assert "view" not in receiver.last.json()["event"]
    client.views_publish(user_id=ana.id, view={"type": "home", "callback_id": "home", "blocks": []})
    sender.open_home(ana.id)
    event = receiver.last.json()["event"]
    assert (event["tab"], event["view"]["callback_id"]) == ("home", "home")


def test_user_change_carries_the_new_profile(
    fake: FakeSlack, sender: SlackSender, receiver: Receiver, ana: User
) -> None:
    fake.update_user(ana.id, tz="Asia/Tokyo")
    sender.user_change(ana.id)
    event = receiver.last.json()["event"]
    assert (event["type"], event["user"]["tz"], event["user"]["tz_offset"]) == (
        "user_change",
        "Asia/Tokyo",
        32400,
    )


# ---------------------------------------------------------------- block_actions and response_url


def posted(client: WebClient, fake: FakeSlack, user: User, **kwargs: Any) -> Message:
    answer = client.chat_postMessage(channel=user.id, text="Pick one", **kwargs)
    return fake.message(answer["channel"], answer["ts"])


def test_click_sends_block_actions(
    fake: FakeSlack, client: WebClient, sender: SlackSender, receiver: Receiver, ana: User
) -> None:
    message = posted(client, fake, ana, blocks=buttons("Yes", "No"))
    reply = sender.click(ana.id, message, text="No")
    payload = receiver.last.payload()
    assert payload["type"] == "block_actions" and payload["user"]["id"] == ana.id
    assert payload["container"] == {
        "type": "message",
        "message_ts": message.ts,
        "channel_id": message.channel,
        "is_ephemeral": False,
    }
    (action,) = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "b1",
        "choices",
        "no",
        "button",
    )
    assert action["text"] == plain("No")
    assert payload["message"]["ts"] == message.ts and payload["message"]["blocks"][0]["block_id"] == "choices"
    assert payload["response_url"] == reply.extra["response_url"] and payload["trigger_id"]
    assert payload["channel"] == {"id": message.channel, "name": "directmessage"}
    with pytest.raises(LookupError, match="no element"):
        sender.click(ana.id, message, text="Maybe")


def test_click_on_an_ephemeral_message_has_no_message_copy(
    fake: FakeSlack, client: WebClient, sender: SlackSender, receiver: Receiver, ana: User, ben: User
) -> None:
    dm = fake.dm_channel_id(ana.id)
    ts = client.chat_postEphemeral(channel=dm, user=ana.id, text="Pick", blocks=buttons("Ok"))["message_ts"]
    (message,) = fake.ephemeral_for(ana.id)
    assert message.ts == ts
    sender.click(ana.id, message, action_id="b0")
    payload = receiver.last.payload()
    assert payload["container"]["is_ephemeral"] is True and "message" not in payload
    with pytest.raises(LookupError):
        sender.click(ben.id, message, action_id="b0")


def test_response_url_replaces_deletes_and_answers_in_channel(
    fake: FakeSlack, client: WebClient, sender: SlackSender, ana: User
) -> None:
    message = posted(client, fake, ana, blocks=buttons("Yes"))
    url = sender.click(ana.id, message, text="Yes").extra["response_url"]
    webhook = WebhookClient(url)
    assert webhook.send(text="Thanks!", replace_original=True).status_code == 200
    assert fake.message(message.channel, message.ts).text == "Thanks!"
    assert [e.text for e in fake.message(message.channel, message.ts).edited] == ["Pick one"]
    assert webhook.send(text="just for you").status_code == 200
    assert fake.ephemeral_for(ana.id)[-1].text == "just for you"
    assert fake.ephemeral_for(ana.id)[-1].source == "response_url"
    webhook.send(text="for all", response_type="in_channel")
    assert fake.messages(channel=message.channel)[-1].text == "for all"
    webhook.send(delete_original=True)
    assert fake.messages(channel=message.channel)[0].text == "for all"
    assert [p.get("text") for p in fake.response_url_posts(url)] == [
        "Thanks!",
        "just for you",
        "for all",
        None,
    ]


def test_response_url_allows_five_uses_in_thirty_minutes(
    fake: FakeSlack, sender: SlackSender, clock: FakeClock, ana: User
) -> None:
    url = sender.command(ana.id, "/loops", "x").extra["response_url"]
    webhook = WebhookClient(url)
    assert [webhook.send(text=f"{n}").status_code for n in range(5)] == [200] * 5
    sixth = webhook.send(text="6")
    assert (sixth.status_code, json.loads(sixth.body)) == (404, {"ok": False, "error": "Expired url"})
    fresh = WebhookClient(sender.command(ana.id, "/loops", "y").extra["response_url"])
    clock.advance(30 * 60)
    assert fresh.send(text="just in time").status_code == 200
    clock.advance(1)
    assert fresh.send(text="too late").status_code == 404
    assert WebhookClient(fake.base_url + "response/R0NOPE").send(text="x").status_code == 404


def test_response_url_posts_are_kept_with_when_they_arrived(
    fake: FakeSlack, sender: SlackSender, clock: FakeClock, ana: User
) -> None:
    url = sender.command(ana.id, "/loops", "x").extra["response_url"]
    before = time.monotonic()
    assert WebhookClient(url).send(text="first").status_code == 200
    assert WebhookClient(url + "NOPE").send(text="lost").status_code == 404
    after = time.monotonic()
    posts = fake.response_posts()
    assert [(p.body.get("text"), p.status) for p in posts] == [("first", 200), ("lost", 404)]
    assert posts[0].response_url == url
    # Arrival is monotonic time, whatever the fake's own clock says (here it stands still).
    assert before <= posts[0].arrived <= posts[1].arrived <= after
    assert [p.at for p in posts] == [clock.now(), clock.now()]


def test_response_url_validates_blocks(fake: FakeSlack, sender: SlackSender, ana: User) -> None:
    webhook = WebhookClient(sender.command(ana.id, "/loops", "x").extra["response_url"])
    bad = webhook.send(text="x", blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}])
    assert bad.status_code == 400 and json.loads(bad.body)["error"] == "invalid_blocks"
    assert fake.ephemeral_for(ana.id) == []


# ---------------------------------------------------------------- modals


def form_modal() -> dict[str, Any]:
    def block(block_id: str, element: dict[str, Any], optional: bool = False) -> dict[str, Any]:
        return {
            "type": "input",
            "block_id": block_id,
            "label": plain(block_id),
            "element": element,
            "optional": optional,
        }

    options = [{"text": plain("Weekly"), "value": "weekly"}, {"text": plain("Daily"), "value": "daily"}]
    return {
        "type": "modal",
        "callback_id": "start",
        "private_metadata": "loop=7",
        "title": plain("Start a loop"),
        "submit": plain("Start"),
        "notify_on_close": True,
        "blocks": [
            block("problem", {"type": "plain_text_input", "action_id": "text"}),
            block("cadence", {"type": "static_select", "action_id": "pick", "options": options}),
            block("due", {"type": "datepicker", "action_id": "date"}, optional=True),
            block("at", {"type": "timepicker", "action_id": "time"}, optional=True),
            block("who", {"type": "users_select", "action_id": "user"}, optional=True),
            block("flags", {"type": "checkboxes", "action_id": "boxes", "options": options}, optional=True),
            {
                "type": "actions",
                "block_id": "more",
                "elements": [{"type": "button", "text": plain("More"), "action_id": "more"}],
            },
        ],
    }


def opened(fake: FakeSlack, client: WebClient, user: User) -> str:
    view_id: str = client.views_open(trigger_id=fake.trigger_for(user.id), view=form_modal())["view"]["id"]
    return view_id


def test_submit_view_builds_state_values(
    fake: FakeSlack, client: WebClient, sender: SlackSender, receiver: Receiver, ana: User
) -> None:
    view_id = opened(fake, client, ana)
    sender.submit_view(
        ana.id,
        view_id,
        {
            "text": "Slow deploys",
            "cadence.pick": "weekly",
            "date": "2026-01-05",
            "time": "09:30",
            "user": ana.id,
            "boxes": ["daily"],
        },
    )
    payload = receiver.last.payload()
    assert payload["type"] == "view_submission" and payload["view"]["callback_id"] == "start"
    assert payload["view"]["private_metadata"] == "loop=7" and payload["trigger_id"]
    values = payload["view"]["state"]["values"]
    assert values["problem"]["text"] == {"type": "plain_text_input", "value": "Slow deploys"}
    assert values["cadence"]["pick"]["selected_option"] == {"text": plain("Weekly"), "value": "weekly"}
    assert values["due"]["date"]["selected_date"] == "2026-01-05"
    assert values["at"]["time"]["selected_time"] == "09:30"
    assert values["who"]["user"]["selected_user"] == ana.id
    assert values["flags"]["boxes"]["selected_options"] == [{"text": plain("Daily"), "value": "daily"}]
    assert fake.views_of(ana.id) == [], "an empty 200 closes the modal"


def test_submit_view_refuses_what_the_person_could_not_do(
    fake: FakeSlack, client: WebClient, sender: SlackSender, ana: User
) -> None:
    view_id = opened(fake, client, ana)
    with pytest.raises(ValueError, match=r"required input 'cadence\.pick' is empty"):
        sender.submit_view(ana.id, view_id, {"text": "x"})
    with pytest.raises(ValueError, match="no input"):
        sender.submit_view(ana.id, view_id, {"text": "x", "pick": "weekly", "typo": 1})
    with pytest.raises(ValueError, match="no option"):
        sender.submit_view(ana.id, view_id, {"text": "x", "pick": "hourly"})


def test_response_action_errors_keeps_the_modal_open(
    fake: FakeSlack, client: WebClient, sender: SlackSender, receiver: Receiver, ana: User
) -> None:
    view_id = opened(fake, client, ana)
    receiver.reply_json({"response_action": "errors", "errors": {"problem": "Say a bit more"}})
    reply = sender.submit_view(ana.id, view_id, {"text": "x", "pick": "daily"})
    assert reply.slack_error is None
    assert fake.view_errors(view_id) == {"problem": "Say a bit more"}
    assert [v.id for v in fake.views_of(ana.id)] == [view_id]
    receiver.reply_json({"response_action": "errors", "errors": {"nope": "?"}})
    assert sender.submit_view(ana.id, view_id, {"text": "x", "pick": "daily"}).slack_error == "invalid_errors"


def test_response_action_update_push_and_clear(
    fake: FakeSlack, client: WebClient, sender: SlackSender, receiver: Receiver, ana: User
) -> None:
    view_id = opened(fake, client, ana)
    done = {"type": "modal", "title": plain("Done"), "blocks": [{"type": "section", "text": plain("Saved")}]}
    receiver.reply_json({"response_action": "update", "view": done})
    sender.submit_view(ana.id, view_id, {"text": "x", "pick": "daily"})
    assert fake.view(view_id).payload["title"]["text"] == "Done" and fake.views_of(ana.id)[0].id == view_id
    client.views_update(view_id=view_id, view=form_modal())
    receiver.reply_json({"response_action": "push", "view": {**form_modal(), "title": plain("Step 2")}})
    sender.submit_view(ana.id, view_id, {"text": "x", "pick": "daily"})
    stack = fake.views_of(ana.id)
    assert [v.payload["title"]["text"] for v in stack] == ["Start a loop", "Step 2"]
    assert stack[1].previous_view_id == view_id
    receiver.reply_json({"response_action": "clear"})
    sender.submit_view(ana.id, stack[1].id, {"text": "y", "pick": "weekly"})
    assert fake.views_of(ana.id) == []
    view_id = opened(fake, client, ana)
    receiver.reply_json(
        {"response_action": "update", "view": {"type": "modal", "title": plain("x" * 30), "blocks": []}}
    )
    assert sender.submit_view(ana.id, view_id, {"text": "x", "pick": "daily"}).slack_error == "invalid_view"


def test_click_in_view_and_push_with_its_trigger(
    fake: FakeSlack, client: WebClient, sender: SlackSender, receiver: Receiver, ana: User
) -> None:
    view_id = opened(fake, client, ana)
    reply = sender.click_in_view(ana.id, view_id, "more")
    payload = receiver.last.payload()
    assert payload["container"] == {"type": "view", "view_id": view_id}
    assert payload["view"]["id"] == view_id and "response_url" not in payload
    assert payload["actions"][0]["action_id"] == "more"
    pushed = client.views_push(
        trigger_id=reply.extra["trigger_id"], view={**form_modal(), "title": plain("More")}
    )
    assert pushed["view"]["previous_view_id"] == view_id


def test_close_view_notifies_only_when_asked(
    fake: FakeSlack, client: WebClient, sender: SlackSender, receiver: Receiver, ana: User
) -> None:
    view_id = opened(fake, client, ana)
    reply = sender.close_view(ana.id, view_id)
    assert reply is not None and receiver.last.payload()["type"] == "view_closed"
    assert receiver.last.payload()["is_cleared"] is False and fake.views_of(ana.id) == []
    quiet = client.views_open(
        trigger_id=fake.trigger_for(ana.id), view={**form_modal(), "notify_on_close": False}
    )
    count = len(receiver.requests)
    assert sender.close_view(ana.id, quiet["view"]["id"]) is None
    assert len(receiver.requests) == count


# ---------------------------------------------------------------- input entry across updates


def test_views_update_keeps_what_was_typed_in_inputs_with_the_same_ids(
    fake: FakeSlack, client: WebClient, sender: SlackSender, receiver: Receiver, ana: User
) -> None:
    view_id = opened(fake, client, ana)
    receiver.reply_json({"response_action": "errors", "errors": {"problem": "Say a bit more"}})
    sender.submit_view(ana.id, view_id, {"text": "Slow deploys", "pick": "weekly", "date": "2026-01-05"})
    changed = form_modal()
    changed["title"] = plain("Start a loop, again")
    blocks = changed["blocks"]
    blocks[0]["element"] = {**blocks[0]["element"], "initial_value": "ignored: the entry wins"}
    blocks[1]["block_id"] = "cadence-v2"  # a new block_id: the select starts over
    blocks[2]["element"] = {"type": "datepicker", "action_id": "date-v2"}  # a new action_id: likewise
    values = client.views_update(view_id=view_id, view=changed)["view"]["state"]["values"]
    assert values["problem"]["text"] == {"type": "plain_text_input", "value": "Slow deploys"}
    assert values["cadence-v2"]["pick"]["selected_option"] is None
    assert values["due"]["date-v2"]["selected_date"] is None
    assert "cadence" not in values and "date" not in values["due"]
    receiver.reply_json({})
    sender.submit_view(ana.id, view_id, {"cadence-v2.pick": "daily"})
    submitted = receiver.last.payload()["view"]["state"]["values"]
    assert submitted["problem"]["text"]["value"] == "Slow deploys", "untouched input keeps the entry"


def test_response_action_update_keeps_what_was_typed(
    fake: FakeSlack, client: WebClient, sender: SlackSender, receiver: Receiver, ana: User
) -> None:
    view_id = opened(fake, client, ana)
    step_two = form_modal()
    step_two["title"] = plain("Step 2")
    why = {
        "type": "input",
        "block_id": "why",
        "label": plain("Why"),
        "element": {"type": "plain_text_input", "action_id": "text", "initial_value": "because"},
    }
    step_two["blocks"] = [step_two["blocks"][0], why]
    receiver.reply_json({"response_action": "update", "view": step_two})
    sender.submit_view(ana.id, view_id, {"text": "Slow deploys", "pick": "weekly"})
    view = fake.view(view_id)
    assert view.payload["title"]["text"] == "Step 2"
    assert view.state["values"] == {
        "problem": {"text": {"type": "plain_text_input", "value": "Slow deploys"}},
        "why": {"text": {"type": "plain_text_input", "value": "because"}},
    }
