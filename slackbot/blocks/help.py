"""What `/loops help` shows: every subcommand, with an example."""

from __future__ import annotations

from typing import Any

from slackbot.blocks.kit import context, divider, header, message, section
from slackbot.core.parse import LOOPS_SUBCOMMANDS

MORNING_QUESTION = "What's broken right now, and for whom?"


def help_message(heading: str | None = None) -> dict[str, Any]:
    """Every subcommand; `heading` (safe mrkdwn) first, when the person typed something unknown."""
    lines = []
    for sub in LOOPS_SUBCOMMANDS:
        lines.append(f"• `{sub.usage}`: {sub.summary}")
    shipped = (
        "• `/shipped [what you shipped]`: record a fix, what should change, and when to look\n"
        "• `/shipped #12 &lt;what&gt; expect: &lt;change&gt;`: the same in one line, for Loop #12"
    )
    blocks = [section(f":thinking_face: {heading}")] if heading else []
    blocks += [
        header("Loops"),
        section(
            f"Every workday morning Loops asks *{MORNING_QUESTION}* Each answer opens a loop; "
            "`/shipped` records the fix, and a few workdays later Loops comes back to ask what changed."
        ),
        divider(),
        section("*Commands*\n" + "\n".join(lines)),
        section(shipped),
        context("Only you can see this reply."),
    ]
    summary = "Loops commands: " + ", ".join(sub.usage for sub in LOOPS_SUBCOMMANDS)
    return message(f"{heading} {summary}" if heading else summary, blocks)
