"""The nightly batch (dispatch/batch.py): the optimiser on hand-built days, then plans on
real PostGIS.

Hand-built days lie on one road: places are kilometre marks (west is low, east high), a
driver covers 1 km a minute, and the day is next to nothing but the rides it names.
"""

import datetime as dt
import itertools
from decimal import Decimal

import hypothesis
import pytest
from celery.schedules import crontab
from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.utils import timezone
from geopy.distance import geodesic
from hypothesis import given
from hypothesis import strategies as st

from backend.errors import ApplicationError, ErrorKind
from backend.notifications.models import Notification, SmsReplyCode
from backend.notifications.selectors import notification_message
from backend.rides.models import (
    AssignmentPlan,
    Offer,
    OfferState,
    PlannedAssignment,
    PlanState,
    RideRequest,
    RideState,
)
from backend.rides.plans import plan_discard
from backend.rides.services import ride_assign, ride_cancel
from dispatch.batch import (
    DayDriver,
    DayPlan,
    DayRide,
    Option,
    Planned,
    Rules,
    plan_approve,
    plan_create,
    plan_day,
    plan_evaluate,
    plan_greedy,
)
from dispatch.offers import offer_accept
from dispatch.tasks import plan_tomorrow
from tests.factories import (
    DALA_JARNA,
    STOCKHOLM,
    VANSBRO,
    AvailabilitySlotFactory,
    DriverProfileFactory,
    RideRequestFactory,
    next_weekday_at,
)

DAY = dt.date(2026, 5, 4)
ROAD = Rules(today_weight_m=2_000, recent_weight_m=1_000, recent_counted=4, speed_kmh=60)


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time(hour, minute), tzinfo=STOCKHOLM)


def km_apart(a: float, b: float) -> int:
    return round(abs(a - b) * 1000)


def ride(
    ride_id: int,
    when: dt.datetime,
    pickup: float,
    dropoff: float,
    *,
    drivers=(1, 2),
    minutes: int = 30,
) -> DayRide:
    """A ride on the road, every one of `drivers` able to pick up at `when`."""
    return DayRide(
        ride_id=ride_id,
        pickup=pickup,
        dropoff=dropoff,
        earliest=when,
        latest=when,
        trip=dt.timedelta(minutes=minutes),
        options=tuple(Option(driver_id, when) for driver_id in drivers),
    )


def chosen(plan: DayPlan) -> dict[int, int]:
    return {p.ride_id: p.driver_id for p in plan.planned}


# --- The optimiser on hand-built days ------------------------------------------------------

# Anna lives at km 0 (west), Bo at km 20 (east).
ANNA, BO = DayDriver(1, home=0), DayDriver(2, home=20)
# 09:00 from km 8 to 12 (a little nearer Anna), 09:15 from km 2 to 6 (Anna's side), and
# 11:00 from km 14 to 20 (Bo's side).
THE_DAY = [ride(1, at(9), 8, 12), ride(2, at(9, 15), 2, 6), ride(3, at(11), 14, 20)]


def test_greedy_gives_the_first_ride_to_the_nearest_and_pays_for_it_later():
    greedy = plan_greedy(THE_DAY, [ANNA, BO], distance=km_apart, rules=ROAD)
    # 09:00 to Anna (8 km against Bo's 12); at 09:15 she is busy, so Bo drives 18 km
    # west; at 11:00 Bo is nearest (home 6 km away) and comes from km 6: 8 km.
    assert greedy.planned == (
        Planned(ride_id=1, driver_id=1, pickup_at=at(9), empty_m=8_000),
        Planned(ride_id=2, driver_id=2, pickup_at=at(9, 15), empty_m=18_000),
        Planned(ride_id=3, driver_id=2, pickup_at=at(11), empty_m=8_000),
    )
    assert (greedy.empty_m, greedy.penalty_m, greedy.cost, greedy.unplaced) == (
        34_000,
        2_000,  # Bo's second ride of the day
        36_000,
        (),
    )


def test_the_batch_plans_the_day_as_a_whole_and_drives_less_than_half():
    batch = plan_day(THE_DAY, [ANNA, BO], distance=km_apart, rules=ROAD)
    # Bo takes 09:00 (12 km), Anna 09:15 from next door (2 km), and Bo goes on from his
    # drop-off at km 12 to the 11:00 pickup at km 14 (2 km).
    assert batch.planned == (
        Planned(ride_id=1, driver_id=2, pickup_at=at(9), empty_m=12_000),
        Planned(ride_id=2, driver_id=1, pickup_at=at(9, 15), empty_m=2_000),
        Planned(ride_id=3, driver_id=2, pickup_at=at(11), empty_m=2_000),
    )
    assert (batch.empty_m, batch.penalty_m, batch.cost, batch.unplaced) == (
        16_000,
        2_000,
        18_000,
        (),
    )
    greedy = plan_greedy(THE_DAY, [ANNA, BO], distance=km_apart, rules=ROAD)
    assert batch.cost < greedy.cost


@pytest.mark.parametrize(
    ("second_pickup", "placed"),
    [
        pytest.param(at(9, 39), {1: 1}, id="39-minutes-later-no-time-to-drive-there"),
        pytest.param(at(9, 40), {1: 1, 2: 1}, id="40-minutes-later-just-in-time"),
    ],
)
def test_one_driver_never_gets_rides_that_overlap_with_the_drive_between(second_pickup, placed):
    # 09:00-09:30 from km 0 to 10, then 10 km (10 minutes) to the next pickup at km 20.
    day = [ride(1, at(9), 0, 10, drivers=(1,)), ride(2, second_pickup, 20, 30, drivers=(1,))]
    plan = plan_day(day, [ANNA], distance=km_apart, rules=ROAD)
    assert chosen(plan) == placed
    assert plan.unplaced == tuple(r for r in (1, 2) if r not in placed)


def test_rides_at_the_same_time_go_to_different_drivers_or_none():
    day = [ride(r, at(10), 0, 5, drivers=(1,)) for r in (1, 2, 3)]
    plan = plan_day(day, [ANNA], distance=km_apart, rules=ROAD)
    assert (chosen(plan), plan.unplaced) == ({1: 1}, (2, 3))


def test_a_ride_nobody_can_take_stays_unplaced_and_the_rest_is_planned():
    day = [ride(1, at(9), 0, 5), ride(2, at(10), 0, 5, drivers=())]
    plan = plan_day(day, [ANNA, BO], distance=km_apart, rules=ROAD)
    assert (chosen(plan), plan.unplaced) == ({1: 1}, (2,))


def test_placing_one_more_ride_comes_before_driving_less():
    # Bo could take ride 1 from next door, but then nobody takes ride 2 (only Bo can, and
    # it overlaps): Anna drives 20 km so that both rides go.
    day = [ride(1, at(9), 20, 25, drivers=(1, 2)), ride(2, at(9, 10), 20, 25, drivers=(2,))]
    plan = plan_day(day, [ANNA, BO], distance=km_apart, rules=ROAD)
    assert (chosen(plan), plan.empty_m) == ({1: 1, 2: 2}, 20_000)


@pytest.mark.parametrize(
    ("drivers", "rides", "loads"),
    [
        pytest.param(
            [DayDriver(1, home=0), DayDriver(2, home=0)], 4, {1: 2, 2: 2}, id="four-rides-two-each"
        ),
        pytest.param(
            [DayDriver(1, home=0), DayDriver(2, home=0), DayDriver(3, home=0)],
            3,
            {1: 1, 2: 1, 3: 1},
            id="three-rides-one-each",
        ),
        pytest.param(
            [DayDriver(1, home=0), DayDriver(2, home=0, recent_rides=3)],
            3,
            {1: 2, 2: 1},
            id="the-one-with-three-recent-rides-gets-fewer",
        ),
        pytest.param(
            [DayDriver(1, home=0, held_today=2), DayDriver(2, home=0)],
            2,
            {2: 2},
            id="the-one-who-already-drives-twice-that-day-gets-none",
        ),
    ],
)
def test_with_equal_distances_the_load_is_spread(drivers, rides, loads):
    ids = tuple(d.driver_id for d in drivers)
    day = [ride(r, at(8 + r), 0, 0, drivers=ids) for r in range(1, rides + 1)]
    plan = plan_day(day, drivers, distance=km_apart, rules=ROAD)
    counted = {d: sum(1 for p in plan.planned if p.driver_id == d) for d in ids}
    assert {d: n for d, n in counted.items() if n} == loads
    assert plan.empty_m == 0


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        pytest.param({1: 1, 2: 1}, "driver 1 cannot do ride 2 after 1", id="overlap"),
        pytest.param({2: 3}, "driver 3 is not a candidate for ride 2", id="not-a-candidate"),
    ],
)
def test_evaluating_an_impossible_plan_is_refused(choice, message):
    day = [ride(1, at(9), 0, 10), ride(2, at(9, 10), 0, 10)]
    drivers = [ANNA, BO, DayDriver(3, home=5)]
    with pytest.raises(ValueError, match=message):
        plan_evaluate(choice, day, drivers, distance=km_apart, rules=ROAD)


def test_a_candidate_unknown_among_the_drivers_is_a_mistake():
    with pytest.raises(ValueError, match="ride 1: unknown driver 2"):
        plan_day([ride(1, at(9), 0, 1)], [ANNA], distance=km_apart, rules=ROAD)


def test_an_empty_day_is_an_empty_plan():
    assert plan_day([], [ANNA], distance=km_apart, rules=ROAD) == DayPlan((), (), 0, 0)


# --- Random small days ---------------------------------------------------------------------


@st.composite
def small_days(draw):
    drivers = [
        DayDriver(
            driver_id,
            home=draw(st.integers(0, 30)),
            recent_rides=draw(st.integers(0, 5)),
            held_today=draw(st.integers(0, 2)),
        )
        for driver_id in range(1, draw(st.integers(1, 3)) + 1)
    ]
    rides = []
    for ride_id in range(1, draw(st.integers(0, 5)) + 1):
        when = at(8) + dt.timedelta(minutes=15 * draw(st.integers(0, 12)))
        who = draw(st.lists(st.sampled_from([d.driver_id for d in drivers]), unique=True))
        options = tuple(
            Option(d, when + dt.timedelta(minutes=draw(st.sampled_from([0, 10])))) for d in who
        )
        rides.append(
            DayRide(
                ride_id=ride_id,
                pickup=draw(st.integers(0, 30)),
                dropoff=draw(st.integers(0, 30)),
                earliest=when,
                latest=when + dt.timedelta(minutes=10),
                trip=dt.timedelta(minutes=draw(st.sampled_from([10, 20, 30, 45, 60]))),
                options=options,
            )
        )
    return rides, drivers


def best_by_trying_everything(rides, drivers) -> tuple[int, int]:
    best = None
    for who in itertools.product(*[[None, *(o.driver_id for o in r.options)] for r in rides]):
        choice = {r.ride_id: d for r, d in zip(rides, who, strict=True) if d is not None}
        try:
            plan = plan_evaluate(choice, rides, drivers, distance=km_apart, rules=ROAD)
        except ValueError:
            continue
        best = plan.key if best is None else min(best, plan.key)
    assert best is not None
    return best


@hypothesis.settings(max_examples=150, deadline=None)
@given(small_days())
def test_random_small_days(day):
    rides, drivers = day
    batch = plan_day(rides, drivers, distance=km_apart, rules=ROAD)
    greedy = plan_greedy(rides, drivers, distance=km_apart, rules=ROAD)
    by_id = {r.ride_id: r for r in rides}
    # Every planned driver was a candidate, at the time they can make.
    for planned in batch.planned:
        assert Option(planned.driver_id, planned.pickup_at) in by_id[planned.ride_id].options
    # No driver has two rides whose times overlap.
    for driver in drivers:
        times = sorted(
            (p.pickup_at, p.pickup_at + by_id[p.ride_id].trip)
            for p in batch.planned
            if p.driver_id == driver.driver_id
        )
        assert all(end <= start for (_, end), (start, _) in itertools.pairwise(times))
    # Every ride is planned or unplaced, once.
    assert sorted([p.ride_id for p in batch.planned] + list(batch.unplaced)) == sorted(by_id)
    # Never worse than one by one; as good as trying every plan.
    assert batch.key <= greedy.key
    assert batch.key == best_by_trying_everything(rides, drivers)


# --- Plans on real PostGIS -----------------------------------------------------------------

MONDAY = 0


def west_of(point: Point, metres: float) -> Point:
    there = geodesic(meters=metres).destination((point.y, point.x), bearing=270)
    return Point(there.longitude, there.latitude, srid=4326)


def east_of(point: Point, metres: float) -> Point:
    there = geodesic(meters=metres).destination((point.y, point.x), bearing=90)
    return Point(there.longitude, there.latitude, srid=4326)


def available_driver(association, name: str, home: Point, weekday: int = MONDAY):
    driver = DriverProfileFactory(
        membership__association=association, membership__user__full_name=name, home_base=home
    )
    AvailabilitySlotFactory(driver=driver, weekday=weekday, start=dt.time(8), end=dt.time(17))
    return driver


@pytest.fixture
def anna(association):
    """At home in Vansbro."""
    return available_driver(association, "Anna", VANSBRO)


@pytest.fixture
def bo(association):
    """At home 8 km west of Vansbro."""
    return available_driver(association, "Bo", west_of(VANSBRO, 8_000))


@pytest.fixture
def monday_rides(association, rider):
    """10:00 Vansbro to Dala-Järna (busy until 10:20); 10:05 from 1 km east of Bo's home
    to Vansbro; 13:00 back from Dala-Järna."""
    common = {"rider": rider, "association": association, "village": association.villages.get()}
    return [
        RideRequestFactory(
            **common, state=RideState.OFFERING, wave=1, earliest_pickup=next_weekday_at(MONDAY, 10)
        ),
        RideRequestFactory(
            **common,
            state=RideState.UNASSIGNED,
            wave=3,
            pickup=west_of(VANSBRO, 7_000),
            destination=VANSBRO,
            duration_s=600,
            earliest_pickup=next_weekday_at(MONDAY, 10, 5),
        ),
        RideRequestFactory(
            **common,
            state=RideState.REQUESTED,
            pickup=DALA_JARNA,
            destination=VANSBRO,
            earliest_pickup=next_weekday_at(MONDAY, 13),
        ),
    ]


def monday() -> dt.date:
    return next_weekday_at(MONDAY, 10).date()


def plan_lines(plan: AssignmentPlan) -> list[tuple]:
    return [
        (
            row.ride_id,
            row.driver.membership.user.full_name if row.driver else None,
            timezone.localtime(row.pickup_at).strftime("%H:%M") if row.pickup_at else None,
            row.empty_km,
            row.outcome,
        )
        for row in PlannedAssignment.objects.filter(plan=plan).order_by("ride_id")
    ]


@pytest.mark.django_db
def test_plan_create_plans_the_day_on_real_postgis(association, anna, bo, monday_rides):
    r1, r2, r3 = (r.pk for r in monday_rides)
    plan = plan_create(association=association, day=monday())
    # Anna drives 10:00 from home and 13:00 from where she left the passenger; Bo takes
    # 10:05, 1 km from home (1.3 km by road).
    assert plan_lines(plan) == [
        (r1, "Anna", "10:00", Decimal("0.0"), ""),
        (r2, "Bo", "10:05", Decimal("1.3"), ""),
        (r3, "Anna", "13:00", Decimal("0.0"), ""),
    ]
    assert (plan.state, plan.day, plan.total_km) == (PlanState.PROPOSED, monday(), Decimal("1.3"))
    # Planning writes no offers and changes no ride.
    assert Offer.objects.count() == 0
    assert [RideRequest.objects.get(pk=r).state for r in (r1, r2, r3)] == [
        "offering",
        "unassigned",
        "requested",
    ]


@pytest.mark.django_db
def test_a_ride_no_driver_can_take_is_in_the_plan_without_one(association, anna, rider):
    far = RideRequestFactory(
        rider=rider,
        association=association,
        pickup=west_of(VANSBRO, 40_000),  # outside everyone's 20 km
        earliest_pickup=next_weekday_at(MONDAY, 11),
    )
    plan = plan_create(association=association, day=monday())
    assert plan_lines(plan) == [(far.pk, None, None, None, "")]
    assert plan.total_km == Decimal("0.0")


@pytest.mark.django_db
def test_a_second_run_replaces_the_proposed_plan_but_not_an_approved_one(
    association, coordinator, anna, bo, monday_rides
):
    first = plan_create(association=association, day=monday())
    second = plan_create(association=association, day=monday())
    assert list(AssignmentPlan.objects.values_list("pk", flat=True)) == [second.pk]
    assert not PlannedAssignment.objects.filter(plan_id=first.pk).exists()
    plan_approve(plan=second, actor=coordinator)
    third = plan_create(association=association, day=monday())
    assert sorted(AssignmentPlan.objects.values_list("pk", "state")) == [
        (second.pk, "approved"),
        (third.pk, "proposed"),
    ]
    # The offered rides still have no driver: the new plan has them again.
    assert PlannedAssignment.objects.filter(plan=third).count() == 3


@pytest.mark.django_db
def test_only_a_coordinator_plans(association, rider, anna, monday_rides):
    with pytest.raises(ApplicationError) as refused:
        plan_create(association=association, day=monday(), actor=rider)
    assert (refused.value.code, refused.value.kind) == ("ride_not_allowed", ErrorKind.FORBIDDEN)
    assert AssignmentPlan.objects.count() == 0


@pytest.mark.django_db
def test_a_day_that_has_passed_is_refused(association, coordinator):
    with pytest.raises(ApplicationError) as refused:
        plan_create(
            association=association,
            day=timezone.localdate() - dt.timedelta(days=1),
            actor=coordinator,
        )
    assert (refused.value.code, refused.value.fields.keys()) == ("plan_day_past", {"day"})
    assert AssignmentPlan.objects.count() == 0


@pytest.mark.django_db
def test_approving_offers_each_ride_to_its_planned_driver_who_can_accept(
    association, coordinator, anna, bo, monday_rides
):
    r1, r2, r3 = monday_rides
    # Ride 1 is in its first wave, offered to Bo too: the plan gives it to Anna alone.
    wave_offer = Offer.objects.create(
        ride=r1, driver=bo, wave=1, rank=2, distance_m=8_000, pickup_at=r1.earliest_pickup
    )
    plan = plan_create(association=association, day=monday())
    approval = plan_approve(plan=plan, actor=coordinator)

    assert (approval.offered, approval.skipped) == ((r1.pk, r2.pk, r3.pk), ())
    plan.refresh_from_db()
    assert (plan.state, plan.approved_by, plan.approved_at is not None) == (
        PlanState.APPROVED,
        coordinator,
        True,
    )
    assert [line[4] for line in plan_lines(plan)] == ["offered", "offered", "offered"]
    offers = Offer.objects.filter(state=OfferState.PENDING).order_by("ride_id")
    assert [
        (o.ride_id, o.driver.membership.user.full_name, o.wave, o.rank, o.manual, o.distance_m)
        for o in offers
    ] == [
        (r1.pk, "Anna", 2, 1, False, 0),
        (r2.pk, "Bo", 4, 1, False, 1_300),
        (r3.pk, "Anna", 1, 1, False, 0),
    ]
    assert Offer.objects.get(pk=wave_offer.pk).state == OfferState.WITHDRAWN
    assert [
        (r.state, r.wave)
        for r in RideRequest.objects.filter(pk__in=[r1.pk, r2.pk, r3.pk]).order_by("pk")
    ] == [("offering", 2), ("offering", 4), ("offering", 1)]
    told = Notification.objects.filter(kind="ride.offered").order_by("pk")
    assert [(n.recipient.full_name, n.urgent, n.payload["village"]) for n in told] == [
        ("Anna", False, "Vansbro"),
        ("Bo", False, "Vansbro"),
        ("Anna", False, "Vansbro"),
    ]
    assert SmsReplyCode.objects.filter(action="ride.offer").count() == 3

    # Anna says yes to 10:00, as to any offer.
    offer = Offer.objects.get(ride=r1, driver=anna)
    ride = offer_accept(offer_id=offer.pk, actor=anna.membership.user)
    assert (ride.state, ride.driver, ride.planned_pickup) == (
        RideState.ACCEPTED,
        anna,
        r1.earliest_pickup,
    )


@pytest.mark.django_db
def test_approving_twice_is_a_conflict_and_changes_nothing(
    association, coordinator, anna, bo, monday_rides
):
    plan = plan_create(association=association, day=monday())
    plan_approve(plan=plan, actor=coordinator)
    before = list(Offer.objects.values_list("pk", "state", "wave"))
    with pytest.raises(ApplicationError) as refused:
        plan_approve(plan=plan, actor=coordinator)
    assert (refused.value.code, refused.value.kind) == ("plan_not_proposed", ErrorKind.CONFLICT)
    assert list(Offer.objects.values_list("pk", "state", "wave")) == before
    assert Notification.objects.filter(kind="ride.offered").count() == 3


@pytest.mark.django_db
def test_a_discarded_plan_cannot_be_approved(association, coordinator, anna, monday_rides):
    plan = plan_create(association=association, day=monday())
    plan_discard(plan=plan, actor=coordinator)
    with pytest.raises(ApplicationError) as refused:
        plan_approve(plan=plan, actor=coordinator)
    assert refused.value.code == "plan_not_proposed"
    assert Offer.objects.count() == 0


@pytest.mark.django_db
def test_only_a_coordinator_approves(association, rider, anna, monday_rides):
    plan = plan_create(association=association, day=monday())
    with pytest.raises(ApplicationError) as refused:
        plan_approve(plan=plan, actor=rider)
    assert refused.value.kind == ErrorKind.FORBIDDEN
    assert AssignmentPlan.objects.get().state == PlanState.PROPOSED
    assert Offer.objects.count() == 0


def _cancel_ride(ride, coordinator, anna):
    ride_cancel(ride=ride, actor=coordinator, reason="Sjuk")


def _anna_declined(ride, coordinator, anna):
    Offer.objects.create(
        ride=ride,
        driver=anna,
        wave=1,
        rank=1,
        distance_m=0,
        pickup_at=ride.earliest_pickup,
        state=OfferState.DECLINED,
    )


def _anna_took_another_ride(ride, coordinator, anna):
    other = RideRequestFactory(
        rider=ride.rider, association=ride.association, earliest_pickup=ride.earliest_pickup
    )
    ride_assign(ride=other, driver=anna, pickup_at=other.earliest_pickup, actor=coordinator)


@pytest.mark.parametrize(
    ("change", "outcome"),
    [
        pytest.param(_cancel_ride, "ride_changed", id="ride-cancelled"),
        pytest.param(_anna_declined, "driver_declined", id="driver-already-said-no"),
        pytest.param(_anna_took_another_ride, "driver_busy", id="driver-took-a-ride-then"),
    ],
)
@pytest.mark.django_db
def test_a_row_whose_ride_or_driver_changed_since_planning_is_skipped(
    association, coordinator, anna, bo, monday_rides, change, outcome
):
    r1, r2, r3 = monday_rides
    plan = plan_create(association=association, day=monday())
    change(r3, coordinator, anna)  # planned for Anna at 13:00
    approval = plan_approve(plan=plan, actor=coordinator)
    assert (approval.offered, approval.skipped) == ((r1.pk, r2.pk), ((r3.pk, outcome),))
    assert PlannedAssignment.objects.get(plan=plan, ride=r3).outcome == outcome
    assert not Offer.objects.filter(ride=r3, state=OfferState.PENDING).exists()


@pytest.mark.django_db
def test_plan_tomorrow_plans_each_association_once_and_tells_its_coordinators(
    association, coordinator, rider
):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    available_driver(association, "Anna", VANSBRO, weekday=tomorrow.weekday())
    ride = RideRequestFactory(
        rider=rider,
        association=association,
        state=RideState.UNASSIGNED,
        earliest_pickup=dt.datetime.combine(tomorrow, dt.time(10), tzinfo=STOCKHOLM),
    )
    # Another association whose only ride tomorrow is cancelled: nothing to plan.
    RideRequestFactory(earliest_pickup=ride.earliest_pickup, state=RideState.CANCELLED)

    assert plan_tomorrow() == 1
    plan = AssignmentPlan.objects.get()
    assert (plan.association, plan.day) == (association, tomorrow)
    told = Notification.objects.get(kind="ride.plan_ready")
    assert (told.recipient, told.urgent, told.payload) == (
        coordinator,
        False,
        {"plan": plan.pk, "day": tomorrow.isoformat(), "planned": 1, "rides": 1, "km": 0.0},
    )
    # The distance in the reader's language: "0,0" in Swedish, not Python's "0.0".
    assert "0,0 km" in notification_message(told, language="sv")["body"]
    assert "0.0 km" in notification_message(told, language="en")["body"]
    # Running again plans nothing more and tells nobody again.
    assert plan_tomorrow() == 0
    assert AssignmentPlan.objects.count() == 1
    assert Notification.objects.filter(kind="ride.plan_ready").count() == 1


def test_the_nightly_run_is_at_19_stockholm_time(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["plan-tomorrow"]
    assert (entry["task"], entry["schedule"]) == (
        "dispatch.tasks.plan_tomorrow",
        crontab(hour=19, minute=0),
    )
    assert settings.CELERY_TIMEZONE == "Europe/Stockholm"


# --- What the database refuses -------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("second_proposed_plan", id="plan_one_proposed_per_day"),
        pytest.param("approved_without_time", id="plan_approved_has_time"),
        pytest.param("negative_total", id="plan_total_km_sane"),
        pytest.param("ride_twice", id="planned_ride_once"),
        pytest.param("driver_without_time", id="planned_driver_time_and_km_together"),
    ],
)
@pytest.mark.django_db
def test_the_database_refuses_a_bad_plan(bad, association, anna, monday_rides):
    plan = AssignmentPlan.objects.create(association=association, day=monday(), total_km=1)
    row = {"plan": plan, "ride": monday_rides[0], "driver": anna}
    row |= {"pickup_at": monday_rides[0].earliest_pickup, "empty_km": 0}
    PlannedAssignment.objects.create(**row)
    with pytest.raises(IntegrityError), transaction.atomic():
        if bad == "second_proposed_plan":
            AssignmentPlan.objects.create(association=association, day=monday(), total_km=0)
        elif bad == "approved_without_time":
            AssignmentPlan.objects.filter(pk=plan.pk).update(state=PlanState.APPROVED)
        elif bad == "negative_total":
            AssignmentPlan.objects.filter(pk=plan.pk).update(total_km=-1)
        elif bad == "ride_twice":
            PlannedAssignment.objects.create(**row)
        else:
            PlannedAssignment.objects.create(**{**row, "ride": monday_rides[1], "pickup_at": None})
