"""`slackbot demo`: a small team across time zones, and one loop closed the whole way round.

Friday's morning prompt in three zones opens loops; on Monday ana ships a fix with
`/shipped`, on Wednesday Loops comes back in the loop's thread, she says what happened
and what's next, and Thursday's prompt carries the loop on. Printed as each person sees it,
one scene a function.

Everything is real except Slack: the app serves its WSGI stack on a loopback port with
a throwaway SQLite database, the emulator sends it signed requests as Slack would, and
the clock runs the same pass as `slackbot tick --at`, at the times the story needs.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import UTC, datetime
from typing import TextIO

from slackbot.app.services import build_services
from slackbot.config import Settings
from slackbot.demo.stage import Demo, DemoFailed
from slackbot.fakeslack import FakeSlack
from slackbot.fakeslack.render import render_message, render_view
from slackbot.fakeslack.state import Message
from slackbot.slack.client import delivery_client
from slackbot.store.db import Database
from slackbot.store.migrate import upgrade
from slackbot.web import HttpServer, wsgi_app

# Thursday evening in UTC: Friday has not begun anywhere in the team yet.
START = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
TEAM = (("chen", "Asia/Kolkata"), ("ana", "Europe/Berlin"), ("ben", "America/New_York"))


def run_demo(out: TextIO) -> int:
    """Print the morning; exit status 1 if anything did not behave as the story says."""
    logging.getLogger().setLevel(logging.WARNING)
    with (
        tempfile.TemporaryDirectory(prefix="loops-demo-") as folder,
        FakeSlack(team_domain="loops-demo") as fake,
    ):
        url = f"sqlite:///{folder}/demo.db"
        database = Database(url)
        upgrade(database)
        # The team's channel: the daily thread and Monday's digest go there.
        product = fake.add_channel("product", members=[], bot_is_member=True)
        settings = Settings(
            _env_file=None,
            slack_bot_token=fake.bot_token,
            slack_signing_secret=fake.signing_secret,
            slack_api_url=fake.api_url,
            database_url=url,
            loops_digest_channel=product.id,
            loops_team_tz="Europe/Berlin",
        )
        services = build_services(settings, database, delivery_client(settings))
        server = HttpServer(wsgi_app(settings, database, services)).start()
        demo = Demo(out, fake, services, settings, server.url)
        try:
            _the_story(demo)
        except DemoFailed as failure:
            demo.problems.append(str(failure))
        finally:
            server.stop()
            services.shutdown()
            database.dispose()
    if demo.problems:
        out.write("\nThe demo found problems:\n" + "\n".join(f"  - {p}" for p in demo.problems) + "\n")
        return 1
    out.write(
        "\nEvery prompt went out once, at each person's 09:30; every answer is a loop with its thread;\n"
        "and ana's loop went the whole way round: problem, ship, check-in two workdays later, "
        "outcome, next.\n"
    )
    return 0


def _the_story(demo: Demo) -> None:
    _cast(demo)
    _friday_kolkata(demo)
    _friday_berlin(demo)
    _friday_new_york(demo)
    _monday_review(demo)
    loop = _monday_ship(demo)
    _tuesday(demo, loop)
    _wednesday_checkin(demo, loop)
    _thursday(demo)
    _closing_the_loop(demo, loop)


def _cast(demo: Demo) -> None:
    demo.say(
        "Loops demo: one Friday for a team in three time zones. Slack is played by the bundled emulator;"
    )
    demo.say("the app, its database and its clock are the real ones.")
    for name, tz in TEAM:
        demo.people[name] = demo.fake.add_user(name=name, tz=tz)
    demo.say("Team: " + ", ".join(f"{name} ({tz})" for name, tz in TEAM))


def _friday_kolkata(demo: Demo) -> None:
    """Everyone opts in; at chen's 09:30 (Kolkata) he answers with the modal."""
    demo.step(START, "everyone opts in")
    for name, _ in TEAM:
        demo.command(name, "/loops start")

    chen_due = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
    demo.step(chen_due, "09:30 in Kolkata")
    demo.tick(chen_due)
    prompt = demo.latest_prompt("chen")
    demo.expect(not demo.prompts("ana") and not demo.prompts("ben"), "someone was prompted at Kolkata's time")
    demo.say("   chen presses [ Something's broken ]; a modal opens:")
    demo.sender.click(demo.people["chen"].id, prompt, action_id="prompt_broken")
    (modal,) = demo.fake.views_of(demo.people["chen"].id)
    demo.show(render_view(modal.payload))
    demo.say("   chen fills it in and presses [ Open loop ]")
    demo.sender.submit_view(
        demo.people["chen"].id,
        modal.id,
        {
            "what.text": "OTP SMS arrive minutes late",
            "for_whom.text": "new sign-ups in India",
            "evidence.text": "Support: 38 tickets this week; the SMS provider's delivery report",
        },
    )
    demo.services.settle()
    demo.show_dm("chen")


def _friday_berlin(demo: Demo) -> None:
    """At ana's 09:30 (Berlin) she answers in the prompt's thread; answered, she gets no nudge."""
    ana_due = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)
    demo.step(ana_due, "09:30 in Berlin")
    demo.tick(ana_due)
    prompt = demo.latest_prompt("ana")
    demo.say("   ana answers in the prompt's thread:")
    demo.show(["Checkout fails after the address step", "for: customers paying with <SEPA> & cards"])
    demo.sender.user_message(
        demo.people["ana"].id,
        "Checkout fails after the address step\nfor: customers paying with <SEPA> & cards",
        thread_ts=prompt.ts,
    )
    demo.services.settle()
    demo.show_dm("ana")

    nudge_time = datetime(2026, 11, 27, 11, 30, tzinfo=UTC)
    demo.step(nudge_time, "three hours after Berlin's prompt: answered, so no nudge")
    demo.tick(nudge_time)
    demo.expect(not [m for m in demo.dm("ana") if "Still there?" in m.text], "ana was nudged after answering")


def _friday_new_york(demo: Demo) -> None:
    """ben (New York) does not answer: one nudge; the team's daily thread has the shared answers."""
    ben_due = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
    demo.step(ben_due, "09:30 in New York")
    demo.tick(ben_due)
    demo.latest_prompt("ben")
    ben_nudge = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)
    demo.step(ben_nudge, "ben hasn't answered after three hours: one nudge, in the prompt's thread")
    demo.tick(ben_nudge)
    demo.tick(ben_nudge.replace(minute=45))
    demo.show_dm("ben")
    nudges = [m for m in demo.dm("ben") if "Still there?" in m.text]
    demo.expect(len(nudges) == 1, f"ben got {len(nudges)} nudges")
    daily = [m for m in demo.fake.messages(channel=demo.channel) if "What's broken today" in m.text]
    demo.expect(len(daily) == 1, f"{len(daily)} daily threads on Friday, expected 1")
    demo.say("   the team's daily thread, opened at 09:30 in Berlin; each shared answer joined it:")
    demo.show_channel(daily)


def _monday_review(demo: Demo) -> None:
    """Monday's prompt lists ana's open loop; she says it is still broken."""
    monday = datetime(2026, 11, 30, 8, 30, tzinfo=UTC)
    demo.step(monday, "Monday, 09:30 in Berlin: the prompt reviews ana's open loop")
    demo.tick(monday)
    prompt = demo.latest_prompt("ana")
    demo.show(render_message({"text": prompt.text, "blocks": prompt.blocks}))
    demo.say("   ana presses [ Still broken ] under Loop #1")
    demo.sender.click(demo.people["ana"].id, prompt, action_id="loop_still_broken")
    demo.services.settle()

    demo.say("   and sees (only visible to her):")
    demo.show(render_message({"text": demo.fake.ephemeral_for(demo.people["ana"].id)[-1].text}))

    for name, _ in TEAM:
        count, expected = len(demo.prompts(name)), 2 if name == "ana" else 1
        demo.expect(count == expected, f"{name} got {count} prompts, expected {expected}")


def _monday_ship(demo: Demo) -> Message:
    """ana ships a fix with `/shipped #1 … expect: …`; the loop's thread says so. Returns its root."""
    shipped_at = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    demo.step(shipped_at, "Monday 16:00 in Berlin: ana ships a fix for Loop #1")
    demo.command(
        "ana",
        "/shipped #1 Keep the address step's session alive across the 3-D Secure redirect "
        "expect: SEPA and card payments complete after the address step; checkout errors under 1%",
    )
    (loop,) = [m for m in demo.dm("ana") if m.text.startswith("Loop #1")]
    demo.say("   the loop's thread now reads:")
    demo.show_thread("ana", loop)

    return loop


def _tuesday(demo: Demo, loop: Message) -> None:
    """One workday later: too early for the check-in; the month's first workday brings the reflection."""
    ana = demo.people["ana"].id
    tuesday = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    demo.step(tuesday, "Tuesday 09:30 in Berlin: one workday later, too early to ask")
    demo.tick(tuesday)
    demo.expect(not demo.checkins("ana", loop), "the check-in came a day early")
    demo.say("   nothing new is broken for ana today: she presses [ Nothing today ]")
    demo.sender.click(ana, demo.latest_prompt("ana"), action_id="prompt_nothing")
    demo.services.settle()
    looking_back = [m for m in demo.dm("ana") if m.text.startswith("Last month you shipped")]
    demo.expect(len(looking_back) == 1, "no monthly reflection on December's first workday")
    if looking_back:
        demo.say("   December's first workday: Loops also looks back on November, in ana's DM:")
        demo.show(render_message({"text": looking_back[0].text, "blocks": looking_back[0].blocks}))


def _wednesday_checkin(demo: Demo, loop: Message) -> None:
    """Two workdays after the ship, the check-in comes in the loop's thread, and ana answers it."""
    ana = demo.people["ana"].id
    wednesday = datetime(2026, 12, 2, 8, 30, tzinfo=UTC)
    demo.step(wednesday, "Wednesday 09:30 in Berlin: two workdays after the ship, Loops comes back")
    demo.tick(wednesday)
    checkins = demo.checkins("ana", loop)
    demo.expect(len(checkins) == 1, f"{len(checkins)} check-ins on Wednesday, expected 1")
    if not checkins:
        raise DemoFailed("no check-in arrived")
    question = checkins[0]
    demo.say("   in the loop's thread (also sent to the conversation, so ana is notified):")
    demo.show(render_message({"text": question.text, "blocks": question.blocks}))

    answered_at = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    demo.step(answered_at, "ana presses [ Yes, it changed ]; a short form opens")
    demo.sender.click(ana, question, action_id="checkin_changed")
    demo.services.settle()
    modal = demo.fake.views_of(ana)[-1]
    demo.show(render_view(modal.payload))
    demo.say("   she fills it in, leaves 'close the loop' unticked, and presses [ Save ]")
    demo.sender.submit_view(
        ana,
        modal.id,
        {
            "checkin_happened.text": "Checkout errors fell from 4.1% to 0.6%; SEPA completes, but cards "
            "from one bank still time out",
            "checkin_next.text": "Ask that bank's issuer about the 3-D Secure timeout",
        },
    )
    demo.services.settle()
    demo.say("   the loop's thread is now its story:")
    demo.show_thread("ana", loop)
    demo.expect(
        any(m.text.startswith("Yes, it changed: I shipped") for m in demo.thread("ana", loop)),
        "the answer was not read back in the thread",
    )


def _thursday(demo: Demo) -> None:
    """The prompt carries the loop on with its next step."""
    thursday = datetime(2026, 12, 3, 8, 30, tzinfo=UTC)
    demo.step(thursday, "Thursday 09:30 in Berlin: the prompt carries the loop on with its next step")
    demo.tick(thursday)
    prompt = demo.latest_prompt("ana")
    demo.show(render_message({"text": prompt.text, "blocks": prompt.blocks}))
    demo.expect("Next:" in str(prompt.blocks), "the prompt did not show the loop's next step")


def _closing_the_loop(demo: Demo, loop: Message) -> None:
    """The next step ships, the check-in says it worked, the loop closes; then her history."""
    ana = demo.people["ana"].id
    demo.step(datetime(2026, 12, 3, 14, 0, tzinfo=UTC), "Thursday 15:00 in Berlin: ana ships the next step")
    demo.command(
        "ana",
        "/shipped #1 The issuer raised its 3-D Secure timeout to 30 s "
        "expect: cards from that bank complete; checkout errors under 0.5%",
    )
    monday = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)
    demo.step(monday, "Monday 09:30 in Berlin: two workdays later, the second check-in")
    demo.tick(monday)
    checkins = demo.checkins("ana", loop)
    demo.expect(len(checkins) == 2, f"{len(checkins)} check-ins by Monday, expected 2")
    if len(checkins) < 2:
        raise DemoFailed("the second check-in did not arrive")
    demo.step(datetime(2026, 12, 7, 9, 0, tzinfo=UTC), "ana presses [ Yes, it changed ] and closes the loop")
    demo.sender.click(ana, checkins[-1], action_id="checkin_changed")
    demo.services.settle()
    modal = demo.fake.views_of(ana)[-1]
    demo.sender.submit_view(
        ana,
        modal.id,
        {
            "checkin_happened.text": "Checkout errors 0.4% for a week; that bank's cards complete",
            "checkin_closed.text": ["close"],
        },
    )
    demo.services.settle()
    demo.say("   the loop's thread ends:")
    (outcome,) = demo.thread("ana", loop)[-1:]
    demo.show(render_message({"text": outcome.text, "blocks": outcome.blocks}))
    demo.expect("Loop closed." in outcome.text, "the thread did not say the loop closed")
    summary = demo.command("ana", "/loops")
    shown = str(summary.get("blocks"))
    demo.expect("Problem → ship" in shown, "/loops did not show how long loops take")
    demo.expect("Recently closed" in shown, "/loops did not show the closed loop")
    demo.say("   ana opens the Loops app's Home tab:")
    demo.sender.open_home(ana)
    demo.services.settle()
    home = demo.fake.home_view(ana)
    demo.expect(home is not None, "the Home tab was not published")
    if home is not None:
        demo.show(render_view(home.payload))
        demo.expect("Your last four weeks" in str(home.payload), "the Home tab has no squares")
    digests = [
        m
        for m in demo.fake.messages(channel=demo.channel)
        if m.text.startswith("Loops: the week of") and m.thread_ts in (None, m.ts)
    ]
    demo.expect(len(digests) == 2, f"{len(digests)} Monday digests, expected 2 (30 November, 7 December)")
    if digests:
        demo.say("\n   Monday 09:00 in Berlin, Loops also posted the team digest of last week:")
        demo.show_channel(digests[-1:])
