"""`/loops settings`: the person's own prompt time, workdays, zone, reminder, wait and sharing."""

from __future__ import annotations

from datetime import time
from typing import Any

from slackbot.blocks.ids import FIELD_INPUT, IN_DIGEST_ON, NUDGES_ON, SettingsField, View
from slackbot.blocks.kit import checkbox_input, option, plain, select_input, text_input, time_input
from slackbot.blocks.modals.waits import wait_option, waits_with
from slackbot.core.schedule import WEEKDAYS
from slackbot.core.shipments import Wait

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
                options=[wait_option(w) for w in waits_with(wait)],
                initial=wait_option(wait),
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
