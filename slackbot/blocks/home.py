"""The App Home tab: the morning prompt switch, and the person's open loops."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slackbot.blocks.help import MORNING_QUESTION
from slackbot.blocks.ids import Action
from slackbot.blocks.kit import actions, button, context, divider, header, local_time, section
from slackbot.blocks.prompt import loop_age, unwatched_line, waiting_blocks
from slackbot.blocks.text import loop_title
from slackbot.core.parse import PAUSED_INDEFINITELY
from slackbot.core.schedule import zone
from slackbot.store.models import Person
from slackbot.store.queries import Agenda

LOOPS_ON_HOME = 20


def _status(person: Person) -> tuple[str, list[dict[str, Any]]]:
    """What the switch says, and its buttons."""
    if not person.enrolled:
        return (
            "*Morning prompt: off.* Turn it on and I'll ask you every workday morning.",
            [button("Start morning prompts", Action.HOME_START, "start", style="primary")],
        )
    if person.blocked_reason:
        return (
            f"*Morning prompt: on, but Slack won't let me message you* (`{person.blocked_reason}`). "
            "Starting again clears this.",
            [button("Start again", Action.HOME_START, "start", style="primary")],
        )
    if person.paused_until is not None:
        until = (
            "until you resume"
            if person.paused_until == PAUSED_INDEFINITELY
            else f"until {person.paused_until:%A %-d %B}"
        )
        return (
            f"*Morning prompt: paused* {until}.",
            [
                button("Resume", Action.HOME_RESUME, "resume", style="primary"),
                button("Stop", Action.HOME_STOP, "stop"),
            ],
        )
    when = local_time(person.next_prompt_at, zone(person.tz)) if person.next_prompt_at else "soon"
    return (
        f"*Morning prompt: on.* Next one {when}.",
        [
            button("Pause for a week", Action.HOME_PAUSE_WEEK, "week"),
            button("Stop", Action.HOME_STOP, "stop"),
        ],
    )


def home_view(person: Person, agenda: Agenda, now: datetime) -> dict[str, Any]:
    status, switches = _status(person)
    loops = agenda.loops
    blocks = [
        header("Loops"),
        section(
            f"Every workday morning Loops asks *{MORNING_QUESTION}* Each answer opens a loop; "
            "`/shipped` records the fix, and a few workdays later Loops asks what changed."
        ),
        section(status, block_id="switch"),
        actions(*switches, block_id="switch_actions"),
        divider(),
    ]
    if agenda.waiting:
        blocks += [*waiting_blocks(agenda.waiting), divider()]
    if loops:
        blocks.append(section(f"*Your open loops* ({len(loops)})"))
        for loop in loops[:LOOPS_ON_HOME]:
            blocks.append(
                section(
                    f"{loop_title(loop)}\n{loop_age(loop, now)}",
                    block_id=f"home_loop_{loop.id}",
                    accessory=button("Shipped a fix", Action.LOOP_SHIPPED, str(loop.id)),
                )
            )
    else:
        blocks.append(
            section("*Your open loops*\nNone. When something's broken, the morning prompt opens one.")
        )
    if agenda.unwatched:
        blocks.append(context(unwatched_line(agenda.unwatched)))
    blocks.append(context("`/shipped` records a fix; `/loops help` lists every command."))
    return {"type": "home", "blocks": blocks}
