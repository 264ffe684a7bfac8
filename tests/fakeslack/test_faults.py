"""Injected faults and the optional rate limits, seen through slack_sdk and its retry handlers."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from urllib.error import URLError

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler

from slackbot.fakeslack import FakeSlack, User

from .conftest import FakeClock


def test_ratelimited_is_a_429_with_retry_after(fake: FakeSlack, client: WebClient, ana: User) -> None:
    fake.faults.add(method="chat.postMessage", kind="ratelimited", retry_after=7, times=1)
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel=ana.id, text="hi")
    response = caught.value.response
    assert (response.status_code, response["error"], response.headers["Retry-After"]) == (
        429,
        "ratelimited",
        "7",
    )
    assert fake.messages() == []
    assert client.chat_postMessage(channel=ana.id, text="hi")["ok"], "times=1 is used up"
    assert [c.fault for c in fake.calls("chat.postMessage")] == ["ratelimited", None]


def test_the_sdks_rate_limit_handler_recovers(fake: FakeSlack, ana: User) -> None:
    fake.faults.add(method="chat.postMessage", kind="ratelimited", retry_after=0, times=2)
    client = WebClient(
        token=fake.bot_token,
        base_url=fake.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    assert client.chat_postMessage(channel=ana.id, text="eventually")["ok"]
    assert [c.status for c in fake.calls("chat.postMessage")] == [429, 429, 200]
    assert [m.text for m in fake.messages()] == ["eventually"]


@pytest.mark.parametrize(("status", "error"), [(500, "fatal_error"), (503, "service_unavailable")])
def test_server_errors_and_the_sdks_server_error_handler(
    fake: FakeSlack, ana: User, status: int, error: str
) -> None:
    fake.faults.add(method="chat.postMessage", kind="server_error", status=status, times=1)
    bare = WebClient(token=fake.bot_token, base_url=fake.api_url)
    with pytest.raises(SlackApiError) as caught:
        bare.chat_postMessage(channel=ana.id, text="x")
    assert (caught.value.response.status_code, caught.value.response["error"]) == (status, error)
    fake.faults.add(method="chat.postMessage", kind="server_error", status=status, times=1)
    patient = WebClient(
        token=fake.bot_token, base_url=fake.api_url, retry_handlers=[ServerErrorRetryHandler()]
    )
    assert patient.chat_postMessage(channel=ana.id, text="second try")["ok"]


def test_a_502_is_an_html_page_not_json(fake: FakeSlack, client: WebClient, ana: User) -> None:
    fake.faults.add(method="*", kind="server_error", status=502, times=1)
    with pytest.raises(SlackApiError) as caught:
        client.auth_test()
    assert caught.value.response.status_code == 502
    assert caught.value.response["ok"] is False


def test_an_error_fault_answers_ok_false(fake: FakeSlack, client: WebClient, ana: User) -> None:
    fake.faults.add(method="chat.postMessage", kind="error", error="account_inactive", times=1)
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel=ana.id, text="x")
    assert (caught.value.response.status_code, caught.value.response["error"]) == (200, "account_inactive")


def test_latency_delays_every_call_until_cleared(fake: FakeSlack, client: WebClient) -> None:
    fake.faults.add(method="*", kind="latency", seconds=0.05)
    started = time.monotonic()
    client.auth_test()
    client.auth_test()
    assert time.monotonic() - started >= 0.1
    fake.faults.clear()
    assert client.auth_test()["ok"]


def test_a_hold_keeps_calls_waiting_until_released(fake: FakeSlack, client: WebClient, ana: User) -> None:
    hold = fake.faults.add(method="chat.postMessage", kind="hold")
    with ThreadPoolExecutor(max_workers=1) as pool:
        posting = pool.submit(client.chat_postMessage, channel=ana.id, text="held")
        fake.wait_for(lambda f: hold.hits == 1)
        assert client.auth_test()["ok"], "other methods are not held"
        assert not posting.done() and fake.messages() == []
        hold.release()
        assert posting.result(timeout=5)["ok"]
    assert [m.text for m in fake.messages()] == ["held"]


def test_a_timeout_that_still_posted_is_the_duplicate_trap(fake: FakeSlack, ana: User) -> None:
    fake.faults.add(method="chat.postMessage", kind="timeout", seconds=2.0, times=1, commit=True)
    impatient = WebClient(token=fake.bot_token, base_url=fake.api_url, timeout=0.3)  # type: ignore[arg-type]
    with pytest.raises((TimeoutError, URLError)):
        impatient.chat_postMessage(channel=ana.id, text="did it go?")
    assert [m.text for m in fake.messages()] == ["did it go?"], "Slack did the work; only the answer was lost"
    assert fake.calls("chat.postMessage")[0].fault == "timeout"


def test_optional_rate_limits_per_channel_for_posting(
    fake: FakeSlack, client: WebClient, clock: FakeClock, ana: User, ben: User
) -> None:
    fake.rate_limits = True
    statuses = []
    for _ in range(4):
        try:
            statuses.append(client.chat_postMessage(channel=ana.id, text="burst").status_code)
        except SlackApiError as error:
            statuses.append(error.response.status_code)
            assert int(error.response.headers["Retry-After"]) >= 1
    assert statuses == [200, 200, 200, 429], "a short burst, then about one per second"
    assert client.chat_postMessage(channel=ben.id, text="another channel")["ok"]
    clock.advance(1.0)
    assert client.chat_postMessage(channel=ana.id, text="a second later")["ok"]


def test_optional_rate_limits_per_method_tier(fake: FakeSlack, client: WebClient, clock: FakeClock) -> None:
    fake.rate_limits = True
    for _ in range(25):  # Tier 2: 20 a minute plus a small burst
        client.users_list()
    with pytest.raises(SlackApiError) as caught:
        client.users_list()
    assert caught.value.response.status_code == 429
    clock.advance(60.0)
    assert client.users_list()["ok"]


def test_rate_limits_as_a_constructor_argument_run_on_the_fakes_clock(clock: FakeClock) -> None:
    with FakeSlack(clock=clock, rate_limits=True) as limited:
        assert FakeSlack().rate_limits is False, "off unless asked for"
        client = WebClient(token=limited.bot_token, base_url=limited.api_url)
        ana = limited.add_user("ana")
        outcomes: list[tuple[int, str | None]] = []
        for _ in range(5):
            try:
                client.chat_postMessage(channel=ana.id, text="burst")
                outcomes.append((200, None))
            except SlackApiError as error:
                outcomes.append((error.response.status_code, error.response.headers.get("Retry-After")))
        assert [status for status, _ in outcomes] == [200, 200, 200, 429, 429]
        retry_after = outcomes[3][1]
        assert retry_after is not None and int(retry_after) >= 1
        assert limited.calls("chat.postMessage")[3].response == {"ok": False, "error": "ratelimited"}
        clock.advance(int(retry_after))
        assert client.chat_postMessage(channel=ana.id, text="after the wait")["ok"]
        for _ in range(25):  # users.list, Tier 2: its window also runs on the fake's clock
            client.users_list()
        with pytest.raises(SlackApiError) as caught:
            client.users_list()
        assert caught.value.response.status_code == 429
        clock.advance(60.0)
        assert client.users_list()["ok"]
