"""Moving one departure to another time: backend.carpool.services.occurrence_move on
PostGIS. The departure, its span, its route legs and its live bookings move together;
each passenger is told once, and the driver when a coordinator moved it; a refused move
changes and tells nothing. Through dispatch.carpool.occurrence_move the trip is matched
against the ride alerts again, once per alert and trip as when it is published."""

import datetime as dt
import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from backend.carpool import services
from backend.carpool.models import (
    DEPARTURE_MOVE_MAX,
    Booking,
    BookingState,
    OccurrenceStatus,
    RouteLeg,
    SavedSearchAlert,
    Trip,
    TripOccurrence,
)
from backend.errors import ApplicationError
from backend.notifications.models import Notification
from dispatch import carpool as carpool_dispatch
from dispatch.carpool_matching import Search, departures_matching
from tests.backend.carpool.test_route_legs import legs_consistent
from tests.backend.carpool.test_trips_and_bookings import alert_for, book
from tests.carpool_fixtures import along
from tests.factories import AssociationFactory, MembershipFactory, coordinator_of, next_weekday_at

pytestmark = pytest.mark.django_db

MOVED = "carpool.departure_moved"
MOVED_BY_COORDINATOR = "carpool.departure_moved_by_coordinator"
ALERT = "carpool.alert"


def move(occurrence: TripOccurrence, actor, departure_at: dt.datetime) -> TripOccurrence:
    fresh = TripOccurrence.objects.select_related("trip").get(pk=occurrence.pk)
    return services.occurrence_move(occurrence=fresh, actor=actor, departure_at=departure_at)


def local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def snapshot() -> list[tuple]:
    """Everything a refused move must leave as it was."""
    return [
        *TripOccurrence.objects.order_by("pk").values_list(
            "pk", "departure_at", "span", "scheduled_at", "status"
        ),
        *Booking.objects.order_by("pk").values_list("pk", "state", "pickup_at", "dropoff_at"),
        *RouteLeg.objects.order_by("pk").values_list("pk", "span"),
        ("notifications", Notification.objects.count()),
    ]


def extra_departure(trip: Trip, at: dt.datetime) -> TripOccurrence:
    """Another departure of the same trip (as a schedule with two a day would give)."""
    return TripOccurrence.objects.create(
        trip=trip,
        departure_at=at,
        span=DateTimeTZRange(at, at + dt.timedelta(seconds=trip.duration_s), "[)"),
        route=trip.route,
        seats_total=trip.seats,
    )


def search_at(start: dt.datetime) -> list[int]:
    found = departures_matching(
        Search(
            pickup=along(0.2, 300),
            dropoff=along(0.8),
            window_start=start,
            window_end=start + dt.timedelta(hours=1),
        )
    )
    return [p.occurrence_id for p in found]


def test_moving_shifts_the_departure_its_span_and_live_bookings_and_tells_each_passenger(
    publish, passenger, carpool_driver, association, coordinator
):
    occurrence = publish(seats=4).occurrences.get()
    requested = book(occurrence, passenger)
    confirmed = book(occurrence, MembershipFactory(association=association).user)
    services.booking_accept(booking=confirmed, actor=carpool_driver)
    cancelled = book(occurrence, MembershipFactory(association=association).user)
    services.booking_cancel(booking=cancelled, actor=cancelled.passenger)
    member = MembershipFactory(association=association, user__full_name="Greta Lund").user
    booked_for = book(occurrence, member, actor=coordinator)  # the coordinator books for her
    before = {b.pk: (b.pickup_at, b.dropoff_at) for b in Booking.objects.all()}
    Notification.objects.all().delete()
    old = occurrence.departure_at
    new = old + dt.timedelta(minutes=15)

    moved = move(occurrence, carpool_driver, new)

    delta = dt.timedelta(minutes=15)
    assert moved.departure_at == new
    assert (moved.span.lower, moved.span.upper) == (
        occurrence.span.lower + delta,
        occurrence.span.upper + delta,
    )
    assert moved.scheduled_at == old
    assert (moved.status, moved.seats_taken) == (OccurrenceStatus.PUBLISHED, 1)
    for booking in (requested, confirmed, booked_for):
        booking.refresh_from_db()
        pickup, dropoff = before[booking.pk]
        assert (booking.pickup_at, booking.dropoff_at) == (pickup + delta, dropoff + delta)
    cancelled.refresh_from_db()
    assert (cancelled.pickup_at, cancelled.dropoff_at) == before[cancelled.pk]
    told = sorted(
        (n.recipient_id, n.payload["before"], n.payload["when"], n.urgent)
        for n in Notification.objects.filter(kind=MOVED)
    )
    expected = sorted(
        (person.pk, local(before[b.pk][0]), local(before[b.pk][0] + delta), True)
        for b, person in [
            (requested, passenger),
            (confirmed, confirmed.passenger),
            (booked_for, member),
            (booked_for, coordinator),
        ]
    )
    assert told == expected
    assert not Notification.objects.exclude(kind=MOVED).exists()
    assert legs_consistent() == []


def test_a_search_finds_the_departure_at_its_new_time_and_not_at_the_old(publish, carpool_driver):
    occurrence = publish().occurrences.get()  # Monday 07:00
    monday_7 = next_weekday_at(0, 7, 0)
    assert search_at(monday_7 - dt.timedelta(minutes=30)) == [occurrence.pk]
    move(occurrence, carpool_driver, next_weekday_at(0, 10, 0))
    assert search_at(monday_7 - dt.timedelta(minutes=30)) == []
    assert search_at(next_weekday_at(0, 9, 30)) == [occurrence.pk]
    assert legs_consistent() == []


def test_a_full_departure_moves_without_legs_and_gets_them_back_when_a_seat_frees(
    publish, passenger, carpool_driver
):
    occurrence = publish(seats=1, instant_booking=True).occurrences.get()
    booking = book(occurrence, passenger)
    new = occurrence.departure_at + dt.timedelta(hours=1)
    assert move(occurrence, carpool_driver, new).status == OccurrenceStatus.FULL
    assert not RouteLeg.objects.exists()
    services.booking_cancel(booking=booking, actor=passenger)
    assert search_at(new - dt.timedelta(minutes=30)) == [occurrence.pk]
    assert legs_consistent() == []


def test_the_same_minute_changes_and_tells_nothing(publish, passenger, carpool_driver):
    occurrence = publish().occurrences.get()
    book(occurrence, passenger)
    before = snapshot()
    same = move(occurrence, carpool_driver, occurrence.departure_at + dt.timedelta(seconds=40))
    assert same.departure_at == occurrence.departure_at
    assert snapshot() == before


def test_a_coordinator_of_the_drivers_association_may_move_it_as_they_may_cancel_it(
    publish, coordinator
):
    occurrence = publish().occurrences.get()
    new = occurrence.departure_at - dt.timedelta(minutes=30)
    assert move(occurrence, coordinator, new).departure_at == new


@pytest.mark.parametrize("who", ["passenger", "other_member", "coordinator_elsewhere"])
def test_nobody_else_may_move_it_and_nothing_changes(publish, passenger, association, who):
    occurrence = publish().occurrences.get()
    book(occurrence, passenger)
    actor = {
        "passenger": passenger,
        "other_member": MembershipFactory(association=association).user,
        "coordinator_elsewhere": coordinator_of(AssociationFactory()),
    }[who]
    before = snapshot()
    with pytest.raises(ApplicationError) as error:
        move(occurrence, actor, occurrence.departure_at + dt.timedelta(minutes=15))
    assert (error.value.code, error.value.kind) == ("not_driver", "forbidden")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("shift", "code"),
    [
        (dt.timedelta(hours=12, minutes=1), "move_too_far"),
        (-dt.timedelta(hours=12, minutes=1), "move_too_far"),
        (dt.timedelta(days=7), "move_too_far"),
    ],
    ids=["later-than-12-hours", "earlier-than-12-hours", "a-week-later"],
)
def test_a_move_too_far_is_refused_with_advice_and_nothing_changes(
    publish, passenger, carpool_driver, shift, code
):
    occurrence = publish().occurrences.get()
    book(occurrence, passenger)
    before = snapshot()
    with pytest.raises(ApplicationError) as error:
        move(occurrence, carpool_driver, occurrence.departure_at + shift)
    assert error.value.code == code
    assert error.value.fields == {"departure_at": [error.value.message]}
    assert snapshot() == before


def test_twelve_hours_is_allowed(publish, carpool_driver):
    occurrence = publish().occurrences.get()
    new = occurrence.departure_at + DEPARTURE_MOVE_MAX
    assert move(occurrence, carpool_driver, new).departure_at == new


def test_a_new_time_in_the_past_is_refused(publish, carpool_driver):
    occurrence = publish(first_departure=timezone.now() + dt.timedelta(hours=2)).occurrences.get()
    before = snapshot()
    with pytest.raises(ApplicationError) as error:
        move(occurrence, carpool_driver, timezone.now() - dt.timedelta(minutes=5))
    assert error.value.code == "time_in_past"
    assert snapshot() == before


@pytest.mark.parametrize(
    "state", ["departed", "completed", "cancelled", "past-but-not-yet-marked-departed"]
)
def test_a_departure_that_left_or_was_cancelled_cannot_move(publish, carpool_driver, state):
    occurrence = publish().occurrences.get()
    if state == "cancelled":
        services.occurrence_cancel(occurrence=occurrence, actor=carpool_driver, reason="")
    elif state.startswith("past"):
        past = timezone.now() - dt.timedelta(minutes=10)
        TripOccurrence.objects.filter(pk=occurrence.pk).update(
            departure_at=past, span=DateTimeTZRange(past, past + dt.timedelta(hours=1), "[)")
        )
    else:
        TripOccurrence.objects.filter(pk=occurrence.pk).update(status=state)
    before = snapshot()
    with pytest.raises(ApplicationError) as error:
        move(occurrence, carpool_driver, timezone.now() + dt.timedelta(hours=1))
    assert (error.value.code, error.value.kind) == ("trip_not_bookable", "conflict")
    assert snapshot() == before


def test_a_time_another_departure_of_the_trip_has_is_refused(publish, passenger, carpool_driver):
    trip = publish()
    occurrence = trip.occurrences.get()
    book(occurrence, passenger)
    later = extra_departure(trip, occurrence.departure_at + dt.timedelta(hours=2))
    before = snapshot()
    with pytest.raises(ApplicationError) as error:
        move(occurrence, carpool_driver, later.departure_at)
    assert (error.value.code, error.value.kind) == ("departure_time_taken", "conflict")
    assert local(later.departure_at) in error.value.message
    assert snapshot() == before


def test_a_moved_departure_of_a_commute_does_not_come_back_at_its_old_time(
    publish, carpool_driver, settings
):
    settings.CARPOOL_HORIZON_DAYS = 14
    trip = publish(rrule="FREQ=WEEKLY;BYDAY=MO,TH")
    first = trip.occurrences.order_by("departure_at").first()
    count = trip.occurrences.count()
    move(first, carpool_driver, first.departure_at + dt.timedelta(minutes=45))
    settings.CARPOOL_HORIZON_DAYS = 15  # the nightly extension expands the rule again
    Trip.objects.filter(pk=trip.pk).update(materialised_until=timezone.now())
    services.trips_materialise()
    times = list(trip.occurrences.values_list("departure_at", flat=True))
    assert first.departure_at not in times
    assert trip.occurrences.count() - count <= 1  # at most the one new day of the horizon


def test_the_database_refuses_a_second_departure_in_a_moved_ones_slot(publish, carpool_driver):
    trip = publish()
    occurrence = trip.occurrences.get()
    old = occurrence.departure_at
    move(occurrence, carpool_driver, old + dt.timedelta(minutes=15))
    with pytest.raises(IntegrityError), transaction.atomic():
        extra_departure(trip, old)


# --- At the same time -------------------------------------------------------------------------


def in_threads(*targets) -> list:
    """Run each target in its own thread and connection, started together; what each
    returned or the code of the ApplicationError it raised."""
    barrier = threading.Barrier(len(targets))
    results: list = [None] * len(targets)

    def run(index, target) -> None:
        try:
            barrier.wait()
            results[index] = target()
        except ApplicationError as error:
            results[index] = error.code
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("instant", [False, True], ids=["request", "instant-booking"])
def test_a_booking_made_while_the_driver_moves_the_departure_ends_at_the_new_time(
    publish, passenger, carpool_driver, instant
):
    occurrence = publish(instant_booking=instant).occurrences.get()
    new = occurrence.departure_at + dt.timedelta(minutes=20)

    def booking():
        fresh = TripOccurrence.objects.select_related("trip").get(pk=occurrence.pk)
        return book(fresh, passenger).pk

    def moving():
        return move(occurrence, carpool_driver, new).departure_at

    booked, moved = in_threads(booking, moving)
    assert moved == new
    occurrence.refresh_from_db()
    booking = Booking.objects.get(pk=booked)
    assert occurrence.departure_at == new
    duration = occurrence.span.upper - occurrence.span.lower
    # Where the car passes the pickup: the same share of the trip after its departure.
    offset = (booking.pickup_at - occurrence.departure_at).total_seconds()
    assert offset == pytest.approx(duration.total_seconds() * booking.pickup_fraction, abs=2)
    told = Notification.objects.filter(kind=MOVED, recipient=passenger).count()
    assert told in (0, 1)  # told when the booking was there first, else booked at the new time
    assert legs_consistent() == []


@pytest.mark.django_db(transaction=True)
def test_a_passenger_cancelling_while_the_driver_moves_both_finish(
    publish, passenger, carpool_driver
):
    occurrence = publish(instant_booking=True).occurrences.get()
    booking = book(occurrence, passenger)
    new = occurrence.departure_at + dt.timedelta(minutes=20)

    def cancelling():
        fresh = Booking.objects.select_related("occurrence__trip", "passenger").get(pk=booking.pk)
        return services.booking_cancel(booking=fresh, actor=passenger).state

    def moving():
        return move(occurrence, carpool_driver, new).departure_at

    assert in_threads(cancelling, moving) == [BookingState.CANCELLED, new]
    occurrence.refresh_from_db()
    assert (occurrence.seats_taken, occurrence.status) == (0, OccurrenceStatus.PUBLISHED)


@pytest.mark.django_db(transaction=True)
def test_two_departures_moved_to_the_same_time_at_once_one_is_refused(publish, carpool_driver):
    trip = publish()
    first = trip.occurrences.get()
    second = extra_departure(trip, first.departure_at + dt.timedelta(hours=2))
    target = first.departure_at + dt.timedelta(hours=1)
    results = in_threads(
        lambda: move(first, carpool_driver, target).pk,
        lambda: move(second, carpool_driver, target).pk,
    )
    assert sorted(map(str, results)) == sorted(
        [str(first.pk if first.pk in results else second.pk), "departure_time_taken"]
    )
    assert TripOccurrence.objects.filter(trip=trip, departure_at=target).count() == 1


# --- Telling the driver ------------------------------------------------------------------------


def test_a_coordinator_moving_it_tells_the_driver_once_with_both_times(
    publish, passenger, carpool_driver, coordinator
):
    occurrence = publish().occurrences.get()
    book(occurrence, passenger)
    Notification.objects.all().delete()
    old = occurrence.departure_at
    new = old + dt.timedelta(minutes=45)

    move(occurrence, coordinator, new)

    [told] = Notification.objects.filter(kind=MOVED_BY_COORDINATOR)
    assert (told.recipient, told.urgent) == (carpool_driver, True)
    assert told.payload == {
        "before": local(old),
        "when": local(new),
        "trip": occurrence.trip_id,
        "occurrence": occurrence.pk,
    }
    # The passenger is told as when the driver moves it; nobody else hears of it.
    assert sorted(Notification.objects.values_list("recipient_id", "kind")) == sorted(
        [(carpool_driver.pk, MOVED_BY_COORDINATOR), (passenger.pk, MOVED)]
    )


def test_the_driver_moving_it_is_not_told_of_their_own_move(publish, passenger, carpool_driver):
    occurrence = publish().occurrences.get()
    book(occurrence, passenger)
    Notification.objects.all().delete()

    move(occurrence, carpool_driver, occurrence.departure_at + dt.timedelta(minutes=45))

    assert not Notification.objects.filter(recipient=carpool_driver).exists()
    assert list(Notification.objects.values_list("recipient_id", "kind")) == [(passenger.pk, MOVED)]


def test_a_coordinator_moving_it_within_the_same_minute_tells_the_driver_nothing(
    publish, coordinator
):
    occurrence = publish().occurrences.get()
    before = snapshot()
    move(occurrence, coordinator, occurrence.departure_at + dt.timedelta(seconds=30))
    assert snapshot() == before


# --- Ride alerts at the new time -----------------------------------------------------------


@pytest.fixture
def move_committed(eager, django_capture_on_commit_callbacks):
    """Publish and move as the pages and the API do, running what waits for the commit
    (the alert task, in-process) as it would run after it."""

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run


def moved_via_dispatch(occurrence: TripOccurrence, actor, departure_at: dt.datetime):
    fresh = TripOccurrence.objects.select_related("trip").get(pk=occurrence.pk)
    return carpool_dispatch.occurrence_move(
        occurrence=fresh, actor=actor, departure_at=departure_at
    )


@pytest.mark.parametrize("who", ["driver", "coordinator"])
def test_an_alert_that_suits_only_the_new_time_is_told_once(
    publish, passenger, carpool_driver, coordinator, move_committed, who
):
    """Monday 07:00 is before the alert's hours; moved to 10:00 it is within them."""
    alert = alert_for(passenger, earliest=dt.time(9, 30), latest=dt.time(11, 0))
    occurrence = move_committed(publish).occurrences.get()
    assert not Notification.objects.filter(kind=ALERT).exists()
    actor = {"driver": carpool_driver, "coordinator": coordinator}[who]
    new = next_weekday_at(0, 10, 0)

    move_committed(moved_via_dispatch, occurrence, actor, new)

    [told] = Notification.objects.filter(kind=ALERT)
    assert told.recipient == passenger
    assert (told.payload["occurrence"], told.payload["when"]) == (occurrence.pk, local(new))
    assert list(SavedSearchAlert.objects.values_list("search", "trip", "occurrence")) == [
        (alert.pk, occurrence.trip_id, occurrence.pk)
    ]


def test_moving_twice_within_the_alerts_hours_does_not_alert_twice(
    publish, passenger, carpool_driver, move_committed
):
    alert_for(passenger, earliest=dt.time(9, 30), latest=dt.time(11, 0))
    occurrence = move_committed(publish).occurrences.get()

    move_committed(moved_via_dispatch, occurrence, carpool_driver, next_weekday_at(0, 10, 0))
    move_committed(moved_via_dispatch, occurrence, carpool_driver, next_weekday_at(0, 10, 15))

    assert Notification.objects.filter(kind=ALERT).count() == 1
    assert SavedSearchAlert.objects.count() == 1


def test_an_alert_told_at_publishing_is_not_told_again_when_the_departure_moves(
    publish, passenger, carpool_driver, move_committed
):
    alert_for(passenger, earliest=dt.time(6, 30), latest=dt.time(11, 0))
    occurrence = move_committed(publish).occurrences.get()
    assert Notification.objects.filter(kind=ALERT).count() == 1

    move_committed(moved_via_dispatch, occurrence, carpool_driver, next_weekday_at(0, 10, 0))

    assert Notification.objects.filter(kind=ALERT).count() == 1


def test_an_alert_for_the_old_time_only_is_not_told_of_the_moved_departure(
    publish, passenger, carpool_driver, move_committed
):
    """Created after publishing (so not told then), for hours the departure leaves."""
    occurrence = move_committed(publish).occurrences.get()
    alert_for(passenger, earliest=dt.time(6, 30), latest=dt.time(8, 0))

    move_committed(moved_via_dispatch, occurrence, carpool_driver, next_weekday_at(0, 10, 0))

    assert not Notification.objects.filter(kind=ALERT).exists()
