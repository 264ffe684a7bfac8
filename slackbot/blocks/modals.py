"""Modals: what's broken (a new loop), what shipped, and how a check-in turned out."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, time
from typing import Any

from slackbot.blocks.ids import (
    CLOSE_LOOP,
    FIELD_INPUT,
    IN_DIGEST_ON,
    KEEP_DAY,
    NOT_LINKED,
    NUDGES_ON,
    PRIVATE_FIELD,
    PRIVATE_LOOP,
    CheckinField,
    Field,
    SettingsField,
    ShippedField,
    View,
)
from slackbot.blocks.kit import (
    MODAL_TITLE_LIMIT,
    OPTIONS_LIMIT,
    checkbox_input,
    context,
    date_input,
    option,
    plain,
    section,
    select_input,
    text_input,
    time_input,
)
from slackbot.blocks.shipment import asks_tellable
from slackbot.blocks.text import day, loop_title, shown
from slackbot.core.parse import FIELD_LIMIT
from slackbot.core.schedule import WEEKDAYS
from slackbot.core.shipments import ANSWER_LABELS, ASK_AGAIN, WAIT_CHOICES, CheckinAnswer, Wait
from slackbot.store.models import CheckIn, Loop, Shipment

# Slack's own cap for a single-line input is FIELD_LIMIT too; a link longer than this is no link.
LINK_LIMIT = 1000


def answer_modal(prompt_id: int | None) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": View.ANSWER,
        "private_metadata": json.dumps({"prompt": prompt_id}),
        "title": plain("Something's broken"),
        "submit": plain("Open loop"),
        "close": plain("Cancel"),
        "blocks": [
            section("Each answer opens a *loop*: one thread that follows this problem until it's fixed."),
            text_input(
                Field.WHAT,
                FIELD_INPUT,
                "What's broken?",
                placeholder="Checkout fails after the address step",
                multiline=True,
                optional=False,
                max_length=FIELD_LIMIT,
            ),
            text_input(
                Field.FOR_WHOM,
                FIELD_INPUT,
                "For whom?",
                placeholder="New customers on mobile",
                multiline=False,
                optional=False,
                max_length=FIELD_LIMIT,
            ),
            text_input(
                Field.EVIDENCE,
                FIELD_INPUT,
                "How do you know?",
                placeholder="A ticket, a metric, a quote, a link",
                multiline=True,
                optional=True,
                max_length=FIELD_LIMIT,
            ),
            checkbox_input(
                PRIVATE_FIELD,
                FIELD_INPUT,
                "Team digest",
                option("Keep this loop private: never in the team digest", PRIVATE_LOOP),
            ),
        ],
    }


def _loop_option(loop: Loop) -> dict[str, Any]:
    # Option text is plain text: nothing to escape, only to shorten.
    who = f" — {loop.for_whom}" if loop.for_whom else ""
    return option(f"#{loop.number} {loop.what}{who}", str(loop.id))


def _wait_option(wait: Wait) -> dict[str, Any]:
    return option(f"In {wait.label}", wait.value)


def _waits_with(wait: Wait) -> tuple[Wait, ...]:
    """The usual choices, and the workspace's default (LOOPS_CHECKIN_AFTER) if it is none of them."""
    return WAIT_CHOICES if wait in WAIT_CHOICES else (*WAIT_CHOICES, wait)


def shipped_modal(
    *,
    what: str,
    expected: str | None,
    link: str | None,
    loops: Sequence[Loop],
    chosen: Loop | None,
    wait: Wait,
    shipment_id: int | None = None,
    draft: str | None = None,
    typed_length: int | None = None,
    keep_day: date | None = None,
    asked: bool = False,
) -> dict[str, Any]:
    """`/shipped`: what went out, which loop it answers, what should change, when to look, a link.

    Editing (`shipment_id`) keeps the loop it was recorded for, and offers to keep the
    check-in day (`keep_day`) while it is not asked yet; once it is (`asked`), the day is
    shown, not offered. A draft holds a text too long for an
    input; the modal says so and keeps the whole of it unless the person changes it.
    """
    waits = [_wait_option(w) for w in _waits_with(wait)]
    keep = option(f"Keep {day(keep_day)}", KEEP_DAY) if keep_day is not None else None
    blocks: list[dict[str, Any]] = []
    if typed_length is not None:
        blocks.append(
            context(
                f":scissors: You typed {typed_length:,} characters; a field here holds {FIELD_LIMIT:,}. "
                "All of it is kept unless you change the text below."
            )
        )
    blocks.append(
        text_input(
            ShippedField.WHAT,
            FIELD_INPUT,
            "What shipped?",
            placeholder="Retry the SMS provider after 10 s, and fall back to voice",
            multiline=True,
            optional=False,
            max_length=FIELD_LIMIT,
            initial=what,
        )
    )
    if shipment_id is not None and chosen is not None:
        blocks.append(context(f"For *{loop_title(chosen)}*"))
    else:
        not_linked = option("Not linked: open a new loop for it", NOT_LINKED)
        choices = [*(_loop_option(loop) for loop in loops[: OPTIONS_LIMIT - 1]), not_linked]
        # With loops to choose from and none named, the person picks: a wrong default link is worse.
        initial = _loop_option(chosen) if chosen is not None else (None if loops else not_linked)
        blocks.append(
            select_input(
                ShippedField.LOOP,
                FIELD_INPUT,
                "Which loop does it answer?",
                options=choices,
                initial=initial,
                hint="Your loops not closed yet, newest first.",
            )
        )
    when_blocks = (
        [context(":calendar: Its check-in was asked already; the loop's thread has it.")]
        if asked
        else [
            select_input(
                ShippedField.WAIT,
                FIELD_INPUT,
                "When should I check back?",
                options=[keep, *waits] if keep is not None else waits,
                initial=keep or _wait_option(wait),
                hint="Counted in your workdays; I ask at your morning prompt time.",
            ),
            date_input(ShippedField.ON_DATE, FIELD_INPUT, "Or on this day", optional=True),
        ]
    )
    blocks += [
        text_input(
            ShippedField.EXPECTED,
            FIELD_INPUT,
            "What should change, for whom, and how will you know?",
            placeholder="Sign-ups in India finish OTP in under a minute; the SMS delivery report shows it",
            multiline=True,
            optional=False,
            max_length=FIELD_LIMIT,
            initial=expected,
            hint="A behaviour, a metric, or something users should now do.",
        ),
        *when_blocks,
        text_input(
            ShippedField.LINK,
            FIELD_INPUT,
            "Link",
            placeholder="A PR, a release, a dashboard",
            multiline=False,
            optional=True,
            max_length=LINK_LIMIT,
            initial=link,
        ),
    ]
    return {
        "type": "modal",
        "callback_id": View.SHIPPED,
        "private_metadata": json.dumps({"shipment": shipment_id, "draft": draft}),
        "title": plain("Shipped"),
        "submit": plain("Save" if shipment_id is not None else "Record shipment"),
        "close": plain("Cancel"),
        "blocks": blocks,
    }


def checkin_modal(
    loop: Loop,
    shipment: Shipment,
    checkin: CheckIn,
    answer: CheckinAnswer | None,
    *,
    where: tuple[str, str] | None,
) -> dict[str, Any]:
    """The short form behind each check-in answer: what happened, and what's next.

    With no answer chosen yet (**Check it now**, from the monthly reflection), the form asks
    for it first and offers every answer's fields; the submission checks what applies.
    """
    blocks: list[dict[str, Any]] = [
        section(f"*{loop_title(loop)}*\n*Shipped:* {shown(shipment.what, 300)}"),
    ]
    if answer is None:
        blocks.append(
            select_input(
                CheckinField.ANSWER,
                FIELD_INPUT,
                "Did the behaviour change?",
                options=[option(ANSWER_LABELS[a], a.value) for a in CheckinAnswer],
                initial=None,
            )
        )
    blocks += [
        text_input(
            CheckinField.HAPPENED,
            FIELD_INPUT,
            "What happened?",
            placeholder="Numbers, quotes, links: what you saw",
            multiline=True,
            optional=False,
            max_length=FIELD_LIMIT,
        ),
    ]
    if answer is CheckinAnswer.CHANGED or answer is None:
        blocks.append(
            checkbox_input(
                CheckinField.CLOSED,
                FIELD_INPUT,
                "Is it fixed?" if answer else "If it changed: is it fixed?",
                option(f"Yes: close Loop #{loop.number}", CLOSE_LOOP),
            )
        )
    if answer in (CheckinAnswer.CANT_TELL, None) and asks_tellable(shipment):
        blocks.append(
            text_input(
                CheckinField.TELLABLE,
                FIELD_INPUT,
                "What would make it tellable?",
                placeholder="200 more sign-ups; the weekly report on Monday; asking three customers",
                multiline=True,
                optional=answer is None,  # with no answer chosen, checked on submission
                max_length=FIELD_LIMIT,
            )
        )
    blocks.append(
        text_input(
            CheckinField.NEXT,
            FIELD_INPUT,
            "What's next?",
            placeholder="Roll it out to cards too; try a different fix; wait for more data",
            multiline=True,
            # Required unless the loop is closed: checked when the form comes back.
            optional=answer in (CheckinAnswer.CHANGED, None),
            max_length=FIELD_LIMIT,
            hint="Needed unless you close the loop." if answer in (CheckinAnswer.CHANGED, None) else None,
        )
    )
    if answer in (CheckinAnswer.CANT_TELL, None):
        blocks.append(
            select_input(
                CheckinField.ASK_AGAIN,
                FIELD_INPUT,
                "Ask me again" if answer else "If you can't tell yet: ask me again",
                options=[_wait_option(w) for w in WAIT_CHOICES],
                initial=_wait_option(ASK_AGAIN),
            )
        )
    return {
        "type": "modal",
        "callback_id": View.CHECKIN,
        "private_metadata": json.dumps(
            {"checkin": checkin.id, "answer": answer.value if answer else None, "where": where}
        ),
        "title": plain(ANSWER_LABELS[answer] if answer else "Check it now", MODAL_TITLE_LIMIT),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "blocks": blocks,
    }


WEEKDAY_LABELS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def settings_modal(
    *,
    prompt_time: time,
    workdays: frozenset[int],
    tz: str,
    follows_slack_tz: bool,
    nudges: bool,
    wait: Wait,
    in_digest: bool = True,
) -> dict[str, Any]:
    """`/loops settings`: the person's own prompt time, workdays, zone, nudges, check-in wait,
    and whether their loops appear in the team digest."""
    days = [option(label, WEEKDAYS[n]) for n, label in enumerate(WEEKDAY_LABELS)]
    remind = option("Remind me once if I haven't answered", NUDGES_ON)
    share = option("Show my loops in the team digest and the daily thread", IN_DIGEST_ON)
    zone_hint = (
        f"Empty: follow Slack (now {tz})." if follows_slack_tz else "Empty: follow Slack's zone again."
    )
    return {
        "type": "modal",
        "callback_id": View.SETTINGS,
        "title": plain("Your settings"),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "blocks": [
            time_input(
                SettingsField.PROMPT_TIME,
                FIELD_INPUT,
                "Morning prompt at",
                initial=f"{prompt_time:%H:%M}",
                hint="Your local time; check-ins come at this time too.",
            ),
            checkbox_input(
                SettingsField.WORKDAYS,
                FIELD_INPUT,
                "On these days",
                *days,
                ticked=[days[n] for n in sorted(workdays)],
                optional=False,
            ),
            text_input(
                SettingsField.TZ,
                FIELD_INPUT,
                "Time zone",
                placeholder="Europe/Berlin, America/New_York, Asia/Kolkata",
                multiline=False,
                optional=True,
                max_length=64,
                initial=None if follows_slack_tz else tz,
                hint=zone_hint,
            ),
            checkbox_input(
                SettingsField.NUDGES, FIELD_INPUT, "Reminder", remind, ticked=[remind] if nudges else None
            ),
            select_input(
                SettingsField.CHECKIN_AFTER,
                FIELD_INPUT,
                "Check back after a ship",
                options=[_wait_option(w) for w in _waits_with(wait)],
                initial=_wait_option(wait),
                hint="What /shipped picks unless you choose otherwise.",
            ),
            checkbox_input(
                SettingsField.IN_DIGEST,
                FIELD_INPUT,
                "Team digest",
                share,
                ticked=[share] if in_digest else None,
                hint="Loops you open as private never appear there.",
            ),
        ],
    }
