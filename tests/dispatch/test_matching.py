"""candidates(): who can take a ride, against real PostGIS.

The default case: a ride from Vansbro next Monday at 10:00 local, 15 minutes of driving
plus 5 of boarding (busy 10:00-10:20), and drivers at home in Vansbro with a 20 km radius
and a Monday slot 08:00-17:00.
"""

import datetime as dt

import pytest
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone
from geopy.distance import geodesic

from backend.community.models import MembershipState, Role
from backend.rides.models import ExceptionKind, RideState
from dispatch.matching import Candidate, candidates, local_day, local_days
from tests.factories import (
    STOCKHOLM,
    VANSBRO,
    AssociationFactory,
    AvailabilityExceptionFactory,
    AvailabilitySlotFactory,
    DriverProfileFactory,
    RideRequestFactory,
    next_weekday_at,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC
MONDAY = 0
SUNDAY = 6
SPRING_FORWARD = dt.date(2026, 3, 29)  # 02:00 CET becomes 03:00 CEST (01:00 UTC)
FALL_BACK = dt.date(2026, 10, 25)  # 03:00 CEST becomes 02:00 CET (01:00 UTC)


def east_of(point, metres: float):
    """The point `metres` (geodesic) due east of `point`."""
    there = geodesic(meters=metres).destination((point.y, point.x), bearing=90)
    return type(point)(there.longitude, there.latitude, srid=4326)


def local(day: dt.date, hour: int, minute: int = 0, *, fold: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=STOCKHOLM).replace(fold=fold)


def monday(hour: int, minute: int = 0) -> dt.datetime:
    return next_weekday_at(MONDAY, hour, minute)


@pytest.fixture
def association():
    return AssociationFactory()


@pytest.fixture
def driver(association):
    """driver(slots=[(weekday, "08:00", "17:00")], **profile fields) in `association`."""

    def make(*, slots=((MONDAY, "08:00", "17:00"),), membership=None, **fields):
        membership = {"association": association, **(membership or {})}
        profile = DriverProfileFactory(
            **{f"membership__{key}": value for key, value in membership.items()}, **fields
        )
        for weekday, start, end in slots:
            AvailabilitySlotFactory(
                driver=profile,
                weekday=weekday,
                start=dt.time.fromisoformat(start),
                end=dt.time.fromisoformat(end),
            )
        return profile

    return make


@pytest.fixture
def ride(association):
    """ride(at=..., until=..., **fields): a ride of `association`, by default Monday 10:00."""

    def make(*, at=None, until=None, **fields):
        at = at or monday(10)
        return RideRequestFactory(
            association=association, earliest_pickup=at, latest_pickup=until or at, **fields
        )

    return make


def ids(found: list[Candidate]) -> list[int]:
    return [c.driver_id for c in found]


def hold(driver, start: dt.datetime, end: dt.datetime, state=RideState.ACCEPTED):
    return RideRequestFactory(
        driver=driver,
        state=state,
        earliest_pickup=start,
        planned_pickup=start,
        busy=DateTimeTZRange(start, end),
    )


# --- Service area -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metres", "radius_factor", "included"),
    [
        pytest.param(19_950, 1.0, True, id="driver just inside radius"),
        pytest.param(20_050, 1.0, False, id="driver just outside radius"),
        pytest.param(20_050, 1.5, True, id="radius widened by radius_factor"),
        pytest.param(30_050, 1.5, False, id="outside even the widened radius"),
    ],
)
def test_service_radius(driver, ride, metres, radius_factor, included):
    far = driver(home_base=east_of(VANSBRO, metres), service_radius_m=20_000)
    found = candidates(ride(), radius_factor=radius_factor)
    assert ids(found) == ([far.pk] if included else [])
    if included:
        assert abs(found[0].distance_m - metres) <= 1


def test_a_driver_with_a_large_radius_is_found_from_far(driver, ride):
    far = driver(home_base=east_of(VANSBRO, 80_000), service_radius_m=100_000)
    assert ids(candidates(ride())) == [far.pk]


# --- Availability -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slot", "included"),
    [
        pytest.param(("08:00", "17:00"), True, id="slot covers the trip"),
        pytest.param(("10:00", "10:20"), True, id="slot exactly as long as the trip"),
        pytest.param(("08:00", "10:15"), False, id="slot ends mid-trip"),
        pytest.param(("10:05", "17:00"), False, id="slot starts after the pickup"),
    ],
)
def test_slot_must_cover_the_whole_trip(driver, ride, slot, included):
    profile = driver(slots=[(MONDAY, *slot)])
    found = candidates(ride(at=monday(10)))
    assert ids(found) == ([profile.pk] if included else [])


def test_slot_on_another_weekday_does_not_count(driver, ride):
    driver(slots=[(1, "08:00", "17:00")])
    assert candidates(ride(at=monday(10))) == []


def test_flexible_window_picks_up_when_the_slot_starts(driver, ride):
    profile = driver(slots=[(MONDAY, "10:30", "14:00")])
    found = candidates(ride(at=monday(9), until=monday(12)))
    assert ids(found) == [profile.pk]
    assert found[0].pickup_at == monday(10, 30)


def test_flexible_window_picks_up_at_the_window_start_when_available(driver, ride):
    driver(slots=[(MONDAY, "08:00", "14:00")])
    [found] = candidates(ride(at=monday(9), until=monday(12)))
    assert found.pickup_at == monday(9)


def test_flexible_window_needs_the_whole_trip_before_the_slot_ends(driver, ride):
    driver(slots=[(MONDAY, "11:50", "12:05")])
    assert candidates(ride(at=monday(9), until=monday(12))) == []


@pytest.mark.parametrize(
    ("slots", "expected"),
    [
        pytest.param(
            [(2, "13:00", "15:00"), (3, "09:00", "12:00")], (2, 13), id="first fitting day"
        ),
        pytest.param(
            [(2, "13:00", "13:10"), (3, "09:00", "12:00")],
            (3, 9),
            id="first day too short, next day fits",
        ),
    ],
)
def test_multi_day_window_picks_the_first_fitting_day(driver, ride, slots, expected):
    """A window over a whole week ("any weekday next week")."""
    profile = driver(slots=slots)
    start = monday(0)
    found = candidates(ride(at=start, until=start + dt.timedelta(days=5) - dt.timedelta(minutes=1)))
    assert ids(found) == [profile.pk]
    weekday, hour = expected
    assert found[0].pickup_at == start + dt.timedelta(days=weekday, hours=hour)


def test_a_window_over_midnight_uses_each_days_own_slots(driver, ride):
    profile = driver(slots=[(MONDAY, "22:00", "23:00"), (1, "06:00", "08:00")])
    found = candidates(ride(at=monday(23), until=monday(23) + dt.timedelta(hours=8)))
    assert ids(found) == [profile.pk]
    assert found[0].pickup_at == monday(6) + dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("away", "included"),
    [
        pytest.param((None, None), False, id="away all day excludes"),
        pytest.param(("09:00", "10:10"), False, id="away overlapping the trip excludes"),
        pytest.param(("10:15", "12:00"), False, id="away starting mid-trip excludes"),
        pytest.param(("08:00", "10:00"), True, id="away ending at the pickup does not"),
        pytest.param(("10:20", "12:00"), True, id="away starting after the trip does not"),
    ],
)
def test_away_exception(driver, ride, away, included):
    profile = driver()
    start, end = (dt.time.fromisoformat(t) if t else None for t in away)
    AvailabilityExceptionFactory(
        driver=profile, date=monday(10).date(), kind=ExceptionKind.AWAY, start=start, end=end
    )
    assert ids(candidates(ride(at=monday(10)))) == ([profile.pk] if included else [])


def test_away_on_another_date_does_not_exclude(driver, ride):
    profile = driver()
    AvailabilityExceptionFactory(
        driver=profile, date=monday(10).date() + dt.timedelta(days=1), kind="away"
    )
    assert ids(candidates(ride())) == [profile.pk]


def test_away_in_a_flexible_window_moves_the_pickup_to_the_return(driver, ride):
    profile = driver()
    AvailabilityExceptionFactory(
        driver=profile, date=monday(10).date(), kind="away", start=dt.time(8), end=dt.time(10, 30)
    )
    [found] = candidates(ride(at=monday(9), until=monday(12)))
    assert found.pickup_at == monday(10, 30)


def test_extra_exception_includes(driver, ride):
    profile = driver(slots=[])
    AvailabilityExceptionFactory(
        driver=profile,
        date=monday(10).date(),
        kind=ExceptionKind.EXTRA,
        start=dt.time(9),
        end=dt.time(12),
    )
    assert ids(candidates(ride())) == [profile.pk]
    assert ids(candidates(ride(at=monday(10) + dt.timedelta(days=7)))) == []


# --- The nights the clocks change ---------------------------------------------------------


def test_local_days_know_where_the_clocks_change():
    spring, autumn = local_day(SPRING_FORWARD), local_day(FALL_BACK)
    assert spring.instant(dt.time(1, 59)) == dt.datetime(2026, 3, 29, 0, 59, tzinfo=UTC)
    # 02:30 does not exist that night: the clock shows 03:00 first, at 01:00 UTC.
    assert spring.instant(dt.time(2, 30)) == dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert spring.instant(dt.time(3, 0)) == dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert spring.end - spring.start == dt.timedelta(hours=23)
    # 02:30 happens twice: the first time (summer time) counts.
    assert autumn.instant(dt.time(2, 30)) == dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert autumn.instant(dt.time(3, 0)) == dt.datetime(2026, 10, 25, 2, 0, tzinfo=UTC)
    assert autumn.end - autumn.start == dt.timedelta(hours=25)
    days = local_days(local(SPRING_FORWARD, 22), local(SPRING_FORWARD, 23) + dt.timedelta(days=1))
    assert [w.day.date for w in days] == [SPRING_FORWARD, SPRING_FORWARD + dt.timedelta(days=1)]


@pytest.mark.parametrize(
    ("day", "slot", "pickup", "minutes", "expected"),
    [
        # 02:30 on the spring night does not exist; Python reads it as 03:30 summer time
        # (01:30 UTC). The slot 01:00-05:00 is 00:00-03:00 UTC: three real hours.
        pytest.param(
            SPRING_FORWARD,
            ("01:00", "05:00"),
            (local(SPRING_FORWARD, 2, 30),),
            15,
            dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
            id="spring forward: slot 01:00-05:00, pickup at 02:30 (read as 03:30)",
        ),
        # Pickup 01:50 CET (00:50 UTC), 20 minutes busy: ends 03:10 summer time. A slot
        # until 03:05 is too short although 01:50 + 20 min on the wall clock is 02:10.
        pytest.param(
            SPRING_FORWARD,
            ("01:00", "03:05"),
            (local(SPRING_FORWARD, 1, 50),),
            15,
            None,
            id="spring forward: a trip across the jump needs its real minutes",
        ),
        pytest.param(
            SPRING_FORWARD,
            ("01:00", "03:10"),
            (local(SPRING_FORWARD, 1, 50),),
            15,
            dt.datetime(2026, 3, 29, 0, 50, tzinfo=UTC),
            id="spring forward: a trip across the jump that fits",
        ),
        # A slot from 02:30 opens when the clocks jump to 03:00 summer time.
        pytest.param(
            SPRING_FORWARD,
            ("02:30", "05:00"),
            (local(SPRING_FORWARD, 1, 30), local(SPRING_FORWARD, 4, 0)),
            15,
            dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
            id="spring forward: a slot from 02:30 opens at the jump",
        ),
        # Autumn: 02:00-03:00 is 00:00-02:00 UTC, two real hours. A trip of 100 + 5
        # minutes from the first 02:00 fits, though 02:00 + 105 min on the wall is 03:45.
        pytest.param(
            FALL_BACK,
            ("02:00", "03:00"),
            (local(FALL_BACK, 2, 0),),
            100,
            dt.datetime(2026, 10, 25, 0, 0, tzinfo=UTC),
            id="fall back: the repeated hour counts twice",
        ),
        pytest.param(
            FALL_BACK,
            ("01:00", "05:00"),
            (local(FALL_BACK, 2, 30, fold=1),),
            15,
            dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
            id="fall back: slot 01:00-05:00, pickup at the second 02:30",
        ),
        # A slot until 02:30 ends at the first 02:30 (summer time, 00:30 UTC).
        pytest.param(
            FALL_BACK,
            ("01:00", "02:30"),
            (local(FALL_BACK, 2, 30, fold=1),),
            15,
            None,
            id="fall back: a slot until 02:30 ends at the first 02:30",
        ),
        pytest.param(
            FALL_BACK,
            ("01:00", "02:30"),
            (local(FALL_BACK, 2, 0),),
            15,
            dt.datetime(2026, 10, 25, 0, 0, tzinfo=UTC),
            id="fall back: the first 02:00 is inside a slot until 02:30",
        ),
    ],
)
def test_dst_change_nights(driver, ride, day, slot, pickup, minutes, expected):
    profile = driver(slots=[(day.weekday(), *slot)])
    at, until = pickup[0], pickup[-1]
    found = candidates(ride(at=at, until=until, duration_s=minutes * 60))
    if expected is None:
        assert found == []
    else:
        assert ids(found) == [profile.pk]
        assert found[0].pickup_at == expected


# --- The car and the passengers -----------------------------------------------------------


@pytest.mark.parametrize(
    ("car", "ride_fields", "included"),
    [
        pytest.param({}, {"needs": ["wheelchair"]}, False, id="wheelchair need, no ramp"),
        pytest.param(
            {"wheelchair_accessible": True}, {"needs": ["wheelchair"]}, True, id="wheelchair car"
        ),
        pytest.param({"walker_space": False}, {"needs": ["walker"]}, False, id="walker, no room"),
        pytest.param({"walker_space": True}, {"needs": ["walker"]}, True, id="walker fits"),
        pytest.param(
            {"takes_guide_dog": False}, {"needs": ["guide_dog"]}, False, id="guide dog refused"
        ),
        pytest.param({"seats": 2}, {"passengers": 3}, False, id="passengers > seats"),
        pytest.param({"seats": 3}, {"passengers": 3}, True, id="passengers = seats"),
        pytest.param(
            {"seats": 2}, {"passengers": 2, "needs": ["companion"]}, False, id="companion, full"
        ),
        pytest.param(
            {"seats": 3}, {"passengers": 2, "needs": ["companion"]}, True, id="companion fits"
        ),
        pytest.param(
            {"seats": 1, "walker_space": False, "takes_guide_dog": False},
            {"needs": ["bags"]},
            True,
            id="bags need nothing of the car",
        ),
    ],
)
def test_needs_and_seats(driver, ride, car, ride_fields, included):
    profile = driver(**car)
    assert ids(candidates(ride(**ride_fields))) == ([profile.pk] if included else [])


# --- Rides the driver already holds -------------------------------------------------------


@pytest.mark.parametrize(
    ("busy", "state", "included"),
    [
        pytest.param((10, 10), RideState.ACCEPTED, False, id="overlapping held ride excludes"),
        pytest.param((9, 50), RideState.EN_ROUTE, False, id="ride en route until 10:10"),
        pytest.param((10, 10), RideState.CANCELLED, True, id="cancelled ride does not"),
        pytest.param((9, 40), RideState.ACCEPTED, True, id="held ride ending at the pickup"),
        pytest.param((10, 20), RideState.ACCEPTED, True, id="held ride starting after the trip"),
    ],
)
def test_held_rides(driver, ride, busy, state, included):
    profile = driver()
    start = monday(*busy)
    hold(profile, start, start + dt.timedelta(minutes=20), state=state)
    assert ids(candidates(ride(at=monday(10)))) == ([profile.pk] if included else [])


def test_held_ride_in_a_flexible_window_moves_the_pickup_after_it(driver, ride):
    profile = driver()
    hold(profile, monday(9, 50), monday(10, 30))
    [found] = candidates(ride(at=monday(10), until=monday(11)))
    assert found.pickup_at == monday(10, 30)


# --- Who is a driver of the association ---------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"active": False}, id="inactive driver"),
        pytest.param({"membership": {"state": MembershipState.SUSPENDED}}, id="suspended"),
        pytest.param({"membership": {"state": MembershipState.PENDING}}, id="pending member"),
        pytest.param({"membership": {"roles": [Role.MEMBER]}}, id="member without driver role"),
    ],
)
def test_not_a_driver_of_the_association(driver, ride, fields):
    driver(**fields)
    assert candidates(ride()) == []


def test_driver_of_another_association_excluded(driver, ride):
    driver(membership={"association": AssociationFactory()})
    assert candidates(ride()) == []


def test_excluded_driver_ids(driver, ride):
    first, second = driver(), driver(home_base=east_of(VANSBRO, 1_000))
    assert ids(candidates(ride(), exclude_driver_ids=[first.pk])) == [second.pk]


# --- Distance and ranking -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("on_duty", "age_minutes", "expected_m"),
    [
        pytest.param(True, 5, 1_000, id="on duty, fresh position is used"),
        pytest.param(True, 20, 10_000, id="on duty, stale position: home base"),
        pytest.param(False, 5, 10_000, id="off duty: home base"),
    ],
)
def test_distance_from_current_position(driver, ride, on_duty, age_minutes, expected_m):
    driver(
        home_base=east_of(VANSBRO, 10_000),
        on_duty=on_duty,
        position=east_of(VANSBRO, 1_000),
        position_at=timezone.now() - dt.timedelta(minutes=age_minutes),
    )
    [found] = candidates(ride())
    assert abs(found.distance_m - expected_m) <= 1


def recent(profile, count: int, *, days_ago: int = 3):
    for n in range(count):
        start = timezone.now() - dt.timedelta(days=days_ago, hours=n)
        hold(profile, start, start + dt.timedelta(minutes=20), state=RideState.COMPLETED)


def test_ranking_order_end_to_end(driver, ride):
    """Scores (metres + 1,000 per recent ride, at most 4): middle 2 km + 0 rides = 2,000;
    near 1 km + 3 rides = 4,000; far 3 km + 1 held ride = 4,000 (the tie goes to the
    nearer); busy 0.5 km + 9 rides, 4 counted = 4,500."""
    near = driver(home_base=east_of(VANSBRO, 1_000))
    middle = driver(home_base=east_of(VANSBRO, 2_000))
    far = driver(home_base=east_of(VANSBRO, 3_000))
    busy = driver(home_base=east_of(VANSBRO, 500))
    recent(near, 3)
    recent(near, 2, days_ago=40)  # outside the 30 days: not counted
    recent(busy, 9)
    hold(far, monday(14), monday(14, 30))  # a held ride counts too
    found = candidates(ride())
    assert ids(found) == [middle.pk, near.pk, far.pk, busy.pk]
    assert [c.recent_rides for c in found] == [0, 3, 1, 9]
    assert [round(c.distance_m, -2) for c in found] == [2_000, 1_000, 3_000, 500]
    assert ids(candidates(ride(), limit=2)) == [middle.pk, near.pk]


def test_limit_keeps_the_best_ranked_of_a_larger_fetch(driver, ride):
    """With limit 1 the query fetches 3 and ranks them: the rested driver 2 km away wins
    over the nearest, who drove 4 rides recently."""
    nearest = driver(home_base=east_of(VANSBRO, 100))
    rested = driver(home_base=east_of(VANSBRO, 2_000))
    recent(nearest, 4)
    assert ids(candidates(ride(), limit=1)) == [rested.pk]


def test_one_query(driver, ride, django_assert_num_queries):
    for metres in (0, 1_000, 2_000):
        driver(home_base=east_of(VANSBRO, metres))
    request = ride(at=monday(0), until=monday(0) + dt.timedelta(days=4), needs=["companion"])
    with django_assert_num_queries(1):
        found = candidates(request, exclude_driver_ids=[0])
    assert len(found) == 3
