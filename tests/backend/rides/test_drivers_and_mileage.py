from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from backend.errors import ApplicationError
from backend.privacy.points import is_coarse
from backend.privacy.retention import rides_forget_old_places
from backend.rides.drivers import (
    Slot,
    availability_exception_add,
    availability_set,
    driver_position_update,
    driver_profile_save,
    driver_set_duty,
    rider_approve,
)
from backend.rides.models import AvailabilitySlot, DriverProfile, RiderApproval, RideState
from backend.rides.selectors import MileageRow, mileage_amount_ore, mileage_report
from tests.factories import (
    VANSBRO,
    DriverProfileFactory,
    MembershipFactory,
    RideRequestFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def test_a_driver_sets_up_their_profile_and_week(association):
    membership = MembershipFactory(association=association, roles=["member", "driver"])
    profile = driver_profile_save(
        actor=membership.user,
        membership=membership,
        values={
            "home_base": VANSBRO,
            "service_radius_m": 30_000,
            "seats": 4,
            "wheelchair_accessible": True,
        },
    )
    availability_set(
        actor=membership.user,
        driver=profile,
        slots=[Slot(0, time(8), time(12)), Slot(3, time(13), time(18))],
    )
    assert list(AvailabilitySlot.objects.values_list("weekday", "start", "end")) == [
        (0, time(8), time(12)),
        (3, time(13), time(18)),
    ]
    availability_set(actor=membership.user, driver=profile, slots=[Slot(4, time(9), time(10))])
    assert AvailabilitySlot.objects.count() == 1


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"home_base": VANSBRO, "service_radius_m": 0}, "service_radius_m"),
        ({"home_base": VANSBRO, "seats": 9}, "seats"),
        ({"seats": 3}, "home_base"),
    ],
    ids=["radius-zero", "nine-seats", "no-home-base"],
)
def test_bad_profiles_are_refused(association, values, field):
    membership = MembershipFactory(association=association, roles=["member", "driver"])
    with pytest.raises(ApplicationError) as refused:
        driver_profile_save(actor=membership.user, membership=membership, values=values)
    assert list(refused.value.fields) == [field]
    assert not DriverProfile.objects.exists()


def test_a_member_without_the_driver_role_gets_no_profile(association):
    membership = MembershipFactory(association=association)
    with pytest.raises(ApplicationError) as refused:
        driver_profile_save(
            actor=membership.user, membership=membership, values={"home_base": VANSBRO}
        )
    assert refused.value.code == "not_driver"


def test_someone_else_cannot_change_a_drivers_week(driver):
    with pytest.raises(ApplicationError):
        availability_set(actor=UserFactory(), driver=driver, slots=[])


def test_a_coordinator_can_change_a_drivers_week(driver, coordinator):
    availability_set(actor=coordinator, driver=driver, slots=[Slot(1, time(8), time(9))])
    assert driver.slots.count() == 1


@pytest.mark.parametrize(
    "slot",
    [Slot(0, time(12), time(8)), Slot(7, time(8), time(9)), Slot(2, time(9), time(9))],
    ids=["ends-before-start", "weekday-seven", "empty"],
)
def test_bad_slots_are_refused_and_keep_the_old_week(driver, slot):
    availability_set(actor=driver.membership.user, driver=driver, slots=[Slot(1, time(8), time(9))])
    with pytest.raises(ApplicationError):
        availability_set(actor=driver.membership.user, driver=driver, slots=[slot])
    assert list(driver.slots.values_list("weekday", flat=True)) == [1]


def test_the_database_refuses_overlapping_times_of_one_day(driver):
    """Whatever writes the rows (an import, the admin, a bug), one day's times never
    overlap; times that only touch, and the same times on other days or of another
    driver, are fine."""
    driver.slots.create(weekday=0, start=time(8), end=time(12))
    driver.slots.create(weekday=0, start=time(12), end=time(16))
    driver.slots.create(weekday=1, start=time(9), end=time(13))
    DriverProfileFactory().slots.create(weekday=0, start=time(9), end=time(13))
    with pytest.raises(IntegrityError, match="slot_no_overlap"), transaction.atomic():
        driver.slots.create(weekday=0, start=time(11), end=time(13))
    assert driver.slots.count() == 3


def test_exceptions_need_sane_times_and_a_future_day(driver):
    user, tomorrow = driver.membership.user, timezone.localdate() + timedelta(days=1)
    away = availability_exception_add(actor=user, driver=driver, day=tomorrow, kind="away")
    assert (away.start, away.end) == (None, None)
    for bad in (
        {"day": tomorrow, "kind": "extra"},
        {"day": tomorrow, "kind": "away", "start": time(10)},
        {"day": tomorrow, "kind": "away", "start": time(10), "end": time(9)},
        {"day": tomorrow - timedelta(days=2), "kind": "away"},
        {"day": tomorrow, "kind": "holiday"},
    ):
        with pytest.raises(ApplicationError):
            availability_exception_add(actor=user, driver=driver, **bad)
    assert driver.exceptions.count() == 1


def test_position_is_shared_with_the_rider_only_while_on_the_way(driver, rider, association):
    user = driver.membership.user
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"user.{rider.pk}", channel)
    with pytest.raises(ApplicationError):
        driver_position_update(actor=user, driver=driver, point=VANSBRO)
    driver_set_duty(actor=user, driver=driver, on_duty=True)
    soon = timezone.now() + timedelta(minutes=10)
    ride = RideRequestFactory(
        rider=rider,
        association=association,
        driver=driver,
        state="en_route",
        busy=DateTimeTZRange(soon, soon + timedelta(minutes=30)),
    )
    RideRequestFactory(rider=rider, association=association)  # not this driver's
    here = Point(14.3, 60.52, srid=4326)
    assert driver_position_update(actor=user, driver=driver, point=here) == 1
    message = async_to_sync(layer.receive)(channel)
    assert message["event"] == {
        "type": "driver.position",
        "ride": ride.pk,
        "position": [14.3, 60.52],
        "at": message["event"]["at"],
    }
    driver.refresh_from_db()
    assert (driver.position.x, driver.position.y) == (14.3, 60.52)
    driver_set_duty(actor=user, driver=driver, on_duty=False)
    driver.refresh_from_db()
    assert driver.position is None


def test_rider_approval_is_for_coordinators(association, coordinator):
    membership = MembershipFactory(association=association)
    with pytest.raises(ApplicationError):
        rider_approve(actor=membership.user, membership=membership)
    approval = rider_approve(actor=coordinator, membership=membership, notes="Färdtjänst saknas")
    assert RiderApproval.objects.get() == approval
    assert approval.notes == "Färdtjänst saknas"


def test_mileage_report_per_driver_for_the_month(association, driver, rider):
    other = MembershipFactory(association=association, roles=["member", "driver"])
    second = DriverProfileFactory(membership=other)
    november = datetime(2026, 11, 10, 12, tzinfo=STOCKHOLM)
    for who, metres, closed in [
        (driver, 12_400, november),
        (driver, 7_600, november + timedelta(days=5)),
        (second, 30_000, november),
        (driver, 99_000, datetime(2026, 12, 1, 0, 30, tzinfo=STOCKHOLM)),  # December, local
    ]:
        RideRequestFactory(
            rider=rider,
            association=association,
            driver=who,
            state=RideState.COMPLETED,
            driven_m=metres,
            closed_at=closed,
            busy=DateTimeTZRange(closed - timedelta(hours=1), closed),
        )
    rows = mileage_report(association=association, year=2026, month=11)
    assert [(r.driver_name, r.rides, r.km, r.amount_ore) for r in rows] == sorted(
        [("Erik Olsson", 2, 20.0, 5000), (other.user.full_name, 1, 30.0, 7500)]
    )


@pytest.mark.parametrize(
    ("metres", "rate", "ore"),
    [
        (0, 250, 0),
        (1, 250, 0),  # 0.25 öre
        (2, 250, 1),  # 0.5 öre: half rounds up
        (1_002, 250, 251),  # 250.5 öre; round() would pay 250 (half to even)
        (1_006, 250, 252),  # 251.5 öre
        (1_000, 250, 250),
        (12_345, 185, 2_284),  # 2283.825 öre
        (12_340, 185, 2_283),  # 2282.9 öre
        (19_348, 250, 4_837),
        (123_456_789, 250, 30_864_197),  # 30864197.25 öre: exact, no float drift
    ],
)
def test_mileage_amount_is_exact_to_the_ore_and_rounds_half_up(metres, rate, ore):
    assert mileage_amount_ore(metres=metres, rate_ore_per_km=rate) == ore


@pytest.mark.parametrize(
    ("metres", "km"), [(12_349, 12.3), (12_350, 12.4), (12_250, 12.3), (49, 0.0), (50, 0.1)]
)
def test_mileage_km_are_tenths_rounded_half_up(metres, km):
    assert MileageRow(driver_id=1, driver_name="", rides=1, metres=metres, amount_ore=0).km == km


def test_mileage_report_rounds_the_months_sum_half_up(association, driver, rider, settings):
    settings.MILEAGE_RATE_ORE_PER_KM = 250
    closed = datetime(2026, 10, 10, 12, tzinfo=STOCKHOLM)
    for metres in (1_000, 2):  # 1002 m: 250.5 öre
        RideRequestFactory(
            rider=rider,
            association=association,
            driver=driver,
            state=RideState.COMPLETED,
            driven_m=metres,
            closed_at=closed,
            busy=DateTimeTZRange(closed - timedelta(hours=1), closed),
        )
        closed += timedelta(days=1)
    [row] = mileage_report(association=association, year=2026, month=10)
    assert (row.rides, row.metres, row.amount_ore, row.km) == (2, 1_002, 251, 1.0)


def test_old_addresses_are_forgotten_after_the_retention_period(association, rider, settings):
    settings.RIDES_RETENTION_DAYS = 90
    old = RideRequestFactory(
        rider=rider,
        association=association,
        state="cancelled",
        closed_at=timezone.now() - timedelta(days=91),
        note="Portkod 1234",
    )
    recent = RideRequestFactory(
        rider=rider,
        association=association,
        state="cancelled",
        closed_at=timezone.now() - timedelta(days=10),
    )
    assert rides_forget_old_places() == 1
    assert rides_forget_old_places() == 0
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.pickup_address, old.destination_address, old.note) == ("", "", "")
    # The centre of its map cell (backend/privacy/points.py): about a kilometre off at most.
    assert is_coarse(old.pickup) and old.pickup != VANSBRO
    assert old.pickup.distance(VANSBRO) < 0.03
    assert recent.pickup_address == "Järnvägsgatan 4, Vansbro"
