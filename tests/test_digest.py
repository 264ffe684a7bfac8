"""The team digest and the daily thread in a channel, end to end over HTTP, on both databases.

The week: Monday 23 to Sunday 29 November 2026; the digest comes on Monday 30 November at
09:00 in Berlin (08:00 UTC). Ana shares her loops, Ben opens a private one, Carol turned
sharing off in her settings.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from slackbot.blocks.digest import digest_messages
from slackbot.fakeslack import FakeSlack
from slackbot.fakeslack.state import Channel, Message
from slackbot.store.db import Database
from slackbot.store.digest import digest_of
from slackbot.store.models import CheckIn, Delivery, Loop, Person, Shipment, Workspace
from tests.support.bot import Bot, BotFactory
from tests.support.processes import tick_process
from tests.support.story import FRIDAY, at, enrol, only_prompt

DIGEST_AT = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin
FRIDAY_PROMPT = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)  # 09:30 in Berlin


@pytest.fixture
def channel(fake: FakeSlack) -> Channel:
    return fake.add_channel("product", members=[], bot_is_member=True)


@pytest.fixture
def team(make_bot: BotFactory, channel: Channel) -> Bot:
    bot = make_bot(loops_digest_channel=channel.id, loops_team_tz="Europe/Berlin")
    bot.services.clock = lambda: FRIDAY
    return bot


def answer_in_thread(team: Bot, user: str, text: str) -> None:
    prompt = only_prompt(team, user)
    team.sender.user_message(user, text, thread_ts=prompt.ts)
    team.settle()


def answer_in_modal(team: Bot, user: str, values: dict[str, Any]) -> None:
    prompt = only_prompt(team, user)
    assert team.sender.click(user, prompt, action_id="prompt_broken").status == 200
    team.settle()
    (modal,) = team.fake.views_of(user)
    assert team.sender.submit_view(user, modal.id, values).status == 200
    team.settle()


def turn_sharing_off(team: Bot, user: str) -> None:
    team.sender.command(user, "/loops", "settings")
    team.settle()
    (modal,) = team.fake.views_of(user)
    assert team.sender.submit_view(user, modal.id, {"settings_in_digest.text": []}).status == 200
    team.settle()


def the_week(team: Bot) -> tuple[str, str, str]:
    """Ana shares a loop and ships for it, Ben's loop is private, Carol shares nothing."""
    ana = enrol(team, "ana", "Europe/Berlin")
    ben = enrol(team, "ben", "Europe/Berlin")
    carol = enrol(team, "carol", "Europe/Berlin")
    turn_sharing_off(team, carol)
    team.tick(FRIDAY_PROMPT)
    at(team, FRIDAY_PROMPT + timedelta(minutes=5))
    answer_in_thread(team, ana, "OTP SMS arrive late\nfor: new sign-ups in India")
    answer_in_modal(
        team,
        ben,
        {
            "what.text": "Salary export rounds wrong",
            "for_whom.text": "payroll admins",
            "loop_private.text": ["private"],
        },
    )
    answer_in_thread(team, carol, "Search ignores accents\nfor: French shoppers")
    at(team, FRIDAY_PROMPT + timedelta(hours=3))
    said = json.dumps(
        team.command(ana, "/shipped #1 Retry the SMS provider after 10 s expect: OTP within a minute")
    )
    assert "Retry the SMS provider" in said
    return ana, ben, carol


def in_channel(team: Bot, channel: Channel, thread_ts: str | None = None) -> list[Message]:
    return team.fake.messages(channel=channel.id, thread_ts=thread_ts)


def digests(team: Bot, channel: Channel) -> list[Message]:
    """The digests posted in the channel itself (their continuations are thread replies)."""
    return [
        m
        for m in in_channel(team, channel)
        if (m.text or "").startswith("Loops: the week of") and m.thread_ts in (None, m.ts)
    ]


def test_the_monday_digest_shows_what_is_shared_once_across_two_ticks(team: Bot, channel: Channel) -> None:
    ana, ben, carol = the_week(team)
    team.tick(DIGEST_AT - timedelta(minutes=1))
    assert digests(team, channel) == [], "not before Monday 09:00 in the team's zone"
    team.tick(DIGEST_AT)
    team.tick(DIGEST_AT + timedelta(minutes=1))
    (digest,) = digests(team, channel)
    words = json.dumps(digest.blocks, ensure_ascii=False)
    assert "the week of Mon 23 Nov" in digest.text
    assert f"<@{ana}>: OTP SMS arrive late — for new sign-ups in India" in words
    assert "I shipped Retry the SMS provider after 10 s; check-in on" in words
    assert "Salary export" not in words and ben not in words, "a private loop never appears"
    assert "Search ignores accents" not in words and carol not in words, "Carol shares nothing"
    assert "The team's distances" in words and "Problem → ship: median" in words
    with team.database.session() as session:
        rows = session.scalars(select(Delivery).where(Delivery.kind == "digest")).all()
        assert [(r.key, r.state, r.person_id) for r in rows] == [("2026-11-30#1", "sent", None)]
    team.tick(DIGEST_AT + timedelta(days=7, hours=-8))  # next Sunday: nothing new
    assert len(digests(team, channel)) == 1


def test_a_long_digest_is_split_into_messages_threaded_under_the_first(team: Bot, channel: Channel) -> None:
    people = [enrol(team, f"p{n}", "Europe/Berlin") for n in range(12)]
    team.tick(FRIDAY_PROMPT)
    at(team, FRIDAY_PROMPT + timedelta(minutes=5))
    for n, user in enumerate(people):
        prompt = only_prompt(team, user)
        for k in range(6):
            team.sender.user_message(
                user, f"Problem {n}-{k} " + "x" * 200 + f"\nfor: team {k}", thread_ts=prompt.ts
            )
    team.settle()
    team.tick(DIGEST_AT)
    team.tick(DIGEST_AT + timedelta(minutes=2))
    (first,) = digests(team, channel)
    replies = [m for m in in_channel(team, channel, thread_ts=first.ts) if m.ts != first.ts]
    assert replies, "the rest follows in the first message's thread"
    everything = json.dumps([first.blocks] + [m.blocks for m in replies])
    for n in range(12):
        for k in range(6):
            assert f"Problem {n}-{k} " in everything
    for message in [first, *replies]:
        assert message.blocks is not None
        assert len(message.blocks) <= 50
        assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in message.blocks)


def test_two_tick_processes_post_one_digest(team: Bot, channel: Channel, tmp_path: Path) -> None:
    the_week(team)
    extra = {"LOOPS_DIGEST_CHANNEL": channel.id, "LOOPS_TEAM_TZ": "Europe/Berlin"}
    hold = team.fake.faults.add(method="chat.postMessage", kind="hold")
    ticks = [tick_process(team, DIGEST_AT + timedelta(seconds=n), tmp_path, env=extra) for n in range(2)]
    try:
        team.fake.wait_for(lambda fake: len(fake.calls("chat.postMessage")) >= 1 or None, timeout=120)
    finally:
        hold.release()
    outputs = [t.communicate(timeout=180)[0].decode() for t in ticks]
    assert [t.returncode for t in ticks] == [0, 0], outputs
    assert len(digests(team, channel)) == 1


def test_the_daily_thread_gets_each_shared_morning_answer_as_it_arrives(team: Bot, channel: Channel) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    ben = enrol(team, "ben", "Europe/Berlin")
    carol = enrol(team, "carol", "Europe/Berlin")
    turn_sharing_off(team, carol)
    team.tick(FRIDAY_PROMPT)  # 09:30 in Berlin: the team's morning too
    (root,) = [m for m in in_channel(team, channel) if "What's broken today, for whom" in (m.text or "")]
    assert "Fri 27 Nov" in root.text
    at(team, FRIDAY_PROMPT + timedelta(minutes=5))
    answer_in_thread(team, ana, "OTP SMS arrive late\nfor: new sign-ups in India")
    replies = [m for m in in_channel(team, channel, thread_ts=root.ts) if m.ts != root.ts]
    assert len(replies) == 1
    assert f"<@{ana}>" in replies[0].text and "OTP SMS arrive late" in json.dumps(replies[0].blocks)
    assert "new sign-ups in India" in json.dumps(replies[0].blocks)
    assert "Loop #1" in json.dumps(replies[0].blocks)
    answer_in_modal(
        team,
        ben,
        {"what.text": "Salary export", "for_whom.text": "payroll", "loop_private.text": ["private"]},
    )
    answer_in_thread(team, carol, "Search ignores accents\nfor: French shoppers")
    team.tick(FRIDAY_PROMPT + timedelta(minutes=10))
    replies = [m for m in in_channel(team, channel, thread_ts=root.ts) if m.ts != root.ts]
    assert len(replies) == 1, "private loops and people who share nothing are not named"
    assert ben not in json.dumps([m.text for m in in_channel(team, channel)])
    assert carol not in json.dumps([m.text for m in in_channel(team, channel)])


def test_no_daily_thread_on_a_weekend_until_someone_shares(team: Bot, channel: Channel) -> None:
    saturday = datetime(2026, 11, 28, 8, 30, tzinfo=UTC)
    team.tick(saturday)
    assert in_channel(team, channel) == []


def test_an_admin_sets_the_digest_channel_and_someone_else_cannot(
    make_bot: BotFactory, fake: FakeSlack
) -> None:
    team = make_bot()
    team.services.clock = lambda: FRIDAY
    boss = fake.add_user(name="boss", tz="Europe/Berlin", is_admin=True)
    ana = fake.add_user(name="ana", tz="Europe/Berlin")
    product = fake.add_channel("product", members=[boss.id], bot_is_member=True)
    fake.add_channel("random", members=[boss.id], bot_is_member=False)

    said = json.dumps(team.command(ana.id, f"/loops digest <#{product.id}|product>"))
    assert "Only a workspace admin or owner" in said
    said = json.dumps(team.command(ana.id, "/loops digest"))
    assert "The team digest is off" in said
    with team.database.session() as session:
        assert all(w.digest_channel is None for w in session.scalars(select(Workspace)))

    said = json.dumps(team.command(boss.id, "/loops digest #random"))
    assert "/invite @Loops" in said
    said = json.dumps(team.command(boss.id, "/loops digest #nowhere"))
    assert "can't find a public channel called #nowhere" in said
    said = json.dumps(team.command(boss.id, "/loops digest #product"))
    assert f"<#{product.id}>" in said and "every Monday at 09:00" in said
    with team.database.session() as session:
        assert session.scalars(select(Workspace)).one().digest_channel == product.id
    assert f"goes to <#{product.id}>" in json.dumps(team.command(ana.id, "/loops digest"))
    said = json.dumps(team.command(boss.id, "/loops digest off"))
    assert "no team digest" in said
    with team.database.session() as session:
        assert session.scalars(select(Workspace)).one().digest_channel is None


def test_a_channel_typed_by_name_is_looked_for_after_the_ack(make_bot: BotFactory, fake: FakeSlack) -> None:
    """conversations.list is held until the ack is back: an ack that waited for it would never come."""
    team = make_bot()
    boss = fake.add_user(name="boss", tz="Europe/Berlin", is_admin=True)
    product = fake.add_channel("product", members=[boss.id], bot_is_member=True)
    held = fake.faults.add("conversations.list", "hold")
    try:
        reply = team.sender.command(boss.id, "/loops", "digest #product")
        assert (reply.status, reply.slack_error) == (200, None), reply.text
        with team.database.session() as session:
            assert all(w.digest_channel is None for w in session.scalars(select(Workspace)))
    finally:
        held.release()
    team.settle()
    assert fake.calls("conversations.list"), "the channel was looked for, after the ack"
    (answer,) = fake.response_url_posts(reply.extra["response_url"])
    assert f"<#{product.id}>" in json.dumps(answer) and "every Monday at 09:00" in json.dumps(answer)
    with team.database.session() as session:
        assert session.scalars(select(Workspace)).one().digest_channel == product.id

    said = json.dumps(team.command(boss.id, "/loops digest #nowhere"))
    assert "can't find a public channel called #nowhere" in said
    with team.database.session() as session:
        assert session.scalars(select(Workspace)).one().digest_channel == product.id


def test_enrolling_says_loops_appear_in_the_digest(team: Bot, channel: Channel) -> None:
    ana = team.fake.add_user(name="ana", tz="Europe/Berlin")
    said = json.dumps(team.command(ana.id, "/loops start"))
    assert f"team digest in <#{channel.id}>" in said and "/loops settings" in said


def test_forget_me_takes_the_persons_answers_out_of_the_daily_thread(team: Bot, channel: Channel) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    ben = enrol(team, "ben", "Europe/Berlin")
    team.tick(FRIDAY_PROMPT)
    at(team, FRIDAY_PROMPT + timedelta(minutes=5))
    answer_in_thread(team, ana, "OTP SMS arrive late\nfor: new sign-ups in India")
    answer_in_thread(team, ben, "Invoices show the wrong VAT\nfor: German customers")
    (root,) = [m for m in in_channel(team, channel) if "What's broken today" in (m.text or "")]
    assert len([m for m in in_channel(team, channel, thread_ts=root.ts) if m.ts != root.ts]) == 2
    team.sender.command(ana, "/loops", "forget-me")
    team.settle()
    (modal,) = team.fake.views_of(ana)
    team.sender.submit_view(ana, modal.id)
    team.settle()
    left = [m for m in in_channel(team, channel, thread_ts=root.ts) if m.ts != root.ts]
    assert [ben in m.text for m in left] == [True], "only Ben's answer is left"


def shares_in_daily_thread(team: Bot, channel: Channel) -> tuple[Message, list[Message]]:
    (root,) = [m for m in in_channel(team, channel) if "What's broken today" in (m.text or "")]
    return root, [m for m in in_channel(team, channel, thread_ts=root.ts) if m.ts != root.ts]


def forget(team: Bot, user: str) -> None:
    team.sender.command(user, "/loops", "forget-me")
    team.settle()
    (modal,) = team.fake.views_of(user)
    assert team.sender.submit_view(user, modal.id).status == 200


def removals(team: Bot) -> list[Delivery]:
    with team.database.session() as session:
        return list(session.scalars(select(Delivery).where(Delivery.kind == "removal")))


def two_shares(team: Bot) -> tuple[str, str]:
    ana = enrol(team, "ana", "Europe/Berlin")
    ben = enrol(team, "ben", "Europe/Berlin")
    team.tick(FRIDAY_PROMPT)
    at(team, FRIDAY_PROMPT + timedelta(minutes=5))
    answer_in_thread(team, ana, "OTP SMS arrive late\nfor: new sign-ups in India")
    answer_in_thread(team, ben, "Invoices show the wrong VAT\nfor: German customers")
    return ana, ben


@pytest.mark.parametrize("fault", ["server_error", "error"])
def test_forget_me_deletes_the_shares_once_slack_lets_it(team: Bot, channel: Channel, fault: str) -> None:
    """chat.delete fails (a 5xx, or an error of Slack's) for a while: the deletion is owed, not
    dropped, and the clock makes it once Slack recovers."""
    ana, ben = two_shares(team)
    failing = team.fake.faults.add(method="chat.delete", kind=fault, status=500, error="internal_error")
    forget(team, ana)
    team.settle()
    team.tick(FRIDAY_PROMPT + timedelta(minutes=10))
    _, left = shares_in_daily_thread(team, channel)
    assert len(left) == 2, "still there while Slack fails"
    assert failing.hits >= 2, "the app tried, and the clock tried again"
    team.fake.faults.remove(failing)
    team.tick(FRIDAY_PROMPT + timedelta(hours=1))
    _, left = shares_in_daily_thread(team, channel)
    assert [ben in m.text for m in left] == [True], "only Ben's answer is left"
    assert [r.state for r in removals(team)] == ["sent"]


def test_forget_me_deletes_the_shares_when_chat_delete_is_rate_limited(team: Bot, channel: Channel) -> None:
    ana, ben = two_shares(team)
    limited = team.fake.faults.add(method="chat.delete", kind="ratelimited", retry_after=1, times=5)
    forget(team, ana)
    team.settle()
    team.tick(FRIDAY_PROMPT + timedelta(minutes=10))
    assert limited.hits == 5
    _, left = shares_in_daily_thread(team, channel)
    assert [ben in m.text for m in left] == [True], "only Ben's answer is left"
    ((state, attempts),) = [(r.state, r.attempts) for r in removals(team)]
    assert (state, attempts) == ("sent", 0), "a 429 is no failed attempt"


def test_a_share_being_sent_when_forget_me_runs_is_deleted_once_it_lands(team: Bot, channel: Channel) -> None:
    """Ana answers before the team's morning, so the clock posts her share after the daily thread;
    she says forget-me while that post is on its way to Slack."""
    at(team, datetime(2026, 11, 26, 20, 0, tzinfo=UTC))  # Thursday evening in Berlin
    ana = enrol(team, "ana", "Asia/Tokyo")
    ben = enrol(team, "ben", "Europe/Berlin")
    tokyo_prompt = datetime(2026, 11, 27, 0, 30, tzinfo=UTC)  # 09:30 in Tokyo
    team.tick(tokyo_prompt)
    at(team, tokyo_prompt + timedelta(minutes=5))
    answer_in_thread(team, ana, "OTP SMS arrive late\nfor: new sign-ups in India")
    team.tick(FRIDAY_PROMPT)  # the team's morning: the daily thread, then ben's prompt
    at(team, FRIDAY_PROMPT + timedelta(minutes=5))
    answer_in_thread(team, ben, "Invoices show the wrong VAT\nfor: German customers")
    (share,) = team.deliveries(ana, "daily_share")
    assert share.state == "pending" and share.slack_ts is None, "waiting for the thread's root"
    held = team.fake.faults.add(method="chat.postMessage", kind="hold")
    ticking = threading.Thread(target=team.tick, args=(FRIDAY_PROMPT + timedelta(minutes=6),))
    ticking.start()
    team.fake.wait_for(lambda fake: held.hits >= 1)
    (share,) = team.deliveries(ana, "daily_share")
    assert share.state == "claimed", "on its way to Slack"
    forget(team, ana)
    held.release()
    ticking.join(timeout=30)
    team.fake.faults.remove(held)
    team.settle()
    _, left = shares_in_daily_thread(team, channel)
    assert len(left) == 2, "the share landed after ana was forgotten"
    team.tick(FRIDAY_PROMPT + timedelta(minutes=10))
    _, left = shares_in_daily_thread(team, channel)
    assert [ben in m.text for m in left] == [True], "only Ben's answer is left"


def test_the_digest_reads_the_week_as_it_stood_at_its_moment(database: Database) -> None:
    """Hand-made rows: an earlier ship whose outcome came last week, one that went unwatched,
    one answered only after the digest's moment (not known to it), and a private loop."""
    moment, start = DIGEST_AT, DIGEST_AT - timedelta(days=7)
    with database.transaction() as session:
        workspace = Workspace(team_id="TDIGEST")
        session.add(workspace)
        session.flush()
        ana = Person(workspace_id=workspace.id, slack_user_id="UANA", enrolled=True, tz="Europe/Berlin")
        ben = Person(
            workspace_id=workspace.id,
            slack_user_id="UBEN",
            enrolled=True,
            tz="Europe/Berlin",
            in_digest=False,
        )
        session.add_all([ana, ben])
        session.flush()

        def loop(person: Person, number: int, what: str, opened: datetime, private: bool = False) -> Loop:
            row = Loop(
                workspace_id=workspace.id,
                person_id=person.id,
                number=number,
                what=what,
                for_whom="someone",
                opened_at=opened,
                private=private,
            )
            session.add(row)
            session.flush()
            return row

        def ship(row: Loop, what: str, shipped: datetime, **fields: Any) -> Shipment:
            shipment = Shipment(
                workspace_id=workspace.id,
                person_id=row.person_id,
                loop_id=row.id,
                what=what,
                shipped_at=shipped,
                **fields,
            )
            session.add(shipment)
            session.flush()
            return shipment

        def answer(shipment: Shipment, happened: str, at: datetime) -> None:
            session.add(
                CheckIn(
                    shipment_id=shipment.id,
                    person_id=shipment.person_id,
                    ask=1,
                    due_on=at.date(),
                    asked_at=at - timedelta(hours=1),
                    answer="changed",
                    what_happened=happened,
                    answered_at=at,
                )
            )

        early = loop(ana, 1, "Old problem", start - timedelta(days=20))
        learned = ship(
            early,
            "Old fix",
            start - timedelta(days=10),
            state="answered",
            checked_at=start + timedelta(days=2),
            outcome_days=12.0,
            watched=True,
        )
        answer(learned, "Errors halved", start + timedelta(days=2))
        gone = loop(ana, 2, "Forgotten problem", start - timedelta(days=30))
        ship(
            gone,
            "Forgotten fix",
            start - timedelta(days=25),
            state="unwatched",
            unwatched_at=start - timedelta(days=5),
        )
        late = loop(ana, 3, "Fresh problem", start + timedelta(days=1))
        answered_late = ship(
            late,
            "Fresh fix",
            start + timedelta(days=2),
            state="answered",
            checked_at=moment + timedelta(hours=1),
            outcome_days=3.0,
            watched=True,
        )
        answer(answered_late, "Too late for this digest", moment + timedelta(hours=1))
        loop(ana, 4, "Secret problem", start + timedelta(days=1), private=True)
        loop(ben, 1, "Ben's problem", start + timedelta(days=1))
    with database.session() as session:
        workspace = session.scalars(select(Workspace).where(Workspace.team_id == "TDIGEST")).one()
        digest = digest_of(session, workspace, start, moment)
        assert [i.loop.what for i in digest.opened] == ["Fresh problem"]
        assert [i.shipment.what for i in digest.shipped] == ["Fresh fix"]
        assert digest.shipped[0].checkin is None, "its answer came after the digest's moment"
        assert [i.shipment.what for i in digest.learned] == ["Old fix"]
        assert [i.shipment.what for i in digest.unwatched] == ["Forgotten fix"]
        assert digest.figures.shipment_to_outcome_days == 12.0, "the late answer is not known yet"
        assert (digest.figures.watched, digest.figures.judged) == (1, 2)
        assert digest.sharing == 1
        text = json.dumps(digest_messages(digest, start.date()), ensure_ascii=False)
        assert "Errors halved" in text and "Too late for this digest" not in text
        assert "nobody answered its check-in" in text
        assert "Secret problem" not in text and "Ben's problem" not in text


def test_a_digest_whose_answer_was_lost_is_found_in_the_channel_not_posted_twice(
    team: Bot, channel: Channel
) -> None:
    the_week(team)
    team.fake.faults.add(method="chat.postMessage", kind="server_error", status=503, commit=True, times=1)
    first = team.tick(DIGEST_AT)
    assert first.sent.retried == 1
    second = team.tick(DIGEST_AT + timedelta(minutes=1))
    assert second.sent.found_in_slack == 1
    assert len(digests(team, channel)) == 1
    assert team.fake.calls("conversations.history")[-1].params["channel"] == channel.id


def chatter(team: Bot, channel: Channel, count: int, thread_ts: str | None = None) -> None:
    """People talk in the channel (or in a thread of it): `count` messages, newer than any post."""
    talker = team.fake.add_user(name="talker", tz="Europe/Berlin")
    ws = team.fake.state
    for n in range(count):
        ws.post(
            Message(
                channel=channel.id,
                ts=ws.next_ts(ws.channels[channel.id]),
                text=f"lunch? {n}",
                user=talker.id,
                thread_ts=thread_ts,
                source="user",
            )
        )


def test_a_lost_digest_in_a_busy_channel_is_found_pages_back_not_posted_twice(
    team: Bot, channel: Channel
) -> None:
    the_week(team)
    team.fake.faults.add(method="chat.postMessage", kind="server_error", status=503, commit=True, times=1)
    assert team.tick(DIGEST_AT).sent.retried == 1
    chatter(team, channel, 450)  # more than one page of the look-back after the digest
    team.fake.reset_calls()
    second = team.tick(DIGEST_AT + timedelta(minutes=1))
    assert second.sent.found_in_slack == 1
    assert len(digests(team, channel)) == 1
    pages = team.fake.calls("conversations.history")
    assert len(pages) > 1 and all(page.params["channel"] == channel.id for page in pages)


def test_the_look_back_reads_only_the_lost_attempts_minutes_not_the_chatter_after(
    team: Bot, channel: Channel
) -> None:
    """New apps read a channel's history at one call a minute: the look for a lost digest asks
    for the minutes its attempt could have posted in, not for an hour of chatter after it."""
    the_week(team)
    team.fake.faults.add(method="chat.postMessage", kind="server_error", status=503, commit=True, times=1)
    assert team.tick(DIGEST_AT).sent.retried == 1
    talker = team.fake.add_user(name="talker", tz="Europe/Berlin")
    later = time.time() + 3600
    for n in range(450):
        team.fake.state.post(
            Message(channel=channel.id, ts=f"{later + n / 1000:.6f}", text=f"lunch? {n}", user=talker.id)
        )
    team.fake.reset_calls()
    assert team.tick(DIGEST_AT + timedelta(minutes=1)).sent.found_in_slack == 1
    assert len(digests(team, channel)) == 1
    assert len(team.fake.calls("conversations.history")) == 1


@pytest.mark.parametrize("first", ["unknown", "known"])
def test_the_look_back_starts_at_the_attempt_that_may_have_posted(
    team: Bot, channel: Channel, database: Database, first: str
) -> None:
    """An attempt an hour ago posted nothing (Slack's answer was lost, or Slack said no); the next
    one (after looking, if it had to) posted and lost Slack's answer: the third looks where the
    second posted, and finds it."""
    the_week(team)
    if first == "unknown":
        team.fake.faults.add(method="chat.postMessage", kind="server_error", status=503, times=1)
        assert team.tick(DIGEST_AT).sent.retried == 1
    else:
        team.fake.faults.add(method="chat.postMessage", kind="error", error="not_authed", times=1)
        assert team.tick(DIGEST_AT).sent.retried == 1
    with database.session() as session, session.begin():
        (digest,) = session.scalars(select(Delivery).where(Delivery.kind == "digest")).all()
        assert digest.maybe_posted == (first == "unknown") and digest.first_attempt_at is not None
        digest.first_attempt_at -= timedelta(hours=1)
    team.fake.faults.add(method="chat.postMessage", kind="server_error", status=503, commit=True, times=1)
    assert team.tick(DIGEST_AT + timedelta(minutes=1)).sent.retried == 1
    assert len(digests(team, channel)) == 1
    assert team.tick(DIGEST_AT + timedelta(minutes=5)).sent.found_in_slack == 1
    assert len(digests(team, channel)) == 1


def test_a_lost_share_in_a_busy_daily_thread_is_found_pages_on_not_posted_twice(
    team: Bot, channel: Channel
) -> None:
    """Ana answers before the team's morning, so the clock posts her share in the day's thread,
    where 250 replies came first; Slack takes the share but its answer is lost."""
    at(team, datetime(2026, 11, 26, 20, 0, tzinfo=UTC))
    ana = enrol(team, "ana", "Asia/Tokyo")
    tokyo_prompt = datetime(2026, 11, 27, 0, 30, tzinfo=UTC)
    team.tick(tokyo_prompt)
    at(team, tokyo_prompt + timedelta(minutes=5))
    answer_in_thread(team, ana, "OTP SMS arrive late\nfor: new sign-ups in India")
    team.tick(FRIDAY_PROMPT)  # the day's thread; the share waits for it
    root, _ = shares_in_daily_thread(team, channel)
    chatter(team, channel, 250, thread_ts=root.ts)
    team.fake.faults.add(method="chat.postMessage", kind="server_error", status=503, commit=True, times=1)
    assert team.tick(FRIDAY_PROMPT + timedelta(minutes=2)).sent.retried == 1
    team.fake.reset_calls()
    assert team.tick(FRIDAY_PROMPT + timedelta(minutes=3)).sent.found_in_slack == 1
    _, replies = shares_in_daily_thread(team, channel)
    assert len([m for m in replies if ana in m.text]) == 1, "found two pages on, not posted twice"
    assert len(team.fake.calls("conversations.replies")) > 1
