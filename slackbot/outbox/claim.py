"""Claims and leases: which sender may send a delivery now, and until when.

A claim is a lease: the delivery is this sender's until `lease_until`. A sender that
stops mid-send (killed, stalled) loses it when the lease runs out, and the next
claimer first looks in Slack for what the first one may have posted. Only the lease
holder records an outcome.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from slackbot.core.deliveries import LEASE, DeliveryState
from slackbot.store.db import Database
from slackbot.store.deliveries import claim_deliveries
from slackbot.store.models import Delivery

# A post is not started with less lease than this left: a Slack call takes at most the
# client's timeout (10 s) plus a short hold, so the lease cannot run out while one is in flight.
LEASE_MARGIN = timedelta(seconds=30)


def owner_name() -> str:
    """Who holds a lease, for logs and for telling claimers apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def claim(database: Database, now: datetime, *, owner: str, limit: int, only: int | None) -> dict[int, bool]:
    """Take up to `limit` ready deliveries; delivery id → whether an earlier attempt may have posted.

    One write transaction from its first read, so two claimers never take the same row.
    """
    with database.transaction() as session:
        return dict(claim_deliveries(session, now, owner=owner, lease=LEASE, limit=limit, only=only))


def post_by(monotonic: Callable[[], float] = time.monotonic) -> float:
    """The monotonic instant after which a fresh claim's job may start no Slack call."""
    return monotonic() + (LEASE - LEASE_MARGIN).total_seconds()


def still_held(session: Session, ids: Iterable[int], owner: str) -> dict[int, Delivery]:
    """The deliveries among `ids` whose lease this owner still holds (the others were taken over)."""
    return {
        delivery.id: delivery
        for delivery in session.scalars(
            select(Delivery).where(
                Delivery.id.in_(list(ids)),
                Delivery.state == DeliveryState.CLAIMED,
                Delivery.lease_owner == owner,
            )
        )
    }
