"""The carpool API: publish, search, book, answer, cancel, rate, report, ride alerts.
Bad input is a 400 that stores nothing; each role sees only what it may."""

import datetime as dt

import pytest
from django.utils import timezone

from backend.accounts.models import ProxyLink
from backend.carpool.models import (
    Booking,
    OccurrenceStatus,
    Rating,
    SavedSearch,
    Trip,
    TripOccurrence,
)
from backend.community.models import MunicipalityAnalyst
from backend.notifications.models import Notification
from tests.carpool_fixtures import EAST, WEST, along
from tests.factories import (
    AssociationFactory,
    MembershipFactory,
    UserFactory,
    VillageFactory,
    next_weekday_at,
)

pytestmark = pytest.mark.django_db


def geo(point) -> dict:
    return {"type": "Point", "coordinates": [point.x, point.y]}


def lonlat(point) -> str:
    return f"{point.x},{point.y}"


def trip_body(**changes) -> dict:
    body = {
        "origin": geo(WEST),
        "origin_address": "Storgatan 1, Väst",
        "destination": geo(EAST),
        "destination_address": "Torget 2, Öst",
        "departure": next_weekday_at(0, 7, 0).isoformat(),
        "seats": 3,
    }
    body.update(changes)
    return body


def search_params(**changes) -> dict:
    monday = next_weekday_at(0, 7, 0)
    params = {
        "pickup": lonlat(along(0.1, 300)),
        "dropoff": lonlat(along(0.9)),
        "window_start": monday.isoformat(),
        "window_end": (monday + dt.timedelta(hours=1)).isoformat(),
    }
    params.update(changes)
    return params


def booking_body(occurrence, **changes) -> dict:
    body = {
        "departure": occurrence.pk,
        "pickup": geo(along(0.1, 300)),
        "pickup_address": "Byvägen 3, Mellanby",
        "dropoff": geo(along(0.9)),
        "dropoff_address": "Skolan, Öst",
    }
    body.update(changes)
    return body


@pytest.fixture(autouse=True)
def _no_router(settings):
    settings.ROUTER_URL = ""


# --- Publishing ---------------------------------------------------------------------------


def test_a_driver_publishes_a_weekday_commute(api_as, carpool_driver, settings):
    body = trip_body(rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", instant_booking=True)
    first = dt.datetime.fromisoformat(body["departure"])
    horizon_end = timezone.now() + dt.timedelta(days=settings.CARPOOL_HORIZON_DAYS)
    weekdays = [
        first + dt.timedelta(days=n)
        for n in range(settings.CARPOOL_HORIZON_DAYS + 1)
        if (first + dt.timedelta(days=n)).weekday() < 5
    ]
    response = api_as(carpool_driver).post("/api/v1/carpool/trips/", body)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["view"] == "driver"
    assert body["rrule"] == "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
    assert len(body["departures"]) == len([d for d in weekdays if d <= horizon_end])
    assert body["route"]["coordinates"][0] == [WEST.x, WEST.y]
    assert 0 < body["price_sek"] <= body["max_price_sek"]


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"destination": geo(WEST)}, "same_place", "destination"),
        ({"origin": {"type": "Point", "coordinates": [14.2, 95]}}, "invalid", "origin"),
        ({"seats": 0}, "seats_invalid", "seats"),
        ({"price_ore": 99_900}, "price_above_cost", "price_ore"),
        ({"price_ore": -100}, "price_invalid", "price_ore"),
        ({"departure": "2020-01-01T07:00:00+01:00"}, "time_in_past", "departure"),
        ({"rrule": "FREQ=SECONDLY"}, "rrule_invalid", "rrule"),
        ({"rrule": "FREQ=DAILY;COUNT=3;UNTIL=20991231"}, "rrule_invalid", "rrule"),
    ],
    ids=[
        "same-place",
        "latitude-out-of-range",
        "no-seats",
        "price-above-cost",
        "negative-price",
        "past",
        "rrule",
        "rrule-count-and-until",
    ],
)
def test_bad_trips_are_refused_and_nothing_is_stored(api_as, carpool_driver, changes, code, field):
    response = api_as(carpool_driver).post("/api/v1/carpool/trips/", trip_body(**changes))
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert field in error["fields"]
    assert not Trip.objects.exists()
    assert not TripOccurrence.objects.exists()


# --- Searching ----------------------------------------------------------------------------


def test_search_finds_the_trip_and_shows_areas_not_addresses(
    api_as, publish, passenger, django_assert_num_queries
):
    trip = publish(note="Jag har hund i bilen")
    client = api_as(passenger)
    # membership check, the search, the departures' cards (trips, drivers, ratings)
    with django_assert_num_queries(3):
        response = client.get("/api/v1/carpool/search", search_params())
    assert response.status_code == 200, response.content
    [result] = response.json()
    assert result["trip"] == trip.pk
    assert result["driver"] == {
        "id": trip.driver_id,
        "first_name": "Anna",
        "rating": None,
        "ratings": 0,
    }
    assert "Storgatan" not in str(result)
    assert result["origin_area"]["point"]["coordinates"] != [WEST.x, WEST.y]
    assert result["walk_m"] == pytest.approx(300, abs=3)
    # More trips, same number of queries: no query per result.
    publish()
    publish()
    with django_assert_num_queries(3):
        assert len(client.get("/api/v1/carpool/search", search_params()).json()) == 3


def test_search_shows_the_drivers_rating_and_the_villages(api_as, publish, passenger, association):
    VillageFactory(name="Västby", location=along(0.02))
    VillageFactory(name="Östby", location=along(0.98))
    done = publish(instant_booking=True).occurrences.get()
    others = [MembershipFactory(association=association).user for _ in range(2)]
    for rider in [passenger, *others]:
        booked = api_as(rider).post("/api/v1/carpool/bookings/", booking_body(done))
        assert booked.status_code == 201, booked.content
    TripOccurrence.objects.filter(pk=done.pk).update(status=OccurrenceStatus.COMPLETED)
    for rider, stars in zip([passenger, *others], [4, 5, 5], strict=True):
        booking = done.bookings.get(passenger=rider)
        rated = api_as(rider).post(
            f"/api/v1/carpool/bookings/{booking.pk}/rating", {"stars": stars}
        )
        assert rated.status_code == 201, rated.content
    coming = publish(first_departure=next_weekday_at(0, 7, 0) + dt.timedelta(days=7))

    week_later = next_weekday_at(0, 7, 0) + dt.timedelta(days=7)
    found = api_as(passenger).get(
        "/api/v1/carpool/search",
        search_params(
            window_start=week_later.isoformat(),
            window_end=(week_later + dt.timedelta(hours=1)).isoformat(),
        ),
    )

    assert found.status_code == 200, found.content
    [result] = found.json()
    assert result["trip"] == coming.pk
    assert result["driver"]["rating"] == 4.7  # (4 + 5 + 5) / 3, to one decimal
    assert result["driver"]["ratings"] == 3
    assert result["origin_area"]["village"] == "Västby"
    assert result["destination_area"]["village"] == "Östby"
    assert result["seats_free"] == 3


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"dropoff": lonlat(along(0.1, 300))}, "same_place", "dropoff"),
        ({"window_end": next_weekday_at(0, 6, 0).isoformat()}, "window_reversed", "window_end"),
        ({"seats": "0"}, "seats_invalid", "seats"),
        ({"seats": "-2"}, "seats_invalid", "seats"),
        ({"max_walk_m": "99999999"}, "walk_invalid", "max_walk_m"),
        ({"pickup": "14.2,91"}, "invalid", "pickup"),
        ({"pickup": "200,60"}, "invalid", "pickup"),
        ({"pickup": "norr om byn"}, "invalid", "pickup"),
    ],
    ids=[
        "same-place",
        "window-end-before-start",
        "zero-seats",
        "negative-seats",
        "walk-too-far",
        "latitude-out-of-range",
        "longitude-out-of-range",
        "not-coordinates",
    ],
)
def test_bad_searches_are_400_with_a_code(api_as, passenger, changes, code, field):
    response = api_as(passenger).get("/api/v1/carpool/search", search_params(**changes))
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code
    assert field in response.json()["error"]["fields"]


# --- Booking ----------------------------------------------------------------------------------


def test_request_accept_and_what_each_side_sees(api_as, publish, passenger, carpool_driver):
    occurrence = publish().occurrences.get()
    response = api_as(passenger).post("/api/v1/carpool/bookings/", booking_body(occurrence))
    assert response.status_code == 201, response.content
    mine = response.json()
    assert mine["view"] == "passenger"
    assert mine["state"] == "requested"
    assert mine["pickup_address"] == "Byvägen 3, Mellanby"
    assert mine["origin_address"] is None  # the driver's start: an area until confirmed
    assert mine["driver"]["phone"] is None
    booking = Booking.objects.get()

    # Before accepting, the driver sees the area, not the pickup point.
    driver = api_as(carpool_driver)
    [departure] = driver.get("/api/v1/carpool/departures/").json()
    [pending] = departure["bookings"]
    assert pending["pickup"] is None and pending["pickup_address"] is None
    assert pending["pickup_area"]["point"] is not None
    assert pending["passenger"]["phone"] is None

    response = driver.post(f"/api/v1/carpool/bookings/{booking.pk}/accept")
    assert response.status_code == 200, response.content
    accepted = response.json()
    assert accepted["state"] == "confirmed"
    assert accepted["pickup"]["coordinates"] == [
        round(along(0.1, 300).x, 6),
        round(along(0.1, 300).y, 6),
    ]
    assert accepted["passenger"]["phone"] == passenger.phone
    confirmed = api_as(passenger).get(f"/api/v1/carpool/bookings/{booking.pk}").json()
    assert confirmed["origin_address"] == "Storgatan 1, Väst"
    assert confirmed["driver"]["phone"] == carpool_driver.phone
    assert Notification.objects.filter(recipient=passenger, kind="carpool.booking_confirmed")


@pytest.mark.parametrize(
    ("changes", "code", "status"),
    [
        ({"seats": 0}, "seats_invalid", 400),
        ({"seats": -1}, "seats_invalid", 400),
        ({"dropoff": geo(along(0.1, 300))}, "same_place", 400),
        ({"pickup": {"type": "Point", "coordinates": [181, 60]}}, "invalid", 400),
        ({"pickup": geo(along(0.9)), "dropoff": geo(along(0.1))}, "wrong_direction", 400),
        ({"seats": 4}, "no_seats_left", 409),
    ],
    ids=["zero-seats", "negative-seats", "same-place", "out-of-range", "wrong-way", "too-many"],
)
def test_bad_bookings_are_refused_and_nothing_is_stored(
    api_as, publish, passenger, changes, code, status
):
    occurrence = publish().occurrences.get()
    response = api_as(passenger).post(
        "/api/v1/carpool/bookings/", booking_body(occurrence, **changes)
    )
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert not Booking.objects.exists()
    assert not Notification.objects.exists()
    occurrence.refresh_from_db()
    assert occurrence.seats_taken == 0


def test_a_full_departure_refuses_more_bookings(api_as, publish, passenger, association):
    occurrence = publish(seats=1, instant_booking=True).occurrences.get()
    assert (
        api_as(passenger).post("/api/v1/carpool/bookings/", booking_body(occurrence)).status_code
        == 201
    )
    other = MembershipFactory(association=association).user
    response = api_as(other).post("/api/v1/carpool/bookings/", booking_body(occurrence))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_seats_left"
    occurrence.refresh_from_db()
    assert occurrence.status == OccurrenceStatus.FULL


def test_my_bookings_list_has_a_fixed_number_of_queries(
    api_as, publish, passenger, django_assert_num_queries
):
    client = api_as(passenger)
    for _ in range(3):
        occurrence = publish(instant_booking=True).occurrences.get()
        assert client.post("/api/v1/carpool/bookings/", booking_body(occurrence)).status_code == 201
    # the bookings with departures, trips and people; the ratings
    with django_assert_num_queries(2):
        response = client.get("/api/v1/carpool/bookings/")
    assert len(response.json()) == 3


def test_driver_lists_have_a_fixed_number_of_queries(
    api_as, publish, association, carpool_driver, django_assert_num_queries
):
    for _ in range(3):
        occurrence = publish().occurrences.get()
        for _ in range(2):
            person = MembershipFactory(association=association).user
            api_as(person).post("/api/v1/carpool/bookings/", booking_body(occurrence))
    client = api_as(carpool_driver)
    # departures with trips, their bookings with people, ratings
    with django_assert_num_queries(3):
        departures = client.get("/api/v1/carpool/departures/").json()
    assert [len(d["bookings"]) for d in departures] == [2, 2, 2]
    # trips, their upcoming departures
    with django_assert_num_queries(2):
        assert len(client.get("/api/v1/carpool/trips/").json()) == 3


def test_rating_after_the_trip_is_shown_to_the_other_side(
    api_as, publish, passenger, carpool_driver
):
    occurrence = publish(instant_booking=True).occurrences.get()
    booking_id = (
        api_as(passenger).post("/api/v1/carpool/bookings/", booking_body(occurrence)).json()["id"]
    )
    early = api_as(passenger).post(f"/api/v1/carpool/bookings/{booking_id}/rating", {"stars": 5})
    assert early.status_code == 409
    TripOccurrence.objects.filter(pk=occurrence.pk).update(status=OccurrenceStatus.COMPLETED)
    bad = api_as(passenger).post(f"/api/v1/carpool/bookings/{booking_id}/rating", {"stars": 9})
    assert bad.status_code == 400 and not Rating.objects.exists()
    good = api_as(passenger).post(
        f"/api/v1/carpool/bookings/{booking_id}/rating", {"stars": 4, "comment": "Bra"}
    )
    assert good.status_code == 201
    seen = api_as(passenger).get(f"/api/v1/carpool/bookings/{booking_id}").json()
    assert seen["driver"]["rating"] == 4.0 and seen["driver"]["ratings"] == 1


# --- Ride alerts -----------------------------------------------------------------------------


def test_saving_and_deleting_a_ride_alert(api_as, passenger, association):
    body = {
        "pickup": geo(along(0.1)),
        "dropoff": geo(along(0.9)),
        "earliest": "06:30",
        "latest": "08:00",
        "weekdays": [0, 1, 2, 3, 4],
    }
    response = api_as(passenger).post("/api/v1/carpool/saved-searches/", body)
    assert response.status_code == 201, response.content
    search_id = response.json()["id"]
    other = MembershipFactory(association=association).user
    assert api_as(other).delete(f"/api/v1/carpool/saved-searches/{search_id}").status_code == 404
    assert (
        api_as(passenger).delete(f"/api/v1/carpool/saved-searches/{search_id}").status_code == 204
    )
    assert not SavedSearch.objects.exists()


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"latest": "06:00"}, "window_reversed"),
        ({"weekdays": []}, "weekdays_invalid"),
        ({"weekdays": [7]}, "weekdays_invalid"),
        ({"dropoff": geo(along(0.1))}, "same_place"),
        ({"seats": 0}, "seats_invalid"),
    ],
    ids=["window-reversed", "no-weekdays", "weekday-8", "same-place", "zero-seats"],
)
def test_bad_ride_alerts_are_refused(api_as, passenger, changes, code):
    body = {
        "pickup": geo(along(0.1)),
        "dropoff": geo(along(0.9)),
        "earliest": "06:30",
        "latest": "08:00",
        "weekdays": [0],
    }
    body.update(changes)
    response = api_as(passenger).post("/api/v1/carpool/saved-searches/", body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code
    assert not SavedSearch.objects.exists()


# --- Who may do what -------------------------------------------------------------------------


@pytest.fixture
def people(association, passenger, carpool_driver, coordinator):
    resident = MembershipFactory(association=association, user__full_name="Greta Lund").user
    proxy = UserFactory(full_name="Eva Lund")
    ProxyLink.objects.create(
        proxy=proxy, resident=resident, relationship="dotter", accepted_at=timezone.now()
    )
    elsewhere = AssociationFactory(municipality=association.municipality)
    analyst = UserFactory()
    MunicipalityAnalyst.objects.create(user=analyst, municipality=association.municipality)
    return {
        "passenger": passenger,
        "resident": resident,
        "proxy": proxy,
        "driver": carpool_driver,
        "coordinator": coordinator,
        "other_association": MembershipFactory(association=elsewhere).user,
        "analyst": analyst,
        "anonymous": None,
    }


def client_for(api, api_as, user):
    return api if user is None else api_as(user)


@pytest.mark.parametrize(
    ("role", "detail", "accept", "cancel"),
    [
        ("passenger", 200, 403, 200),
        ("driver", 200, 200, 200),
        ("coordinator", 200, 403, 200),  # books and cancels for members
        ("other_association", 404, 404, 404),
        ("analyst", 404, 404, 404),
        ("proxy", 404, 404, 404),
        ("anonymous", 403, 403, 403),
    ],
)
def test_who_may_see_and_change_a_booking(
    api, api_as, publish, people, role, detail, accept, cancel
):
    occurrence = publish().occurrences.get()
    booking_id = (
        api_as(people["passenger"])
        .post("/api/v1/carpool/bookings/", booking_body(occurrence))
        .json()["id"]
    )
    client = client_for(api, api_as, people[role])
    assert client.get(f"/api/v1/carpool/bookings/{booking_id}").status_code == detail
    before = Booking.objects.get().state
    response = client.post(f"/api/v1/carpool/bookings/{booking_id}/accept")
    assert response.status_code == accept
    if accept != 200:
        assert Booking.objects.get().state == before
    assert client.post(f"/api/v1/carpool/bookings/{booking_id}/cancel").status_code == cancel


def test_coordinator_sees_a_visitors_booking_as_areas_only(api_as, publish, people):
    # The passenger belongs to another association: the driver's coordinator does not
    # act for them, and sees the booking the way a driver does before confirming.
    occurrence = publish(instant_booking=True).occurrences.get()
    booking_id = (
        api_as(people["other_association"])
        .post("/api/v1/carpool/bookings/", booking_body(occurrence))
        .json()["id"]
    )
    seen = api_as(people["coordinator"]).get(f"/api/v1/carpool/bookings/{booking_id}").json()
    assert seen["view"] == "driver"
    assert seen["pickup"] is None and seen["passenger"]["phone"] is None


def test_a_proxy_books_for_the_resident(api_as, publish, people):
    occurrence = publish().occurrences.get()
    response = api_as(people["proxy"]).post(
        "/api/v1/carpool/bookings/",
        booking_body(occurrence, passenger=people["resident"].pk),
    )
    assert response.status_code == 201, response.content
    booking = Booking.objects.get()
    assert (booking.passenger, booking.booked_by) == (people["resident"], people["proxy"])
    assert api_as(people["proxy"]).get("/api/v1/carpool/bookings/").json()[0]["id"] == booking.pk
    # Nobody else: the proxy cannot book for a stranger.
    response = api_as(people["proxy"]).post(
        "/api/v1/carpool/bookings/", booking_body(occurrence, passenger=people["passenger"].pk)
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("role", "search", "trip_detail", "cancel_trip"),
    [
        ("passenger", 200, "public", 403),
        ("driver", 200, "driver", 200),
        ("coordinator", 200, "driver", 200),
        ("other_association", 200, "public", 403),
        ("analyst", 403, 404, 404),
        ("anonymous", 403, 403, 403),
    ],
)
def test_who_may_search_see_and_cancel_a_trip(
    api, api_as, publish, people, role, search, trip_detail, cancel_trip
):
    trip = publish()
    client = client_for(api, api_as, people[role])
    assert client.get("/api/v1/carpool/search", search_params()).status_code == search
    response = client.get(f"/api/v1/carpool/trips/{trip.pk}")
    if isinstance(trip_detail, str):
        assert response.status_code == 200
        assert response.json()["view"] == trip_detail
        if trip_detail == "public":
            assert "origin_address" not in response.json()
    else:
        assert response.status_code == trip_detail
    response = client.post(f"/api/v1/carpool/trips/{trip.pk}/cancel", {"reason": "x"})
    assert response.status_code == cancel_trip
    trip.refresh_from_db()
    assert (trip.cancelled_at is not None) == (cancel_trip == 200)


def test_analyst_cannot_publish_or_book(api_as, publish, people):
    analyst = api_as(people["analyst"])
    assert analyst.post("/api/v1/carpool/trips/", trip_body()).status_code == 403
    occurrence = publish().occurrences.get()
    response = analyst.post("/api/v1/carpool/bookings/", booking_body(occurrence))
    assert response.status_code == 403
    assert not Booking.objects.exists()


def test_departures_are_only_for_their_driver(api_as, publish, people):
    occurrence = publish().occurrences.get()
    for role in ("passenger", "other_association", "analyst"):
        response = api_as(people[role]).get(f"/api/v1/carpool/departures/{occurrence.pk}")
        assert response.status_code == 404
    assert (
        api_as(people["driver"]).get(f"/api/v1/carpool/departures/{occurrence.pk}").status_code
        == 200
    )
    assert timezone.now() < occurrence.departure_at


# --- Changing a published trip --------------------------------------------------------------


def test_the_driver_changes_seats_price_and_rules_for_bookings_to_come(
    api_as, publish, passenger, carpool_driver
):
    trip = publish(seats=3, instant_booking=True, rrule="FREQ=WEEKLY;BYDAY=MO")
    first = trip.occurrences.order_by("departure_at").first()
    booked = api_as(passenger).post("/api/v1/carpool/bookings/", booking_body(first, seats=2))
    assert booked.status_code == 201
    old_price = Booking.objects.get().price_ore

    response = api_as(carpool_driver).patch(
        f"/api/v1/carpool/trips/{trip.pk}",
        {"seats": 2, "price_ore": trip.price_ore - 100, "pets_allowed": True, "note": " Hund ok "},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["seats"], body["pets_allowed"], body["note"]) == (2, True, "Hund ok")
    first.refresh_from_db()
    assert (first.seats_total, first.status) == (2, OccurrenceStatus.FULL)
    others = trip.occurrences.exclude(pk=first.pk)
    assert set(others.values_list("seats_total", "status")) == {(2, OccurrenceStatus.PUBLISHED)}
    assert Booking.objects.get().price_ore == old_price  # made before: keeps its price


def test_fewer_seats_than_are_booked_is_refused_and_nothing_changes(
    api_as, publish, passenger, carpool_driver
):
    trip = publish(seats=3, instant_booking=True)
    occurrence = trip.occurrences.get()
    api_as(passenger).post("/api/v1/carpool/bookings/", booking_body(occurrence, seats=2))
    response = api_as(carpool_driver).patch(
        f"/api/v1/carpool/trips/{trip.pk}", {"seats": 1, "note": "x"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "seats_below_taken"
    assert "2 platser är bokade" in response.json()["error"]["message"]
    trip.refresh_from_db()
    occurrence.refresh_from_db()
    assert (trip.seats, trip.note, occurrence.seats_total) == (3, "", 3)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"seats": 0}, "seats_invalid"),
        ({"seats": 9}, "seats_invalid"),
        ({"price_ore": 10_000_000}, "price_above_cost"),
        ({"price_ore": -1}, "price_invalid"),
        ({"luggage": "piano"}, "invalid"),
        ({"note": "x" * 501}, "invalid"),
        ({"seats": "many"}, "invalid"),
    ],
    ids=[
        "no-seats",
        "too-many-seats",
        "price-above-cost",
        "negative-price",
        "luggage",
        "note",
        "seats-text",
    ],
)
def test_bad_trip_changes_are_400_and_change_nothing(api_as, publish, carpool_driver, body, code):
    trip = publish(seats=3)
    before = Trip.objects.values().get(pk=trip.pk)
    response = api_as(carpool_driver).patch(f"/api/v1/carpool/trips/{trip.pk}", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert Trip.objects.values().get(pk=trip.pk) == before


def test_a_cancelled_trip_cannot_be_changed(api_as, publish, carpool_driver):
    trip = publish()
    api_as(carpool_driver).post(f"/api/v1/carpool/trips/{trip.pk}/cancel", {"reason": "x"})
    response = api_as(carpool_driver).patch(
        f"/api/v1/carpool/trips/{trip.pk}", {"seats": 2}, format="json"
    )
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("passenger", 403),
        ("coordinator", 403),  # coordinators cancel for the driver, but do not change trips
        ("other_association", 403),
        ("analyst", 404),
        ("proxy", 404),
        ("anonymous", 403),
    ],
)
def test_only_the_driver_changes_a_trip(api, api_as, publish, people, role, status):
    trip = publish(seats=3)
    before = Trip.objects.values().get(pk=trip.pk)
    response = client_for(api, api_as, people[role]).patch(
        f"/api/v1/carpool/trips/{trip.pk}", {"seats": 1}, format="json"
    )
    assert response.status_code == status
    assert Trip.objects.values().get(pk=trip.pk) == before
