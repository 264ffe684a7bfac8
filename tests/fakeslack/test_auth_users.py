"""Tokens, auth.test, users.info and users.list against the emulator, through slack_sdk."""

from __future__ import annotations

import json
from urllib.request import Request, urlopen

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from slackbot.fakeslack import FakeSlack, User

from .conftest import FakeClock


def raw_call(
    fake: FakeSlack, method: str, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, object]]:
    request = Request(fake.api_url + method, data=body, headers=headers, method="POST")  # noqa: S310 - loopback
    with urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
        return response.status, json.loads(response.read())


def test_a_call_without_a_token_is_not_authed(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as caught:
        WebClient(base_url=fake.api_url).auth_test()
    assert caught.value.response.status_code == 200
    assert caught.value.response["error"] == "not_authed"


def test_an_unknown_token_is_invalid_auth(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as caught:
        WebClient(token="xoxb-1-2-nope", base_url=fake.api_url).auth_test()
    assert caught.value.response.status_code == 200
    assert caught.value.response["error"] == "invalid_auth"


def test_a_revoked_token_answers_token_revoked(fake: FakeSlack, client: WebClient) -> None:
    assert client.auth_test()["ok"]
    fake.revoke_token(fake.bot_token)
    with pytest.raises(SlackApiError) as caught:
        client.auth_test()
    assert caught.value.response["error"] == "token_revoked"


def test_the_token_may_be_a_form_field_but_not_a_json_field(fake: FakeSlack) -> None:
    form = f"token={fake.bot_token}".encode()
    assert (
        raw_call(fake, "auth.test", form, {"Content-Type": "application/x-www-form-urlencoded"})[1]["ok"]
        is True
    )
    body = json.dumps({"token": fake.bot_token}).encode()
    status, answer = raw_call(fake, "auth.test", body, {"Content-Type": "application/json"})
    assert (status, answer["error"]) == (200, "not_authed")


def test_a_token_in_the_query_string_is_invalid_auth_even_beside_a_good_header(fake: FakeSlack) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, answer = raw_call(fake, f"auth.test?token={fake.bot_token}", b"", form)
    assert (status, answer) == (200, {"ok": False, "error": "invalid_auth"})
    bearer = {**form, "Authorization": f"Bearer {fake.bot_token}"}
    status, answer = raw_call(fake, f"auth.test?token={fake.bot_token}", b"", bearer)
    assert (status, answer) == (200, {"ok": False, "error": "invalid_auth"})
    assert raw_call(fake, "auth.test", b"", bearer)[1]["ok"] is True


def test_an_unknown_method_is_http_200_unknown_method(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.api_call("chat.postMesage", json={"channel": "C1", "text": "x"})
    assert caught.value.response.status_code == 200
    assert caught.value.response.data == {
        "ok": False,
        "error": "unknown_method",
        "req_method": "chat.postMesage",
    }


def test_auth_test_names_the_bot(fake: FakeSlack, client: WebClient) -> None:
    answer = client.auth_test()
    assert answer["user_id"] == fake.bot_user_id
    assert answer["bot_id"] == fake.bot_id
    assert answer["team_id"] == fake.team_id
    assert answer["url"] == f"https://{fake.team_domain}.slack.com/"
    assert answer["is_enterprise_install"] is False


def test_users_info_reports_the_time_zone_at_the_fakes_clock(fake: FakeSlack, client: WebClient) -> None:
    winter = FakeClock(start=1767225600.0)  # 2026-01-01 UTC
    with FakeSlack(clock=winter) as other:
        ana = other.add_user("ana", tz="Europe/Berlin")
        c = WebClient(token=other.bot_token, base_url=other.api_url)
        user = c.users_info(user=ana.id)["user"]
        assert (user["tz"], user["tz_label"], user["tz_offset"]) == (
            "Europe/Berlin",
            "Central European Time",
            3600,
        )
        winter.advance(180 * 86400)  # summer: the offset moves without any event
        user = c.users_info(user=ana.id)["user"]
        assert (user["tz_label"], user["tz_offset"]) == ("Central European Summer Time", 7200)


def test_users_info_shape_and_unknown_user(fake: FakeSlack, client: WebClient, ana: User) -> None:
    user = client.users_info(user=ana.id)["user"]
    assert user["id"] == ana.id and user["name"] == "ana" and user["team_id"] == fake.team_id
    assert user["deleted"] is False and user["is_bot"] is False
    assert user["profile"]["real_name"] == ana.real_name
    with pytest.raises(SlackApiError) as caught:
        client.users_info(user="U0NOBODY")
    assert caught.value.response["error"] == "user_not_found"


def test_update_user_changes_what_users_info_says(fake: FakeSlack, client: WebClient, ana: User) -> None:
    fake.update_user(ana.id, tz="Asia/Kolkata", deleted=True)
    user = client.users_info(user=ana.id)["user"]
    assert (user["tz"], user["tz_offset"], user["deleted"]) == ("Asia/Kolkata", 19800, True)


def test_users_list_includes_bots_slackbot_and_deactivated_people(fake: FakeSlack, client: WebClient) -> None:
    fake.add_user("gone", deleted=True)
    fake.add_user("helper", is_bot=True)
    members = {m["name"]: m for m in client.users_list()["members"]}
    assert members["gone"]["deleted"] is True
    assert members["helper"]["is_bot"] is True
    assert members["loops"]["id"] == fake.bot_user_id
    assert members["slackbot"]["id"] == "USLACKBOT" and members["slackbot"]["is_bot"] is False


def test_users_list_ends_with_an_empty_cursor_and_refuses_a_forged_one(client: WebClient) -> None:
    answer = client.users_list(limit=1000)
    assert answer["response_metadata"]["next_cursor"] == ""
    with pytest.raises(SlackApiError) as caught:
        client.users_list(cursor="not-a-cursor")
    assert caught.value.response["error"] == "invalid_cursor"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=st.integers(min_value=0, max_value=12), page=st.integers(min_value=1, max_value=15))
def test_users_list_pages_reassemble_every_member_exactly_once(people: int, page: int) -> None:
    with FakeSlack() as fake:
        for n in range(people):
            fake.add_user(f"p{n}", deleted=n % 3 == 0, is_bot=n % 5 == 0)
        client = WebClient(token=fake.bot_token, base_url=fake.api_url)
        seen: list[str] = []
        cursor = None
        for _ in range(100):
            answer = client.users_list(limit=page, cursor=cursor)
            assert len(answer["members"]) <= page
            seen += [m["id"] for m in answer["members"]]
            cursor = answer["response_metadata"]["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted(fake.state.users)
        assert len(seen) == people + 2  # plus the bot user and Slackbot
