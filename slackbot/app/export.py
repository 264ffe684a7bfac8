"""`/loops export`: a person's own loops, entries, shipments and check-ins, as CSV and JSON in their DM.

Built after the command's answer (it reads the whole history and uploads two files with
Slack's files v2 flow: files.getUploadURLExternal, the upload, files.completeUploadExternal).
File names carry no user text; CSV cells that a spreadsheet would run as a formula are
written as text.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from slackbot.app.services import Services
from slackbot.blocks.errors import error_message
from slackbot.blocks.loop import thread_note
from slackbot.store.export import everything_of
from slackbot.store.models import Person

logger = logging.getLogger(__name__)

LOOP_COLUMNS = (
    "number",
    "what",
    "for_whom",
    "evidence",
    "state",
    "opened_at",
    "shipped_at",
    "closed_at",
    "next_step",
    "shipments",
    "last_shipped",
    "last_expected",
    "last_outcome",
)
# A leading character a spreadsheet reads as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FAILED = "Sorry, your export couldn't be made just now; nothing was lost. Please try `/loops export` again."


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def history(session: Session, person: Person) -> dict[str, Any]:
    """Everything the person has in Loops, and nothing anyone else has."""
    rows = everything_of(session, person)
    entries, shipments, checkins = rows.entries, rows.shipments, rows.checkins
    return {
        "exported_for": person.slack_user_id,
        "loops": [
            {
                "number": loop.number,
                "what": loop.what,
                "for_whom": loop.for_whom,
                "evidence": loop.evidence,
                "state": loop.state,
                "opened_at": _when(loop.opened_at),
                "shipped_at": _when(loop.shipped_at),
                "closed_at": _when(loop.closed_at),
                "next_step": loop.next_step,
                "entries": [
                    {"kind": e.kind, "text": e.text, "at": _when(e.created_at)}
                    for e in entries.get(loop.id, [])
                ],
                "shipments": [
                    {
                        "what": s.what,
                        "expected_change": s.expected_change,
                        "link": s.link,
                        "state": s.state,
                        "shipped_at": _when(s.shipped_at),
                        "outcome": s.outcome,
                        "next_step": s.next_step,
                        "checked_at": _when(s.checked_at),
                        "unwatched_at": _when(s.unwatched_at),
                        "checkins": [
                            {
                                "ask": c.ask,
                                "due_on": c.due_on.isoformat(),
                                "asked_at": _when(c.asked_at),
                                "answer": c.answer,
                                "what_happened": c.what_happened,
                                "next_step": c.next_step,
                                "tellable": c.tellable,
                                "closed_the_loop": c.closes_loop,
                                "answered_at": _when(c.answered_at),
                            }
                            for c in checkins.get(s.id, [])
                        ],
                    }
                    for s in shipments.get(loop.id, [])
                ],
            }
            for loop in rows.loops
        ],
        "reflections": [
            {"month": r.month, "what_changed": r.text, "at": _when(r.created_at)} for r in rows.reflections
        ],
    }


def as_csv(data: dict[str, Any]) -> str:
    """One row per loop, with its latest shipment: what a spreadsheet wants."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(LOOP_COLUMNS)
    for loop in data["loops"]:
        last = loop["shipments"][-1] if loop["shipments"] else {}
        row = [loop[c] for c in LOOP_COLUMNS[:9]]
        row += [len(loop["shipments"]), last.get("what"), last.get("expected_change"), last.get("outcome")]
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


def send_export(services: Services, client: WebClient, person_id: int) -> None:
    """Upload the person's export to their DM; if that fails, say so there."""
    with services.database.session() as session:
        person = session.get(Person, person_id)
        if person is None:
            return
        data = history(session, person)
        user_id, channel = person.slack_user_id, person.dm_channel
    day = services.now().date().isoformat()
    count = len(data["loops"])
    try:
        if channel is None:
            channel = str(client.conversations_open(users=user_id)["channel"]["id"])
        client.files_upload_v2(
            channel=channel,
            initial_comment=f"Your Loops export: {count} loop{'s' if count != 1 else ''}, as CSV and JSON.",
            file_uploads=[
                {"content": as_csv(data), "filename": f"loops-{day}.csv", "title": f"Loops {day} (CSV)"},
                {
                    "content": json.dumps(data, ensure_ascii=False, indent=2),
                    "filename": f"loops-{day}.json",
                    "title": f"Loops {day} (JSON)",
                },
            ],
        )
    except Exception:
        logger.exception("export for %s failed", user_id)
        client.chat_postMessage(channel=channel or user_id, **error_message(FAILED))


EXPORTING = "Putting your export together; it arrives in our DM in a moment, as CSV and JSON."


def exporting_message() -> dict[str, Any]:
    return thread_note(EXPORTING)
