"""candidates() over the materialised availability windows gives the same answer as the
weekly query (which works the week out from slots and exceptions), on real PostGIS.

tests/dispatch/test_matching.py covers the rules (most of its cases run over the windows,
the factories build them as the services do); here: random weeks against the weekly
query, DST nights in the windows, and when candidates() falls back to the weekly query.
"""

import datetime as dt

import hypothesis
import pytest
from django.db import connection, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from geopy.distance import geodesic
from hypothesis import given
from hypothesis import strategies as st

from backend.rides.availability import availability_windows_roll
from backend.rides.localtime import local_day
from backend.rides.models import AvailabilityHorizon, AvailabilityWindow, RideRequest, RideState
from dispatch.matching import Candidate, candidates, weekly_candidate_query
from dispatch.ranking import rank
from tests.factories import (
    VANSBRO,
    AssociationFactory,
    AvailabilityExceptionFactory,
    AvailabilitySlotFactory,
    DriverProfileFactory,
    RideRequestFactory,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC
SPRING_FORWARD = dt.date(2027, 3, 28)
FALL_BACK = dt.date(2027, 10, 31)


def weekly(ride: RideRequest, *, limit: int = 20, **options) -> list[Candidate]:
    """What candidates() answers without windows."""
    with connection.cursor() as cursor:
        cursor.execute(*weekly_candidate_query(ride, limit=limit, **options))
        rows = cursor.fetchall()
    found = [Candidate(r[0], r[1], r[2], r[3]) for r in rows]
    return rank(found)[:limit]


def east_of(point, metres: float):
    there = geodesic(meters=metres).destination((point.y, point.x), bearing=90)
    return type(point)(there.longitude, there.latitude, srid=4326)


# --- Random weeks ------------------------------------------------------------------------------


def half_hours(low: int = 0, high: int = 47):
    return st.integers(low, high).map(lambda n: dt.time(n // 2, 30 * (n % 2)))


@st.composite
def periods(draw):
    start = draw(st.integers(12, 40))
    length = draw(st.integers(1, 12))
    end = min(start + length, 47)
    return dt.time(start // 2, 30 * (start % 2)), dt.time(end // 2, 30 * (end % 2))


@st.composite
def drivers(draw):
    slots = []
    for weekday, (start, end) in draw(
        st.lists(st.tuples(st.integers(0, 6), periods()), max_size=3)
    ):
        # One day's times never overlap (the slot_no_overlap constraint, as the service).
        if all(day != weekday or end <= s or e <= start for day, (s, e) in slots):
            slots.append((weekday, (start, end)))
    aways = draw(
        st.lists(st.tuples(st.integers(1, 9), st.one_of(st.none(), periods())), max_size=2)
    )
    extras = draw(st.lists(st.tuples(st.integers(1, 9), periods()), max_size=2))
    held = draw(st.lists(st.tuples(st.integers(1, 9), periods()), max_size=2))
    return {
        "metres": draw(st.integers(0, 25_000)),
        "seats": draw(st.integers(1, 4)),
        "slots": slots,
        "aways": aways,
        "extras": extras,
        "held": held,
    }


@st.composite
def rides(draw):
    day = draw(st.integers(1, 9))
    at = draw(half_hours(14, 40))
    kind = draw(st.sampled_from(["fixed", "hour", "days"]))
    minutes = draw(st.integers(10, 90))
    passengers = draw(st.integers(1, 3))
    return {"day": day, "at": at, "kind": kind, "minutes": minutes, "passengers": passengers}


def make_driver(association, spec) -> None:
    today = timezone.localdate()
    profile = DriverProfileFactory(
        membership__association=association,
        home_base=east_of(VANSBRO, spec["metres"]),
        seats=spec["seats"],
    )
    for weekday, (start, end) in spec["slots"]:
        profile.slots.create(weekday=weekday, start=start, end=end)
    for offset, times in spec["aways"]:
        start, end = times or (None, None)
        profile.exceptions.create(
            date=today + dt.timedelta(days=offset), kind="away", start=start, end=end
        )
    for offset, (start, end) in spec["extras"]:
        profile.exceptions.create(
            date=today + dt.timedelta(days=offset), kind="extra", start=start, end=end
        )
    for offset, (start, end) in spec["held"]:
        day = local_day(today + dt.timedelta(days=offset))
        begin, until = day.instant(start), day.instant(end)
        # Held rides of one driver never overlap (the exclusion constraint).
        if not profile.rides.filter(busy__overlap=DateTimeTZRange(begin, until)).exists():
            RideRequestFactory(
                driver=profile,
                state=RideState.ACCEPTED,
                earliest_pickup=begin,
                planned_pickup=begin,
                busy=DateTimeTZRange(begin, until),
            )


def make_ride(association, spec) -> RideRequest:
    day = local_day(timezone.localdate() + dt.timedelta(days=spec["day"]))
    at = day.instant(spec["at"])
    until = {
        "fixed": at,
        "hour": at + dt.timedelta(hours=1),
        "days": at + dt.timedelta(days=3),
    }[spec["kind"]]
    return RideRequestFactory(
        association=association,
        earliest_pickup=at,
        latest_pickup=until,
        duration_s=spec["minutes"] * 60,
        passengers=spec["passengers"],
    )


@hypothesis.settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@given(st.lists(drivers(), min_size=1, max_size=6), st.lists(rides(), min_size=1, max_size=4))
def test_random_weeks_give_the_same_candidates_as_the_weekly_query(driver_specs, ride_specs):
    with transaction.atomic():
        association = AssociationFactory()
        for spec in driver_specs:
            make_driver(association, spec)
        AvailabilityHorizon.objects.all().delete()
        availability_windows_roll()
        for spec in ride_specs:
            ride = make_ride(association, spec)
            for limit in (1, 20):
                assert candidates(ride, limit=limit) == weekly(ride, limit=limit)
        transaction.set_rollback(True)


def test_drivers_as_near_as_the_last_one_read_are_all_ranked():
    """Two drivers busy at the pickup's door (ranked last: a ride each lately) and two
    from the same house 4 m away: with one wanted, three are read, and which of the two
    from the same house is read must not depend on the order rows come in (it did: the
    two queries could name different drivers)."""
    half_past = (dt.time(6, 0), dt.time(6, 30))
    busy = {"metres": 0, "seats": 1, "slots": [], "aways": [(1, None)], "extras": [(2, half_past)]}
    association = AssociationFactory()
    make_driver(association, {**busy, "held": [(1, half_past)]})
    make_driver(association, {**busy, "held": [(1, half_past)]})
    for weekday in (3, 4):
        slots = [(day, (dt.time(6, 0), dt.time(8, 0))) for day in range(7) if day != weekday]
        make_driver(
            association,
            {"metres": 4, "seats": 1, "slots": slots, "aways": [], "extras": [], "held": []},
        )
    AvailabilityHorizon.objects.all().delete()
    availability_windows_roll()
    ride = make_ride(
        association, {"day": 1, "at": dt.time(7, 0), "kind": "days", "minutes": 10, "passengers": 1}
    )
    all_four = weekly(ride, limit=20)
    assert len(all_four) == 4 and all_four == candidates(ride, limit=20)
    assert candidates(ride, limit=1) == weekly(ride, limit=1) == all_four[:1]


# --- DST nights, over the windows --------------------------------------------------------------


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return local_day(day).instant(dt.time(hour, minute))


@pytest.mark.parametrize(
    ("day", "slot", "at", "minutes", "expected"),
    [
        pytest.param(
            SPRING_FORWARD, ("01:00", "05:00"), (2, 30), 15, utc(2027, 3, 28, 1),
            id="spring forward: 02:30 is read as 03:00",
        ),
        pytest.param(
            SPRING_FORWARD, ("01:00", "03:30"), (1, 30), 65, None,
            id="spring forward: 01:30 + 65 min does not fit before 03:30",
        ),
        pytest.param(
            SPRING_FORWARD, ("01:00", "03:30"), (1, 30), 55, utc(2027, 3, 28, 0, 30),
            id="spring forward: 01:30 + 55 min fits (the clock jumps)",
        ),
        pytest.param(
            FALL_BACK, ("02:00", "03:00"), (2, 0), 100, utc(2027, 10, 31, 0),
            id="fall back: the repeated hour counts twice",
        ),
        pytest.param(
            FALL_BACK, ("01:00", "02:30"), (2, 0), 15, utc(2027, 10, 31, 0),
            id="fall back: the first 02:00 is inside a slot until 02:30",
        ),
    ],
)  # fmt: skip
def test_dst_nights_over_the_windows(association, day, slot, at, minutes, expected):
    profile = DriverProfileFactory(membership__association=association)
    start, end = (dt.time.fromisoformat(t) for t in slot)
    profile.slots.create(weekday=day.weekday(), start=start, end=end)
    availability_windows_roll(today=day - dt.timedelta(days=1), days=3)
    pickup = local(day, *at)
    # Minus the 5 minutes of boarding: `minutes` is the whole time the driver is busy.
    ride = RideRequestFactory(
        association=association,
        earliest_pickup=pickup,
        latest_pickup=pickup,
        duration_s=(minutes - 5) * 60,
    )
    found = candidates(ride)
    assert found == weekly(ride)
    assert [(c.driver_id, c.pickup_at) for c in found] == (
        [(profile.pk, expected)] if expected else []
    )


# --- When the weekly query answers -------------------------------------------------------------


def test_a_ride_beyond_the_horizon_is_answered_by_the_weekly_query(association):
    slot = AvailabilitySlotFactory(driver__membership__association=association, weekday=0)
    horizon = AvailabilityHorizon.objects.get()
    monday = horizon.until + dt.timedelta(days=(0 - horizon.until.weekday()) % 7)
    ride = RideRequestFactory(association=association, earliest_pickup=local(monday, 10))
    with CaptureQueriesContext(connection) as queries:
        found = candidates(ride)
    assert [c.driver_id for c in found] == [slot.driver_id]
    assert found == weekly(ride)
    assert len(queries) == 2  # the windows' answer "not covered", then the weekly query


def test_before_the_first_build_the_weekly_query_answers(association):
    profile = DriverProfileFactory(membership__association=association)
    profile.slots.create(weekday=0, start=dt.time(8), end=dt.time(17))
    monday = timezone.localdate() + dt.timedelta(days=(0 - timezone.localdate().weekday()) % 7 or 7)
    ride = RideRequestFactory(association=association, earliest_pickup=local(monday, 10))
    assert not AvailabilityHorizon.objects.exists()
    assert [c.driver_id for c in candidates(ride)] == [profile.pk]


def test_drivers_with_many_windows_are_read_again_until_enough(association):
    """limit 1 fetches 3 drivers, reading 6 window rows first; four drivers with three
    fitting windows each (a slot and two extra periods) fill those 6 rows with two
    drivers, so candidates() reads again with more rows."""
    monday = timezone.localdate() + dt.timedelta(days=(0 - timezone.localdate().weekday()) % 7 or 7)
    profiles = []
    for metres in (0, 1_000, 2_000, 3_000):
        slot = AvailabilitySlotFactory(
            driver__membership__association=association,
            driver__home_base=east_of(VANSBRO, metres),
            weekday=0,
        )
        for start in (9, 9):
            AvailabilityExceptionFactory(
                driver=slot.driver, date=monday, kind="extra",
                start=dt.time(start), end=dt.time(12),
            )  # fmt: skip
        profiles.append(slot.driver)
    assert AvailabilityWindow.objects.filter(day=monday).count() == 12
    ride = RideRequestFactory(association=association, earliest_pickup=local(monday, 10))
    with CaptureQueriesContext(connection) as queries:
        found = candidates(ride, limit=1)
    assert len(queries) == 2
    assert found == weekly(ride, limit=1)
    assert [c.driver_id for c in found] == [profiles[0].pk]
    with CaptureQueriesContext(connection) as queries:
        assert len(candidates(ride)) == 4  # limit 20: 120 rows read, 12 found, once
    assert len(queries) == 1
