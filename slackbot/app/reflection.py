"""The monthly reflection's answers: whose month it is, and the DM redrawn once answered."""

from __future__ import annotations

import re
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from slackbot.app.loops import redraw_sent
from slackbot.app.services import Services
from slackbot.blocks.reflection import REFLECTION_SHIPMENTS, reflection_message
from slackbot.core.deliveries import DeliveryKind
from slackbot.core.reflection import month_span
from slackbot.core.schedule import zone
from slackbot.store.deliveries import owed
from slackbot.store.export import reflection_of
from slackbot.store.history import shipments_between
from slackbot.store.models import Delivery, Person

_MONTH_KEY = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


def reflection_asked(session: Session, person: Person | None, key: object) -> Delivery | None:
    """The reflection DM Loops sent this person for month `key`; anything else finds nothing."""
    if person is None or not isinstance(key, str) or not _MONTH_KEY.match(key):
        return None
    return owed(session, person.id, DeliveryKind.REFLECTION, key)


def refresh_reflection(services: Services, client: WebClient, delivery_id: int) -> None:
    """Redraw the reflection DM with the answer kept, and no button to answer again."""

    def body(session: Session, delivery: Delivery) -> dict[str, Any] | None:
        person = session.get(Person, delivery.person_id)
        assert person is not None
        year, month = (int(part) for part in delivery.key.split("-"))
        start, end = month_span(year, month, zone(person.tz))
        shipments = shipments_between(session, person, start, end, before=None, size=REFLECTION_SHIPMENTS)
        kept = reflection_of(session, person, delivery.key)
        return reflection_message(delivery.key, shipments, answer=kept.text if kept else None)

    redraw_sent(services, client, delivery_id, body)
