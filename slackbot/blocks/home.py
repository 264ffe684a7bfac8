"""The App Home tab: the person's dashboard, always well inside Slack's 100 blocks.

The morning prompt switch and the next prompt; check-ins waiting on them; their open
loops with what to do about each; the last four weeks as a row of squares a workday;
how long their loops take, against the 90 days before; and their settings.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from slackbot.blocks.help import MORNING_QUESTION
from slackbot.blocks.history import figures_line, where_it_stands
from slackbot.blocks.ids import Action
from slackbot.blocks.kit import actions, button, context, divider, header, local_time, section
from slackbot.blocks.prompt import unwatched_line, waiting_blocks
from slackbot.blocks.text import loop_title, thread_url
from slackbot.core.deliveries import DeliveryState
from slackbot.core.figures import Figures
from slackbot.core.loops import PromptAnswer, age_in_days
from slackbot.core.parse import PAUSED_INDEFINITELY
from slackbot.core.schedule import PromptSchedule, zone
from slackbot.store.history import Home
from slackbot.store.models import Delivery, Person

# At most this many open loops (two blocks each) and waiting check-ins (two blocks each):
# with everything else the tab stays under 60 of Slack's 100 blocks for any history.
LOOPS_ON_HOME = 10
WAITING_ON_HOME = 5
WEEKS_OF_SQUARES = 4
HOME_BLOCK_LIMIT = 100

SQUARES = {
    "answered": "🟩",
    "nothing": "⬜",
    "skipped": "🟨",
    "missed": "🟥",
    "none": "▫️",
    "today": "🔲",
}
SQUARES_LEGEND = "🟩 answered · ⬜ nothing broken · 🟨 skipped · 🟥 missed · ▫️ no prompt · 🔲 today"


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


def square_of(prompt: Delivery | None, day: date, today: date) -> str:
    """How one workday's morning prompt went, as one of SQUARES."""
    if prompt is not None and prompt.answer:
        answered = {PromptAnswer.LOOP.value: "answered", PromptAnswer.NOTHING.value: "nothing"}
        return answered.get(prompt.answer, "skipped")
    if day >= today:
        return "today"
    # Sent and never answered; a prompt paused, stopped or lost to an outage asked nothing.
    return "missed" if prompt is not None and prompt.state == DeliveryState.SENT else "none"


def first_square(today: date) -> date:
    """The Monday that begins the four weeks shown (this week and the three before)."""
    return today - timedelta(days=today.weekday() + 7 * (WEEKS_OF_SQUARES - 1))


def squares_block(prompts: dict[date, Delivery], schedule: PromptSchedule, today: date) -> dict[str, Any]:
    """One line a week, one square a workday, so a month reads at a glance."""
    lines = []
    monday = first_square(today)
    for week in range(WEEKS_OF_SQUARES):
        start = monday + timedelta(weeks=week)
        days = [start + timedelta(days=n) for n in range(7)]
        workdays = [d for d in days if d.weekday() in schedule.workdays and d <= today]
        marks = "".join(SQUARES[square_of(prompts.get(d), d, today)] for d in workdays)
        lines.append(f"`{start:%d %b}` {marks}")
    return section("*Your last four weeks*\n" + "\n".join(lines), block_id="squares")


def _trend_days(now_value: float | None, before: float | None) -> str:
    if now_value is None or before is None:
        return ""
    if abs(now_value - before) < 0.05:
        return " (same as the 90 days before)"
    arrow = "faster" if now_value < before else "slower"
    return f" ({arrow} than {before:.1f} days the 90 days before)"


def trend_line(current: Figures, previous: Figures) -> str:
    """How this window compares with the one before: shorter distances and more watched is better."""
    parts = []
    ship = _trend_days(current.problem_to_shipment_days, previous.problem_to_shipment_days)
    if ship:
        parts.append(f"problem → ship{ship}")
    outcome = _trend_days(current.shipment_to_outcome_days, previous.shipment_to_outcome_days)
    if outcome:
        parts.append(f"ship → outcome{outcome}")
    if current.watched_share is not None and previous.watched_share is not None:
        change = current.watched_share - previous.watched_share
        word = "same share" if abs(change) < 0.005 else ("more" if change > 0 else "fewer")
        parts.append(f"watched: {word} than {previous.watched_share:.0%} the 90 days before")
    if not parts:
        return "Trend: not enough ships in the 90 days before to compare."
    return "Trend: " + "; ".join(parts) + "."


def home_view(
    person: Person, home: Home, schedule: PromptSchedule, now: datetime, team_url: str | None
) -> dict[str, Any]:
    """`team_url` (auth.test's `url`) links each loop's thread; without it the button is left out."""
    status, switches = _status(person)
    today = schedule.local_date(now)
    blocks: list[dict[str, Any]] = [
        header("Loops"),
        section(
            f"Every workday morning Loops asks *{MORNING_QUESTION}* Each answer opens a loop; "
            "`/shipped` records the fix, and a few workdays later Loops asks what changed."
        ),
        section(status, block_id="switch"),
        actions(*switches, button("Settings", Action.HOME_SETTINGS, "settings"), block_id="switch_actions"),
        divider(),
    ]
    if home.waiting:
        blocks += [*waiting_blocks(home.waiting[:WAITING_ON_HOME]), divider()]
        if len(home.waiting) > WAITING_ON_HOME:
            more = len(home.waiting) - WAITING_ON_HOME
            blocks.append(context(f"…and {more} more on your morning prompt."))
    blocks += _open_loop_blocks(home, now, team_url)
    current, previous = home.recent, home.previous
    blocks += [
        divider(),
        squares_block(home.prompts, schedule, today),
        context(SQUARES_LEGEND),
        divider(),
        section(figures_line(current), block_id="figures"),
        context(trend_line(current, previous)),
    ]
    if home.unwatched:
        blocks.append(context(unwatched_line(home.unwatched)))
    blocks.append(
        context("`/loops` for your history, `/shipped` to record a fix, `/loops help` for the rest.")
    )
    assert len(blocks) <= HOME_BLOCK_LIMIT, len(blocks)
    return {"type": "home", "blocks": blocks}


def _open_loop_blocks(home: Home, now: datetime, team_url: str | None) -> list[dict[str, Any]]:
    """Up to LOOPS_ON_HOME open loops, each with where it stands and its buttons."""
    if not home.open:
        return [section("*Your open loops*\nNone. When something's broken, the morning prompt opens one.")]
    blocks = [section(f"*Your open loops* ({home.open_count})")]
    for item in home.open[:LOOPS_ON_HOME]:
        loop = item.loop
        days = age_in_days(loop.opened_at, now)
        age = "opened today" if days == 0 else f"{days} day{'s' if days != 1 else ''} open"
        stands = where_it_stands(item)
        blocks.append(section(f"*{loop_title(loop)}*\n_{age}_ · {stands}", block_id=f"home_loop_{loop.id}"))
        buttons = [
            button("Shipped a fix", Action.LOOP_SHIPPED, str(loop.id), style="primary"),
            drop_button(loop.id, loop.number),
        ]
        if loop.channel and loop.thread_ts and team_url:
            buttons.append(thread_button(team_url, loop.id, loop.channel, loop.thread_ts))
        blocks.append(actions(*buttons, block_id=f"home_loop_actions_{loop.id}"))
    if home.open_count > LOOPS_ON_HOME:
        more = home.open_count - LOOPS_ON_HOME
        blocks.append(context(f"…and {more} more, older: `/loops open` lists them all."))
    return blocks


def drop_button(loop_id: int, number: int) -> dict[str, Any]:
    """Drop, with Slack's own confirmation: a loop dropped is gone from every list."""
    element = button("Drop", Action.LOOP_DROP, str(loop_id))
    element["confirm"] = {
        "title": {"type": "plain_text", "text": f"Drop Loop #{number}?"},
        "text": {
            "type": "mrkdwn",
            "text": "It leaves your open loops and your morning prompt. Its thread stays.",
        },
        "confirm": {"type": "plain_text", "text": "Drop it"},
        "deny": {"type": "plain_text", "text": "Keep it"},
    }
    return element


def thread_button(team_url: str, loop_id: int, channel: str, thread_ts: str) -> dict[str, Any]:
    """A link to the loop's thread, in the form chat.getPermalink answers for a message."""
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": "Open thread"},
        "action_id": f"{Action.LOOP_THREAD}:{loop_id}",
        "url": thread_url(team_url, channel, thread_ts),
    }
