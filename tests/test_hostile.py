"""Crafted requests, correctly signed: nobody's data changes, nothing is a 5xx, nothing logs an ERROR.

One person (ana) sends payloads Slack could carry but never would: fields replaced by
another person's ids, numbers out of range, digits that are not ASCII, values of the
wrong JSON type, tampered modal metadata, events naming someone else's DM. Each one is
answered with "not found", a friendly refusal or a 400; ben's loops, prompts and DM
stay exactly as they were.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from slackbot.blocks.ids import Action
from slackbot.store.models import CheckIn, Delivery, Entry, Loop, Person, Shipment
from tests.support.bot import Bot
from tests.support.story import FRIDAY, enrol, with_loop

DUE = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)


class Scene:
    """ana (who attacks) and ben (whose data must not move), both prompted, ben with a loop."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.ana = enrol(bot, "ana", "Europe/Berlin")
        self.ben = enrol(bot, "ben", "Europe/Berlin")
        bot.tick(DUE)
        (ana_prompt,) = bot.prompts(self.ana)
        (ben_prompt,) = bot.prompts(self.ben)
        bot.sender.user_message(self.ben, "Invoices are wrong\nfor: accountants", thread_ts=ben_prompt.ts)
        bot.settle()
        (ben_loop,) = bot.loops(self.ben)
        (ben_delivery,) = bot.deliveries(self.ben, "prompt")
        (ana_delivery,) = bot.deliveries(self.ana, "prompt")
        self.ana_dm = bot.fake.dm_channel_id(self.ana)
        self.ben_dm = bot.fake.dm_channel_id(self.ben)
        self.ana_prompt_ts, self.ben_prompt_ts = ana_prompt.ts, ben_prompt.ts
        self.ben_root_ts = str(ben_loop.thread_ts)
        self.ana_prompt_id, self.ben_prompt_id, self.ben_loop_id = (
            ana_delivery.id,
            ben_delivery.id,
            ben_loop.id,
        )
        # Both ship a fix, and its check-in is asked (Tue 1 Dec, two workdays later); ana
        # also leaves a long /shipped in a modal she never submits (a draft of hers).
        bot.sender.user_message(self.ana, "Search is slow\nfor: everyone", thread_ts=ana_prompt.ts)
        bot.settle()
        for who, what in ((self.ben, "Recompute invoice totals"), (self.ana, "Index the search table")):
            bot.command(who, f"/shipped #1 {what} expect: fewer tickets")
        bot.command(self.ana, "/shipped " + "A very long release note. " * 150)
        bot.tick(datetime(2026, 12, 1, 8, 30, tzinfo=UTC))
        with bot.database.session() as session:
            ben, ana = (bot.person(u).id for u in (self.ben, self.ana))
            shipments = {
                s.person_id: s for s in session.scalars(select(Shipment).where(Shipment.state != "draft"))
            }
            draft = session.scalars(select(Shipment).where(Shipment.state == "draft")).one()
            checkins = {c.person_id: c for c in session.scalars(select(CheckIn))}
            self.ben_shipment_id, self.ben_checkin_id = shipments[ben].id, checkins[ben].id
            self.own_ids = [shipments[ana].id, checkins[ana].id, draft.id]
        assert checkins[ben].asked_at is not None and checkins[ana].asked_at is not None
        bot.services.clock = lambda: datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def bens_data(self) -> Any:
        """Everything of ben's: rows as tuples, and his DM as Slack holds it."""
        with self.bot.database.session() as session:
            ben = session.scalars(select(Person).where(Person.slack_user_id == self.ben)).one()
            loops = session.scalars(select(Loop).where(Loop.person_id == ben.id).order_by(Loop.id)).all()
            entries = session.scalars(select(Entry).where(Entry.person_id == ben.id).order_by(Entry.id)).all()
            deliveries = session.scalars(
                select(Delivery).where(Delivery.person_id == ben.id).order_by(Delivery.id)
            ).all()
            shipments = session.scalars(
                select(Shipment).where(Shipment.person_id == ben.id).order_by(Shipment.id)
            ).all()
            checkins = session.scalars(
                select(CheckIn).where(CheckIn.person_id == ben.id).order_by(CheckIn.id)
            ).all()
            rows = (
                (ben.enrolled, ben.paused_until, ben.next_prompt_at, ben.tz, ben.dm_channel),
                [(lp.number, lp.what, lp.for_whom, lp.state, lp.thread_ts, lp.next_step) for lp in loops],
                [(e.kind, e.text, e.slack_ts) for e in entries],
                [(d.kind, d.state, d.answer, d.slack_ts, d.ready_at) for d in deliveries],
                [(x.what, x.expected_change, x.state, x.asks, x.checkin_on, x.outcome) for x in shipments],
                [(c.ask, c.answer, c.answered_at, c.what_happened) for c in checkins],
            )
        messages = [(m.ts, m.text, m.thread_ts) for m in self.bot.fake.messages(channel=self.ben_dm)]
        return rows, messages

    # -- what ana could send if she were Slack ---------------------------------------------

    def command(self, text: str, command: str = "/loops") -> dict[str, Any]:
        return {
            "token": "x",
            "team_id": self.bot.fake.team_id,
            "team_domain": self.bot.fake.team_domain,
            "channel_id": self.ana_dm,
            "channel_name": "directmessage",
            "user_id": self.ana,
            "user_name": "ana",
            "command": command,
            "text": text,
            "api_app_id": "A0LOOPS",
            "trigger_id": "1.2.3",
        }

    def click(self, action_id: str, value: Any) -> dict[str, Any]:
        return {
            "type": "block_actions",
            "user": {"id": self.ana, "team_id": self.bot.fake.team_id},
            "team": {"id": self.bot.fake.team_id},
            "api_app_id": "A0LOOPS",
            "trigger_id": "1.2.3",
            "response_url": self.bot.fake.state.mint_response_url(self.ana, self.ana_dm).url,
            "container": {"type": "message", "channel_id": self.ana_dm, "message_ts": self.ana_prompt_ts},
            "channel": {"id": self.ana_dm},
            "message": {"ts": self.ana_prompt_ts, "blocks": []},
            "actions": [{"action_id": action_id, "block_id": "b", "value": value, "type": "button"}],
        }

    def submission(self, metadata: Any, what: Any, callback_id: str = "loop_answer") -> dict[str, Any]:
        return {
            "type": "view_submission",
            "user": {"id": self.ana, "team_id": self.bot.fake.team_id},
            "team": {"id": self.bot.fake.team_id},
            "api_app_id": "A0LOOPS",
            "view": {
                "id": f"V{time.monotonic_ns()}",
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": metadata,
                "state": {
                    "values": {
                        "what": {"text": {"type": "plain_text_input", "value": what}},
                        "for_whom": {"text": {"type": "plain_text_input", "value": "someone"}},
                        "shipped_what": {"text": {"type": "plain_text_input", "value": what}},
                        "shipped_expected": {"text": {"type": "plain_text_input", "value": "it works"}},
                        "shipped_loop": {
                            "text": {"type": "static_select", "selected_option": {"value": str(what)[:150]}}
                        },
                        "shipped_wait": {
                            "text": {"type": "static_select", "selected_option": {"value": "keep"}}
                        },
                        "checkin_happened": {"text": {"type": "plain_text_input", "value": what}},
                        "checkin_next": {"text": {"type": "plain_text_input", "value": "next"}},
                        "checkin_ask_again": {
                            "text": {"type": "static_select", "selected_option": {"value": "keep"}}
                        },
                        "settings_prompt_time": {"text": {"type": "timepicker", "selected_time": "25:99"}},
                        "settings_workdays": {
                            "text": {"type": "checkboxes", "selected_options": [{"value": str(what)[:150]}]}
                        },
                        "settings_tz": {"text": {"type": "plain_text_input", "value": what}},
                    }
                },
            },
        }

    def message(self, channel: Any, thread_ts: Any, text: Any) -> dict[str, Any]:
        return {
            "type": "event_callback",
            "team_id": self.bot.fake.team_id,
            "api_app_id": "A0LOOPS",
            "event_id": f"Ev{time.monotonic_ns()}",
            "event_time": int(time.time()),
            "event": {
                "type": "message",
                "channel_type": "im",
                "channel": channel,
                "user": self.ana,
                "text": text,
                "ts": f"{time.time():.6f}",
                "thread_ts": thread_ts,
            },
        }


@pytest.fixture
def scene(bot: Bot) -> Scene:
    bot.services.clock = lambda: FRIDAY
    return Scene(bot)


def strange(scene: Scene, *, as_the_actor: bool = False) -> st.SearchStrategy[Any]:
    """Values a crafted request puts where an id, a ts or a text belongs.

    Where the value names who acts (`as_the_actor`), ben's own user id is left out: a
    request signed as coming from ben may change ben's data; that is no scoping question.
    """
    others = [
        *([] if as_the_actor else [scene.ben]),
        scene.ben_dm,
        scene.ben_prompt_ts,
        scene.ben_root_ts,
        scene.ben_prompt_id,
        scene.ben_loop_id,
        str(scene.ben_prompt_id),
        str(scene.ben_loop_id),
        scene.ben_shipment_id,
        str(scene.ben_shipment_id),
        scene.ben_checkin_id,
        str(scene.ben_checkin_id),
        # Ana's own shipment, check-in and draft: her own rows, in places they do not belong.
        *scene.own_ids,
    ]
    tricky = ["²", "١٢", "99999999999999999999", str(2**31), "-1", "0", "1e9", " 7", "", "NaN"]
    wrong_types = st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False),
        st.none(),
        st.booleans(),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.sampled_from(["id", "prompt", "value"]), st.integers(), max_size=2),
        st.text(max_size=12),
    )
    # Half of the draws are another person's ids or numbers that only look like ids.
    return st.one_of(st.sampled_from(others + tricky), wrong_types)


def crafted(scene: Scene) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    value = strange(scene)
    actions = st.sampled_from([str(a) for a in Action])
    commands = st.builds(
        lambda text: ("form", scene.command(text)),
        st.one_of(
            st.sampled_from(["start", "stop", "pause", "resume", "help", "frobnicate", ""]),
            st.builds(lambda v: f"{v}", value),
            st.builds(lambda v: f"pause {v} days", value),
            st.builds(lambda v: f"#{v}", value),
        ),
    )
    shipped = st.builds(
        lambda text: ("form", scene.command(text, "/shipped")),
        st.one_of(
            st.builds(lambda v: f"#{v} fix expect: better", value),
            st.builds(lambda v: f"#{v}", value),
            st.builds(lambda v: f"{v} expect: {v}", value),
        ),
    )
    clicks = st.builds(lambda a, v: ("payload", scene.click(a, v)), actions, value)
    keys = st.sampled_from(["prompt", "shipment", "checkin", "draft", "answer", "where"])
    submissions = st.builds(
        lambda m, w, c: ("payload", scene.submission(m, w, c)),
        st.one_of(
            value,
            st.builds(lambda v: json.dumps({"prompt": v}), value),
            st.builds(lambda v: json.dumps({"month": v}), value),
            st.builds(lambda v: json.dumps({"checkin": v, "answer": None}), value),
            st.builds(lambda k, v: json.dumps({k: v, "answer": "changed"}), keys, value),
            st.builds(
                lambda v, a: json.dumps({"checkin": v, "answer": a}),
                value,
                st.one_of(value, st.just("cant_tell")),
            ),
        ),
        st.one_of(st.just("Checkout is broken"), value),
        st.sampled_from(["loop_answer", "shipped", "checkin_answer", "settings", "reflection"]),
    )
    messages = st.builds(
        lambda c, t, x: ("json", scene.message(c, t, x)),
        st.one_of(st.just(scene.ana_dm), value),
        st.one_of(st.just(scene.ana_prompt_ts), value),
        st.one_of(st.just("Payments fail\nfor: everyone"), value),
    )
    return st.one_of(commands, shipped, clicks, submissions, messages)


def mutate(payload: dict[str, Any], path: list[str], replacement: Any) -> dict[str, Any]:
    """The payload with one more field, anywhere in it, replaced."""
    mutated = copy.deepcopy(payload)
    node: Any = mutated
    for key in path[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(key), dict | list):
            return mutated
        node = node[key] if isinstance(node, dict) else node
    if isinstance(node, dict) and path:
        node[path[-1]] = replacement
    return mutated


FIELD_PATHS = [
    ["team_id"],
    ["team", "id"],
    ["user"],
    ["user", "id"],
    ["text"],
    ["event"],
    ["event", "user"],
    ["event", "ts"],
    ["actions"],
    ["view"],
    ["view", "state"],
    ["container"],
    ["channel_id"],
    ["authorizations"],
    ["view", "team_id"],
    ["event", "channel"],
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_crafted_requests_change_nobody_elses_data(
    scene: Scene, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    bot = scene.bot
    before = scene.bens_data()
    encoding, payload = data.draw(crafted(scene))
    if data.draw(st.booleans()):
        path = data.draw(st.sampled_from(FIELD_PATHS))
        actor = path in (["user"], ["user", "id"], ["event", "user"])
        payload = mutate(payload, path, data.draw(strange(scene, as_the_actor=actor)))
    caplog.clear()
    with caplog.at_level(logging.INFO):
        if encoding == "form":
            reply = bot.sender.post(urlencode({k: str(v) for k, v in payload.items()}))
        elif encoding == "payload":
            reply = bot.sender.post(urlencode({"payload": json.dumps(payload)}))
        else:
            reply = bot.sender.post(json.dumps(payload), headers={"Content-Type": "application/json"})
        bot.settle()
    assert 0 < reply.status < 500, (payload, reply.status, reply.text)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [(r.name, r.getMessage()) for r in errors]
    assert scene.bens_data() == before, payload


def test_a_message_naming_someone_elses_dm_is_not_acted_on(scene: Scene) -> None:
    bot = scene.bot
    before = scene.bens_data()
    anas = [loop.id for loop in bot.loops(scene.ana)]
    for thread_ts in (scene.ben_prompt_ts, scene.ben_root_ts, None):
        reply = bot.sender.post(
            json.dumps(scene.message(scene.ben_dm, thread_ts, "Now it's mine\nfor: me")),
            headers={"Content-Type": "application/json"},
        )
        assert reply.status == 200
    bot.settle()
    assert scene.bens_data() == before
    assert [loop.id for loop in bot.loops(scene.ana)] == anas, "nothing was opened for ana from ben's threads"


def test_out_of_range_ids_read_as_not_found(scene: Scene, caplog: pytest.LogCaptureFixture) -> None:
    bot = scene.bot
    with caplog.at_level(logging.INFO):
        for value in ("²", "99999999999999999999", str(2**31)):
            reply = bot.sender.post(urlencode({"payload": json.dumps(scene.click("loop_drop", value))}))
            assert reply.status == 200
        metadata = json.dumps({"prompt": 99999999999999999999})
        reply = bot.sender.post(urlencode({"payload": json.dumps(scene.submission(metadata, "Broken"))}))
        assert reply.status == 200
        bot.settle()
    said = [m.text for m in bot.fake.ephemeral_for(scene.ana)]
    assert sum("couldn't find that" in text for text in said) == 3, said
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    loop = bot.loops(scene.ana)[-1]
    assert loop.what == "Broken" and loop.prompt_id is None, "tampered metadata links the loop to no prompt"


@pytest.mark.parametrize(
    "odd",
    [
        {"authorizations": [{"team_id": ["T1"], "user_id": "U1"}]},
        {"authorizations": [{"team_id": "T" + "X" * 200}]},
        {"team_id": {"a": 1}},
        {"event": {"type": "reaction_added", "user": {"id": {"a": 1}}, "item": {}}},
        {"event": {"type": "reaction_added", "user": ["U1"], "item": {}}},
        {"event": {"type": "channel_created", "channel": {"id": 7}}},
    ],
)
def test_ids_bolt_reads_from_odd_places_are_checked_too(
    scene: Scene, caplog: pytest.LogCaptureFixture, odd: dict[str, Any]
) -> None:
    payload = scene.message(scene.ana_dm, scene.ana_prompt_ts, "hello")
    payload.update(odd)
    with caplog.at_level(logging.INFO):
        reply = scene.bot.sender.post(json.dumps(payload), headers={"Content-Type": "application/json"})
        scene.bot.settle()
    assert reply.status == 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_crafted_values_in_the_shipment_forms_get_friendly_words(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    """Ana's own rows named where they do not belong: her draft as a shipment to edit, "keep"
    where only a wait can be, a loop option that is no id; each is refused in words."""
    bot = scene.bot
    _, checkin_id, draft_id = scene.own_ids
    cases = [
        ("shipped", {"shipment": draft_id}, "Fixed it", None),
        ("shipped", {"shipment": scene.ben_shipment_id}, "Fixed it", None),
        ("shipped", {"draft": "draft:not-mine"}, "²", "shipped_loop"),
        ("checkin_answer", {"checkin": checkin_id, "answer": "cant_tell"}, "Too early", "checkin_ask_again"),
        ("checkin_answer", {"checkin": checkin_id, "answer": "maybe"}, "Too early", None),
        ("checkin_answer", {"checkin": scene.ben_checkin_id, "answer": "changed"}, "Mine now", None),
    ]
    before = scene.bens_data()
    with caplog.at_level(logging.INFO):
        for callback, metadata, what, inline in cases:
            payload = scene.submission(json.dumps(metadata), what, callback)
            reply = bot.sender.post(urlencode({"payload": json.dumps(payload)}))
            assert reply.status == 200, reply.text
            answer = reply.json()
            if inline is not None:
                assert answer["response_action"] == "errors" and inline in answer["errors"], answer
            else:
                assert answer["response_action"] == "update", answer
                assert "couldn't find that" in json.dumps(answer["view"]), answer
        bot.settle()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert scene.bens_data() == before
    with bot.database.session() as session:
        mine = session.get(CheckIn, checkin_id)
        assert mine is not None and mine.answered_at is None, "nothing was stored for ana either"


def test_crafted_settings_are_refused_inline(scene: Scene, caplog: pytest.LogCaptureFixture) -> None:
    bot = scene.bot
    before = bot.person(scene.ana)
    payload = scene.submission("", "someday", "settings")
    with caplog.at_level(logging.INFO):
        reply = bot.sender.post(urlencode({"payload": json.dumps(payload)}))
        bot.settle()
    errors = reply.json()["errors"]
    assert set(errors) == {"settings_prompt_time", "settings_workdays", "settings_tz"}, errors
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    after = bot.person(scene.ana)
    assert (after.prompt_time, after.workdays, after.tz) == (before.prompt_time, before.workdays, before.tz)


@pytest.fixture
def trap() -> Iterator[tuple[str, list[str]]]:
    """A listener on loopback that records every request it gets: a response_url pointing here
    must never be requested."""
    hits: list[str] = []

    class Record(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Record)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", hits
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "where",
    [
        "{trap}/hooks/T1/B1/x",  # plain http, not the API's host and port
        "https://hooks.slack.com.example.invalid/commands/1",
        "ftp://hooks.slack.com/commands/1",
        "javascript:alert(1)",
        "x" * 5000,
    ],
)
def test_a_response_url_that_is_not_slacks_is_never_requested(
    scene: Scene, caplog: pytest.LogCaptureFixture, trap: tuple[str, list[str]], where: str
) -> None:
    bot = scene.bot
    url, hits = trap
    where = where.replace("{trap}", url)
    click = scene.click(Action.LOOP_DROP, "99999999") | {"response_url": where}
    command = scene.command("open") | {"response_url": where}
    with caplog.at_level(logging.INFO):
        reply = bot.sender.post(urlencode({"payload": json.dumps(click)}))
        assert reply.status == 200, reply.text
        answer = bot.sender.post(urlencode(command))
        bot.settle()
    assert answer.status == 200 and "please try again" in answer.text, answer.text
    assert hits == [], "the response_url was requested"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [
        r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR
    ]
    warned = [r for r in caplog.records if "response_url" in r.getMessage() and r.levelno == logging.WARNING]
    assert len(warned) == 2, [r.getMessage() for r in warned]
    told = [m.text for m in bot.dm(scene.ana) if "couldn't find that" in (m.text or "")]
    assert told, "the click's failure still reaches the person, by DM"


def test_an_answer_meant_for_a_bad_response_url_goes_by_ephemeral_message(
    bot: Bot, caplog: pytest.LogCaptureFixture, trap: tuple[str, list[str]]
) -> None:
    """A click that works ("Still broken") answers on the response_url; one that is not Slack's
    is not asked, and the person reads the answer as an ephemeral message where they clicked."""
    url, hits = trap
    bot.services.clock = lambda: FRIDAY
    ana, loop = with_loop(bot)
    channel = bot.fake.dm_channel_id(ana)
    click = {
        "type": "block_actions",
        "user": {"id": ana, "team_id": bot.fake.team_id},
        "team": {"id": bot.fake.team_id},
        "api_app_id": "A0LOOPS",
        "trigger_id": "1.2.3",
        "response_url": f"{url}/hooks/elsewhere",
        "container": {"type": "message", "channel_id": channel, "message_ts": loop.thread_ts},
        "channel": {"id": channel},
        "actions": [{"action_id": Action.LOOP_STILL_BROKEN, "block_id": "b", "value": str(loop.id)}],
    }
    with caplog.at_level(logging.INFO):
        reply = bot.sender.post(urlencode({"payload": json.dumps(click)}))
        bot.settle()
    assert reply.status == 200, reply.text
    assert hits == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    said = [m.text for m in bot.fake.ephemeral_for(ana)]
    assert any("Noted: Loop #1" in (text or "") for text in said), said
