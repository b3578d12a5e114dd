"""The driver moves one departure to another time on the web pages, without JavaScript:
a "Change time" link on My trips, a form in local time, back to My trips with how many
passengers were told. Bad input is a 400 page that says what to change and changes
nothing; nobody but the driver gets in."""

import datetime as dt

import pytest
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from backend.carpool.models import Booking, OccurrenceStatus, TripOccurrence
from backend.notifications.models import Notification
from tests.factories import next_weekday_at
from tests.webapp.carpool_world import book_form, carpool_snapshot, publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def trip(world):
    return publish(world)


@pytest.fixture
def departure(trip) -> TripOccurrence:
    return trip.occurrences.get()


def url(departure: TripOccurrence) -> str:
    return f"/carpool/departures/{departure.pk}/move"


def book(world, departure, who: str) -> Booking:
    response = world.client(who).post("/carpool/book", book_form(departure, world.people[who]))
    assert response.status_code == 302
    return Booking.objects.latest("pk")


def new_time(day: dt.date, time: str) -> dict:
    return {"day": day.isoformat(), "time": time}


def snapshot() -> list:
    return [
        *carpool_snapshot(),
        *TripOccurrence.objects.order_by("pk").values_list("departure_at", "span"),
        *Booking.objects.order_by("pk").values_list("pickup_at", "dropoff_at"),
        Notification.objects.count(),
    ]


def test_the_driver_finds_the_link_and_the_form_shows_the_time_now(world, departure):
    client = world.client("holding_driver")
    assert url(departure) in client.get("/carpool/trips").content.decode()
    page = client.get(url(departure)).content.decode()
    monday = timezone.localdate(next_weekday_at(0, 7))
    assert f'name="day" value="{monday.isoformat()}"' in page
    assert 'name="time" value="07:00"' in page
    assert 'type="time"' in page and 'type="date"' in page
    assert "Nobody has booked a seat yet." in page


def test_the_driver_moves_a_departure_and_its_passengers_are_told(world, departure):
    rider = book(world, departure, "rider")
    neighbour = book(world, departure, "other_resident")
    before = {b.pk: b.pickup_at for b in (rider, neighbour)}
    client = world.client("holding_driver")
    assert "2 passengers have booked seats." in client.get(url(departure)).content.decode()
    monday = timezone.localdate(next_weekday_at(0, 7))

    response = client.post(url(departure), new_time(monday, "07:45"))

    assert response.status_code == 302
    assert response["Location"] == "/carpool/trips"
    departure.refresh_from_db()
    assert departure.departure_at == next_weekday_at(0, 7, 45)
    for booking in (rider, neighbour):
        booking.refresh_from_db()
        assert booking.pickup_at == before[booking.pk] + dt.timedelta(minutes=45)
        assert (
            Notification.objects.filter(
                recipient=booking.passenger, kind="carpool.departure_moved"
            ).count()
            == 1
        )
    page = client.get("/carpool/trips").content.decode()
    assert "2 passengers are told the new time." in page
    assert f"{monday.isoformat()} 07:45" in page


def test_moving_a_departure_nobody_booked_says_so(world, departure):
    client = world.client("holding_driver")
    monday = timezone.localdate(next_weekday_at(0, 7))
    response = client.post(url(departure), new_time(monday, "06:30"), follow=True)
    assert "Nobody had booked a seat on it." in response.content.decode()
    departure.refresh_from_db()
    assert departure.departure_at == next_weekday_at(0, 6, 30)


def test_the_same_time_changes_nothing(world, departure):
    book(world, departure, "rider")
    before = snapshot()
    monday = timezone.localdate(next_weekday_at(0, 7))
    response = world.client("holding_driver").post(
        url(departure), new_time(monday, "07:00"), follow=True
    )
    assert "already leaves at that time" in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"day": "", "time": "07:45"}, "This field is required."),
        ({"day": "tomorrow", "time": "07:45"}, "Enter a valid date."),
        ({"day": "{monday}", "time": "quarter to eight"}, "Enter a valid time."),
        ({"day": "{monday}", "time": "25:00"}, "Enter a valid time."),
        ({"day": "{sunday}", "time": "07:00"}, "at most 12 hours"),
        ({"day": "{monday}", "time": "{other}"}, "This trip already has a departure at"),
        ({"day": "2020-01-01", "time": "07:00"}, "The new time has passed"),
    ],
    ids=["no-day", "bad-day", "bad-time", "hour-25", "a-day-earlier", "taken", "past"],
)
def test_bad_input_is_a_400_page_that_says_what_to_change(world, trip, departure, form, message):
    book(world, departure, "rider")
    other = departure.departure_at + dt.timedelta(hours=3)
    TripOccurrence.objects.create(
        trip=trip,
        departure_at=other,
        span=DateTimeTZRange(other, other + dt.timedelta(hours=1), "[)"),
        route=trip.route,
        seats_total=3,
    )
    monday = timezone.localdate(next_weekday_at(0, 7))
    values = {
        name: value.format(
            monday=monday.isoformat(),
            sunday=(monday - dt.timedelta(days=1)).isoformat(),
            other=timezone.localtime(other).strftime("%H:%M"),
        )
        for name, value in form.items()
    }
    if message == "The new time has passed":
        # Within reach of a departure soon: the past is the reason it is refused.
        soon = timezone.now() + dt.timedelta(hours=2)
        TripOccurrence.objects.filter(pk=departure.pk).update(
            departure_at=soon, span=DateTimeTZRange(soon, soon + dt.timedelta(hours=1), "[)")
        )
        past = timezone.localtime(timezone.now() - dt.timedelta(hours=1))
        values = new_time(past.date(), past.strftime("%H:%M"))
    before = snapshot()
    response = world.client("holding_driver").post(url(departure), values)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert 'role="alert"' in page or "errorlist" in page
    assert snapshot() == before


@pytest.mark.parametrize("state", [OccurrenceStatus.DEPARTED, OccurrenceStatus.CANCELLED])
def test_a_departure_that_left_or_was_cancelled_has_no_form_and_no_link(world, departure, state):
    TripOccurrence.objects.filter(pk=departure.pk).update(status=state)
    client = world.client("holding_driver")
    assert url(departure) not in client.get("/carpool/trips").content.decode()
    before = snapshot()
    response = client.get(url(departure), follow=True)
    assert "already left or been cancelled" in response.content.decode()
    monday = timezone.localdate(next_weekday_at(0, 7))
    response = client.post(url(departure), new_time(monday, "07:30"))
    assert response.status_code == 302
    assert snapshot() == before


@pytest.mark.parametrize(
    "role", ["rider", "other_resident", "offered_driver", "coordinator", "coordinator_elsewhere"]
)
def test_only_the_driver_moves_a_departure_on_the_web(world, departure, role):
    book(world, departure, "rider")
    client = world.client(role)
    assert client.get(url(departure)).status_code == 404
    before = snapshot()
    monday = timezone.localdate(next_weekday_at(0, 7))
    assert client.post(url(departure), new_time(monday, "07:30")).status_code == 404
    assert snapshot() == before


def test_anonymous_is_sent_to_sign_in(world, departure):
    response = world.client("anonymous").get(url(departure))
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in?next=")
