"""Messages of a loop's second half: the shipment note, the check-in, its answer, an unwatched ship.

Every piece of user text goes through `shown()`: escaped, and shortened with a note when
it is longer than a message should carry (the whole text stays in the database).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from slackbot.blocks.ids import Action
from slackbot.blocks.kit import actions, button, context, message, section
from slackbot.blocks.text import day, loop_title, shown
from slackbot.core.shipments import ANSWER_LABELS, TELLABLE_AFTER, CheckinAnswer
from slackbot.store.models import CheckIn, Loop, Shipment

CHECKIN_QUESTION = "Did the behaviour change? Did the metric move? Did users do what you hoped?"
ANSWER_ACTIONS = {
    CheckinAnswer.CHANGED: Action.CHECKIN_CHANGED,
    CheckinAnswer.NO_CHANGE: Action.CHECKIN_NO_CHANGE,
    CheckinAnswer.CANT_TELL: Action.CHECKIN_CANT_TELL,
    CheckinAnswer.WORSE: Action.CHECKIN_WORSE,
}
ANSWER_EMOJI = {
    CheckinAnswer.CHANGED: ":white_check_mark:",
    CheckinAnswer.NO_CHANGE: ":heavy_minus_sign:",
    CheckinAnswer.CANT_TELL: ":hourglass_flowing_sand:",
    CheckinAnswer.WORSE: ":small_red_triangle_down:",
}


def shipment_lines(shipment: Shipment) -> list[str]:
    lines = [f"*Shipped:* {shown(shipment.what)}"]
    if shipment.expected_change:
        lines.append(f"*Expecting:* {shown(shipment.expected_change)}")
    if shipment.link:
        lines.append(f"*Link:* {shown(shipment.link, 300)}")
    return lines


def shipment_note(shipment: Shipment, checkin_on: date | None) -> dict[str, Any]:
    """The loop thread's line for a shipment: what went out, what should change, when Loops looks."""
    lines = shipment_lines(shipment)
    when = f"I'll check back on {day(checkin_on)}." if checkin_on else ""
    blocks = [section("\n".join(lines), block_id="shipment")]
    if when:
        blocks.append(context(f":calendar: {when}"))
    return message(" ".join([f"Shipped: {shown(shipment.what, 200)}.", when]).strip(), blocks)


def shipped_confirmation(loop: Loop, shipment: Shipment, checkin_on: date) -> dict[str, Any]:
    """The ephemeral answer to a quick `/shipped #N … expect: …`, with an Edit button."""
    text = f"Noted for {loop_title(loop)}. I'll check back on {day(checkin_on)}."
    blocks = [
        section(f":rocket: Noted for *{loop_title(loop)}*\n" + "\n".join(shipment_lines(shipment))),
        context(f":calendar: I'll check back on {day(checkin_on)}, in the loop's thread."),
        actions(button("Edit", Action.SHIPMENT_EDIT, str(shipment.id)), block_id="shipment_edit"),
    ]
    return message(text, blocks)


def answer_buttons(checkin: CheckIn) -> dict[str, Any]:
    value = str(checkin.id)
    return actions(
        *(
            button(ANSWER_LABELS[answer], ANSWER_ACTIONS[answer], value, style=style)
            for answer, style in (
                (CheckinAnswer.CHANGED, "primary"),
                (CheckinAnswer.NO_CHANGE, None),
                (CheckinAnswer.CANT_TELL, None),
                (CheckinAnswer.WORSE, "danger"),
            )
        ),
        block_id=f"checkin_answers_{checkin.id}",
    )


def asks_tellable(shipment: Shipment) -> bool:
    """After "can't tell yet" twice in a row, the next ask also asks what would make it tellable."""
    return shipment.cant_tell_streak >= TELLABLE_AFTER


def checkin_message(loop: Loop, shipment: Shipment, checkin: CheckIn) -> dict[str, Any]:
    """The post-ship check-in, as sent (buttons) and once answered (the answer instead)."""
    opening = "Check-in" if checkin.ask == 1 else "Checking in again"
    blocks = [
        section(f":mag: *{opening} · {loop_title(loop)}*", block_id="checkin"),
        section("\n".join(shipment_lines(shipment))),
    ]
    if asks_tellable(shipment) and checkin.answer is None:
        blocks.append(
            section(
                f"You couldn't tell {shipment.cant_tell_streak} times in a row. "
                "*What would make it tellable?* A number to reach, a date, a source to watch."
            )
        )
    if checkin.answer is None:
        blocks += [
            section(f"*{CHECKIN_QUESTION}*"),
            answer_buttons(checkin),
            context("Pick one; a short form asks what happened and what's next."),
        ]
    else:
        answer = CheckinAnswer(checkin.answer)
        blocks.append(context(f"{ANSWER_EMOJI[answer]} Answered: *{ANSWER_LABELS[answer]}*. See the thread."))
    return message(f"{opening}: {loop_title(loop)}. {CHECKIN_QUESTION}", blocks)


def outcome_sentence(
    shipment: Shipment, checkin: CheckIn, loop_closed: bool, ask_again_on: date | None
) -> str:
    """*I shipped X, Y happened, next: Z.* The loop's story in one line (safe mrkdwn)."""
    happened = shown(checkin.what_happened) or "nothing to report"
    parts = [f"I shipped {shown(shipment.what)}", f"{happened}"]
    sentence = ", ".join(parts)
    if checkin.next_step:
        sentence += f", next: {shown(checkin.next_step)}"
    sentence = sentence.rstrip(".") + "."
    if checkin.tellable:
        sentence += f" It will be tellable when: {shown(checkin.tellable)}."
    if loop_closed:
        sentence += " Loop closed."
    if ask_again_on is not None:
        sentence += f" I'll ask again on {day(ask_again_on)}."
    return sentence


def outcome_note(
    loop: Loop, shipment: Shipment, checkin: CheckIn, *, loop_closed: bool, ask_again_on: date | None
) -> dict[str, Any]:
    answer = CheckinAnswer(checkin.answer or CheckinAnswer.CANT_TELL)
    sentence = outcome_sentence(shipment, checkin, loop_closed, ask_again_on)
    blocks = [
        section(f"{ANSWER_EMOJI[answer]} *{ANSWER_LABELS[answer]}*\n> {sentence}", block_id="outcome"),
    ]
    if loop_closed:
        blocks.append(context(f":tada: {loop_title(loop)} is closed."))
    elif checkin.next_step:
        blocks.append(context("The next step is on your morning prompt until you ship it."))
    return message(f"{ANSWER_LABELS[answer]}: {sentence}", blocks)


def unwatched_note(loop: Loop, shipment: Shipment, give_up: str) -> dict[str, Any]:
    text = (
        f":eyes: Nobody answered this check-in for {give_up}, so *{shown(shipment.what, 200)}* is an "
        "*unwatched ship* now: it shipped, and nobody knows what it did. It stays on your list; "
        "answer above whenever you can tell."
    )
    return message(f"Unwatched ship: {loop_title(loop)}", [section(text, block_id="unwatched")])
