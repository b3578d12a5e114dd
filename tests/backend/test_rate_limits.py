"""The rate limits' counters (backend.rate_limits), on the real Redis cache: a sliding
window over two clock-aligned counters. The clock is the module's own `time`, moved by
the tests; everything else is the real thing."""

import threading

import pytest

from backend import rate_limits
from backend.rate_limits import (
    BookingPlace,
    booking_place_give_back,
    booking_place_take,
    rate_limit_hit,
)
from tests.conftest import StoppedClock

PERIOD = 60
START = 1_800_000_000  # the start of a minute (and of an hour): rate_limits_clock's


@pytest.fixture
def clock(rate_limits_clock: StoppedClock) -> StoppedClock:
    return rate_limits_clock


def attempts(clock: StoppedClock, at: float, count: int, rate: str = "3/min") -> list[int | None]:
    clock.now = at
    return [rate_limit_hit("test:someone", rate) for _ in range(count)]


def test_the_rate_is_let_through_and_the_next_attempt_is_refused_with_the_wait(clock):
    assert attempts(clock, START + 10, 3) == [None, None, None]
    # This window is full: the wait runs into the next minute, until a third of this
    # one's count has faded (3 * (1 - 20/60) + 1 <= 3).
    assert attempts(clock, START + 10, 1) == [50 + 20]


def test_a_burst_at_the_end_of_a_window_is_still_counted_at_the_start_of_the_next(clock):
    """With fixed windows the count started over at the edge: three more at once."""
    assert attempts(clock, START + PERIOD - 1, 3) == [None, None, None]
    assert attempts(clock, START + PERIOD + 1, 1) == [19]
    # One period back from 20 s into the window, two thirds of the burst count: room for one.
    assert attempts(clock, START + PERIOD + 20, 2) == [None, 20]


def test_a_refused_client_that_keeps_trying_is_let_through_at_the_wait_it_was_given(clock):
    assert attempts(clock, START + 30, 3) == [None, None, None]
    wait = attempts(clock, START + 31, 1)[0]
    for second in range(32, 31 + wait):
        assert attempts(clock, START + second, 1) == [START + 31 + wait - (START + second)]
    assert attempts(clock, START + 31 + wait, 1) == [None]


@pytest.mark.parametrize("rate", ["3/min", "10/min", "20/hour", "5/s"])
def test_a_client_at_half_the_rate_is_never_refused(clock, rate):
    limit, period = rate_limits.parse_rate(rate)
    step = 2 * period / limit
    for n in range(4 * limit):
        assert attempts(clock, START + 0.25 * step + n * step, 1, rate) == [None], n


@pytest.mark.parametrize("rate", ["3/min", "10/min", "20/hour"])
def test_a_client_at_four_times_the_rate_gets_the_rate_and_no_window_more(clock, rate):
    limit, period = rate_limits.parse_rate(rate)
    step = period / limit / 4
    let_through = [
        START + n * step
        for n in range(16 * limit)
        if attempts(clock, START + n * step, 1, rate)[0] is None
    ]
    for window in range(4):
        in_window = [
            at
            for at in let_through
            if START + window * period <= at < START + (window + 1) * period
        ]
        assert len(in_window) <= limit
    # The previous window's share fades out, it does not shut the client out: after
    # the first window, all but one of the rate's places are taken in each.
    assert len(let_through) >= limit + 3 * (limit - 1)


def test_concurrent_attempts_cannot_both_take_the_last_place(clock):
    limit, threads = 5, 24
    results: list[int | None] = []
    ready = threading.Barrier(threads)

    def attempt() -> None:
        ready.wait()
        results.append(rate_limit_hit("test:crowd", f"{limit}/min"))

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert results.count(None) == limit
    assert len(results) == threads


def test_counters_of_different_keys_are_apart(clock):
    assert attempts(clock, START + 5, 3) == [None, None, None]
    assert rate_limit_hit("test:someone-else", "3/min") is None


# --- Bookings: a place taken before the attempt, given back when it booked nothing -------


def booking_rate(settings, rate: str) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "booking": rate,
        },
    }


def test_a_place_given_back_lets_the_next_booking_through(clock, settings):
    booking_rate(settings, "2/min")
    clock.now = START + 10
    first, second = booking_place_take(user_id=1), booking_place_take(user_id=1)
    assert (first.wait, second.wait) == (None, None)
    refused = booking_place_take(user_id=1)
    assert refused.wait == 50 + 30  # into the next minute, until half of this one faded
    assert refused.counter is None

    booking_place_give_back(second)

    assert booking_place_take(user_id=1).wait is None
    assert booking_place_take(user_id=1).wait is not None


def test_places_given_back_never_count_below_nothing(clock, settings):
    booking_rate(settings, "2/min")
    clock.now = START + 10
    place = booking_place_take(user_id=1)
    for _ in range(3):
        booking_place_give_back(place)
    assert [booking_place_take(user_id=1).wait for _ in range(3)] == [None, None, 80]


def test_concurrent_bookings_cannot_together_go_over_the_limit(clock, settings):
    """Each takes its place before booking, so a crowd of one person's requests gets the
    limit's number of places, however many of them are under way at once."""
    booking_rate(settings, "5/min")
    threads = 24
    places: list[BookingPlace] = []
    ready = threading.Barrier(threads)

    def attempt() -> None:
        ready.wait()
        places.append(booking_place_take(user_id=7))

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert [place.wait for place in places].count(None) == 5
    assert len(places) == threads
