"""Materialised availability windows (backend.rides.availability) and the driver's copy
of the association: built from the week, kept right on every change, rolled forward.

The Stockholm DST nights used: 2027-03-28 (02:00 CET becomes 03:00 CEST, 01:00 UTC) and
2027-10-31 (03:00 CEST becomes 02:00 CET, 01:00 UTC).
"""

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from backend.community.models import Membership
from backend.rides.availability import availability_windows_rebuild, availability_windows_roll
from backend.rides.drivers import (
    Slot,
    availability_exception_add,
    availability_set,
    driver_profile_save,
)
from backend.rides.localtime import local_day
from backend.rides.models import (
    AvailabilityHorizon,
    AvailabilityWindow,
    DriverProfile,
    ExceptionKind,
)
from backend.rides.tasks import roll_availability_windows
from tests.factories import (
    DALA_JARNA,
    VANSBRO,
    AssociationFactory,
    AvailabilityExceptionFactory,
    AvailabilitySlotFactory,
    DriverProfileFactory,
    MembershipFactory,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC
SPRING_FORWARD = dt.date(2027, 3, 28)
FALL_BACK = dt.date(2027, 10, 31)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def windows(driver: DriverProfile) -> list[tuple[dt.date, dt.datetime, dt.datetime]]:
    return [
        (w.day, w.during.lower, w.during.upper)
        for w in AvailabilityWindow.objects.filter(driver=driver).order_by("during")
    ]


def on(day: dt.date, start: str, end: str) -> tuple[dt.date, dt.datetime, dt.datetime]:
    """The window the rule of LocalDay.instant gives for `start`-`end` on `day`."""
    local = local_day(day)
    return (
        day,
        local.instant(dt.time.fromisoformat(start)),
        local.instant(dt.time.fromisoformat(end)),
    )


def next_date(weekday: int) -> dt.date:
    today = timezone.localdate()
    return today + dt.timedelta(days=(weekday - today.weekday()) % 7 or 7)


@pytest.fixture
def horizon():
    """The windows built for [today, today + 28 days), as the beat task does."""
    availability_windows_roll()
    return AvailabilityHorizon.objects.get()


@pytest.fixture
def me(association):
    membership = MembershipFactory(association=association, roles=["member", "driver"])
    return membership.user


@pytest.fixture
def profile(me, horizon):
    membership = Membership.objects.get(user=me)
    return driver_profile_save(actor=me, membership=membership, values={"home_base": VANSBRO})


# --- Built from the week --------------------------------------------------------------------


def test_a_weekly_slot_gives_one_window_per_date_in_the_horizon(me, profile, horizon):
    availability_set(actor=me, driver=profile, slots=[Slot(0, dt.time(8), dt.time(17))])
    mondays = [
        horizon.first + dt.timedelta(days=n)
        for n in range((horizon.until - horizon.first).days)
        if (horizon.first + dt.timedelta(days=n)).weekday() == 0
    ]
    assert len(mondays) == 4
    assert windows(profile) == [on(day, "08:00", "17:00") for day in mondays]
    window = AvailabilityWindow.objects.filter(driver=profile).first()
    assert (window.association_id, window.home_base) == (profile.association_id, VANSBRO)


def test_slot_edited_replaces_the_windows(me, profile):
    availability_set(actor=me, driver=profile, slots=[Slot(0, dt.time(8), dt.time(17))])
    availability_set(actor=me, driver=profile, slots=[Slot(2, dt.time(9), dt.time(11))])
    wednesday = next_date(2)
    assert {w[0].weekday() for w in windows(profile)} == {2}
    assert on(wednesday, "09:00", "11:00") in windows(profile)
    availability_set(actor=me, driver=profile, slots=[])
    assert windows(profile) == []


def test_exceptions_added_cut_extend_and_remove_windows(me, profile):
    availability_set(actor=me, driver=profile, slots=[Slot(0, dt.time(8), dt.time(17))])
    first, second, third = next_date(0), next_date(0) + dt.timedelta(7), next_date(3)
    availability_exception_add(
        actor=me, driver=profile, day=first, kind=ExceptionKind.AWAY,
        start=dt.time(10), end=dt.time(12),
    )  # fmt: skip
    availability_exception_add(actor=me, driver=profile, day=second, kind=ExceptionKind.AWAY)
    availability_exception_add(
        actor=me, driver=profile, day=third, kind=ExceptionKind.EXTRA,
        start=dt.time(18), end=dt.time(20),
    )  # fmt: skip
    built = windows(profile)
    # Away 10-12 cuts the Monday in two; away all day removes the next Monday.
    assert on(first, "08:00", "10:00") in built
    assert on(first, "12:00", "17:00") in built
    assert [w for w in built if w[0] == second] == []
    assert on(third, "18:00", "20:00") in built


def test_overlapping_slot_and_extra_stay_two_windows(me, profile):
    """A trip must fit inside one slot or one extra period, so they are not joined."""
    availability_set(actor=me, driver=profile, slots=[Slot(0, dt.time(8), dt.time(12))])
    monday = next_date(0)
    availability_exception_add(
        actor=me, driver=profile, day=monday, kind=ExceptionKind.EXTRA,
        start=dt.time(11), end=dt.time(15),
    )  # fmt: skip
    assert [w for w in windows(profile) if w[0] == monday] == [
        on(monday, "08:00", "12:00"),
        on(monday, "11:00", "15:00"),
    ]


def test_home_base_changed_moves_the_windows(me, profile):
    availability_set(actor=me, driver=profile, slots=[Slot(0, dt.time(8), dt.time(17))])
    driver_profile_save(actor=me, membership=profile.membership, values={"home_base": DALA_JARNA})
    homes = set(
        AvailabilityWindow.objects.filter(driver=profile).values_list("home_base", flat=True)
    )
    assert homes == {DALA_JARNA}


def test_nothing_is_built_before_the_first_roll(association):
    profile = DriverProfileFactory(membership__association=association)
    profile.slots.create(weekday=0, start=dt.time(8), end=dt.time(17))
    assert availability_windows_rebuild(driver_ids=[profile.pk]) == 0
    assert not AvailabilityWindow.objects.exists()
    availability_windows_roll()
    assert len(windows(profile)) == 4


# --- DST nights in Europe/Stockholm -----------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "slot", "expected"),
    [
        pytest.param(
            SPRING_FORWARD, ("01:00", "05:00"), (utc(2027, 3, 28, 0), utc(2027, 3, 28, 3)),
            id="spring forward: 01:00-05:00 is three hours",
        ),
        pytest.param(
            SPRING_FORWARD, ("02:30", "04:00"), (utc(2027, 3, 28, 1), utc(2027, 3, 28, 2)),
            id="spring forward: 02:30 in the skipped hour opens at the jump",
        ),
        pytest.param(
            SPRING_FORWARD, ("02:10", "02:40"), None,
            id="spring forward: a slot inside the skipped hour is empty",
        ),
        pytest.param(
            FALL_BACK, ("01:00", "05:00"), (utc(2027, 10, 30, 23), utc(2027, 10, 31, 4)),
            id="fall back: 01:00-05:00 is five hours",
        ),
        pytest.param(
            FALL_BACK, ("01:00", "02:30"), (utc(2027, 10, 30, 23), utc(2027, 10, 31, 0, 30)),
            id="fall back: until 02:30 ends at the first 02:30",
        ),
        pytest.param(
            dt.date(2027, 3, 29), ("08:00", "17:00"), (utc(2027, 3, 29, 6), utc(2027, 3, 29, 15)),
            id="the day after spring forward is summer time",
        ),
    ],
)  # fmt: skip
def test_dst_nights_in_stockholm(association, day, slot, expected):
    profile = DriverProfileFactory(membership__association=association)
    start, end = (dt.time.fromisoformat(t) for t in slot)
    profile.slots.create(weekday=day.weekday(), start=start, end=end)
    availability_windows_roll(today=day - dt.timedelta(days=1), days=3)
    built = [(w.during.lower, w.during.upper) for w in AvailabilityWindow.objects.all()]
    assert built == ([expected] if expected else [])


def test_away_in_the_repeated_hour_of_fall_back(association):
    """Away 02:15-02:45 means the first 02:15 to the first 02:45 (summer time)."""
    profile = DriverProfileFactory(membership__association=association)
    profile.slots.create(weekday=FALL_BACK.weekday(), start=dt.time(1), end=dt.time(5))
    AvailabilityExceptionFactory(
        driver=profile, date=FALL_BACK, start=dt.time(2, 15), end=dt.time(2, 45)
    )
    availability_windows_roll(today=FALL_BACK, days=1)
    assert windows(profile) == [
        (FALL_BACK, utc(2027, 10, 30, 23), utc(2027, 10, 31, 0, 15)),
        (FALL_BACK, utc(2027, 10, 31, 0, 45), utc(2027, 10, 31, 4)),
    ]


# --- Rolling forward (the beat task) ----------------------------------------------------------


def all_windows() -> list[tuple]:
    return sorted(
        AvailabilityWindow.objects.values_list("driver_id", "association_id", "day", "during")
    )


def test_roll_is_idempotent_and_equal_to_a_fresh_build(association):
    # Seven drivers, one for each weekday: one window per driver and week.
    for weekday in range(7):
        AvailabilitySlotFactory(
            driver__membership__association=association, weekday=weekday, start=dt.time(9)
        )
    today = timezone.localdate()
    AvailabilityHorizon.objects.all().delete()
    AvailabilityWindow.objects.all().delete()
    assert availability_windows_roll(today=today, days=14) == 7 * 2
    built = all_windows()
    assert availability_windows_roll(today=today, days=14) == 0
    assert roll_availability_windows.apply(kwargs={}).get() >= 0  # the task, on today
    availability_windows_roll(today=today, days=14)
    assert all_windows() == built

    # The next day: the past date goes, a new one comes; the same as building afresh.
    tomorrow = today + dt.timedelta(days=1)
    assert availability_windows_roll(today=tomorrow, days=14) == 1  # the new date
    rolled = all_windows()
    assert min(row[2] for row in rolled) == tomorrow
    assert max(row[2] for row in rolled) == tomorrow + dt.timedelta(days=13)
    AvailabilityHorizon.objects.all().delete()
    availability_windows_roll(today=tomorrow, days=14)
    assert all_windows() == rolled
    horizon = AvailabilityHorizon.objects.get()
    assert (horizon.first, horizon.until) == (tomorrow, tomorrow + dt.timedelta(days=14))


def test_horizon_is_one_ordered_row():
    AvailabilityHorizon.objects.create(pk=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        AvailabilityHorizon.objects.create(pk=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        AvailabilityHorizon.objects.filter(pk=1).update(
            first=dt.date(2027, 1, 2), until=dt.date(2027, 1, 1)
        )


# --- The association, kept equal by the database --------------------------------------------


def test_profile_takes_the_association_of_its_membership(association):
    profile = DriverProfileFactory(membership__association=association)
    assert profile.association_id == association.pk


def test_membership_moved_to_another_association_takes_profile_and_windows(association):
    slot = AvailabilitySlotFactory(driver__membership__association=association)
    profile = slot.driver
    other = AssociationFactory()
    assert AvailabilityWindow.objects.filter(association=association).count() == 4
    # However the move is made (here a plain UPDATE), the database carries it through.
    Membership.objects.filter(pk=profile.membership_id).update(association=other)
    profile.refresh_from_db()
    assert profile.association_id == other.pk
    assert set(
        AvailabilityWindow.objects.filter(driver=profile).values_list("association_id", flat=True)
    ) == {other.pk}


def test_a_profile_with_another_association_than_its_membership_is_refused(association):
    profile = DriverProfileFactory(membership__association=association)
    with pytest.raises(IntegrityError), transaction.atomic():
        DriverProfile.objects.filter(pk=profile.pk).update(association=AssociationFactory())


def test_a_window_with_another_association_than_its_driver_is_refused(association):
    slot = AvailabilitySlotFactory(driver__membership__association=association)
    other = AssociationFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        AvailabilityWindow.objects.filter(driver=slot.driver).update(association=other)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO rides_availabilitywindow (driver_id, association_id, home_base, day,"
            " during) VALUES (%s, %s, %s::geography, %s, tstzrange(now(), now()))",
            [slot.driver_id, association.pk, VANSBRO.ewkt, timezone.localdate()],
        )
