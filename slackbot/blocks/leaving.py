"""`/loops forget-me`: the confirmation that says exactly what goes, and what is left after."""

from __future__ import annotations

from typing import Any

from slackbot.blocks.ids import Action, View
from slackbot.blocks.kit import actions, button, context, header, plain, section
from slackbot.store.leaving import Holdings


def _counted(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def holdings_lines(held: Holdings) -> str:
    return "\n".join(
        (
            f"• {_counted(held.loops, 'loop')} and {_counted(held.entries, 'entry', 'entries')} in them "
            "(what was broken, for whom, how you knew, every reply)",
            f"• {_counted(held.shipments, 'shipment')} and {_counted(held.check_ins, 'check-in')}",
            f"• {_counted(held.reflections, 'monthly reflection')}",
            f"• your schedule and settings, and the record of {_counted(held.deliveries, 'message')} "
            "Loops sent or owes you",
        )
    )


def forget_me_modal(held: Holdings) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": View.FORGET_ME,
        "title": plain("Delete my data"),
        "submit": plain("Delete everything"),
        "close": plain("Cancel"),
        "blocks": [
            section(
                "This deletes everything Loops holds about you in this workspace, for good:\n"
                + holdings_lines(held)
            ),
            section(
                "*Want a copy first?* Press Cancel and type `/loops export`: Loops sends your loops "
                "to our DM as CSV and JSON."
            ),
            context(
                "Your morning answers in the team's daily thread are deleted too. Messages in your "
                "DM with Loops, and team digests already posted, stay in Slack. Loops stops "
                "messaging you; `/loops start` begins again from nothing."
            ),
        ],
    }


def forgotten_modal(held: Holdings | None) -> dict[str, Any]:
    """What the modal turns into once the delete is committed."""
    said = (
        "Done. Loops deleted:\n" + holdings_lines(held)
        if held is not None
        else "Loops holds nothing about you: there was nothing to delete."
    )
    return {
        "type": "modal",
        "callback_id": View.FORGET_ME,
        "title": plain("Deleted"),
        "close": plain("Close"),
        "blocks": [section(said), context("`/loops start` begins again from nothing, whenever you like.")],
    }


FORGOTTEN_WORDS = (
    "I've deleted everything I held about you: your loops, their stories, your shipments and "
    "check-ins, your reflections and your settings. I won't message you again unless you type "
    "`/loops start`."
)


def forgotten_home() -> dict[str, Any]:
    """The Home tab of someone Loops has just forgotten: nothing of theirs, and a way back."""
    return {
        "type": "home",
        "blocks": [
            header("Loops"),
            section("Loops holds nothing about you. Start again whenever you like."),
            actions(button("Start the morning prompt", Action.HOME_START, "start", style="primary")),
        ],
    }
