"""Carpooling on the web pages without JavaScript: search (GET), book, answer, cancel,
offer a trip, ride alerts. Each role sees and may change only what is theirs; bad input
is answered with what to change and writes nothing."""

import html
import re

import pytest
from django.http import QueryDict
from django.utils import timezone

from backend.carpool.models import (
    Booking,
    BookingState,
    Rating,
    Report,
    SavedSearch,
    Trip,
    TripOccurrence,
)
from backend.notifications.models import Notification
from tests.factories import next_weekday_at
from tests.webapp.carpool_world import book_form, carpool_snapshot, publish, search_query

pytestmark = pytest.mark.django_db


@pytest.fixture
def trip(world):
    return publish(world)


@pytest.fixture
def departure(trip) -> TripOccurrence:
    return trip.occurrences.get()


def _book(world, departure, who="rider", passenger="rider", **changes) -> Booking:
    client = world.client(who)
    response = client.post(
        "/carpool/book", book_form(departure, world.people[passenger], **changes)
    )
    assert response.status_code == 302, response.content.decode()[:500]
    assert response["Location"] == "/carpool/bookings"
    return Booking.objects.latest("pk")


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


# --- Who may come in --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/carpool/", "/carpool/bookings", "/carpool/offer", "/carpool/trips", "/carpool/alerts"],
)
def test_anonymous_is_sent_to_sign_in(world, path):
    response = world.client("anonymous").get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in?next=")


def test_anonymous_booking_writes_nothing(world, departure):
    before = carpool_snapshot()
    response = world.client("anonymous").post(
        "/carpool/book", book_form(departure, world.people["rider"])
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in")
    assert carpool_snapshot() == before


@pytest.mark.parametrize("path", ["/carpool/", "/carpool/offer", "/carpool/alerts"])
def test_someone_without_an_association_is_told_to_join_one(world, path):
    response = world.client("analyst").get(path)
    assert response.status_code == 403
    assert "Join your village's association" in response.content.decode()


# --- Find and book a seat -----------------------------------------------------------------------


def test_search_shows_the_trip_as_areas_and_the_drivers_first_name(world, departure):
    response = world.client("rider").get("/carpool/", search_query())
    page = response.content.decode()
    assert response.status_code == 200
    assert "One trip fits" in page
    assert "Erik" in page
    assert "Olsson" not in page  # the driver's full name only after confirmation
    assert "Storgatan 1" not in page  # nor where exactly the driver starts
    assert f'name="departure" value="{departure.pk}"' in page


def test_search_shows_the_drivers_rating(world, departure):
    booking = _book(world, departure)
    Rating.objects.create(
        booking=booking, rater=booking.passenger, ratee=departure.trip.driver, stars=4
    )
    page = world.client("rider").get("/carpool/", search_query()).content.decode()
    assert "Erik · 4.0 of 5 (1 rating)" in page


def test_the_drivers_own_trip_is_not_offered_to_them(world, departure):
    page = world.client("holding_driver").get("/carpool/", search_query()).content.decode()
    assert "0 trips fit" in page
    assert "save a ride alert" in page


def test_a_search_that_makes_no_sense_says_what_to_change(world, departure):
    query = search_query(
        dropoff_lon=search_query()["pickup_lon"], dropoff_lat=search_query()["pickup_lat"]
    )
    response = world.client("rider").get("/carpool/", query)
    assert response.status_code == 400
    assert "Pickup and drop-off are the same place" in response.content.decode()


def test_a_search_by_address_without_a_geocoder_asks_for_the_map(world, departure):
    query = search_query(pickup_lon=None, pickup_lat=None)
    response = world.client("rider").get("/carpool/", query)
    assert response.status_code == 400
    assert "Pick the place on the map" in response.content.decode()


def test_rider_books_a_seat_and_the_driver_is_asked(world, departure):
    booking = _book(world, departure)
    assert booking.state == BookingState.REQUESTED
    assert (booking.passenger, booking.booked_by) == (world.people["rider"],) * 2
    assert booking.message == "Jag har en liten väska"
    page = world.client("rider").get("/carpool/bookings").content.decode()
    assert "Waiting for the driver" in page
    assert "Byvägen 3" in page
    assert "Olsson" not in page and "Storgatan 1" not in page


def test_instant_booking_is_confirmed_and_shows_the_drivers_contact(world):
    departure = publish(world, instant_booking=True).occurrences.get()
    booking = _book(world, departure)
    assert booking.state == BookingState.CONFIRMED
    page = world.client("rider").get("/carpool/bookings").content.decode()
    assert "Erik Olsson" in page
    assert "+46701740610" in page
    assert "Storgatan 1, Väst" in page


def test_proxy_searches_and_books_for_her_mother(world, departure):
    client = world.client("proxy")
    page = client.get("/carpool/", search_query()).content.decode()
    assert "Anna Eriksson" in page  # the passenger choice
    booking = _book(world, departure, who="proxy", passenger="rider")
    assert booking.passenger == world.people["rider"]
    assert booking.booked_by == world.people["proxy"]
    assert "Byvägen 3" in client.get("/carpool/bookings").content.decode()


def test_nobody_books_for_someone_they_do_not_book_for(world, departure):
    before = carpool_snapshot()
    client = world.client("other_resident")
    response = client.post("/carpool/book", book_form(departure, world.people["rider"]))
    assert response.status_code == 302
    assert carpool_snapshot() == before
    assert "could not be read" in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    "changes",
    [
        {"seats": "0"},
        {"seats": "9"},
        {"departure": "abc"},
        {"pickup_lat": "95"},
        {"dropoff_lon": None},
    ],
)
def test_bad_booking_input_writes_nothing(world, departure, changes):
    before = carpool_snapshot()
    response = world.client("rider").post(
        "/carpool/book", book_form(departure, world.people["rider"], **changes)
    )
    assert response.status_code == 302
    assert carpool_snapshot() == before


def test_booking_a_departure_that_does_not_exist_is_404(world, departure):
    before = carpool_snapshot()
    response = world.client("rider").post(
        "/carpool/book", book_form(departure, world.people["rider"], departure="999999")
    )
    assert response.status_code == 404
    assert carpool_snapshot() == before


def test_booking_twice_is_refused_with_the_reason(world, departure):
    _book(world, departure)
    before = carpool_snapshot()
    client = world.client("rider")
    response = client.post("/carpool/book", book_form(departure, world.people["rider"]))
    assert carpool_snapshot() == before
    assert "already has a booking" in client.get(response["Location"]).content.decode()


def test_a_point_far_from_the_route_is_refused(world, departure):
    before = carpool_snapshot()
    client = world.client("rider")
    response = client.post(
        "/carpool/book",
        book_form(departure, world.people["rider"], pickup_lat="60.90", pickup_lon="14.0"),
    )
    assert carpool_snapshot() == before
    assert client.get(response["Location"]).status_code == 200


# --- A refused booking keeps the search --------------------------------------------------------


def _book_button_form(page: str) -> dict:
    """The first result's booking form as the search page renders it (hidden fields and
    the message), as a browser would send it."""
    form = page[page.index('action="/carpool/book"') :]
    form = form[: form.index("</form>")]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    return {name: html.unescape(value) for name, value in fields.items()} | {"message": ""}


def test_a_seat_taken_meanwhile_goes_back_to_the_same_search_with_the_reason(world):
    departure = publish(world, seats=1, instant_booking=True).occurrences.get()
    client = world.client("rider")
    query = search_query()
    results = client.get("/carpool/", query).content.decode()
    assert "One trip fits" in results
    sent = _book_button_form(results)
    # The neighbour takes the last seat while Anna reads the results.
    _book(world, departure, who="other_resident", passenger="other_resident")
    before = carpool_snapshot()
    response = client.post("/carpool/book", sent)
    assert carpool_snapshot() == before
    assert response.status_code == 302
    back = response["Location"]
    path, _, kept = back.partition("?")
    assert path == "/carpool/"
    assert QueryDict(kept).dict() == query
    page = client.get(back).content.decode()
    assert "There are not enough free seats on this trip any more." in page
    assert 'value="Byvägen 3"' in page and 'value="Skolgatan 9"' in page
    assert 'id="results-heading"' in page  # the search ran again: its results are shown


def test_unreadable_booking_input_goes_back_to_the_search(world, departure):
    client = world.client("rider")
    query = search_query()
    sent = _book_button_form(client.get("/carpool/", query).content.decode())
    before = carpool_snapshot()
    response = client.post("/carpool/book", sent | {"seats": "0"})
    assert carpool_snapshot() == before
    path, _, kept = response["Location"].partition("?")
    assert (path, QueryDict(kept).dict()) == ("/carpool/", query)
    page = client.get(response["Location"]).content.decode()
    assert "The booking could not be read." in page
    assert 'value="Byvägen 3"' in page


@pytest.mark.parametrize(
    ("search", "location"),
    [
        ("", "/carpool/"),
        ("next=https://example.com/&seats=2", "/carpool/?seats=2"),
        ("//example.com", "/carpool/"),
    ],
    ids=["no search", "only the search's fields are kept", "never another site"],
)
def test_the_way_back_after_a_refusal_stays_on_the_search_page(world, departure, search, location):
    _book(world, departure)
    client = world.client("rider")
    form = book_form(departure, world.people["rider"], search=search)
    response = client.post("/carpool/book", form)
    assert response["Location"] == location


# --- Cancelling a booking ---------------------------------------------------------------------


def test_rider_cancels_her_booking(world, departure):
    booking = _book(world, departure)
    response = world.client("rider").post(
        f"/carpool/bookings/{booking.pk}/cancel", {"reason": "Sjuk"}
    )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert (booking.state, booking.cancelled_by, booking.reason) == (
        BookingState.CANCELLED,
        "passenger",
        "Sjuk",
    )


def test_the_bookings_button_only_leads_to_the_question(world, departure):
    booking = _book(world, departure)
    client = world.client("rider")
    page = client.get("/carpool/bookings").content.decode()
    url = f"/carpool/bookings/{booking.pk}/cancel"
    assert f'<a class="button secondary" href="{url}">' in page
    assert f'action="{url}"' not in page
    before = carpool_snapshot()
    question = client.get(url)
    assert question.status_code == 200
    html = question.content.decode()
    assert "Cancel your seat on " in html and booking.dropoff_address in html
    assert f'action="{url}"' in html and "Yes, cancel the booking" in html
    assert 'href="/carpool/bookings"' in html  # "No, keep it"
    assert carpool_snapshot() == before


def test_a_cancelled_booking_is_not_asked_about_again(world, departure):
    booking = _book(world, departure)
    client = world.client("rider")
    client.post(f"/carpool/bookings/{booking.pk}/cancel", {"reason": "Sjuk"})
    response = client.get(f"/carpool/bookings/{booking.pk}/cancel", follow=True)
    assert "This booking can no longer be cancelled." in response.content.decode()


@pytest.mark.parametrize("role", ["other_resident", "holding_driver", "coordinator_elsewhere"])
def test_others_cannot_cancel_a_booking_as_the_passenger(world, departure, role):
    booking = _book(world, departure)
    before = carpool_snapshot()
    response = world.client(role).post(f"/carpool/bookings/{booking.pk}/cancel", {})
    assert response.status_code == 404
    assert carpool_snapshot() == before


# --- The driver's side ------------------------------------------------------------------------


def test_driver_sees_the_request_with_first_name_and_area_then_accepts(world, departure):
    booking = _book(world, departure)
    client = world.client("holding_driver")
    page = client.get("/carpool/trips").content.decode()
    assert "Accept Anna" in page
    assert "Eriksson" not in page and "Byvägen 3" not in page and "+46701740620" not in page
    response = client.post(f"/carpool/requests/{booking.pk}/accept", {})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.state == BookingState.CONFIRMED
    page = client.get("/carpool/trips").content.decode()
    assert "Anna Eriksson" in page and "Byvägen 3" in page and "+46701740620" in page
    assert "1 of 3 seats free" not in page and "2 of 3 seats free" in page


def test_driver_declines_a_request(world, departure):
    booking = _book(world, departure)
    response = world.client("holding_driver").post(
        f"/carpool/requests/{booking.pk}/decline", {"reason": "Fullt i bilen"}
    )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert (booking.state, booking.reason) == (BookingState.DECLINED, "Fullt i bilen")


@pytest.mark.parametrize(
    "role", ["rider", "proxy", "other_resident", "offered_driver", "coordinator"]
)
def test_only_the_driver_answers_a_request(world, departure, role):
    booking = _book(world, departure)
    before = carpool_snapshot()
    response = world.client(role).post(f"/carpool/requests/{booking.pk}/accept", {})
    assert response.status_code == 404
    assert carpool_snapshot() == before


def test_an_unknown_answer_writes_nothing(world, departure):
    booking = _book(world, departure)
    before = carpool_snapshot()
    client = world.client("holding_driver")
    response = client.post(f"/carpool/requests/{booking.pk}/maybe", {})
    assert response.status_code == 302
    assert carpool_snapshot() == before
    assert "Choose accept, decline or cancel" in client.get("/carpool/trips").content.decode()


def test_driver_cancels_a_departure_and_then_the_trip(world, trip, departure):
    booking = _book(world, departure)
    client = world.client("holding_driver")
    client.post(f"/carpool/departures/{departure.pk}/cancel", {"reason": "Bilen är trasig"})
    departure.refresh_from_db()
    booking.refresh_from_db()
    assert departure.status == "cancelled"
    assert (booking.state, booking.cancelled_by) == (BookingState.CANCELLED, "driver")
    client.post(f"/carpool/trips/{trip.pk}/cancel", {"reason": ""})
    trip.refresh_from_db()
    assert trip.cancelled_at is not None


@pytest.mark.parametrize("role", ["rider", "other_resident", "offered_driver"])
def test_others_cannot_cancel_a_trip_or_departure(world, trip, departure, role):
    before = carpool_snapshot()
    client = world.client(role)
    assert client.post(f"/carpool/departures/{departure.pk}/cancel", {}).status_code == 404
    assert client.post(f"/carpool/trips/{trip.pk}/cancel", {}).status_code == 404
    assert carpool_snapshot() == before


def test_trips_page_queries_do_not_grow_with_bookings(world, departure, django_assert_num_queries):
    _book(world, departure)
    _book(world, departure, who="other_resident", passenger="other_resident")
    client = world.client("holding_driver")
    client.get("/carpool/trips")  # session and language settle
    # session, user, shell (1), trips, departures, bookings with their areas, ratings
    with django_assert_num_queries(7):
        client.get("/carpool/trips")
    publish(world, first_departure=next_weekday_at(2, 7))
    with django_assert_num_queries(7):
        page = client.get("/carpool/trips").content.decode()
    assert page.count("Accept ") == 2


def test_bookings_page_query_count_is_fixed(world, departure, django_assert_num_queries):
    _book(world, departure)
    client = world.client("rider")
    client.get("/carpool/bookings")
    with django_assert_num_queries(6):
        client.get("/carpool/bookings")
    _book(world, publish(world, first_departure=next_weekday_at(1, 7)).occurrences.get())
    with django_assert_num_queries(6):
        page = client.get("/carpool/bookings").content.decode()
    assert page.count("Cancel the booking") == 2


# --- Offering a trip ----------------------------------------------------------------------------


def trip_form(**changes) -> dict:
    values = {
        "origin_address": "Storgatan 1, Väst",
        "origin_lon": "13.80",
        "origin_lat": "60.60",
        "destination_address": "Torget 2, Öst",
        "destination_lon": "14.60",
        "destination_lat": "60.60",
        "departure": local(next_weekday_at(0, 7)),
        "repeat": "once",
        "seats": "3",
        "luggage": "small",
        "note": "Jag kör via Järna",
    }
    values.update(changes)
    return {name: value for name, value in values.items() if value is not None}


def test_member_offers_a_trip_once(world):
    client = world.client("other_resident")
    response = client.post("/carpool/offer", trip_form(instant_booking="on", price_kr="40"))
    assert response.status_code == 302
    trip = Trip.objects.get(driver=world.people["other_resident"])
    assert (trip.rrule, trip.seats, trip.price_ore, trip.instant_booking) == ("", 3, 4000, True)
    assert trip.association == world.a
    assert trip.occurrences.count() == 1
    assert "Storgatan 1, Väst" in client.get("/carpool/trips").content.decode()


def test_member_offers_a_weekday_commute(world):
    response = world.client("other_resident").post(
        "/carpool/offer", trip_form(repeat="weekly", weekdays=["0", "2", "4"])
    )
    assert response.status_code == 302
    trip = Trip.objects.get(driver=world.people["other_resident"])
    assert trip.rrule == "FREQ=WEEKLY;BYDAY=MO,WE,FR"
    assert trip.occurrences.count() > 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"departure": "2020-01-01T07:00"}, "The departure time has passed"),
        ({"repeat": "weekly"}, "Choose at least one weekday"),
        ({"price_kr": "5000"}, "A seat may cost at most"),
        ({"seats": "9"}, "less than or equal to 8"),
        ({"destination_lon": "13.80"}, "Start and end are the same place"),
        ({"origin_lon": "13.80", "origin_lat": None}, "Give both longitude and latitude"),
        ({"departure": "tomorrow"}, "Enter a valid date/time"),
    ],
)
def test_bad_trip_input_says_what_to_change_and_writes_nothing(world, changes, message):
    before = carpool_snapshot()
    response = world.client("other_resident").post("/carpool/offer", trip_form(**changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert carpool_snapshot() == before


def test_a_proxy_without_membership_cannot_offer_trips(world):
    client = world.client("proxy")
    assert client.get("/carpool/offer").status_code == 403
    before = carpool_snapshot()
    assert client.post("/carpool/offer", trip_form()).status_code == 403
    assert carpool_snapshot() == before


# --- Ride alerts --------------------------------------------------------------------------------


def alert_form(**changes) -> dict:
    values = {
        "pickup_address": "Byvägen 3",
        "pickup_lon": "13.96",
        "pickup_lat": "60.60",
        "dropoff_address": "Skolgatan 9",
        "dropoff_lon": "14.44",
        "dropoff_lat": "60.60",
        "weekdays": ["0", "1"],
        "earliest": "06:30",
        "latest": "08:00",
        "seats": "1",
    }
    values.update(changes)
    return {name: value for name, value in values.items() if value is not None}


def test_rider_saves_lists_and_deletes_a_ride_alert(world):
    client = world.client("rider")
    assert client.post("/carpool/alerts", alert_form()).status_code == 302
    search = SavedSearch.objects.get(owner=world.people["rider"])
    assert (search.weekdays, str(search.earliest)) == ([0, 1], "06:30:00")
    page = client.get("/carpool/alerts").content.decode()
    assert "Monday, Tuesday, 06:30\u201308:00" in page
    assert client.post(f"/carpool/alerts/{search.pk}/delete").status_code == 302
    assert not SavedSearch.objects.exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"latest": "06:00"}, "The time window ends before it starts"),
        ({"weekdays": None}, "This field is required"),
        ({"weekdays": ["9"]}, "Select a valid choice"),
        ({"until": "2020-01-01"}, "The end date has passed"),
    ],
)
def test_bad_alert_input_writes_nothing(world, changes, message):
    response = world.client("rider").post("/carpool/alerts", alert_form(**changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not SavedSearch.objects.exists()


@pytest.mark.parametrize("role", ["proxy", "other_resident", "anonymous"])
def test_others_cannot_delete_my_alert(world, role):
    world.client("rider").post("/carpool/alerts", alert_form())
    search = SavedSearch.objects.get()
    response = world.client(role).post(f"/carpool/alerts/{search.pk}/delete")
    assert response.status_code in (302, 404)
    if role == "anonymous":
        assert response["Location"].startswith("/sign-in")
    assert SavedSearch.objects.filter(pk=search.pk).exists()


# --- The start page -----------------------------------------------------------------------------


def test_home_shows_my_next_seat_and_the_drivers_next_departure(world, departure):
    _book(world, departure)
    page = world.client("rider").get("/").content.decode()
    assert "Byvägen 3 → Skolgatan 9" in page
    driver_page = world.client("holding_driver").get("/").content.decode()
    assert "Storgatan 1, Väst → Torget 2, Öst" in driver_page
    assert "3 of 3 seats free" in driver_page


# --- After the trip: ratings and reports ---------------------------------------------------


@pytest.fixture
def ridden(world):
    """Anna's confirmed seat on a departure that has taken place."""
    departure = publish(world, instant_booking=True).occurrences.get()
    booking = _book(world, departure)
    TripOccurrence.objects.filter(pk=departure.pk).update(status="completed")
    return booking


def test_passenger_rates_the_driver_once_after_the_trip(world, ridden):
    client = world.client("rider")
    page = client.get("/carpool/bookings").content.decode()
    assert f"/carpool/bookings/{ridden.pk}/after" in page
    assert "Rate Erik Olsson" in client.get(f"/carpool/bookings/{ridden.pk}/after").content.decode()

    response = client.post(
        f"/carpool/bookings/{ridden.pk}/after", {"what": "rating", "stars": "4", "comment": "Bra"}
    )
    assert response.status_code == 302
    [rating] = Rating.objects.all()
    assert (rating.rater, rating.ratee, rating.stars, rating.comment) == (
        world.people["rider"],
        world.people["holding_driver"],
        4,
        "Bra",
    )
    assert "You gave 4 stars." in client.get(response["Location"]).content.decode()

    again = client.post(f"/carpool/bookings/{ridden.pk}/after", {"what": "rating", "stars": "1"})
    assert again.status_code == 400
    assert "You have already rated this trip." in again.content.decode()
    assert Rating.objects.count() == 1


def test_driver_rates_the_passenger_from_the_trips_page(world, ridden):
    client = world.client("holding_driver")
    assert f"/carpool/bookings/{ridden.pk}/after" in client.get("/carpool/trips").content.decode()
    response = client.post(f"/carpool/bookings/{ridden.pk}/after", {"what": "rating", "stars": "5"})
    assert response.status_code == 302
    [rating] = Rating.objects.all()
    assert (rating.rater, rating.ratee) == (world.people["holding_driver"], world.people["rider"])


def test_a_report_reaches_the_coordinators_not_the_other_side(world, ridden):
    response = world.client("rider").post(
        f"/carpool/bookings/{ridden.pk}/after", {"what": "report", "text": "Körde för fort"}
    )
    assert response.status_code == 302
    [report] = Report.objects.all()
    assert (report.reporter, report.about, report.text) == (
        world.people["rider"],
        world.people["holding_driver"],
        "Körde för fort",
    )
    told = set(
        Notification.objects.filter(kind="carpool.report").values_list("recipient", flat=True)
    )
    assert world.people["coordinator"].pk in told
    assert world.people["holding_driver"].pk not in told


def test_no_rating_before_the_trip_has_taken_place(world):
    departure = publish(world, instant_booking=True).occurrences.get()
    booking = _book(world, departure)
    client = world.client("rider")
    page = client.get(f"/carpool/bookings/{booking.pk}/after").content.decode()
    assert "once the trip has taken place" in page
    assert 'name="stars"' not in page
    response = client.post(
        f"/carpool/bookings/{booking.pk}/after", {"what": "rating", "stars": "5"}
    )
    assert response.status_code == 400
    assert Rating.objects.count() == 0


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"what": "rating", "stars": "9"}, "Select a valid choice"),
        ({"what": "rating"}, "This field is required"),
        ({"what": "rating", "stars": "3", "comment": "x" * 501}, "at most 500 characters"),
        ({"what": "report", "text": ""}, "This field is required"),
        ({"what": "report", "text": "x" * 2001}, "at most 2000 characters"),
    ],
    ids=["stars-out-of-range", "no-stars", "long-comment", "empty-report", "long-report"],
)
def test_bad_rating_or_report_says_what_to_change_and_writes_nothing(world, ridden, form, message):
    response = world.client("rider").post(f"/carpool/bookings/{ridden.pk}/after", form)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert (Rating.objects.count(), Report.objects.count()) == (0, 0)


@pytest.mark.parametrize(
    "role", ["other_resident", "offered_driver", "coordinator", "coordinator_elsewhere"]
)
def test_only_the_two_sides_rate_or_report(world, ridden, role):
    client = world.client(role)
    assert client.get(f"/carpool/bookings/{ridden.pk}/after").status_code == 404
    for form in ({"what": "rating", "stars": "1"}, {"what": "report", "text": "Hej"}):
        assert client.post(f"/carpool/bookings/{ridden.pk}/after", form).status_code == 404
    assert (Rating.objects.count(), Report.objects.count()) == (0, 0)


def test_anonymous_is_sent_to_sign_in_after_the_trip(world, ridden):
    response = world.client("anonymous").post(
        f"/carpool/bookings/{ridden.pk}/after", {"what": "rating", "stars": "1"}
    )
    assert response["Location"].startswith("/sign-in?next=")
    assert Rating.objects.count() == 0


# --- Changing a trip ------------------------------------------------------------------------


def _rules(**changes) -> dict:
    values = {"seats": "3", "price_kr": "", "luggage": "small", "note": ""}
    values.update(changes)
    return values


def test_driver_changes_seats_and_note_of_a_trip(world, trip, departure):
    client = world.client("holding_driver")
    assert f"/carpool/trips/{trip.pk}/edit" in client.get("/carpool/trips").content.decode()
    form = client.get(f"/carpool/trips/{trip.pk}/edit").content.decode()
    assert 'name="seats" value="3"' in form
    response = client.post(
        f"/carpool/trips/{trip.pk}/edit", _rules(seats="2", note="Hund i bilen", pets_allowed="on")
    )
    assert response.status_code == 302
    trip.refresh_from_db()
    departure.refresh_from_db()
    assert (trip.seats, trip.note, trip.pets_allowed, departure.seats_total) == (
        2,
        "Hund i bilen",
        True,
        2,
    )


def test_fewer_seats_than_booked_says_so_and_changes_nothing(world):
    trip = publish(world, instant_booking=True)
    departure = trip.occurrences.get()
    _book(world, departure, seats="2")
    response = world.client("holding_driver").post(
        f"/carpool/trips/{trip.pk}/edit", _rules(seats="1", note="x")
    )
    assert response.status_code == 400
    assert "2 seats are booked on" in response.content.decode()
    trip.refresh_from_db()
    assert (trip.seats, trip.note) == (3, "")


def test_a_price_above_the_cost_share_is_refused(world, trip):
    response = world.client("holding_driver").post(
        f"/carpool/trips/{trip.pk}/edit", _rules(price_kr="9999")
    )
    assert response.status_code == 400
    assert "A seat may cost at most" in response.content.decode()
    before = trip.price_ore
    trip.refresh_from_db()
    assert trip.price_ore == before


@pytest.mark.parametrize(
    "role", ["rider", "other_resident", "coordinator", "coordinator_elsewhere"]
)
def test_only_the_driver_changes_the_trip(world, trip, role):
    client = world.client(role)
    assert client.get(f"/carpool/trips/{trip.pk}/edit").status_code == 404
    before = carpool_snapshot()
    assert client.post(f"/carpool/trips/{trip.pk}/edit", _rules(seats="1")).status_code == 404
    assert carpool_snapshot() == before


@pytest.mark.django_db
def test_a_coordinator_books_seats_for_each_active_member_listed_once():
    from backend.community.models import MembershipState, Role
    from tests.factories import AssociationFactory, MembershipFactory, UserFactory
    from webapp.views.carpool import _passengers

    association, other = AssociationFactory(), AssociationFactory()
    coordinator = MembershipFactory(
        association=association, roles=[Role.MEMBER, Role.COORDINATOR]
    ).user
    in_both = UserFactory(full_name="Greta Två Föreningar")
    MembershipFactory(association=association, user=in_both)
    MembershipFactory(association=other, user=in_both)
    waiting = MembershipFactory(association=association, state=MembershipState.PENDING).user
    ids = [pk for pk, _name in _passengers(coordinator)]
    assert ids == [coordinator.pk, in_both.pk]  # "Me" first; each once; not the pending
    assert waiting.pk not in ids
