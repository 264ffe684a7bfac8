"""`/loops export`: a person's own loops, entries, shipments and check-ins, as CSV and JSON in their DM.

Built after the command's answer, on a thread of its own (Services.run_apart), so a long
history never holds up the work that answers other people. One export per person at a time
(store/export.py's claim, in the database, so it holds across web processes). The history is
read a batch at a time and written to temp files, then streamed to Slack with the files v2
flow (files.getUploadURLExternal, the upload, files.completeUploadExternal): memory stays
flat however long the history. File names carry no user text; CSV cells that a spreadsheet
would run as a formula are written as text.
"""

from __future__ import annotations

import csv
import json
import logging
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.request import Request, urlopen

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from slackbot.app.services import Services
from slackbot.blocks.errors import error_message
from slackbot.blocks.loop import thread_note
from slackbot.store.export import loops_of, reflections_of, release_export
from slackbot.store.models import CheckIn, Person, Shipment

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
# Seconds an upload may go without progress (the bytes go as fast as Slack takes them).
UPLOAD_TIMEOUT = 60
FAILED = "Sorry, your export couldn't be made just now; nothing was lost. Please try `/loops export` again."


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _shipment(shipment: Shipment, checkins: list[CheckIn]) -> dict[str, Any]:
    return {
        "what": shipment.what,
        "expected_change": shipment.expected_change,
        "link": shipment.link,
        "state": shipment.state,
        "shipped_at": _when(shipment.shipped_at),
        "outcome": shipment.outcome,
        "next_step": shipment.next_step,
        "checked_at": _when(shipment.checked_at),
        "unwatched_at": _when(shipment.unwatched_at),
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
            for c in checkins
        ],
    }


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def write_export(session: Session, person: Person, as_json: TextIO, as_csv: TextIO) -> int:
    """Everything the person has in Loops, and nothing anyone else has; the number of loops.

    Written a loop and an entry at a time, so memory stays flat however long the history:
    JSON (every loop with its entries, shipments and check-ins, then the reflections) and CSV
    (one row per loop, with its latest shipment: what a spreadsheet wants).
    """
    spreadsheet = csv.writer(as_csv)
    spreadsheet.writerow(LOOP_COLUMNS)
    as_json.write('{"exported_for": ' + _json(person.slack_user_id) + ',\n "loops": [')
    count = 0
    for rows in loops_of(session, person):
        loop = rows.loop
        fields = {c: getattr(loop, c) for c in LOOP_COLUMNS[:5]} | {
            "opened_at": _when(loop.opened_at),
            "shipped_at": _when(loop.shipped_at),
            "closed_at": _when(loop.closed_at),
            "next_step": loop.next_step,
        }
        as_json.write((",\n  " if count else "\n  ") + _json(fields)[:-1] + ', "entries": [')
        for n, entry in enumerate(rows.entries):
            kept = {"kind": entry.kind, "text": entry.text, "at": _when(entry.created_at)}
            as_json.write((",\n    " if n else "\n    ") + _json(kept))
        shipments = [_shipment(s, rows.checkins.get(s.id, [])) for s in rows.shipments]
        as_json.write('], "shipments": ' + _json(shipments) + "}")
        last = shipments[-1] if shipments else {}
        latest = [len(shipments), last.get("what"), last.get("expected_change"), last.get("outcome")]
        spreadsheet.writerow([_cell(value) for value in [*fields.values(), *latest]])
        count += 1
    as_json.write('\n ],\n "reflections": [')
    for n, r in enumerate(reflections_of(session, person)):
        kept = {"month": r.month, "what_changed": r.text, "at": _when(r.created_at)}
        as_json.write((",\n  " if n else "\n  ") + _json(kept))
    as_json.write("\n ]\n}\n")
    return count


def upload(client: WebClient, channel: str, comment: str, files: list[tuple[Path, str, str]]) -> None:
    """Slack's files v2 flow, each file's bytes streamed from disk: (path, file name, title)."""
    uploaded: list[dict[str, str | None]] = []
    for path, name, title in files:
        size = path.stat().st_size
        reserved = client.files_getUploadURLExternal(filename=name, length=size)
        with path.open("rb") as body:
            request = Request(  # noqa: S310 - the URL Slack just gave for this file
                str(reserved["upload_url"]),
                data=body,
                method="POST",
                headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"},
            )
            with urlopen(request, timeout=UPLOAD_TIMEOUT) as answer:  # noqa: S310
                answer.read()
        uploaded.append({"id": str(reserved["file_id"]), "title": title})
    client.files_completeUploadExternal(files=uploaded, channel_id=channel, initial_comment=comment)


def send_export(services: Services, client: WebClient, person_id: int, started: datetime) -> None:
    """Upload the person's export to their DM; if that fails, say so there. Either way, the
    person may then ask for the next one."""
    try:
        _send_export(services, client, person_id)
    finally:
        with services.database.transaction() as session:
            release_export(session, person_id, started)


def _send_export(services: Services, client: WebClient, person_id: int) -> None:
    day = services.now().date().isoformat()
    with tempfile.TemporaryDirectory(prefix="loops-export-") as folder:
        as_json, as_csv = Path(folder, "export.json"), Path(folder, "export.csv")
        user_id: str | None = None
        channel: str | None = None
        try:
            with services.database.session() as session:
                person = session.get(Person, person_id)
                if person is None:
                    return
                user_id, channel = person.slack_user_id, person.dm_channel
                with (
                    as_json.open("w", encoding="utf-8") as j,
                    as_csv.open("w", encoding="utf-8", newline="") as c,
                ):
                    count = write_export(session, person, j, c)
            if channel is None:
                channel = str(client.conversations_open(users=user_id)["channel"]["id"])
            upload(
                client,
                channel,
                f"Your Loops export: {count} loop{'s' if count != 1 else ''}, as CSV and JSON.",
                [
                    (as_csv, f"loops-{day}.csv", f"Loops {day} (CSV)"),
                    (as_json, f"loops-{day}.json", f"Loops {day} (JSON)"),
                ],
            )
        except Exception:
            logger.exception("export for person %s failed", person_id)
            if user_id is not None:  # a database that failed while the export was written, too
                client.chat_postMessage(channel=channel or user_id, **error_message(FAILED))


EXPORTING = "Putting your export together; it arrives in our DM in a moment, as CSV and JSON."
ALREADY = (
    "Your export is already on its way to our DM, as CSV and JSON. "
    "Once it has come, `/loops export` makes a fresh one."
)


def exporting_message(claimed: bool = True) -> dict[str, Any]:
    """The ack: the export is coming, or (`claimed` False) the one asked for earlier still is."""
    return thread_note(EXPORTING if claimed else ALREADY)
