"""Two workspaces installed with OAuth whose people have the same user ids: nothing of one is
visible, sent or changed in the other, through every command, button and modal.

Workspace A (the emulator's primary) and workspace B each have an `ana` with the same user id,
each with a Loop #1. A's ana also ships, gets her check-in and her monthly reflection, and opens
her modals. Then B's ana types every command, and replays every button and modal of A's (their
values and private_metadata carry A's ids), the way a crafted request would: A's rows stay as
they were, and Slack hears nothing in A.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from slackbot.fakeslack import FakeSlack, SlackSender
from slackbot.fakeslack.blocks import interactive_elements
from slackbot.fakeslack.state import Message, View
from slackbot.store.models import (
    CheckIn,
    Delivery,
    Entry,
    Loop,
    Person,
    Reflection,
    SearchTerm,
    Shipment,
    Workspace,
)
from tests.support.bot import Bot, BotFactory
from tests.support.oauth import allow, get, install, oauth_bot, start_install
from tests.support.story import FRIDAY, MONDAY, WEDNESDAY_DUE, at, only_prompt

FRIDAY_PROMPT = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)
TUESDAY_1ST = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
A_WORDS = ("OTP SMS arrive late", "new sign-ups in India", "Swap to a second SMS vendor")

OWNED: tuple[Any, ...] = (Person, Loop, Entry, Shipment, CheckIn, Delivery, Reflection, SearchTerm)


@dataclasses.dataclass
class Two:
    a: Bot
    b: Bot
    ana: str  # the same user id in both


@pytest.fixture
def two(make_bot: BotFactory, fake: FakeSlack) -> Two:
    a = oauth_bot(make_bot, fake)
    other = fake.add_workspace("T0OTHERCO", "other-co", "Other Co")
    b = Bot(
        other,
        SlackSender(other, app_url=f"{a.server.url}/slack/events"),
        a.database,
        a.settings,
        a.server,
        a.services,
    )
    a.services.clock = lambda: FRIDAY
    ana_a, ana_b = (
        fake.add_user(name="ana", tz="Europe/Berlin"),
        other.add_user(name="ana", tz="Europe/Berlin"),
    )
    assert ana_a.id == ana_b.id
    assert install(a).status == 200
    link, cookie = start_install(a)
    assert get(allow(other.authorize_link(link)), cookie).status == 200
    with a.database.session() as session:
        assert sorted(session.scalars(select(Workspace.team_id))) == sorted([fake.team_id, other.team_id])
    return Two(a, b, ana_a.id)


def person_in(bot: Bot, user_id: str) -> Person | None:
    with bot.database.session() as session:
        found = session.scalars(
            select(Person)
            .join(Workspace, Workspace.id == Person.workspace_id)
            .where(Workspace.team_id == bot.fake.team_id, Person.slack_user_id == user_id)
        ).one_or_none()
        if found is not None:
            session.expunge(found)
        return found


def snapshot(bot: Bot) -> dict[str, list[dict[str, Any]]]:
    """Every row of the workspace's own, column by column."""
    with bot.database.session() as session:
        workspace = session.scalars(select(Workspace).where(Workspace.team_id == bot.fake.team_id)).one()
        people = list(session.scalars(select(Person.id).where(Person.workspace_id == workspace.id)))
        out: dict[str, list[dict[str, Any]]] = {
            "Workspace": [{c.key: getattr(workspace, c.key) for c in Workspace.__table__.columns}]
        }
        for model in OWNED:
            column = model.id if model is Person else model.person_id
            rows = session.scalars(select(model).where(column.in_(people))).all()
            out[model.__name__] = sorted(
                ({c.key: getattr(r, c.key) for c in model.__table__.columns} for r in rows), key=repr
            )
        return out


def forge_message(into: FakeSlack, user_id: str, original: Message) -> Message:
    """`original` (another workspace's) as if it were in this person's DM here: its buttons'
    values are the other workspace's ids, as in a crafted request."""
    with into.state.lock:
        dm = into.state.dm(user_id)
        forged = dataclasses.replace(
            original,
            channel=dm.id,
            ts=into.state.next_ts(dm),
            thread_ts=None,
            reply_count=0,
            reply_users=[],
            edited=[],
            team=into.team_id,
            blocks=copy.deepcopy(original.blocks),
        )
        return into.state.post(forged)


def forge_view(into: FakeSlack, user_id: str, original: View) -> View:
    """Another workspace's modal (its private_metadata and all) on top of this person's stack here."""
    with into.state.lock:
        view_id = into.state.ids.next("V", 10)
        forged = dataclasses.replace(
            original,
            id=view_id,
            team_id=into.team_id,
            user_id=user_id,
            root_view_id=view_id,
            previous_view_id=None,
            payload=copy.deepcopy(original.payload),
            state={"values": {}},
            closed=False,
        )
        into.state.views[view_id] = forged
        if forged.type != "home":  # a forged tab is clicked, never published over
            into.state.stack(user_id).append(view_id)
        into.state.changed()
        return forged


def values_for(view: View) -> dict[str, Any]:
    """What the person types into the modal; the loop picked is the first the modal offers
    (for a modal of A's, A's loop)."""
    values: dict[str, Any] = dict(MODAL_VALUES[view.callback_id])
    for block in view.payload["blocks"]:
        if block.get("block_id") == "shipped_loop":
            values["shipped_loop.text"] = block["element"]["options"][0]["value"]
    return values


def seen_in(fake: FakeSlack) -> str:
    """Everything the app said in a workspace: every call's parameters and response_url post."""
    return json.dumps(
        [c.params for c in fake.calls()] + fake.response_url_posts(), ensure_ascii=False, default=str
    )


def a_story(two: Two) -> dict[str, Any]:
    """A's ana: a loop, a ship, its check-in, the reflection, and each of her modals open."""
    a, b, ana = two.a, two.b, two.ana
    for bot in (a, b):
        assert "You're in" in json.dumps(bot.command(ana, "/loops start"))
    a.tick(FRIDAY_PROMPT)
    at(a, FRIDAY_PROMPT + timedelta(minutes=5))
    a.sender.user_message(
        ana, "OTP SMS arrive late\nfor: new sign-ups in India", thread_ts=only_prompt(a, ana).ts
    )
    b.sender.user_message(ana, "Printer on fire\nfor: the finance team", thread_ts=only_prompt(b, ana).ts)
    a.settle()
    at(a, MONDAY)
    assert "Swap to a second SMS vendor" in json.dumps(
        a.command(ana, "/shipped #1 Swap to a second SMS vendor expect: OTP within a minute")
    )
    a.tick(TUESDAY_1ST)
    a.tick(WEDNESDAY_DUE)
    at(a, WEDNESDAY_DUE + timedelta(minutes=5))
    dm = a.fake.messages(channel=a.fake.dm_channel_id(ana))
    messages = {
        "prompt": [
            m for m in dm if "What's broken right now" in (m.text or "") and m.thread_ts in (None, m.ts)
        ][-1],
        "checkin": next(m for m in dm if (m.text or "").startswith(("Check", "Checking"))),
        "reflection": next(m for m in dm if (m.text or "").startswith("Last month you shipped")),
    }
    a.sender.open_home(ana)
    a.settle()
    home = a.fake.home_view(ana)
    assert home is not None
    views: dict[str, View] = {"home": dataclasses.replace(home, payload=copy.deepcopy(home.payload))}
    for name, message, action in (
        ("answer", messages["prompt"], "prompt_broken"),
        ("checkin", messages["checkin"], "checkin_changed"),
        ("reflection", messages["reflection"], "reflection_answer"),
    ):
        assert a.sender.click(ana, message, action_id=action).status == 200
        a.settle()
        views[name] = a.fake.views_of(ana)[-1]
    a.sender.command(ana, "/shipped", "Another fix")
    a.settle()
    views["shipped"] = a.fake.views_of(ana)[-1]
    a.sender.command(ana, "/loops", "settings")
    a.settle()
    views["settings"] = a.fake.views_of(ana)[-1]
    assert {v.callback_id for k, v in views.items() if k != "home"} == {
        "loop_answer",
        "checkin_answer",
        "reflection",
        "shipped",
        "settings",
    }
    return {"messages": messages, "views": views}


MODAL_VALUES: dict[str, dict[str, Any]] = {
    "loop_answer": {"what.text": "Forged loop", "for_whom.text": "nobody"},
    "checkin_answer": {"checkin_happened.text": "forged", "checkin_closed.text": ["close"]},
    "reflection": {"reflection_changed.text": "forged reflection"},
    "shipped": {"shipped_what.text": "forged ship", "shipped_expected.text": "forged"},
    "settings": {"settings_prompt_time.text": "06:00", "settings_in_digest.text": []},
}


def test_nothing_of_one_workspace_is_visible_sent_or_changed_from_the_other(two: Two) -> None:
    a, b, ana = two.a, two.b, two.ana
    story = a_story(two)
    before = snapshot(a)
    a.fake.reset_calls()
    seen: list[str] = []

    # Every command, typed by B's ana (the same user id as A's).
    for typed in (
        "/loops",
        "/loops 1",
        "/loops open",
        "/loops closed",
        "/loops month 2026-11",
        "/loops search OTP",
        "/loops search printer",
        "/loops export",
        "/loops digest",
        "/loops pause 3 days",
        "/loops resume",
        "/loops stop",
        "/loops start",
        "/loops help",
        "/shipped #1 Put the fire out expect: the printer prints",
    ):
        seen.append(json.dumps(b.command(ana, typed), ensure_ascii=False))
    assert "Printer on fire" in seen[0] and "Printer on fire" in seen[1]
    b.sender.command(ana, "/loops", "settings")
    b.settle()
    settings = b.fake.views_of(ana)[-1]
    assert b.sender.submit_view(ana, settings.id, values_for(settings)).status == 200
    b.sender.command(ana, "/shipped", "A second fix")
    b.settle()
    shipped = b.fake.views_of(ana)[-1]
    assert b.sender.submit_view(ana, shipped.id, values_for(shipped)).status == 200
    b.settle()

    # Every button of A's messages and Home tab, replayed from B with A's values.
    for message in story["messages"].values():
        for _block, element in interactive_elements(message.blocks or []):
            forged = forge_message(b.fake, ana, message)
            reply = b.sender.click(ana, forged, action_id=element["action_id"], value=element.get("value"))
            assert reply.status == 200, (element, reply.text)
            b.settle()
            for view in list(b.fake.views_of(ana)):
                b.sender.close_view(ana, view.id)
            b.settle()
    home = forge_view(b.fake, ana, story["views"]["home"])
    for _block, element in interactive_elements(home.payload["blocks"]):
        if element["action_id"] in {
            "home_start",
            "home_stop",
            "home_pause_week",
            "home_resume",
            "home_settings",
        } or element["action_id"].startswith(("loop_", "checkin_")):
            reply = b.sender.click_in_view(ana, home, element["action_id"], value=element.get("value"))
            assert reply.status == 200, (element, reply.text)
            b.settle()

    # Every modal of A's, submitted from B with A's private_metadata.
    for name in ("answer", "checkin", "reflection", "shipped", "settings"):
        modal = forge_view(b.fake, ana, story["views"][name])
        reply = b.sender.submit_view(ana, modal.id, values_for(modal))
        assert reply.status == 200, (name, reply.text)
        b.settle()

    # And B's ana leaves: only she is forgotten.
    b.sender.command(ana, "/loops", "forget-me")
    b.settle()
    forget = b.fake.views_of(ana)[-1]
    assert forget.callback_id == "forget_me"
    assert "1 shipment" in json.dumps(forget.payload["blocks"]) or "2 shipments" in json.dumps(
        forget.payload["blocks"]
    )
    assert b.sender.submit_view(ana, forget.id).status == 200
    b.settle()

    assert snapshot(a) == before, "nothing of A's changed"
    assert a.fake.calls() == [], "nothing was said in A"
    for words in A_WORDS:
        assert not [s for s in seen if words in s], words
        assert not [
            c for c in b.fake.calls() if words in json.dumps(c.params, ensure_ascii=False, default=str)
        ], (
            words,
            [
                (c.method, c.params)
                for c in b.fake.calls()
                if words in json.dumps(c.params, ensure_ascii=False, default=str)
            ][:2],
        )
        assert not [p for p in b.fake.response_url_posts() if words in json.dumps(p, ensure_ascii=False)], (
            words
        )
    assert person_in(b, ana) is None
    assert person_in(a, ana) is not None

    # The clock goes on: A's ana gets Thursday's prompt, in A only; B's ana nothing.
    b.fake.reset_calls()
    a.tick(WEDNESDAY_DUE + timedelta(days=1))
    assert [c.method for c in b.fake.calls()] == []
    assert any(c.method == "chat.postMessage" for c in a.fake.calls())
