"""Who gets prompted without asking: LOOPS_CHANNEL's members, and everyone's time zone kept fresh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import NoResultFound

from slackbot.fakeslack import FakeSlack
from tests.support.bot import Bot, BotFactory
from tests.support.story import FRIDAY, enrol

DUE = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)
# Thursday 20:00 UTC is 01:30 on Friday in Kolkata: the Friday prompt is still to come.
BEFORE_KOLKATA_FRIDAY = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)


def test_channel_members_are_enrolled_except_bots_the_deactivated_and_who_said_stop(
    make_bot: BotFactory, fake: FakeSlack
) -> None:
    ana = fake.add_user(name="ana", tz="Europe/Berlin")
    ben = fake.add_user(name="ben", tz="America/New_York")
    robot = fake.add_user(name="deploybot", is_bot=True)
    gone = fake.add_user(name="gone", deleted=True)
    carla = fake.add_user(name="carla", tz="Europe/Rome")
    channel = fake.add_channel(name="product", members=[ana.id, ben.id, robot.id, gone.id, carla.id])
    bot = make_bot(loops_channel=channel.id)
    bot.services.clock = lambda: FRIDAY
    bot.command(carla.id, "/loops stop")  # never enrolled; says she does not want it
    report = bot.tick(DUE - timedelta(hours=1))
    assert report.roster.enrolled == 2
    enrolled = {u for u in (ana.id, ben.id, robot.id, gone.id, carla.id) if _enrolled(bot, u)}
    assert enrolled == {ana.id, ben.id}
    assert bot.person(ben.id).tz == "America/New_York"
    # Ben leaves the channel: the channel enrolled him, so it unenrols him (at the hourly pass).
    with bot.fake.state.lock:
        channel.members.remove(ben.id)
    bot.tick(DUE - timedelta(minutes=10))
    assert _enrolled(bot, ben.id), "the channel is read at most hourly"
    bot.tick(DUE + timedelta(minutes=1))
    assert not _enrolled(bot, ben.id)
    assert _enrolled(bot, ana.id)
    assert len(bot.prompts(ana.id)) == 1
    assert bot.prompts(ben.id) == []


def _enrolled(bot: Bot, user_id: str) -> bool:
    try:
        return bool(bot.person(user_id).enrolled)
    except NoResultFound:
        return False


def test_a_moved_person_is_found_by_the_daily_resync(make_bot: BotFactory) -> None:
    bot = make_bot()
    bot.services.clock = lambda: BEFORE_KOLKATA_FRIDAY
    ana = enrol(bot, "ana", "Asia/Kolkata")  # 09:30 IST is 04:00 UTC
    bot.tick(datetime(2026, 11, 27, 4, 0, tzinfo=UTC))
    assert len(bot.prompts(ana)) == 1
    bot.fake.update_user(ana, tz="America/Los_Angeles")  # no user_change event reaches us
    bot.tick(datetime(2026, 11, 27, 5, 0, tzinfo=UTC))
    assert bot.person(ana).tz == "Asia/Kolkata", "checked less than a day ago"
    bot.tick(datetime(2026, 11, 28, 5, 0, tzinfo=UTC))
    assert bot.person(ana).tz == "America/Los_Angeles"
    # Monday 09:30 in Los Angeles.
    assert bot.person(ana).next_prompt_at == datetime(2026, 11, 30, 17, 30, tzinfo=UTC)


def test_moving_by_user_change_on_the_day_of_the_prompt_gives_one_prompt_that_day(
    make_bot: BotFactory,
) -> None:
    bot = make_bot()
    bot.services.clock = lambda: BEFORE_KOLKATA_FRIDAY
    ana = enrol(bot, "ana", "Asia/Kolkata")
    bot.tick(datetime(2026, 11, 27, 4, 0, tzinfo=UTC))  # Friday's prompt in Kolkata
    bot.services.clock = lambda: datetime(2026, 11, 27, 6, 0, tzinfo=UTC)  # she flies the same morning
    moved = bot.fake.update_user(ana, tz="America/Los_Angeles")
    bot.sender.event({"type": "user_change", "user": moved.to_api()})
    # Friday 09:30 in Los Angeles is 17:30 UTC: the same local date, so no second prompt.
    for hour in (12, 17, 18, 23):
        bot.tick(datetime(2026, 11, 27, hour, 30, tzinfo=UTC))
    assert len(bot.prompts(ana)) == 1
    bot.tick(datetime(2026, 11, 30, 17, 30, tzinfo=UTC))
    assert len(bot.prompts(ana)) == 2
