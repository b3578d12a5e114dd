"""Repetition rules people type (carpool trips, shop runs), generated valid and broken:
every rule is refused with a message or gives a bounded, ordered schedule inside the
period asked for, quickly. dateutil alone loops for ever on INTERVAL=0, searches to the
year 9999 on BYMONTH=13 and fails half-way on BYDAY=+9MO."""

import contextlib
import datetime as dt
import signal
from zoneinfo import ZoneInfo

import hypothesis
import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from backend.carpool import recurrence as carpool
from backend.errors import ApplicationError
from backend.rrules import rule_problem
from backend.shuttle import recurrence as shuttle

STOCKHOLM = ZoneInfo("Europe/Stockholm")
# A guard against hangs (INTERVAL=0 never ended), not a timing assertion: far above what
# a bounded expansion takes on a busy machine. Rules that were merely slow (seconds, up to
# the year 9999) are asserted to be refused instead.
SECONDS_ALLOWED = 20


def wall(*args: int) -> dt.datetime:
    """A wall-clock time without a zone: hypothesis takes naive bounds and adds the zone."""
    return dt.datetime(*args)  # noqa: DTZ001


numbers = st.one_of(
    st.integers(-3, 60),
    st.sampled_from([-400, -367, 366, 367, 999, 10**6, 10**9, 10**20]),
).map(str)
weekday = st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU", "XX", "mo"])
byday = st.lists(
    st.tuples(st.one_of(st.just(""), st.integers(-60, 60).map(lambda n: f"{n:+d}")), weekday).map(
        "".join
    ),
    min_size=1,
    max_size=4,
).map(",".join)
until = st.one_of(
    st.datetimes(wall(2020, 1, 1), wall(9999, 12, 30)).map(lambda d: d.strftime("%Y%m%dT%H%M%S")),
    st.sampled_from(["20271231", "20271231T000000Z", "2027-12-31", "99991231T235959", "0"]),
)
part = st.one_of(
    st.sampled_from(
        ["DAILY", "WEEKLY", "MONTHLY", "YEARLY", "HOURLY", "SECONDLY", "MINUTELY", "", "X"]
    ).map(lambda v: f"FREQ={v}"),
    numbers.map(lambda v: f"INTERVAL={v}"),
    numbers.map(lambda v: f"COUNT={v}"),
    until.map(lambda v: f"UNTIL={v}"),
    byday.map(lambda v: f"BYDAY={v}"),
    st.lists(numbers, min_size=1, max_size=3).map(lambda v: "BYMONTHDAY=" + ",".join(v)),
    st.lists(numbers, min_size=1, max_size=3).map(lambda v: "BYMONTH=" + ",".join(v)),
    st.lists(numbers, min_size=1, max_size=3).map(lambda v: "BYSETPOS=" + ",".join(v)),
    st.sampled_from(["BYHOUR", "BYMINUTE", "BYSECOND", "BYWEEKNO", "BYYEARDAY", "BYEASTER"]).map(
        lambda name: f"{name}=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23"
    ),
    weekday.map(lambda v: f"WKST={v}"),
    st.text(max_size=12),
)
rules = st.one_of(
    st.lists(part, min_size=1, max_size=6).map(";".join),
    st.lists(part, min_size=1, max_size=6).map(lambda parts: "RRULE:" + ";".join(parts)),
    st.lists(part, min_size=0, max_size=5).map(lambda parts: ";".join(["FREQ=DAILY", *parts])),
    st.lists(part, min_size=0, max_size=5).map(lambda parts: ";".join(["FREQ=MONTHLY", *parts])),
    st.text(max_size=40),
)
# First departures around both DST changes of 2027 and midnight.
first_departures = st.one_of(
    st.datetimes(wall(2027, 3, 26), wall(2027, 3, 30)),
    st.datetimes(wall(2027, 10, 29), wall(2027, 11, 2)),
    st.datetimes(wall(2027, 1, 1), wall(2027, 12, 31)),
).map(lambda naive: naive.replace(tzinfo=STOCKHOLM, microsecond=0))


class TookTooLong(Exception):
    pass


@contextlib.contextmanager
def at_most(seconds: int):
    """Fail the example instead of hanging the suite when an expansion does not end."""

    def stop(signum, frame):
        raise TookTooLong(f"more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@hypothesis.settings(max_examples=400, deadline=None)
@given(rule=rules, first=first_departures, days=st.integers(0, 60))
def test_a_trip_rule_is_refused_or_gives_a_bounded_schedule(rule, first, days):
    start = first
    end = first + dt.timedelta(days=days)
    with at_most(SECONDS_ALLOWED):
        try:
            departures = carpool.departures_between(
                rule_text=rule, first_departure=first, start=start, end=end
            )
        except carpool.InvalidRule as error:
            assert str(error)
            return
    assert len(departures) <= carpool.MAX_OCCURRENCES
    assert departures == sorted(set(departures))
    assert all(start <= d <= end for d in departures)
    # The local wall-clock time of the first departure is kept across DST, except on
    # a night the time does not exist.
    for departure in departures:
        local = departure.astimezone(STOCKHOLM)
        assert local.minute == first.minute


@hypothesis.settings(max_examples=400, deadline=None)
@given(rule=rules, starts_on=first_departures.map(lambda d: d.date()), days=st.integers(0, 400))
def test_a_shop_run_rule_is_refused_or_gives_distinct_dates_in_the_period(rule, starts_on, days):
    end = starts_on + dt.timedelta(days=days)
    with at_most(SECONDS_ALLOWED):
        try:
            parsed = shuttle.parse_rule(rule, starts_on=starts_on)
        except ApplicationError as error:
            assert error.code == "rrule_invalid"
            assert error.fields["rrule"]
            return
        dates = shuttle.rule_dates(parsed, start=starts_on, end=end)
    assert dates == sorted(set(dates))
    assert all(starts_on <= d <= end for d in dates)


@pytest.mark.parametrize(
    ("rule", "starts_on", "end", "expected"),
    [
        pytest.param(
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SA,SU;COUNT=3",
            dt.date(9999, 12, 31),
            dt.date(2026, 12, 28),
            [],
            id="ends-before-it-starts-in-9999",
        ),
        pytest.param(
            "FREQ=WEEKLY;BYDAY=MO,SA,SU",
            dt.date(9999, 12, 20),
            dt.date(9999, 12, 31),
            [dt.date(9999, 12, d) for d in (20, 25, 26, 27)],
            id="the-last-week-of-9999",
        ),
    ],
)
def test_a_shop_run_at_the_end_of_the_calendar_gives_its_dates_not_an_error(
    rule, starts_on, end, expected
):
    """dateutil looks at the rest of a week past the last day asked for: in the year
    9999 that day does not exist (found by the API's property test as a 500)."""
    parsed = shuttle.parse_rule(rule, starts_on=starts_on)
    assert shuttle.rule_dates(parsed, start=starts_on, end=end) == expected


@pytest.mark.parametrize(
    "rule",
    [
        pytest.param("FREQ=DAILY;INTERVAL=0", id="interval-0-never-advanced"),
        pytest.param("FREQ=DAILY;INTERVAL=-1", id="negative-interval"),
        pytest.param("FREQ=DAILY;BYMONTH=13", id="month-13-searched-to-9999"),
        pytest.param("FREQ=DAILY;BYWEEKNO=60", id="week-60"),
        pytest.param("FREQ=DAILY;BYMONTHDAY=-40", id="monthday-minus-40"),
        pytest.param("FREQ=MONTHLY;BYDAY=+9MO", id="ninth-monday-indexerror"),
        pytest.param("FREQ=DAILY;UNTIL=20271231T000000Z", id="utc-until-next-to-local-start"),
        pytest.param("FREQ=DAILY;BYHOUR=1,2,3", id="times-come-from-the-run"),
        pytest.param("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", id="30-february-searched-to-9999"),
        pytest.param("FREQ=DAILY;BYSETPOS=2", id="setpos-of-a-day"),
        pytest.param("FREQ=DAILY;INTERVAL=7;BYDAY=SU", id="every-7-days-on-a-weekday"),
        pytest.param("FREQ=WEEKLY;BYMONTHDAY=3", id="monthday-in-a-weekly-rule"),
        pytest.param("FREQ=DAILY;COUNT=3;UNTIL=20271231", id="count-and-until-rfc-5545"),
    ],
)
def test_rules_that_hung_or_crashed_are_refused(rule):
    first = dt.datetime(2027, 3, 1, 7, 10, tzinfo=STOCKHOLM)
    with at_most(SECONDS_ALLOWED):
        with pytest.raises(carpool.InvalidRule):
            carpool.departures_between(
                rule_text=rule, first_departure=first, start=first, end=first + dt.timedelta(28)
            )
        with pytest.raises(ApplicationError) as error:
            shuttle.parse_rule(rule, starts_on=first.date())
    assert error.value.code == "rrule_invalid"


def test_a_rule_with_both_count_and_until_is_refused_saying_why():
    # RFC 5545: COUNT and UNTIL MUST NOT occur in the same rule.
    both = "FREQ=WEEKLY;UNTIL=20271231;BYDAY=MO;COUNT=4"
    with translation.override("en"):
        assert rule_problem(both, frequencies={"WEEKLY"}) == "Give COUNT or UNTIL, not both."
    with translation.override("sv"):
        assert rule_problem(both, frequencies={"WEEKLY"}) == "Ange COUNT eller UNTIL, inte båda."
    assert rule_problem("FREQ=WEEKLY;BYDAY=MO;COUNT=4", frequencies={"WEEKLY"}) is None
    assert rule_problem("FREQ=WEEKLY;BYDAY=MO;UNTIL=20271231", frequencies={"WEEKLY"}) is None


def test_a_monthly_rule_that_never_matches_gives_no_departure():
    # Valid parts, no date: the 5th Monday of every 12th month from a January start is
    # in January only; dateutil searches monthly periods up to the year 9999 (fast).
    first = dt.datetime(2027, 3, 1, 7, 10, tzinfo=STOCKHOLM)
    with at_most(SECONDS_ALLOWED):
        assert (
            carpool.departures_between(
                rule_text="FREQ=MONTHLY;INTERVAL=12;BYMONTH=2",
                first_departure=first,
                start=first,
                end=first + dt.timedelta(days=28),
            )
            == []
        )


def test_count_is_counted_from_the_first_departure():
    first = dt.datetime(2027, 3, 1, 7, 10, tzinfo=STOCKHOLM)
    departures = carpool.departures_between(
        rule_text="FREQ=DAILY;COUNT=5",
        first_departure=first,
        start=first + dt.timedelta(days=2),
        end=first + dt.timedelta(days=28),
    )
    assert [d.astimezone(STOCKHOLM).day for d in departures] == [3, 4, 5]


def test_a_first_departure_in_the_repeated_hour_keeps_its_instant():
    # 02:30 winter time on the night the clocks go back (the second 02:30): the first
    # departure is the instant the driver chose, not the 02:30 an hour earlier.
    first = dt.datetime(2027, 10, 31, 2, 30, fold=1, tzinfo=STOCKHOLM)
    departures = carpool.departures_between(
        rule_text="FREQ=DAILY;COUNT=2",
        first_departure=first,
        start=first,
        end=first + dt.timedelta(days=3),
    )
    assert departures == [
        dt.datetime(2027, 10, 31, 1, 30, tzinfo=dt.UTC),
        dt.datetime(2027, 11, 1, 1, 30, tzinfo=dt.UTC),
    ]
