"""Booking and following a volunteer ride on the web pages, without JavaScript: plain
form posts, redirects and the pages they lead to."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation
from django.utils.formats import date_format

from backend.rides.models import RideRequest, RideState
from tests.factories import DALA_JARNA, VANSBRO, RideRequestFactory, next_weekday_at
from tests.fakes.geocoder import FakeNominatim
from tests.webapp.conftest import ROLES, snapshot

pytestmark = pytest.mark.django_db

NEW = "/rides/new"


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def local_words(moment) -> str:
    """As the ride page writes a time: "Monday 7 December 14:00"."""
    with translation.override("en"):
        return date_format(timezone.localtime(moment), "l j F H:i")


def form(**changes) -> dict:
    values = {
        "pickup_address": "Järnvägsgatan 4, Vansbro",
        "pickup_lon": "14.22458",
        "pickup_lat": "60.50893",
        "destination_address": "Vårdcentralen, Dala-Järna",
        "destination_lon": "14.36667",
        "destination_lat": "60.53333",
        "time_kind": "pickup_at",
        "at": local(next_weekday_at(2, 10)),
        "passengers": "1",
        "needs": ["walker"],
        "note": "Ring på",
    }
    values.update(changes)
    return {name: value for name, value in values.items() if value is not None}


def test_anonymous_is_sent_to_sign_in(world):
    response = world.client("anonymous").get(NEW)
    assert response.status_code == 302
    assert response["Location"] == "/sign-in?next=/rides/new"


def test_the_form_offers_me_and_the_people_i_book_for(world):
    page = world.client("proxy").get(NEW).content.decode()
    assert "Me (Lena Eriksson)" in page
    assert "Anna Eriksson" in page
    assert "Johan Persson" not in page


def test_rider_books_a_ride_with_map_points(world):
    rider = world.people["rider"]
    before = RideRequest.objects.count()
    client = world.client("rider")
    response = client.post(NEW, form(rider=rider.pk))
    assert response.status_code == 302
    ride = RideRequest.objects.latest("pk")
    assert response["Location"] == f"/rides/{ride.pk}/"
    assert RideRequest.objects.count() == before + 1
    assert (ride.rider, ride.requested_by) == (rider, rider)
    assert (ride.pickup.x, ride.pickup.y) == (14.22458, 60.50893)
    assert (ride.needs, ride.note, ride.state) == (["walker"], "Ring på", RideState.REQUESTED)
    page = client.get(response["Location"]).content.decode()
    assert "Your ride is booked" in page
    assert "Järnvägsgatan 4, Vansbro" in page


def test_booking_the_same_ride_again_leads_to_the_one_already_booked(world):
    rider = world.people["rider"]
    first = world.client("rider").post(NEW, form(rider=rider.pk))
    assert first.status_code == 302
    ride = RideRequest.objects.latest("pk")
    before = snapshot()

    # A second tap on the button, and the daughter booking the same ride for her mother.
    for role in ("rider", "proxy"):
        client = world.client(role)
        again = client.post(NEW, form(rider=rider.pk))
        assert again.status_code == 302
        assert again["Location"] == f"/rides/{ride.pk}/"
        page = client.get(again["Location"]).content.decode()
        assert (
            f"Anna Eriksson already has this ride booked (ride {ride.pk}), so it was not booked "
            "again." in page
        )
        assert "Your ride is booked" not in page
    assert snapshot() == before


def test_proxy_books_for_her_mother(world):
    rider, proxy = world.people["rider"], world.people["proxy"]
    response = world.client("proxy").post(NEW, form(rider=rider.pk))
    assert response.status_code == 302
    ride = RideRequest.objects.latest("pk")
    assert (ride.rider, ride.requested_by) == (rider, proxy)


def test_an_address_is_looked_up_by_the_geocoder(world, settings):
    known = {"Storgatan 1, Vansbro": (14.2301, 60.5102)}
    with FakeNominatim(known) as geocoder:
        settings.GEOCODER_URL = geocoder.url
        response = world.client("rider").post(
            NEW,
            form(
                rider=world.people["rider"].pk,
                pickup_address="Storgatan 1, Vansbro",
                pickup_lon="",
                pickup_lat="",
            ),
        )
    assert response.status_code == 302
    ride = RideRequest.objects.latest("pk")
    assert (ride.pickup.x, ride.pickup.y) == (14.2301, 60.5102)


def test_a_window_and_a_return_trip(world):
    start = next_weekday_at(3, 9)
    response = world.client("rider").post(
        NEW,
        form(
            rider=world.people["rider"].pk,
            time_kind="window",
            at="",
            window_start=local(start),
            window_end=local(start + timedelta(hours=4)),
            return_at=local(start + timedelta(hours=6)),
        ),
    )
    assert response.status_code == 302
    ride = RideRequest.objects.get(pk=response["Location"].split("/")[2])
    assert (ride.earliest_pickup, ride.latest_pickup) == (start, start + timedelta(hours=4))
    assert ride.return_ride.earliest_pickup == start + timedelta(hours=6)


BAD = {
    "time in the past": (
        {"at": local(timezone.now() - timedelta(hours=2))},
        "at",
        "The pickup time has passed",
    ),
    "no time": ({"at": ""}, "at", "Say when you want to travel"),
    "window reversed": (
        {
            "time_kind": "window",
            "window_start": local(next_weekday_at(3, 12)),
            "window_end": local(next_weekday_at(3, 9)),
        },
        "window_end",
        "The window ends before it starts",
    ),
    "outside the municipality": (
        {"pickup_lon": "18.0686", "pickup_lat": "59.3293"},
        "pickup_address",
        "outside Vansbro",
    ),
    "latitude out of range": ({"pickup_lat": "95"}, "pickup_lat", "less than or equal to 90"),
    "half a point": ({"pickup_lat": ""}, "pickup_lat", "Give both longitude and latitude"),
    "too many passengers": ({"passengers": "9"}, "passengers", "less than or equal to 8"),
    "unknown need": ({"needs": ["jetpack"]}, "needs", "Select a valid choice"),
    # An address of none of the rider's rides (those are known: test_known_places.py).
    "no address and no geocoder": (
        {"pickup_address": "Kyrkvägen 9, Äppelbo", "pickup_lon": "", "pickup_lat": ""},
        "pickup_address",
        "Pick the place on the map",
    ),
    "not approved rider": (None, "association", "not approved for volunteer rides"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_input_shows_the_error_and_books_nothing(world, case):
    changes, field, text = BAD[case]
    role = "other_resident" if changes is None else "rider"
    before = snapshot()
    response = world.client(role).post(NEW, form(rider=world.people[role].pk, **(changes or {})))
    assert response.status_code == 400
    page = response.content.decode()
    assert text in page
    assert response.context["form"].errors[field]
    assert snapshot() == before


def test_someone_i_do_not_book_for_cannot_be_chosen(world):
    before = snapshot()
    response = world.client("proxy").post(NEW, form(rider=world.people["other_resident"].pk))
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert snapshot() == before


def test_a_form_without_csrf_token_is_refused(world):
    client = world.client("rider")
    client.handler.enforce_csrf_checks = True
    before = snapshot()
    assert client.post(NEW, form(rider=world.people["rider"].pk)).status_code == 403
    assert snapshot() == before


# --- Following a ride -----------------------------------------------------------------------

FOLLOW = {
    "rider": 200,
    "proxy": 200,
    "other_resident": 404,
    "offered_driver": 404,
    "holding_driver": 404,
    "coordinator": 200,
    "coordinator_elsewhere": 404,
    "analyst": 404,
    "anonymous": 302,
}


@pytest.mark.parametrize("role", ROLES)
def test_who_may_follow_a_ride(world, role):
    response = world.client(role).get(f"/rides/{world.held.pk}/")
    assert response.status_code == FOLLOW[role]
    if FOLLOW[role] == 200:
        page = response.content.decode()
        assert "Järnvägsgatan 4, Vansbro" in page
        assert "Erik Olsson" in page  # the driver, once accepted
        assert "Grå Volvo" in page


def test_before_acceptance_no_driver_is_shown(world):
    page = world.client("rider").get(f"/rides/{world.open.pk}/").content.decode()
    assert "Sven Holm" not in page
    assert "We are asking volunteer drivers" in page


@pytest.mark.parametrize("role", ROLES)
def test_who_may_cancel(world, role):
    before = snapshot()
    response = world.client(role).post(f"/rides/{world.open.pk}/cancel", {"reason": "Frisk"})
    world.open.refresh_from_db()
    if FOLLOW[role] == 200:
        assert response.status_code == 302
        assert world.open.state == RideState.CANCELLED
    else:
        assert response.status_code in (302, 404)
        if role == "anonymous":
            assert response["Location"].startswith("/sign-in")
        assert snapshot() == before


def _return_trip(world, **fields) -> RideRequest:
    return RideRequestFactory(
        rider=world.people["rider"],
        association=world.a,
        pickup=DALA_JARNA,
        pickup_address="Vårdcentralen, Dala-Järna",
        destination=VANSBRO,
        destination_address="Järnvägsgatan 4, Vansbro",
        earliest_pickup=world.open.earliest_pickup + timedelta(hours=4),
        return_of=world.open,
        **fields,
    )


def test_the_ride_page_shows_what_was_asked_for_and_the_return_trip(world):
    RideRequest.objects.filter(pk=world.open.pk).update(
        needs=["bags", "wheelchair"], passengers=2, note="Ring på, jag hör dåligt"
    )
    back = _return_trip(world)
    client = world.client("rider")
    page = client.get(f"/rides/{world.open.pk}/").content.decode()
    assert "<dt>Needs</dt><dd>Help with bags, wheelchair</dd>" in page
    assert "<dt>Note to the driver</dt><dd>Ring på, jag hör dåligt</dd>" in page
    assert "<dt>Passengers</dt><dd>2</dd>" in page
    when = f"{local_words(back.earliest_pickup)}</a> (looking for a driver)"
    assert f'<dt>Return trip</dt><dd><a href="/rides/{back.pk}/">{when}' in page
    # And back from the return trip to the way there, which has no return trip itself.
    page = client.get(f"/rides/{back.pk}/").content.decode()
    when = f"{local_words(world.open.earliest_pickup)}</a> (looking for a driver)"
    assert f'<dt>Outbound trip</dt><dd><a href="/rides/{world.open.pk}/">{when}' in page
    assert "<dt>Return trip</dt>" not in page
    assert "<dt>Needs</dt>" not in page  # none asked for on the way back


def test_the_needs_are_named_in_the_pages_language(world):
    RideRequest.objects.filter(pk=world.open.pk).update(needs=["walker", "guide_dog"])
    client = world.client("rider")
    client.cookies["django_language"] = "sv"
    page = client.get(f"/rides/{world.open.pk}/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert "<dd>Rollator, ledarhund</dd>" in page


def test_cancelling_offers_the_return_trip_ticked_and_cancels_both(world):
    back = _return_trip(world)
    client = world.client("proxy")
    page = client.get(f"/rides/{world.open.pk}/cancel").content.decode()
    assert (
        '<input type="checkbox" name="with_return" id="id_with_return" checked> '
        f"Also cancel the return trip, {local_words(back.earliest_pickup)}</label>" in page
    )
    response = client.post(
        f"/rides/{world.open.pk}/cancel", {"reason": "Frisk", "with_return": "on"}, follow=True
    )
    assert "The ride and its return trip are cancelled." in response.content.decode()
    states = RideRequest.objects.filter(pk__in=[world.open.pk, back.pk]).values_list("state")
    assert list(states) == [(RideState.CANCELLED,), (RideState.CANCELLED,)]


def test_unticked_the_return_trip_stays_booked_and_the_page_says_so(world):
    back = _return_trip(world)
    response = world.client("rider").post(
        f"/rides/{world.open.pk}/cancel", {"reason": "Frisk"}, follow=True
    )
    assert "The ride is cancelled. Its return trip is still booked." in response.content.decode()
    back.refresh_from_db()
    assert back.state == RideState.OFFERING
    world.open.refresh_from_db()
    assert world.open.state == RideState.CANCELLED


@pytest.mark.parametrize("case", ["no return trip", "return trip closed", "the return trip"])
def test_no_return_trip_to_cancel_no_box(world, case):
    ride = world.open
    if case == "return trip closed":
        _return_trip(world, state=RideState.CANCELLED)
    if case == "the return trip":
        ride = _return_trip(world)
    client = world.client("rider")
    page = client.get(f"/rides/{ride.pk}/").content.decode()
    assert "Cancel the ride</button>" in page
    assert "with_return" not in page
    assert "with_return" not in client.get(f"/rides/{ride.pk}/cancel").content.decode()


# --- Cancelling asks first ---------------------------------------------------------------------


def test_the_ride_pages_button_only_leads_to_the_question(world):
    page = world.client("rider").get(f"/rides/{world.held.pk}/").content.decode()
    form = page[page.index(f'action="/rides/{world.held.pk}/cancel"') - 30 :]
    form = form[: form.index("</form>")]
    assert '<form method="get"' in form
    assert "csrfmiddlewaretoken" not in form and "reason" not in form


def test_the_question_names_the_ride_and_changes_nothing(world):
    RideRequest.objects.filter(pk=world.held.pk).update(destination_address="Vårdcentralen")
    before = snapshot()
    client = world.client("rider")
    response = client.get(f"/rides/{world.held.pk}/cancel")
    assert response.status_code == 200
    page = response.content.decode()
    with translation.override("en"):
        when = timezone.localtime(world.held.planned_pickup)
        day, time = date_format(when, "l j F"), date_format(when, "H:i")
    assert f"<h1>Cancel your ride on {day} at {time} to Vårdcentralen?</h1>" in page
    assert "The driver is told." in page
    assert (
        f'<form method="post" action="/rides/{world.held.pk}/cancel">' in page
        and "Yes, cancel the ride</button>" in page
    )
    assert f'<a class="button secondary" href="/rides/{world.held.pk}/">No, keep it</a>' in page
    assert snapshot() == before


def test_the_question_to_someone_who_books_for_the_rider_names_her(world):
    page = world.client("proxy").get(f"/rides/{world.open.pk}/cancel").content.decode()
    assert "<h1>Cancel Anna Eriksson's ride on " in page


def test_yes_cancels_the_ride_as_before(world):
    client = world.client("rider")
    client.get(f"/rides/{world.held.pk}/cancel")
    response = client.post(f"/rides/{world.held.pk}/cancel", {"reason": "Frisk"}, follow=True)
    assert "The ride is cancelled." in response.content.decode()
    world.held.refresh_from_db()
    assert world.held.state == RideState.CANCELLED


@pytest.mark.parametrize("role", ROLES)
def test_who_is_asked(world, role):
    before = snapshot()
    response = world.client(role).get(f"/rides/{world.open.pk}/cancel")
    assert response.status_code == FOLLOW[role]
    if role == "anonymous":
        assert response["Location"].startswith("/sign-in")
    assert snapshot() == before


def test_a_closed_ride_is_not_asked_about_and_says_why(world):
    world.open.state = RideState.CANCELLED
    world.open.save()
    before = snapshot()
    client = world.client("rider")
    response = client.get(f"/rides/{world.open.pk}/cancel")
    assert response["Location"] == f"/rides/{world.open.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "This ride can no longer be cancelled." in page
    assert snapshot() == before


def test_cancelling_a_closed_ride_says_why_and_changes_nothing(world):
    world.open.state = RideState.UNFULFILLED
    world.open.save()
    before = snapshot()
    client = world.client("rider")
    response = client.post(f"/rides/{world.open.pk}/cancel", {"reason": ""}, follow=True)
    assert "cannot be changed that way" in response.content.decode()
    assert snapshot() == before


def test_my_rides_list_has_a_pinned_query_count(world, django_assert_num_queries):
    client = world.client("rider")
    client.get("/rides/")  # warm the session
    # session, user, shell (1: badge, last id, modes), the people I book for, upcoming and
    # past rides
    with django_assert_num_queries(6):
        response = client.get("/rides/")
    assert response.status_code == 200


def test_place_suggestions_come_from_the_geocoder(world, settings):
    with FakeNominatim({"Storgatan 1, Vansbro": (14.2301, 60.5102)}) as geocoder:
        settings.GEOCODER_URL = geocoder.url
        response = world.client("rider").get("/places", {"q": "Storgatan 1, Vansbro"})
    assert response.json() == {
        "places": [
            {"name": "Storgatan 1, Vansbro, Dalarnas län, Sverige", "lon": 14.2301, "lat": 60.5102}
        ]
    }


def test_place_suggestions_need_sign_in(world):
    assert world.client("anonymous").get("/places", {"q": "Storgatan"}).status_code == 302
