"""Publishing, recurrence (with the change to summer time), pricing, seat bookings and
their invariants, ride alerts: backend.carpool.services on PostGIS."""

import datetime as dt
import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from backend.carpool import services
from backend.carpool.models import (
    Booking,
    BookingState,
    OccurrenceStatus,
    SavedSearchAlert,
    TripOccurrence,
)
from backend.carpool.recurrence import departures_between
from backend.errors import ApplicationError
from backend.notifications.models import Notification
from dispatch.carpool import trip_alerts_send
from dispatch.tasks import carpool_extend_departures
from tests.carpool_fixtures import along
from tests.factories import STOCKHOLM, MembershipFactory, next_weekday_at
from tests.locks import Beside, referred_to_meanwhile

pytestmark = pytest.mark.django_db


def book(occurrence, passenger, **changes) -> Booking:
    values = {
        "actor": passenger,
        "passenger": passenger,
        "occurrence": occurrence,
        "pickup": along(0.1),
        "pickup_address": "Byvägen 3",
        "dropoff": along(0.9),
        "dropoff_address": "Skolan",
    }
    values.update(changes)
    return services.booking_request(**values)


def test_publishing_stores_the_route_price_and_one_departure(publish, settings):
    trip = publish()
    assert trip.distance_m == pytest.approx(43_700 * settings.ROAD_FACTOR, rel=0.01)
    # Suggested: the cost (250 öre/km) shared by the driver and three passengers, whole
    # kronor; the cap: the cost shared by the three passengers only.
    km = trip.distance_m / 1000
    assert trip.price_ore == int(km * 250 / 4 // 100) * 100
    assert trip.max_price_ore == int(km * 250 / 3 // 100) * 100
    [occurrence] = trip.occurrences.all()
    assert occurrence.departure_at == trip.first_departure
    assert occurrence.span.upper - occurrence.span.lower == dt.timedelta(seconds=trip.duration_s)
    assert occurrence.status == OccurrenceStatus.PUBLISHED


def test_a_price_above_the_cost_share_is_refused_and_nothing_stored(publish):
    with pytest.raises(ApplicationError) as error:
        publish(price_ore=100_000)
    assert error.value.code == "price_above_cost"
    assert not TripOccurrence.objects.exists()


def test_weekday_commute_departures_keep_local_time_across_the_change_to_summer_time():
    # The last Sunday of March 2027 is the 28th: 07:10 stays 07:10 local time.
    first = dt.datetime(2027, 3, 22, 7, 10, tzinfo=STOCKHOLM)
    departures = departures_between(
        rule_text="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        first_departure=first,
        start=first,
        end=first + dt.timedelta(days=14),
    )
    local = [d.astimezone(STOCKHOLM) for d in departures]
    assert [d.strftime("%a %d %H:%M") for d in local[:6]] == [
        "Mon 22 07:10",
        "Tue 23 07:10",
        "Wed 24 07:10",
        "Thu 25 07:10",
        "Fri 26 07:10",
        "Mon 29 07:10",
    ]
    assert departures[4].astimezone(dt.UTC).hour == 6  # winter time, UTC+1
    assert departures[5].astimezone(dt.UTC).hour == 5  # summer time, UTC+2
    assert len(departures) == 11  # both ends count: Monday 5 April too


def test_recurring_trips_are_materialised_ahead_and_again_by_the_beat_task(publish, settings):
    settings.CARPOOL_HORIZON_DAYS = 14
    soon = timezone.localtime().replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=2)
    trip = publish(rrule="FREQ=DAILY", first_departure=soon)
    first = trip.occurrences.count()
    assert 13 <= first <= 14
    later = timezone.now() + dt.timedelta(days=7)
    created = services.trips_materialise(now=later)
    assert created == {trip.pk: 7}
    assert services.trips_materialise(now=later) == {}  # safe to run twice


@pytest.mark.parametrize(
    ("rule", "problem"),
    [("FREQ=HOURLY", "rrule_invalid"), ("NOT A RULE", "rrule_invalid")],
    ids=["too-often", "garbage"],
)
def test_bad_repetition_rules_are_refused(publish, rule, problem):
    with pytest.raises(ApplicationError) as error:
        publish(rrule=rule)
    assert error.value.code == problem


def test_request_then_accept_takes_seats_and_tells_both_sides(publish, passenger, carpool_driver):
    occurrence = publish(seats=2).occurrences.get()
    booking = book(occurrence, passenger, seats=2)
    assert booking.state == BookingState.REQUESTED
    assert Notification.objects.filter(
        recipient=carpool_driver, kind="carpool.booking_requested"
    ).exists()
    occurrence.refresh_from_db()
    assert occurrence.seats_taken == 0  # a request holds no seat
    services.booking_accept(booking=booking, actor=carpool_driver)
    occurrence.refresh_from_db()
    assert (occurrence.seats_taken, occurrence.status) == (2, OccurrenceStatus.FULL)
    assert Notification.objects.filter(recipient=passenger, kind="carpool.booking_confirmed")
    # The passenger cancels: the seats come back and the driver is told.
    services.booking_cancel(booking=booking, actor=passenger, reason="Sjuk")
    occurrence.refresh_from_db()
    assert (occurrence.seats_taken, occurrence.status) == (0, OccurrenceStatus.PUBLISHED)
    assert Notification.objects.filter(recipient=carpool_driver, kind="carpool.booking_cancelled")


def test_booking_places_the_pickup_along_the_route(publish, passenger):
    trip = publish(instant_booking=True)
    booking = book(trip.occurrences.get(), passenger)
    assert booking.state == BookingState.CONFIRMED
    assert booking.pickup_fraction == pytest.approx(0.1, abs=0.005)
    expected = trip.first_departure + dt.timedelta(seconds=trip.duration_s * 0.1)
    assert abs((booking.pickup_at - expected).total_seconds()) < 30
    # 80 % of the way: 80 % of the price, in whole kronor.
    assert booking.price_ore == round(trip.price_ore * 0.8 / 100) * 100


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"pickup": along(0.9), "dropoff": along(0.1)}, "wrong_direction"),
        ({"pickup": along(0.1, 9_000)}, "not_on_route"),
        ({"dropoff": along(0.3)}, "shared_part_too_short"),
        ({"dropoff": along(0.1)}, "same_place"),
        ({"seats": 0}, "seats_invalid"),
        ({"seats": 4}, "no_seats_left"),
    ],
    ids=["wrong-direction", "off-route", "too-short", "same-place", "zero-seats", "too-many"],
)
def test_bookings_that_do_not_fit_are_refused_and_nothing_is_stored(
    publish, passenger, changes, code
):
    occurrence = publish().occurrences.get()
    with pytest.raises(ApplicationError) as error:
        book(occurrence, passenger, **changes)
    assert error.value.code == code
    assert not Booking.objects.exists()
    assert not Notification.objects.exists()


def test_the_database_refuses_an_overbooked_departure(publish):
    occurrence = publish(seats=2).occurrences.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        TripOccurrence.objects.filter(pk=occurrence.pk).update(seats_taken=3)


def test_the_database_refuses_a_full_departure_with_free_seats(publish):
    occurrence = publish(seats=2).occurrences.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        TripOccurrence.objects.filter(pk=occurrence.pk).update(status=OccurrenceStatus.FULL)


def test_one_open_booking_per_passenger_and_departure(publish, passenger):
    occurrence = publish().occurrences.get()
    book(occurrence, passenger)
    with pytest.raises(ApplicationError) as error:
        book(occurrence, passenger)
    assert error.value.code == "already_booked"


def test_driver_cancelling_a_departure_cancels_its_bookings(publish, passenger, carpool_driver):
    occurrence = publish(instant_booking=True).occurrences.get()
    booking = book(occurrence, passenger)
    services.occurrence_cancel(occurrence=occurrence, actor=carpool_driver, reason="Bilen trasig")
    booking.refresh_from_db()
    assert (booking.state, booking.cancelled_by) == (BookingState.CANCELLED, "driver")
    note = Notification.objects.get(recipient=passenger, kind="carpool.trip_cancelled")
    assert note.payload["reason"] == "Bilen trasig"


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_departure_does_not_wait_for_whatever_refers_to_its_passengers(
    publish, passenger, carpool_driver
):
    # The bookings were locked with their passengers' and bookers' account rows (FOR
    # UPDATE through the join): a cancellation waited for, or deadlocked with, anything
    # being written about those people meanwhile (a notification, an audit row).
    occurrence = publish(instant_booking=True).occurrences.get()
    booking = book(occurrence, passenger)
    with referred_to_meanwhile([passenger]):
        cancel = Beside(
            lambda: services.occurrence_cancel(
                occurrence=occurrence, actor=carpool_driver, reason="Bilen trasig"
            )
        )
        in_time = cancel.done_within(5)
    cancel.result()
    assert in_time, "the cancellation waited for a transaction that referred to a passenger"
    booking.refresh_from_db()
    assert booking.state == BookingState.CANCELLED


def test_rating_and_report_after_the_trip(publish, passenger, carpool_driver, coordinator):
    occurrence = publish(instant_booking=True).occurrences.get()
    booking = book(occurrence, passenger)
    with pytest.raises(ApplicationError) as error:
        services.rating_create(booking=booking, actor=passenger, stars=5)
    assert error.value.code == "not_after_trip"
    TripOccurrence.objects.filter(pk=occurrence.pk).update(status=OccurrenceStatus.COMPLETED)
    booking.refresh_from_db()
    rating = services.rating_create(booking=booking, actor=passenger, stars=4, comment="Trevligt")
    assert rating.ratee == carpool_driver
    with pytest.raises(ApplicationError):
        services.rating_create(booking=booking, actor=passenger, stars=5)
    services.report_create(booking=booking, actor=carpool_driver, text="Kom inte i tid")
    assert (
        Notification.objects.get(recipient=coordinator, kind="carpool.report").payload["about"]
        == passenger.full_name
    )


# --- Ride alerts ---------------------------------------------------------------------------


def alert_for(owner, **changes):
    values = {
        "owner": owner,
        "pickup": along(0.1, 200),
        "dropoff": along(0.9),
        "earliest": dt.time(6, 30),
        "latest": dt.time(8, 0),
        "weekdays": [0, 1, 2, 3, 4],
    }
    values.update(changes)
    return services.saved_search_create(**values)


def test_a_ride_alert_fires_once_per_new_matching_trip(publish, passenger):
    alert = alert_for(passenger)
    other_way = alert_for(passenger, pickup=along(0.9), dropoff=along(0.1))
    weekend = alert_for(passenger, weekdays=[5, 6])
    trip = publish(rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR")
    assert trip_alerts_send(trip_id=trip.pk) == 1
    assert trip_alerts_send(trip_id=trip.pk) == 0  # the task may run twice
    [sent] = SavedSearchAlert.objects.all()
    assert (sent.search, sent.trip) == (alert, trip)
    assert {other_way.pk, weekend.pk}.isdisjoint({sent.search_id})
    [note] = Notification.objects.filter(recipient=passenger, kind="carpool.alert")
    assert note.payload["trip"] == trip.pk
    second = publish(first_departure=next_weekday_at(1, 7, 0))
    assert trip_alerts_send(trip_id=second.pk) == 1


def test_departures_added_by_the_nightly_extension_reach_ride_alerts(publish, passenger, settings):
    """A monthly trip's next departure falls on another weekday: the alert for that weekday
    hears of the trip when the nightly extension creates that departure, and only once."""
    settings.CARPOOL_HORIZON_DAYS = 21
    first = next_weekday_at(0, 7, 0)
    while True:  # a month of 28 days keeps the weekday: start where it changes
        first_two = departures_between(
            rule_text="FREQ=MONTHLY",
            first_departure=first,
            start=first,
            end=first + dt.timedelta(days=40),
        )
        if first_two[1].weekday() != first.weekday():
            break
        first += dt.timedelta(days=1)
    alert_for(passenger, weekdays=[first_two[1].weekday()])
    trip = publish(rrule="FREQ=MONTHLY", first_departure=first)
    assert trip_alerts_send(trip_id=trip.pk) == 0  # the one departure so far is on another day

    settings.CARPOOL_HORIZON_DAYS = 60  # as the nights pass, the horizon reaches the next one
    assert carpool_extend_departures.apply().get() >= 1
    assert carpool_extend_departures.apply().get() == 0  # the beat may run twice

    [sent] = SavedSearchAlert.objects.filter(trip=trip)
    assert sent.occurrence.departure_at == first_two[1]
    assert Notification.objects.filter(recipient=passenger, kind="carpool.alert").count() == 1


def test_a_trip_outside_the_alert_time_does_not_alert(publish, passenger):
    alert_for(passenger, earliest=dt.time(9, 0), latest=dt.time(10, 0))
    trip = publish()
    assert trip_alerts_send(trip_id=trip.pk) == 0


# --- The last seat, two passengers at once --------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_passengers_booking_the_last_seat_at_once_one_wins(publish, association):
    occurrence = publish(seats=1, instant_booking=True).occurrences.get()
    passengers = [MembershipFactory(association=association).user for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list[str] = []

    def attempt(person) -> None:
        try:
            barrier.wait()
            book(TripOccurrence.objects.select_related("trip").get(pk=occurrence.pk), person)
            results.append("booked")
        except ApplicationError as error:
            results.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(p,)) for p in passengers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["booked", "no_seats_left"]
    occurrence.refresh_from_db()
    assert (occurrence.seats_taken, occurrence.status) == (1, OccurrenceStatus.FULL)
    assert Booking.objects.filter(state=BookingState.CONFIRMED).count() == 1
    assert Booking.objects.count() == 1  # the loser's booking was rolled back


@pytest.mark.django_db(transaction=True)
def test_two_drivers_accepts_for_the_last_seat_one_wins(publish, association, carpool_driver):
    occurrence = publish(seats=1).occurrences.get()
    passengers = [MembershipFactory(association=association).user for _ in range(2)]
    bookings = [book(occurrence, p) for p in passengers]
    barrier = threading.Barrier(2)
    results: list[str] = []

    def attempt(booking) -> None:
        try:
            barrier.wait()
            fresh = Booking.objects.select_related("occurrence__trip").get(pk=booking.pk)
            services.booking_accept(booking=fresh, actor=carpool_driver)
            results.append("confirmed")
        except ApplicationError as error:
            results.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(b,)) for b in bookings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["confirmed", "no_seats_left"]
    assert Booking.objects.filter(state=BookingState.CONFIRMED).count() == 1
    assert Booking.objects.filter(state=BookingState.REQUESTED).count() == 1
