"""Slack failing while the clock sends: 429s, 5xx, lost answers, people Slack will not reach."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from slackbot.store.models import Workspace
from tests.support.bot import Bot
from tests.support.story import FRIDAY, enrol

DUE = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)  # 09:30 in Berlin


@pytest.fixture
def team(bot: Bot) -> Bot:
    bot.services.clock = lambda: FRIDAY
    return bot


def posts(team: Bot, user_id: str) -> int:
    channel = team.fake.dm_channel_id(user_id)
    return len([m for m in team.fake.messages(channel=channel) if m.metadata and m.thread_ts is None])


def test_rate_limited_posts_wait_for_retry_after_and_go_on(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    team.fake.faults.add(method="chat.postMessage", kind="ratelimited", retry_after=1, times=2)
    report = team.tick(DUE)
    assert report.sent.sent == 1
    assert report.sent.rate_limited == 2
    assert posts(team, ana) == 1


@pytest.mark.parametrize("fault", ["server_error", "timeout"])
def test_a_post_that_reached_slack_but_whose_answer_was_lost_is_not_repeated(team: Bot, fault: str) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    team.fake.faults.add(method="chat.postMessage", kind=fault, status=503, seconds=0.2, commit=True, times=1)
    first = team.tick(DUE)
    assert first.sent.retried == 1
    assert posts(team, ana) == 1, "Slack has it, though we do not know"
    (prompt,) = team.deliveries(ana, "prompt")
    assert prompt.maybe_posted
    assert prompt.state == "pending"
    second = team.tick(DUE + timedelta(minutes=1))
    assert second.sent.found_in_slack == 1
    assert posts(team, ana) == 1, "found by its metadata instead of posted twice"
    (prompt,) = team.deliveries(ana, "prompt")
    assert prompt.state == "sent"
    assert prompt.slack_ts == team.prompts(ana)[0].ts


def test_a_post_that_failed_before_reaching_slack_is_sent_on_the_next_tick(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    team.fake.faults.add(method="chat.postMessage", kind="server_error", status=500, times=1)
    team.tick(DUE)
    assert posts(team, ana) == 0
    team.tick(DUE + timedelta(seconds=10))
    assert posts(team, ana) == 0, "not before its backoff"
    team.tick(DUE + timedelta(minutes=1))
    assert posts(team, ana) == 1


def test_nothing_retries_forever(team: Bot, caplog: pytest.LogCaptureFixture) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    team.fake.faults.add(method="chat.postMessage", kind="server_error", status=500)
    moment = DUE
    with caplog.at_level(logging.ERROR):
        for _ in range(8):
            team.tick(moment)
            moment += timedelta(minutes=10)
    (prompt,) = team.deliveries(ana, "prompt")
    assert prompt.state == "failed"
    assert prompt.last_error is not None
    assert prompt.last_error.startswith("gave up after 6 attempts")
    assert "gave up after 6 attempts" in caplog.text


def test_a_deactivated_person_is_not_retried_and_prompting_stops(
    team: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    team.fake.update_user(ana, deleted=True)
    with caplog.at_level(logging.WARNING):
        team.tick(DUE)
        team.tick(DUE + timedelta(minutes=5))
    (prompt,) = team.deliveries(ana, "prompt")
    assert prompt.state == "failed"
    assert prompt.last_error == "user_disabled"
    assert team.person(ana).blocked_reason == "user_disabled"
    assert caplog.text.count("Slack refuses messages to") == 1, "logged once"
    team.tick(DUE + timedelta(days=3))
    assert len(team.deliveries(ana, "prompt")) == 1, "no prompts planned for a person Slack refuses"
    # Back from deactivation: Slack says so with user_change, and prompting resumes.
    back = team.fake.update_user(ana, deleted=False)
    team.services.clock = lambda: DUE + timedelta(days=3, hours=1)  # Monday 10:30 in Berlin
    team.sender.event({"type": "user_change", "user": back.to_api()})
    assert team.person(ana).blocked_reason is None
    assert team.person(ana).next_prompt_at == DUE + timedelta(days=3), "Monday's, an hour ago, still counts"
    team.tick(DUE + timedelta(days=3, hours=1))
    assert len(team.prompts(ana)) == 1


@pytest.mark.parametrize("error", ["user_disabled", "channel_not_found", "not_in_channel"])
def test_permanent_post_errors_fail_the_delivery_with_the_reason(team: Bot, error: str) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    team.fake.faults.add(method="chat.postMessage", kind="error", error=error, times=1)
    report = team.tick(DUE)
    assert report.sent.failed == 1
    (prompt,) = team.deliveries(ana, "prompt")
    assert (prompt.state, prompt.last_error) == ("failed", error)


def test_a_revoked_token_stops_the_workspace_not_just_one_person(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    ben = enrol(team, "ben", "Europe/Paris")
    team.fake.revoke_token(team.fake.bot_token)
    team.tick(DUE)
    outcomes = [
        (d.state, d.last_error) for d in team.deliveries(ana, "prompt") + team.deliveries(ben, "prompt")
    ]
    assert ("failed", "token_revoked") in outcomes
    assert all(
        outcome in {("failed", "token_revoked"), ("skipped", "the workspace uninstalled Loops")}
        for outcome in outcomes
    ), outcomes
    team.tick(DUE + timedelta(days=3))
    assert len(team.deliveries(ana, "prompt")) == 1, "nothing more is planned for an uninstalled workspace"


def uninstalled_at(team: Bot) -> datetime | None:
    with team.database.session() as session:
        return session.scalar(select(Workspace.uninstalled_at).where(Workspace.team_id == team.fake.team_id))


@pytest.mark.parametrize("error", ["invalid_auth", "account_inactive"])
def test_slacks_own_word_that_the_install_is_gone_stops_the_workspace(team: Bot, error: str) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    team.fake.faults.add(method="chat.postMessage", kind="error", error=error, times=1)
    team.tick(DUE)
    (prompt,) = team.deliveries(ana, "prompt")
    assert (prompt.state, prompt.last_error) == ("failed", error)
    assert uninstalled_at(team) is not None


@pytest.mark.parametrize("error", ["not_authed", "token_expired", "team_access_not_granted"])
def test_a_token_problem_slack_did_not_call_an_uninstall_is_tried_again(team: Bot, error: str) -> None:
    """Only app_uninstalled, tokens_revoked and Slack's invalid_auth, account_inactive and
    token_revoked mean the install is gone; a token that expired or went unsent is tried again."""
    ana = enrol(team, "ana", "Europe/Berlin")
    team.fake.faults.add(method="chat.postMessage", kind="error", error=error, times=1)
    team.tick(DUE)
    (prompt,) = team.deliveries(ana, "prompt")
    assert (prompt.state, prompt.last_error) == ("pending", error)
    assert uninstalled_at(team) is None
    team.tick(DUE + timedelta(minutes=1))
    assert len(team.prompts(ana)) == 1


def test_a_loop_root_that_could_not_be_posted_is_posted_by_the_clock(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    team.tick(DUE)
    (prompt,) = team.prompts(ana)
    team.fake.faults.add(method="chat.postMessage", kind="server_error", status=500, times=2)
    team.sender.user_message(ana, "Invoices show the wrong VAT\nfor: German customers", thread_ts=prompt.ts)
    team.settle()
    (loop,) = team.loops(ana)
    assert loop.thread_ts is None, "Slack was down when it was opened"
    team.tick(datetime.now(UTC) + timedelta(minutes=5))
    (loop,) = team.loops(ana)
    assert loop.thread_ts is not None
    roots = [m for m in team.dm(ana) if m.text.startswith("Loop #1:")]
    assert len(roots) == 1


def test_a_prompt_that_reached_slack_is_found_even_after_its_window(team: Bot) -> None:
    """Posted, answer lost, then the clock is down past catch-up: the prompt is found, not missed."""
    ana = enrol(team, "ana", "Europe/Berlin")
    team.fake.faults.add(method="chat.postMessage", kind="timeout", seconds=0.2, commit=True, times=1)
    team.tick(DUE)
    team.tick(DUE + timedelta(hours=2, minutes=5))
    (prompt,) = team.deliveries(ana, "prompt")
    (posted,) = team.prompts(ana)
    assert (prompt.state, prompt.slack_ts) == ("sent", posted.ts)
    team.services.clock = lambda: DUE + timedelta(hours=2, minutes=10)
    team.sender.user_message(ana, "Search is down\nfor: everyone", thread_ts=posted.ts)
    team.settle()
    assert len(team.loops(ana)) == 1, "an answer to it is an answer"


def test_a_failed_dm_open_does_not_forget_that_a_post_may_be_in_slack(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    team.fake.faults.add(method="chat.postMessage", kind="timeout", seconds=0.2, commit=True, times=1)
    team.tick(DUE)  # posted, answer lost; the DM channel was never recorded
    with team.database.transaction() as session:
        from sqlalchemy import update

        from slackbot.store.models import Person

        session.execute(update(Person).values(dm_channel=None))
    team.fake.faults.add(method="conversations.open", kind="server_error", status=500, times=1)
    team.tick(DUE + timedelta(minutes=1))
    (prompt,) = team.deliveries(ana, "prompt")
    assert prompt.maybe_posted, "nobody has looked yet"
    team.tick(DUE + timedelta(minutes=3))
    assert len(team.prompts(ana)) == 1


def test_no_slack_call_starts_on_a_lease_about_to_run_out(team: Bot) -> None:
    from slackbot.outbox.model import SendRules
    from slackbot.outbox.sender import Sender, tick_clock
    from slackbot.slack.client import delivery_client

    ana = enrol(team, "ana", "Europe/Berlin")
    team.tick(DUE - timedelta(minutes=1))  # nothing due yet; plans nothing
    from slackbot.clock.plan import PlanRules, plan_due

    plan_due(team.database, DUE, PlanRules.from_settings(team.settings))
    ticks = itertools.count(0.0, 10_000.0)  # every step of the pass takes hours: it stalls
    stalled = Sender(
        team.database,
        delivery_client(team.settings),
        SendRules.from_settings(team.settings),
        monotonic=lambda: next(ticks),
    )
    report = stalled.send_due(tick_clock(DUE))
    assert report.sent == 0
    assert team.prompts(ana) == []
    (prompt,) = team.deliveries(ana, "prompt")
    assert (prompt.state, prompt.attempts, prompt.maybe_posted) == ("pending", 0, False), (
        "given back untouched"
    )
    team.tick(DUE + timedelta(seconds=30))
    assert len(team.prompts(ana)) == 1


def test_a_429_holds_the_method_for_every_caller_in_the_process(team: Bot) -> None:
    """The clock's sender meets a 429 on chat.postMessage; the app's own posts wait it out too."""
    ana = enrol(team, "ana", "Europe/Berlin")
    team.tick(DUE)
    (prompt,) = team.prompts(ana)
    enrol(team, "ben", "Europe/Berlin")
    team.fake.faults.add(method="chat.postMessage", kind="ratelimited", retry_after=2, times=1)
    ticking = threading.Thread(target=team.tick, args=(DUE + timedelta(minutes=1),))
    ticking.start()
    limited = team.fake.wait_for(lambda fake: next((c for c in fake.calls() if c.status == 429), None))
    # While the sender waits out the hold on another thread, ana answers in her prompt's
    # thread: the app posts the loop's root and a confirmation after the answer, and
    # must not post inside the hold either (it may wait up to 2 s after the answer).
    team.sender.user_message(ana, "Exports time out\nfor: finance", thread_ts=prompt.ts)
    answered = time.time()  # the emulator's clock
    assert answered < limited.at + 2.0, "the app had its answer, and its posts to make, inside the hold"
    ticking.join(timeout=30)
    team.settle()
    posts = [c for c in team.fake.calls("chat.postMessage") if c.received > limited.at]
    assert len(posts) == 3, "ben's prompt, ana's loop root and the confirmation all went ahead"
    inside = [round(c.received - limited.at, 3) for c in posts if c.received < limited.at + 2.0]
    assert inside == [], "posts started inside the two-second hold"
    assert len(team.prompts(ana)) == 1
    (loop,) = team.loops(ana)
    assert loop.thread_ts is not None


def calls_inside_holds(team: Bot, method: str) -> list[float]:
    """How soon after each 429 of `method` another call of it arrived, for those inside its Retry-After."""
    calls = team.fake.calls(method)
    return [
        round(later.received - limited.at, 3)
        for limited in calls
        if limited.status == 429
        for later in calls
        if limited.retry_after is not None and limited.at < later.received < limited.at + limited.retry_after
    ]


def test_rate_limiting_alone_never_fails_a_delivery(team: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    """Slack answers 429 to every post for an hour of ticks: the prompt waits, then goes out."""
    monkeypatch.setattr("slackbot.outbox.post.RATE_LIMIT_WAITS", 0)  # one 429 a tick, to keep it short
    ana = enrol(team, "ana", "Europe/Berlin")
    limited = team.fake.faults.add(method="chat.postMessage", kind="ratelimited", retry_after=1)
    moment = DUE
    for _ in range(7):
        team.tick(moment)
        (prompt,) = team.deliveries(ana, "prompt")
        assert (prompt.state, prompt.attempts) == ("pending", 0), prompt.last_error
        moment += timedelta(minutes=10)
    assert limited.hits == 7
    team.fake.faults.remove(limited)
    team.tick(moment)
    (prompt,) = team.deliveries(ana, "prompt")
    assert prompt.state == "sent"
    assert posts(team, ana) == 1
    assert calls_inside_holds(team, "chat.postMessage") == []


def test_no_post_starts_inside_a_retry_after_while_others_are_being_sent(team: Bot) -> None:
    """Many prompts go out at once; the first post meets a 429: no other post reaches Slack
    before its Retry-After has passed (by the emulator's own record of when calls arrived)."""
    people = [enrol(team, name, "Europe/Berlin") for name in ("ana", "ben", "carol", "dan", "eve", "fay")]
    team.fake.faults.add(method="chat.postMessage", kind="ratelimited", retry_after=1, times=1)
    report = team.tick(DUE)
    assert report.sent.sent == len(people)
    assert calls_inside_holds(team, "chat.postMessage") == []
