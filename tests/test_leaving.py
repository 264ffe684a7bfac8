"""Leaving: a workspace that uninstalls (and maybe comes back), `/loops forget-me`, and
accounts Slack deactivates. End to end over HTTP, on both databases."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from slackbot.fakeslack import FakeSlack
from slackbot.store.db import Database
from slackbot.store.models import (
    Base,
    CheckIn,
    Delivery,
    Entry,
    ForgottenPerson,
    Loop,
    Person,
    PersonFigures,
    Reflection,
    SearchTerm,
    Shipment,
    Workspace,
    slack_bots,
    slack_installations,
)
from tests.support.bot import Bot, BotFactory
from tests.support.oauth import install, oauth_bot
from tests.support.story import FRIDAY, MONDAY, WEDNESDAY_DUE, at, checkins, enrol, ship_quick, with_loop

PEOPLE_TABLES: tuple[type[Any], ...] = (
    Person,
    Loop,
    Entry,
    Shipment,
    CheckIn,
    Delivery,
    Reflection,
    SearchTerm,
    PersonFigures,
)

ALL_TABLES: tuple[type[Any], ...] = (*PEOPLE_TABLES, Workspace)


@pytest.fixture
def team(make_bot: BotFactory) -> Bot:
    bot = make_bot()
    bot.services.clock = lambda: FRIDAY
    return bot


def rows(database: Database, model: type[Base], **where: object) -> int:
    with database.session() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(session.scalar(query) or 0)


def pending(team: Bot) -> list[tuple[str, str]]:
    with team.database.session() as session:
        return [
            (d.kind, d.state) for d in session.scalars(select(Delivery).where(Delivery.state == "pending"))
        ]


def uninstall(team: Bot, event: str = "app_uninstalled") -> None:
    body = (
        {"type": event}
        if event == "app_uninstalled"
        else {"type": event, "tokens": {"bot": [team.fake.bot_user_id]}}
    )
    assert team.sender.event(body).status == 200
    team.settle()


def test_an_uninstall_withdraws_everything_owed_and_the_clock_deletes_the_data_after_the_retention(
    team: Bot,
) -> None:
    ana, _loop = with_loop(team)
    ship_quick(team, ana)  # Monday; the check-in is owed on Wednesday
    assert ("checkin", "pending") in pending(team)
    uninstall(team)
    with team.database.session() as session:
        workspace = session.scalars(select(Workspace)).one()
        assert workspace.uninstalled_at == MONDAY
        withdrawn = session.scalars(select(Delivery).where(Delivery.kind == "checkin")).one()
    assert (withdrawn.state, withdrawn.last_error) == ("skipped", "the workspace uninstalled Loops")
    assert pending(team) == []

    team.fake.reset_calls()
    team.tick(WEDNESDAY_DUE)
    team.tick(MONDAY + timedelta(days=29, hours=23))
    assert team.fake.calls() == [], "not one Slack call for a workspace that left"
    assert rows(team.database, Loop) == 1, "kept for the retention, in case it comes back"

    report = team.tick(MONDAY + timedelta(days=30))
    assert report.purged == [team.fake.team_id]
    for model in ALL_TABLES:
        assert rows(team.database, model) == 0, model.__name__
    assert team.fake.calls() == []


def test_a_reinstall_within_the_retention_restores_the_data_and_what_was_owed(team: Bot) -> None:
    ana, loop = with_loop(team)
    ship_quick(team, ana)
    uninstall(team)
    at(team, MONDAY + timedelta(hours=2))
    # Slack only sends a person's commands to an installed app: it was installed again.
    said = json.dumps(team.command(ana, "/loops"))
    assert "OTP SMS arrive late" in said
    with team.database.session() as session:
        assert session.scalars(select(Workspace)).one().uninstalled_at is None
    assert ("checkin", "pending") in pending(team)
    team.tick(WEDNESDAY_DUE)
    assert len(checkins(team, ana, loop)) == 1, "the check-in comes on its day as if nothing happened"
    team.tick(MONDAY + timedelta(days=31))
    assert rows(team.database, Loop) == 1, "a workspace that came back is never purged"


def test_tokens_revoked_for_the_bot_is_an_uninstall_and_for_user_tokens_is_nothing(team: Bot) -> None:
    ana = enrol(team, "ana", "Europe/Berlin")
    team.sender.event({"type": "tokens_revoked", "tokens": {"oauth": [ana]}})
    with team.database.session() as session:
        assert session.scalars(select(Workspace)).one().uninstalled_at is None
    at(team, MONDAY)
    uninstall(team, "tokens_revoked")
    with team.database.session() as session:
        assert session.scalars(select(Workspace)).one().uninstalled_at == MONDAY


def test_a_retention_of_zero_deletes_at_once(make_bot: BotFactory) -> None:
    team = make_bot(loops_retention_after_uninstall="0")
    team.services.clock = lambda: FRIDAY
    _ana, _loop = with_loop(team)
    uninstall(team)
    for model in ALL_TABLES:
        assert rows(team.database, model) == 0, model.__name__


def installed_with_oauth(make_bot: BotFactory, fake: FakeSlack) -> Bot:
    """A bot in OAuth mode on Friday, installed by the workspace's owner."""
    team = oauth_bot(make_bot, fake)
    team.services.clock = lambda: FRIDAY
    fake.add_user(name="owner", tz="Europe/Berlin")  # presses Allow
    assert install(team).status == 200
    return team


def test_oauth_uninstall_removes_the_install_with_bolts_listener_and_a_reinstall_brings_it_back(
    make_bot: BotFactory, fake: FakeSlack
) -> None:
    team = installed_with_oauth(make_bot, fake)
    ana, loop = with_loop(team, "ana")
    ship_quick(team, ana)
    uninstall(team)
    with team.database.session() as session:
        assert session.execute(select(func.count()).select_from(slack_bots)).scalar() == 0
        assert session.execute(select(func.count()).select_from(slack_installations)).scalar() == 0
    assert pending(team) == []
    team.fake.reset_calls()
    team.tick(WEDNESDAY_DUE - timedelta(days=1))
    assert [c.method for c in team.fake.calls()] == []

    assert install(team).status == 200
    with team.database.session() as session:
        assert session.scalars(select(Workspace)).one().uninstalled_at is None
    assert ("checkin", "pending") in pending(team)
    team.tick(WEDNESDAY_DUE)
    assert len(checkins(team, ana, loop)) == 1


def test_forget_me_says_what_goes_then_deletes_only_the_callers_data(team: Bot) -> None:
    ana, _loop = with_loop(team, "ana")
    ben, ben_loop = with_loop(team, "ben", "Europe/Paris")
    ship_quick(team, ana)
    team.sender.open_home(ana)
    team.settle()
    before_ben = {
        model.__name__: rows(team.database, model, person_id=team.person(ben).id)
        for model in PEOPLE_TABLES[1:]
    }

    assert team.sender.command(ana, "/loops", "forget-me").status == 200
    team.settle()
    (modal,) = team.fake.views_of(ana)
    words = json.dumps(modal.payload["blocks"])
    assert "1 loop and" in words and "1 shipment" in words
    assert "/loops export" in words
    assert rows(team.database, Loop, person_id=team.person(ana).id) == 1, (
        "nothing goes before the confirmation"
    )

    reply = team.sender.submit_view(ana, modal.id)
    assert reply.status == 200
    team.settle()
    with team.database.session() as session:
        assert session.scalars(select(Person.slack_user_id)).all() == [ben]
        for model in PEOPLE_TABLES[1:]:
            left = session.scalars(select(model)).all()
            assert all(row.person_id == team.person(ben).id for row in left), model.__name__
    after_ben = {
        model.__name__: rows(team.database, model, person_id=team.person(ben).id)
        for model in PEOPLE_TABLES[1:]
    }
    assert after_ben == before_ben
    done = team.fake.view(modal.id)
    assert "Done. Loops deleted" in json.dumps(done.payload["blocks"])
    assert "I've deleted everything I held about you" in team.dm(ana)[-1].text
    home = team.fake.home_view(ana)
    assert home is not None and "Loops holds nothing about you" in json.dumps(home.payload["blocks"])

    team.fake.reset_calls()
    team.tick(WEDNESDAY_DUE)
    assert not [
        c
        for c in team.fake.calls("chat.postMessage")
        if c.params.get("channel") in (ana, team.fake.dm_channel_id(ana))
    ]
    assert len(checkins(team, ben, ben_loop)) == 0, "ben shipped nothing; his loop is untouched"


def test_forget_me_for_someone_loops_never_met_changes_nothing(team: Bot) -> None:
    stranger = team.fake.add_user(name="stranger", tz="Europe/Berlin")
    said = json.dumps(team.command(stranger.id, "/loops forget-me"))
    assert "nothing to delete" in said
    assert team.fake.views_of(stranger.id) == []
    assert rows(team.database, Person) == 0


def test_the_channel_sync_does_not_sign_up_again_who_said_forget_me_until_they_start(
    make_bot: BotFactory, fake: FakeSlack
) -> None:
    ana = fake.add_user(name="ana", tz="Europe/Berlin")
    channel = fake.add_channel("product", members=[ana.id], bot_is_member=True)
    team = make_bot(loops_channel=channel.id)
    team.services.clock = lambda: FRIDAY
    team.tick(FRIDAY)
    assert team.person(ana.id).enrolled
    team.sender.command(ana.id, "/loops", "forget-me")
    team.settle()
    (modal,) = fake.views_of(ana.id)
    team.sender.submit_view(ana.id, modal.id)
    team.settle()
    with team.database.session() as session:
        (mark,) = session.scalars(select(ForgottenPerson)).all()
        assert ana.id not in mark.fingerprint, "only a one-way fingerprint is kept"
    team.tick(FRIDAY + timedelta(hours=2))  # the sync runs again an hour on
    assert rows(team.database, Person) == 0
    assert "You're in" in json.dumps(team.command(ana.id, "/loops start"))
    assert rows(team.database, ForgottenPerson) == 0


def test_a_deactivated_account_has_what_was_owed_withdrawn_at_once_and_back_when_active(team: Bot) -> None:
    ana, loop = with_loop(team)
    ship_quick(team, ana)
    gone = team.fake.update_user(ana, deleted=True)
    assert team.sender.event({"type": "user_change", "user": gone.to_api()}).status == 200
    assert pending(team) == [], "nothing goes out to a deactivated account"
    team.fake.reset_calls()
    team.tick(WEDNESDAY_DUE)
    assert team.fake.calls("chat.postMessage") == []
    back = team.fake.update_user(ana, deleted=False)
    at(team, WEDNESDAY_DUE + timedelta(hours=1))
    team.sender.event({"type": "user_change", "user": back.to_api()})
    assert ("checkin", "pending") in pending(team)
    team.tick(WEDNESDAY_DUE + timedelta(hours=1))
    assert len(checkins(team, ana, loop)) == 1


def test_retention_is_read_as_days() -> None:
    from slackbot.config import Settings, SettingsError, load_settings

    assert Settings(
        _env_file=None, loops_retention_after_uninstall="7d"
    ).loops_retention_after_uninstall == timedelta(days=7)
    assert Settings(
        _env_file=None, loops_retention_after_uninstall="0"
    ).loops_retention_after_uninstall == timedelta(0)
    with pytest.raises(SettingsError, match="LOOPS_RETENTION_AFTER_UNINSTALL"):
        load_settings(loops_retention_after_uninstall="a month")
