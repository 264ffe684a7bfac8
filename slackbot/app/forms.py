"""What each modal's submission says, read and checked before anything is stored.

Every field of a form is read before any problem is raised, so the person sees all of them
at once as inline errors (`InvalidFields`), and nothing is stored while one is left.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

from slackbot.app.checkins import CheckinReply
from slackbot.app.loops import Broken
from slackbot.app.payloads import chosen, metadata, picked_date, picked_time, ticked, typed
from slackbot.app.people import PersonalSettings
from slackbot.app.shipments import Shipped
from slackbot.blocks.ids import (
    CLOSE_LOOP,
    FIELD_INPUT,
    IN_DIGEST_ON,
    KEEP_DAY,
    NUDGES_ON,
    PRIVATE_FIELD,
    PRIVATE_LOOP,
    CheckinField,
    Field,
    SettingsField,
    ShippedField,
)
from slackbot.core.errors import InvalidFields, InvalidInput
from slackbot.core.parse import FIELD_LIMIT, check_field
from slackbot.core.schedule import WEEKDAYS, known_zone
from slackbot.core.shipments import ASK_AGAIN, CheckinAnswer, Wait, parse_wait


class Form:
    """One submitted modal, read field by field; each problem is kept to be shown with the others."""

    def __init__(self, view: dict[str, Any]) -> None:
        self.view = view
        self.metadata = metadata(view.get("private_metadata") or "")
        self.problems: dict[str, str] = {}

    def text(self, field: str, label: str, *, required: bool) -> str | None:
        try:
            return check_field(label, typed(self.view, field, FIELD_INPUT), required=required, field=field)
        except InvalidInput as problem:
            self.problems.update(problem.fields)
            return None

    def wait(self, field: str, default: Wait, *, may_keep: bool = False) -> Wait | None:
        """The wait picked (`default` when none); None for "keep the day", offered only when editing."""
        value = self.choice(field)
        if value == KEEP_DAY and may_keep:
            return None
        try:
            return parse_wait(value) if value else default
        except ValueError:
            self.problems[field] = "Pick one of the choices."
            return default

    def choice(self, field: str) -> str | None:
        return chosen(self.view, field, FIELD_INPUT)

    def ticked(self, field: str) -> set[str]:
        return ticked(self.view, field, FIELD_INPUT)

    def day(self, field: str) -> date | None:
        return picked_date(self.view, field, FIELD_INPUT)

    def time(self, field: str) -> time | None:
        return picked_time(self.view, field, FIELD_INPUT)

    def check(self) -> None:
        """Raise every problem found, together; nothing is stored with one left."""
        if self.problems:
            raise InvalidFields(self.problems)


def read_broken(form: Form) -> Broken:
    """The "Something's broken" form: what, for whom (both needed), how we know, private or not."""
    what = form.text(Field.WHAT, "what's broken", required=True)
    for_whom = form.text(Field.FOR_WHOM, "for whom", required=True)
    evidence = form.text(Field.EVIDENCE, "how you know", required=False)
    form.check()
    assert what is not None
    return Broken(what, for_whom, evidence, private=PRIVATE_LOOP in form.ticked(PRIVATE_FIELD))


def read_shipped(
    form: Form, default_wait: Wait, *, editing: bool, kept_what: str | None, kept_expected: str | None
) -> Shipped:
    """The `/shipped` form (problems are left in `form` for the caller to check with the loop's).

    A stored text longer than an input holds (`kept_*`: typed into `/shipped`, or an edited
    shipment's) stays whole when the form still shows it as it was shown. Only an edit may keep
    the check-in's day.
    """
    what = _kept_whole(form.text(ShippedField.WHAT, "what shipped", required=True), kept_what)
    expected = form.text(ShippedField.EXPECTED, "what should change", required=True)
    expected = _kept_whole(expected, kept_expected)
    link = form.text(ShippedField.LINK, "the link", required=False)
    wait = form.wait(ShippedField.WAIT, default_wait, may_keep=editing)
    return Shipped(what or "", expected or "", link, wait, form.day(ShippedField.ON_DATE))


def _kept_whole(submitted: str | None, stored: str | None) -> str | None:
    if (
        submitted is not None
        and stored
        and len(stored) > FIELD_LIMIT
        and submitted == stored[:FIELD_LIMIT].strip()
    ):
        return stored
    return submitted


def read_checkin_answer(form: Form) -> CheckinAnswer | None:
    """Which answer: the button that opened the form, or (**Check it now**) the form's first input.

    None when the form's metadata names none that exists (a tampered form).
    """
    given = form.metadata.get("answer")
    try:
        if given is not None:
            return CheckinAnswer(str(given))
        picked = form.choice(CheckinField.ANSWER)
        if picked is None:
            form.problems[CheckinField.ANSWER] = (
                "Pick what happened: changed, no change, can't tell yet or worse."
            )
            form.check()  # the rest of the form depends on the answer
        return CheckinAnswer(str(picked))
    except ValueError:
        return None


def read_checkin_reply(form: Form, answer: CheckinAnswer, *, asks_tellable: bool) -> CheckinReply:
    """The check-in's form: what happened, what's next (needed unless the loop closes), and for
    "can't tell yet" when to ask again (and, the second time, what would make it tellable)."""
    happened = form.text(CheckinField.HAPPENED, "what happened", required=True)
    closes = answer is CheckinAnswer.CHANGED and CLOSE_LOOP in form.ticked(CheckinField.CLOSED)
    next_step = form.text(CheckinField.NEXT, "what's next", required=not closes)
    cant_tell = answer is CheckinAnswer.CANT_TELL
    tellable = None
    if cant_tell and asks_tellable:
        tellable = form.text(CheckinField.TELLABLE, "what would make it tellable", required=True)
    again = form.wait(CheckinField.ASK_AGAIN, ASK_AGAIN) if cant_tell else None
    form.check()
    assert happened is not None
    return CheckinReply(answer, happened, next_step, closes, again, tellable)


def read_settings(form: Form, default_wait: Wait) -> PersonalSettings:
    at = form.time(SettingsField.PROMPT_TIME)
    if at is None:
        form.problems[SettingsField.PROMPT_TIME] = "Pick a time, such as 09:30."
    days = form.ticked(SettingsField.WORKDAYS)
    workdays = frozenset(WEEKDAYS.index(d) for d in days if d in WEEKDAYS)
    if not workdays or len(workdays) != len(days):
        form.problems[SettingsField.WORKDAYS] = "Pick at least one workday."
    typed_zone = (typed(form.view, SettingsField.TZ, FIELD_INPUT) or "").strip()
    if typed_zone and not known_zone(typed_zone):
        form.problems[SettingsField.TZ] = (
            f"I don't know the time zone “{typed_zone[:64]}”. "
            "Use a name such as Europe/Berlin, or leave it empty."
        )
    wait = form.wait(SettingsField.CHECKIN_AFTER, default_wait)
    form.check()
    assert at is not None and wait is not None
    return PersonalSettings(
        at=at,
        workdays=workdays,
        tz=typed_zone or None,
        nudges=NUDGES_ON in form.ticked(SettingsField.NUDGES),
        wait=wait,
        in_digest=IN_DIGEST_ON in form.ticked(SettingsField.IN_DIGEST),
    )
