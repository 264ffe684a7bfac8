"""The three distances of `/loops` on hand-made histories: never negative, never flattering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from slackbot.core.figures import WINDOW, Ship, figures

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
instants = st.datetimes(
    min_value=datetime(2026, 6, 1), max_value=datetime(2026, 12, 2, 12, 0), timezones=st.just(UTC)
)


@st.composite
def ships(draw: st.DrawFn) -> Ship:
    answered = draw(st.booleans())
    return Ship(
        loop_opened_at=draw(instants),  # edits and clocks may put it after the ship
        shipped_at=draw(instants),
        first_of_loop=draw(st.booleans()),
        opened_by_ship=draw(st.booleans()),
        answered=answered,
        unwatched=draw(st.booleans()),  # "can't tell yet", then nothing: answered and unwatched
        settled_at=draw(st.none() | instants) if answered else None,
    )


@given(st.lists(ships(), max_size=40))
def test_medians_are_never_negative_and_the_share_is_a_share(history: list[Ship]) -> None:
    numbers = figures(history, NOW)
    for value in (numbers.problem_to_ship_days, numbers.ship_to_outcome_days):
        assert value is None or value >= 0
    assert numbers.watched <= numbers.judged <= numbers.ships
    assert numbers.watched_share is None or 0 <= numbers.watched_share <= 1


@given(st.lists(ships(), max_size=40))
def test_a_ship_still_waiting_for_its_check_in_counts_neither_way(history: list[Ship]) -> None:
    waiting = [
        Ship(s.loop_opened_at, s.shipped_at, s.first_of_loop, s.opened_by_ship, False, False, None)
        for s in history
    ]
    numbers = figures(waiting, NOW)
    assert (numbers.watched, numbers.judged, numbers.watched_share) == (0, 0, None)


@given(st.lists(ships(), max_size=40))
def test_an_unwatched_ship_never_counts_as_watched(history: list[Ship]) -> None:
    unwatched = [
        Ship(s.loop_opened_at, s.shipped_at, s.first_of_loop, s.opened_by_ship, s.answered, True, None)
        for s in history
    ]
    numbers = figures(unwatched, NOW)
    assert numbers.watched == 0
    assert numbers.judged == numbers.ships


@given(st.lists(ships(), max_size=40))
def test_only_the_last_90_days_count(history: list[Ship]) -> None:
    numbers = figures(history, NOW)
    assert numbers.ships == sum(1 for s in history if NOW - WINDOW < s.shipped_at <= NOW)


def test_a_hand_made_history() -> None:
    day = timedelta(days=1)
    history = [
        # Opened, shipped 2 days later, settled 3 days after that.
        Ship(NOW - 10 * day, NOW - 8 * day, True, False, True, False, NOW - 5 * day),
        # Its second shipment: not a problem → ship distance; never answered, given up on.
        Ship(NOW - 10 * day, NOW - 4 * day, False, False, False, True, None),
        # Opened by /shipped itself: no problem → ship distance; its check-in still to come.
        Ship(NOW - 1 * day, NOW - 1 * day, True, True, False, False, None),
        # Older than the window: not counted at all.
        Ship(NOW - 200 * day, NOW - 100 * day, True, False, True, False, NOW - 99 * day),
    ]
    numbers = figures(history, NOW)
    assert numbers.problem_to_ship_days == 2
    assert numbers.ship_to_outcome_days == 3
    assert (numbers.watched, numbers.judged, numbers.ships) == (1, 2, 3)
