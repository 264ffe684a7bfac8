"""The tables of Loops, as SQLAlchemy 2 typed models.

Times are always UTC-aware datetimes in Python and UTC in the database; the local
time of a person exists only at the edges (rendering, schedule maths).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime that is UTC in the database and timezone-aware in Python.

    SQLite has no timezone type, so values are stored there as naive UTC; a naive
    datetime from our own code is a bug (whose local time would it be?) and is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store keeps UTC-aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Named constraints keep Alembic migrations portable (SQLite batch mode needs names).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Workspace(Base):
    """A Slack team the bot is installed in; every other row hangs off one."""

    __tablename__ = "workspace"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), unique=True)
    # Its Enterprise Grid org (None outside one): its install is saved, and found, under it.
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(255))
    # auth.test's `url` (`https://acme.slack.com/`): links to threads without a call per link.
    url: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uninstalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Last pass over LOOPS_CHANNEL's members (automatic enrolment).
    channel_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where the weekly digest and the daily thread go (`/loops digest #channel`, by an admin);
    # None: LOOPS_DIGEST_CHANNEL, if set.
    digest_channel: Mapped[str | None] = mapped_column(String(32))

    people: Mapped[list[Person]] = relationship(back_populates="workspace")


class Person(Base):
    """Someone in a workspace the bot talks to; holds their own schedule."""

    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("workspace_id", "slack_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    slack_user_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(255))
    # IANA name from users.info (never a fixed offset); None until first looked up.
    tz: Mapped[str | None] = mapped_column(String(64))
    tz_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # None means "the workspace default from settings".
    prompt_time: Mapped[time | None] = mapped_column(Time)
    workdays: Mapped[str | None] = mapped_column(String(32))
    # False once the person set their own zone in /loops settings: Slack's no longer moves it.
    follows_slack_tz: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # One reminder in an unanswered prompt's thread (LOOPS_NUDGE_AFTER), unless turned off.
    nudges: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The person's own default wait before a check-in (`workdays:2`); None: LOOPS_CHECKIN_AFTER.
    checkin_after: Mapped[str | None] = mapped_column(String(16))
    enrolled: Mapped[bool] = mapped_column(Boolean, default=False)
    # "self" (/loops start, the Home tab) or "channel" (member of LOOPS_CHANNEL).
    enrolled_by: Mapped[str | None] = mapped_column(String(16))
    # Said /loops stop: the channel sync must not enrol them again.
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The first local date with prompts again; date.max pauses until /loops resume.
    paused_until: Mapped[date | None] = mapped_column(Date)
    # The next prompt opens with "welcome back" (set when a pause ends).
    welcome_back: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    deactivated: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why Slack refuses messages to this person (user_not_found, …); prompts stop until cleared.
    blocked_reason: Mapped[str | None] = mapped_column(Text)
    dm_channel: Mapped[str | None] = mapped_column(String(32))
    # First time the person opened the App Home tab: only then is it worth redrawing after a
    # command (views.publish is Tier 4, and a tab nobody opened is never seen).
    home_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_prompt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Their loops (other than private ones) appear in the team digest and the daily thread.
    in_digest: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Moves on whenever their ships change: stored figures of another version no longer hold.
    figures_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the export on its way was started (store/export.py): one at a time, in every process.
    export_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    workspace: Mapped[Workspace] = relationship(back_populates="people")


class Loop(Base):
    """One problem, from "what's broken, for whom" to what happened after the fix."""

    __tablename__ = "loop"
    __table_args__ = (
        UniqueConstraint("person_id", "number"),
        UniqueConstraint("person_id", "source"),
        Index("ix_loop_thread", "workspace_id", "channel", "thread_ts"),
        # /loops open, closed and month read one person's loops in one state, newest first.
        Index("ix_loop_person_state", "person_id", "state", "opened_at"),
        # The recently closed ones, newest first, without sorting every closed loop.
        Index("ix_loop_person_closed", "person_id", "closed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    # "Loop #N" as the owner sees it: numbered per person, from 1.
    number: Mapped[int] = mapped_column(Integer)
    what: Mapped[str] = mapped_column(Text)
    for_whom: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="open")
    # Never in the team digest or the daily thread, whatever the owner's setting.
    private: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the owner said they will do next (a check-in's answer); the prompt shows it.
    next_step: Mapped[str | None] = mapped_column(Text)
    # The Slack thread that holds this loop's story.
    channel: Mapped[str | None] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    # What opened it ("view:V…" or "message:<ts>"): a retried submission opens it once.
    source: Mapped[str | None] = mapped_column(String(64))
    prompt_id: Mapped[int | None] = mapped_column(
        ForeignKey("delivery.id", ondelete="SET NULL", use_alter=True)
    )


class Entry(Base):
    """One line of a loop's history; `slack_ts` makes a retried event land once."""

    __tablename__ = "entry"
    __table_args__ = (UniqueConstraint("loop_id", "slack_ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    loop_id: Mapped[int] = mapped_column(ForeignKey("loop.id", ondelete="CASCADE"), index=True)
    # Indexed for /loops search, which reads one person's entries and nobody else's.
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Shipment(Base):
    """What went out for a loop, what should change, and when to look (see core.shipments)."""

    __tablename__ = "shipment"
    __table_args__ = (
        UniqueConstraint("person_id", "source"),
        # The figures and /loops month read one person's ships in a window of time.
        Index("ix_shipment_person_shipped", "person_id", "shipped_at"),
        # Unwatched ships are counted on every /loops and Home tab.
        Index("ix_shipment_person_state", "person_id", "state"),
        # /loops and the Home tab read the ships of one page of the person's loops.
        Index("ix_shipment_person_loop", "person_id", "loop_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    loop_id: Mapped[int | None] = mapped_column(ForeignKey("loop.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    what: Mapped[str] = mapped_column(Text)
    expected_change: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    # waiting → answered | unwatched (ShipmentState); "draft" holds a long /shipped's text.
    state: Mapped[str] = mapped_column(String(16), default="waiting", server_default="waiting")
    # What recorded it ("view:V…", "command:<trigger>"): a retried submission stores it once.
    source: Mapped[str | None] = mapped_column(String(64))
    # The current ask: its number, and the person's local date it is due on.
    asks: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    checkin_on: Mapped[date | None] = mapped_column(Date)
    cant_tell_streak: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The answer that settled it (core.shipments.CheckinAnswer) and the loop's next step then.
    outcome: Mapped[str | None] = mapped_column(Text)
    next_step: Mapped[str | None] = mapped_column(Text)
    shipped_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The loop's first shipment (problem → ship counts it): set once when recorded, so the
    # figures read a window of ships and never rank a whole history.
    first_of_loop: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Its distances, kept as they become known (core.figures): problem → ship when recorded,
    # ship → outcome when an answer settles it, and whether any ask was answered.
    problem_days: Mapped[float | None] = mapped_column(Float)
    outcome_days: Mapped[float | None] = mapped_column(Float)
    watched: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unwatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CheckIn(Base):
    """One ask of a shipment's check-in and its answer; (shipment, ask) keeps a double submit to one."""

    __tablename__ = "checkin"
    __table_args__ = (
        UniqueConstraint("shipment_id", "ask"),
        # The Home tab and the prompt list the asks still waiting on a person, oldest first.
        Index("ix_checkin_person_waiting", "person_id", "answered_at", "asked_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipment.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    ask: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    # When the question reached Slack (give-up counts from here).
    asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(String(16))
    what_happened: Mapped[str | None] = mapped_column(Text)
    next_step: Mapped[str | None] = mapped_column(Text)
    # Asked after "can't tell yet" twice in a row: what would make it tellable.
    tellable: Mapped[str | None] = mapped_column(Text)
    closes_loop: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PersonFigures(Base):
    """A person's three distances, worked out by the clock once a day (and again after a change),
    so `/loops` and the Home tab read one row instead of the ships of 180 days."""

    __tablename__ = "person_figures"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    # The UTC date they were worked out for, and the person's figures_version then: another
    # day's, or another version's, are worked out again.
    computed_on: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)
    # core.figures.Figures of the last 90 days and of the 90 before, as JSON.
    recent: Mapped[str] = mapped_column(Text)
    previous: Mapped[str] = mapped_column(Text)


class SearchTerm(Base):
    """A word of a loop's text or story (core.parse.search_terms): `/loops search` reads these,
    a range of one person's index, instead of every entry they ever wrote."""

    __tablename__ = "search_term"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    # Byte order on PostgreSQL too, so a prefix is one range of the index whatever the locale.
    term: Mapped[str] = mapped_column(
        String(64).with_variant(String(64, collation="C"), "postgresql"), primary_key=True
    )
    loop_id: Mapped[int] = mapped_column(
        ForeignKey("loop.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Reflection(Base):
    """The monthly reflection's answer: one thing that changed because of something shipped."""

    __tablename__ = "reflection"
    __table_args__ = (UniqueConstraint("person_id", "source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    # The month looked back on (`2026-11`), as the person's local calendar has it.
    month: Mapped[str] = mapped_column(String(7))
    text: Mapped[str] = mapped_column(Text)
    # What recorded it ("view:V…"): a retried submission stores it once.
    source: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    """A message the clock owes someone; the unique key makes planning idempotent."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("kind", "person_id", "key"),
        Index("ix_delivery_ready", "state", "ready_at"),
        Index("ix_delivery_sent", "channel", "slack_ts"),
        # Owed to a workspace, not a person (TEAM_KINDS): once per (kind, workspace, key).
        Index(
            "uq_delivery_team_kind",
            "kind",
            "workspace_id",
            "key",
            unique=True,
            sqlite_where=text("person_id IS NULL"),
            postgresql_where=text("person_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    # None for what is owed to the workspace: the weekly digest, the daily thread.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    # The person's local date for daily messages, the shipment id for check-ins.
    key: Mapped[str] = mapped_column(String(64))
    # When it is owed (catch-up windows count from here) and when it may next be tried.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ready_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # pending → claimed → sent | failed | missed | skipped
    state: Mapped[str] = mapped_column(String(16), default="pending")
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Wall-clock start of the earliest attempt that may have posted and has not been looked
    # for since (the first attempt, at first): where to look in Slack for a lost post.
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An attempt began whose outcome we never learned (timeout, 5xx, the process died):
    # the message may be in Slack already, so look before posting again.
    maybe_posted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    last_error: Mapped[str | None] = mapped_column(Text)
    loop_id: Mapped[int | None] = mapped_column(ForeignKey("loop.id", ondelete="CASCADE"))
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipment.id", ondelete="CASCADE"))
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkin.id", ondelete="CASCADE"))
    channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # For prompts: how and when the person answered (see core.loops.PromptAnswer).
    answer: Mapped[str | None] = mapped_column(String(16))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ForgottenPerson(Base):
    """Someone who said `/loops forget-me`: only a one-way fingerprint of their Slack id
    (store/leaving.py), so joining LOOPS_CHANNEL's sync does not sign them up again."""

    __tablename__ = "forgotten_person"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    forgotten_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SeenEvent(Base):
    """An Events API `event_id` already handled: Slack retries, we act once."""

    __tablename__ = "seen_event"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


# -- installations (OAuth mode) ------------------------------------------------------------
# slack-sdk's SQLAlchemy installation and state stores read and write these tables by name,
# with their own Table objects; the schema is ours, made by our migrations (never by the stores'
# create_tables()), with room for encrypted tokens (a sealed xoxb- token is ~230 characters,
# past the 200 slack-sdk declares). tests/test_installations.py checks that every column
# slack-sdk's tables have is here.

_TOKEN = Text  # a Fernet-sealed token (core/sealing.py) is longer than slack-sdk's String(200)

slack_installations = Table(
    "slack_installations",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", String(32), nullable=False),
    Column("app_id", String(32), nullable=False),
    Column("enterprise_id", String(32)),
    Column("enterprise_name", String(200)),
    Column("enterprise_url", String(200)),
    Column("team_id", String(32)),
    Column("team_name", String(200)),
    Column("bot_token", _TOKEN),
    Column("bot_id", String(32)),
    Column("bot_user_id", String(32)),
    Column("bot_scopes", String(1000)),
    Column("bot_refresh_token", _TOKEN),
    Column("bot_token_expires_at", DateTime),
    Column("user_id", String(32), nullable=False),
    Column("user_token", _TOKEN),
    Column("user_scopes", String(1000)),
    Column("user_refresh_token", _TOKEN),
    Column("user_token_expires_at", DateTime),
    Column("incoming_webhook_url", String(200)),
    Column("incoming_webhook_channel", String(200)),
    Column("incoming_webhook_channel_id", String(200)),
    Column("incoming_webhook_configuration_url", String(200)),
    Column("is_enterprise_install", Boolean, nullable=False),
    Column("token_type", String(32)),
    Column("installed_at", DateTime, nullable=False),
    Index("slack_installations_idx", "client_id", "enterprise_id", "team_id", "user_id", "installed_at"),
)

slack_bots = Table(
    "slack_bots",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", String(32), nullable=False),
    Column("app_id", String(32), nullable=False),
    Column("enterprise_id", String(32)),
    Column("enterprise_name", String(200)),
    Column("team_id", String(32)),
    Column("team_name", String(200)),
    Column("bot_token", _TOKEN),
    Column("bot_id", String(32)),
    Column("bot_user_id", String(32)),
    Column("bot_scopes", String(1000)),
    Column("bot_refresh_token", _TOKEN),
    Column("bot_token_expires_at", DateTime),
    Column("is_enterprise_install", Boolean, nullable=False),
    Column("installed_at", DateTime, nullable=False),
    Index("slack_bots_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
)

slack_oauth_states = Table(
    "slack_oauth_states",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("state", String(200), nullable=False),
    Column("expire_at", DateTime, nullable=False),
)
