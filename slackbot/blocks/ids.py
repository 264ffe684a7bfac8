"""Names Slack sends back to us (commands, actions, views, fields, metadata): one place, no typos."""

from __future__ import annotations

from enum import StrEnum


class Command(StrEnum):
    LOOPS = "/loops"
    SHIPPED = "/shipped"


class Action(StrEnum):
    """action_id of every button; a button's `value` carries the id it acts on."""

    PROMPT_BROKEN = "prompt_broken"
    PROMPT_NOTHING = "prompt_nothing"
    PROMPT_SKIP = "prompt_skip"
    LOOP_STILL_BROKEN = "loop_still_broken"
    LOOP_SHIPPED = "loop_shipped"
    LOOP_DROP = "loop_drop"
    CHECKIN_CHANGED = "checkin_changed"
    CHECKIN_NO_CHANGE = "checkin_no_change"
    CHECKIN_CANT_TELL = "checkin_cant_tell"
    CHECKIN_WORSE = "checkin_worse"
    SHIPMENT_EDIT = "shipment_edit"
    HISTORY_MORE = "history_more"
    CHECKIN_NOW = "checkin_now"
    REFLECTION_ANSWER = "reflection_answer"
    HOME_START = "home_start"
    HOME_STOP = "home_stop"
    HOME_PAUSE_WEEK = "home_pause_week"
    HOME_RESUME = "home_resume"
    HOME_SETTINGS = "home_settings"
    # A link button (`loop_thread:<loop id>`): Slack opens the URL and sends a click to ack.
    LOOP_THREAD = "loop_thread"


class View(StrEnum):
    """callback_id of every modal."""

    ANSWER = "loop_answer"
    SHIPPED = "shipped"
    CHECKIN = "checkin_answer"
    SETTINGS = "settings"
    REFLECTION = "reflection"
    FORGET_ME = "forget_me"


class Field(StrEnum):
    """block_id of modal inputs; inline errors are keyed by these."""

    WHAT = "what"
    FOR_WHOM = "for_whom"
    EVIDENCE = "evidence"


class ShippedField(StrEnum):
    """block_id of the `/shipped` modal's inputs."""

    WHAT = "shipped_what"
    LOOP = "shipped_loop"
    EXPECTED = "shipped_expected"
    WAIT = "shipped_wait"
    ON_DATE = "shipped_on_date"
    LINK = "shipped_link"


class CheckinField(StrEnum):
    """block_id of the check-in answer modal's inputs."""

    HAPPENED = "checkin_happened"
    NEXT = "checkin_next"
    CLOSED = "checkin_closed"
    ASK_AGAIN = "checkin_ask_again"
    TELLABLE = "checkin_tellable"
    ANSWER = "checkin_which"  # only on **Check it now**, where no button chose it


class ReflectionField(StrEnum):
    CHANGED = "reflection_changed"


class SettingsField(StrEnum):
    """block_id of the `/loops settings` modal's inputs."""

    PROMPT_TIME = "settings_prompt_time"
    WORKDAYS = "settings_workdays"
    TZ = "settings_tz"
    NUDGES = "settings_nudges"
    CHECKIN_AFTER = "settings_checkin_after"
    IN_DIGEST = "settings_in_digest"


# The option value of the "remind me" checkbox in settings.
NUDGES_ON = "nudges"
# The option value of "show my loops in the team digest" in settings.
IN_DIGEST_ON = "in_digest"
# The checkbox (block_id) and its option value: "keep this loop private" when opening a loop.
PRIVATE_FIELD = "loop_private"
PRIVATE_LOOP = "private"

# The option value of "not linked to a loop" in the `/shipped` modal's loop select.
NOT_LINKED = "none"
# The option value of "keep the day" in the edit modal's wait select.
KEEP_DAY = "keep"
# The option value of the "loop closed" checkbox.
CLOSE_LOOP = "close"

# The action_id of the input element inside each Field block.
FIELD_INPUT = "text"

# Message metadata event_type on everything the clock sends, so a lost post can be found.
DELIVERY_EVENT = "loops_delivery"
