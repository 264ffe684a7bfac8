"""Messages the clock owes people: their kinds, their states, and what a Slack failure means.

The rules here decide whether a failed send is retried, given up on, or blamed on the
person's account, so that nothing retries forever and nothing is silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class DeliveryKind(StrEnum):
    PROMPT = "prompt"  # the morning question; key: the person's local date
    NUDGE = "nudge"  # one reminder in the prompt's thread; key: the same local date
    LOOP_ROOT = "loop_root"  # "Loop #N: …", the message whose thread holds the loop; key: loop id
    SHIPMENT = "shipment"  # "Shipped: … Expecting: …" in the loop's thread; key: shipment id
    CHECKIN = "checkin"  # the post-ship question, broadcast from the loop's thread; key: check-in id
    OUTCOME = "outcome"  # "I shipped X, Y happened, next: Z" in the thread; key: check-in id
    UNWATCHED = "unwatched"  # "nobody looked": the check-in went unanswered; key: check-in id
    REFLECTION = "reflection"  # "Last month you shipped N things"; key: that month, `2026-11`
    # Owed to a workspace (no person): the weekly digest in its channel, one delivery a message;
    # key: the Monday's local date and the part (`2026-11-30#1`; #2… are replies in #1's thread).
    DIGEST = "digest"
    # Owed to a workspace: the day's thread in the digest channel; key: the team's local date.
    DAILY_THREAD = "daily_thread"
    # A shared morning answer, posted in that day's thread; key: `<the thread's date>#<loop id>`.
    DAILY_SHARE = "daily_share"
    # Owed to a workspace: deleting a post of ours (`/loops forget-me` takes a person's shares
    # out of the daily thread); key: `<channel> <ts>`, or `<share id>@<thread ts>` for a share
    # that may be in Slack though its ts was never learned (it was being sent).
    REMOVAL = "removal"


# Deliveries owed to a workspace rather than one person (Delivery.person_id is None).
TEAM_KINDS = frozenset({DeliveryKind.DIGEST, DeliveryKind.DAILY_THREAD})


def digest_key(monday: date, part: int) -> str:
    return f"{monday.isoformat()}#{part}"


def share_key(on: date, loop_id: int) -> str:
    return f"{on.isoformat()}#{loop_id}"


def digest_part(key: str) -> tuple[date, int]:
    """(the Monday, the part number) of a digest delivery's key."""
    monday, _, part = key.partition("#")
    return date.fromisoformat(monday), int(part or 1)


class DeliveryState(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"  # given up: a permanent error, or too many attempts
    MISSED = "missed"  # its moment passed (clock down too long, working day over)
    SKIPPED = "skipped"  # no longer needed (the prompt was answered, the person left)


# Why a prompt or nudge not yet sent was withdrawn; resuming or starting again the same
# day brings back those still inside the catch-up window.
PAUSED = "the person paused the morning prompt"
STOPPED = "the person stopped the morning prompt"
# Why a delivery was withdrawn before it went out; coming back (a reinstall, a reactivated
# account) brings back those withdrawn for that reason.
WORKSPACE_GONE_REASON = "the workspace uninstalled Loops"
PERSON_GONE_REASON = "Slack cannot reach this person"

MAX_ATTEMPTS = 6
LEASE = timedelta(minutes=2)

# Errors that will not go away by retrying, because the person cannot receive messages.
PERSON_GONE = frozenset(
    {
        "user_not_found",
        "user_disabled",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "cannot_dm_bot",
        "messages_tab_disabled",
    }
)
# Slack's answers that the install is gone (with a bot token, account_inactive means the
# workspace or the bot was deleted): every delivery of the workspace stops. Nothing else
# means that; a lookup of ours that found no token certainly does not.
WORKSPACE_GONE = frozenset({"invalid_auth", "account_inactive", "token_revoked"})
# A token problem the next attempt can mend (a rotating token refreshed, an install found
# again): tried again later, never taken for an uninstall.
TOKEN_PASSING = frozenset({"not_authed", "token_expired", "team_access_not_granted"})


class Verdict(StrEnum):
    RATE_LIMITED = "rate_limited"  # wait Retry-After, then go on; not the message's fault
    RETRY = "retry"  # a passing fault: try again later with backoff
    PERSON_GONE = "person_gone"  # fail the delivery, stop prompting this person
    WORKSPACE_GONE = "workspace_gone"  # fail the delivery, stop the workspace
    REFUSED = "refused"  # Slack refused this message (a bug of ours): fail it, loudly


@dataclass(frozen=True)
class Failure:
    verdict: Verdict
    reason: str
    # True when Slack may have acted although we saw a failure (timeout, 5xx, dropped line).
    outcome_unknown: bool
    # A 429: the seconds Slack asked us to wait (Retry-After) before calling again.
    retry_after: float = 0.0


def judge(*, status: int | None, error: str | None) -> Failure:
    """Classify a failed call from its HTTP status (None: no answer at all) and Slack error code."""
    if status == 429 or error in {"ratelimited", "rate_limited"}:
        return Failure(Verdict.RATE_LIMITED, "rate limited by Slack", outcome_unknown=False)
    if status is None or status >= 500:
        reason = error or ("no answer from Slack" if status is None else f"HTTP {status} from Slack")
        return Failure(Verdict.RETRY, reason, outcome_unknown=True)
    if error in PERSON_GONE:
        return Failure(Verdict.PERSON_GONE, error, outcome_unknown=False)
    if error in WORKSPACE_GONE:
        return Failure(Verdict.WORKSPACE_GONE, error, outcome_unknown=False)
    if error in {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}:
        return Failure(Verdict.RETRY, error, outcome_unknown=True)
    if error in TOKEN_PASSING:
        return Failure(Verdict.RETRY, error, outcome_unknown=False)
    return Failure(Verdict.REFUSED, error or f"HTTP {status}", outcome_unknown=False)


def backoff(failed_attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min, 8 min: about a quarter of an hour before giving up."""
    return timedelta(seconds=30 * 2 ** max(0, failed_attempts - 1))
