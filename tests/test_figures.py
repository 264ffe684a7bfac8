"""The three distances of `/loops` on hand-made histories: never negative, never flattering."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from slackbot.core.figures import CountedShipment, days_between, figures, problem_days

instants = st.datetimes(
    min_value=datetime(2026, 6, 1), max_value=datetime(2026, 12, 2, 12, 0), timezones=st.just(UTC)
)


@st.composite
def counted_shipments(draw: st.DrawFn) -> CountedShipment:
    """A ship as the app records it: its distances worked out from moments in any order."""
    opened, shipped = draw(instants), draw(instants)  # edits and clocks may put one after the other
    answered = draw(st.booleans())
    settled = draw(st.none() | instants) if answered else None
    return CountedShipment(
        problem_days=problem_days(
            opened, shipped, first_of_loop=draw(st.booleans()), opened_by_shipment=draw(st.booleans())
        ),
        outcome_days=days_between(shipped, settled) if settled is not None else None,
        answered=answered,
        unwatched=draw(st.booleans()),  # "can't tell yet", then nothing: answered and unwatched
    )


@given(st.lists(counted_shipments(), max_size=40))
def test_medians_are_never_negative_and_the_share_is_a_share(history: list[CountedShipment]) -> None:
    numbers = figures(history)
    for value in (numbers.problem_to_shipment_days, numbers.shipment_to_outcome_days):
        assert value is None or value >= 0
    assert numbers.watched <= numbers.judged <= numbers.shipments == len(history)
    assert numbers.watched_share is None or 0 <= numbers.watched_share <= 1


@given(st.lists(counted_shipments(), max_size=40))
def test_a_ship_with_no_check_in_answer_counts_neither_way(history: list[CountedShipment]) -> None:
    waiting = [replace(s, answered=False, unwatched=False, outcome_days=None) for s in history]
    numbers = figures(waiting)
    assert (numbers.watched, numbers.judged, numbers.watched_share) == (0, 0, None)
    assert numbers.shipment_to_outcome_days is None


@given(st.lists(counted_shipments(), max_size=40))
def test_an_unwatched_ship_never_counts_as_watched(history: list[CountedShipment]) -> None:
    numbers = figures([replace(s, unwatched=True) for s in history])
    assert numbers.watched == 0
    assert numbers.judged == numbers.shipments


@given(instants, instants, st.booleans(), st.booleans())
def test_only_a_loops_first_ship_of_a_problem_opened_before_counts_for_problem_to_ship(
    opened: datetime, shipped: datetime, first: bool, by_shipment: bool
) -> None:
    days = problem_days(opened, shipped, first_of_loop=first, opened_by_shipment=by_shipment)
    if not first or by_shipment:
        assert days is None
    else:
        assert days is not None and days >= 0
        assert days == max(0.0, (shipped - opened).total_seconds() / 86_400)


def test_a_hand_made_history() -> None:
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    day = timedelta(days=1)
    history = [
        # Opened, shipped 2 days later, settled 3 days after that.
        CountedShipment(
            problem_days(now - 10 * day, now - 8 * day, first_of_loop=True, opened_by_shipment=False),
            3.0,
            True,
            False,
        ),
        # Its second shipment: no problem → ship distance; never answered, given up on.
        CountedShipment(
            problem_days(now - 10 * day, now - 4 * day, first_of_loop=False, opened_by_shipment=False),
            None,
            False,
            True,
        ),
        # Opened by /shipped itself: no problem → ship distance; its check-in still to come.
        CountedShipment(
            problem_days(now - day, now - day, first_of_loop=True, opened_by_shipment=True),
            None,
            False,
            False,
        ),
    ]
    numbers = figures(history)
    assert numbers.problem_to_shipment_days == 2
    assert numbers.shipment_to_outcome_days == 3
    assert (numbers.watched, numbers.judged, numbers.shipments) == (1, 2, 3)
