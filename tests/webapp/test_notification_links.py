"""A message opens where its recipient acts on it: `/notifications/<id>/open` marks it
read and redirects to the page webapp/notification_links.py names for its kind, or to the
messages page. The notifications here come from the real services."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from backend.carpool.models import SavedSearch
from backend.community.models import Role
from backend.community.services import proxy_link_create
from backend.notifications.channels import OPEN_PATH, notification_open_path
from backend.notifications.kinds import KINDS
from backend.notifications.models import Notification
from backend.notifications.services import notify
from backend.rides.models import Offer, OfferState, RideRequest, RideState
from backend.sharing.models import ApprovalMode, BookingStatus
from backend.sharing.services import booking_approve
from backend.shuttle.services import occurrence_cancel, signup_create, vehicle_add
from dispatch.carpool import occurrence_move as carpool_occurrence_move
from dispatch.carpool import trip_alerts_send
from dispatch.offers import (
    offer_accept,
    offer_wave,
    ride_assign_by_coordinator,
    ride_reassign_by_coordinator,
)
from dispatch.services import ride_cancel
from dispatch.shop_runs import occurrence_reschedule
from tests.factories import (
    AssociationFactory,
    DriverProfileFactory,
    MembershipFactory,
    RideRequestFactory,
    next_weekday_at,
)
from tests.shuttle_world import make_world
from tests.webapp.carpool_world import book_form as carpool_book_form
from tests.webapp.carpool_world import publish, search_query
from tests.webapp.sharing_world import add_sharing, book_form, tomorrow_at
from webapp.notification_links import LINKS, notification_link

pytestmark = pytest.mark.django_db


def open_url(notification: Notification) -> str:
    return f"/notifications/{notification.pk}/open"


def opened(world, role: str, notification: Notification) -> str:
    """Open the message as `role`: it is read now, and the page it leads to answers 200
    for them. Returns where it led."""
    client = world.client(role)
    response = client.get(open_url(notification))
    assert response.status_code == 302
    notification.refresh_from_db()
    assert notification.read_at is not None
    target = response["Location"]
    page = client.get(target)
    assert page.status_code == 200, (target, page.content.decode()[:500])
    return target


def latest(person, kind: str) -> Notification:
    return Notification.objects.filter(recipient=person, kind=kind).latest("pk")


# --- Every kind is decided, and the backend's address is the route -------------------------


def test_every_kind_has_a_page_or_says_it_has_none():
    """A new kind without a decision in webapp/notification_links.py fails here."""
    assert sorted(set(KINDS) - set(LINKS)) == []
    assert sorted(set(LINKS) - set(KINDS)) == []


def test_the_address_backend_sends_is_the_open_route():
    assert reverse("webapp:notification-open", args=[1]) == notification_open_path(1)
    assert reverse("webapp:notification-open", args=[123456]) == OPEN_PATH.format(id=123456)


# --- Volunteer rides ---------------------------------------------------------------------------


def test_a_ride_offer_opens_driver_mode_at_the_offer(world, settings):
    settings.RIDES_OFFER_WAVE_SIZE = 5
    ride = RideRequestFactory(
        rider=world.people["rider"],
        association=world.a,
        village=world.a.villages.get(),
        state=RideState.REQUESTED,
        earliest_pickup=next_weekday_at(2, 10),
        latest_pickup=next_weekday_at(2, 10),
    )
    offers = offer_wave(ride_id=ride.pk)
    offer = next(o for o in offers if o.driver == world.drivers["offered_driver"])
    told = latest(world.people["offered_driver"], "ride.offered")

    target = opened(world, "offered_driver", told)

    assert target == f"/driver/?association={world.a.pk}#offer-{offer.pk}"
    page = world.client("offered_driver").get(target).content.decode()
    assert f'id="offer-{offer.pk}"' in page


def test_a_driver_found_opens_the_riders_ride_page(world):
    offer = Offer.objects.get(ride=world.open, state=OfferState.PENDING)
    offer_accept(offer_id=offer.pk, actor=world.people["offered_driver"])
    told = latest(world.people["rider"], "ride.accepted")
    assert told.payload["ride"] == world.open.pk

    assert opened(world, "rider", told) == f"/rides/{world.open.pk}/"


def test_a_ride_booked_by_a_proxy_opens_the_ride_page_for_her_too(world):
    world.client("proxy").post(
        "/rides/new",
        {
            "rider": world.people["rider"].pk,
            "pickup_address": "Järnvägsgatan 4, Vansbro",
            "pickup_lon": "14.22458",
            "pickup_lat": "60.50893",
            "destination_address": "Vårdcentralen, Vansbro",
            "destination_lon": "14.2301",
            "destination_lat": "60.53333",
            "time_kind": "pickup_at",
            "at": next_weekday_at(2, 10).strftime("%Y-%m-%dT%H:%M"),
            "passengers": "1",
        },
    )
    ride = RideRequest.objects.latest("pk")
    assert ride.requested_by == world.people["proxy"]
    told = latest(world.people["proxy"], "ride.requested")

    assert opened(world, "proxy", told) == f"/rides/{ride.pk}/"


def test_a_ride_given_by_a_coordinator_opens_the_drivers_ride_page(world):
    ride_assign_by_coordinator(
        ride_id=world.open.pk,
        driver=world.drivers["offered_driver"],
        actor=world.people["coordinator"],
    )
    told = latest(world.people["offered_driver"], "ride.assigned")

    target = opened(world, "offered_driver", told)

    assert target == f"/driver/rides/{world.open.pk}/?association={world.a.pk}"


def test_a_ride_the_driver_no_longer_holds_opens_driver_mode(world):
    """An old "you have a ride" after the ride went to someone else: not a 404."""
    told = notify(
        world.people["offered_driver"],
        "ride.assigned",
        {"ride": world.held.pk, "when": "2026-12-01 10:00", "village": "Vansbro"},
    )
    assert opened(world, "offered_driver", told) == "/driver/"


def test_the_day_before_reminder_opens_the_drivers_page_for_the_driver(world):
    payload = {"when": "2026-12-01 10:00", "place": "Storgatan 1", "ride": world.held.pk}
    rider_note = notify(world.people["rider"], "ride.reminder", payload)
    driver_note = notify(world.people["holding_driver"], "ride.reminder", payload)

    assert opened(world, "rider", rider_note) == f"/rides/{world.held.pk}/"
    assert (
        opened(world, "holding_driver", driver_note)
        == f"/driver/rides/{world.held.pk}/?association={world.a.pk}"
    )


def drives_elsewhere_too(world, role: str) -> None:
    """`role` drives for a second association too, one whose name sorts first, so driver
    mode without `?association=` would open that one."""
    other = AssociationFactory(name="Berga byalag")
    DriverProfileFactory(
        membership=MembershipFactory(
            user=world.people[role], association=other, roles=[Role.MEMBER, Role.DRIVER]
        )
    )


def test_a_ride_cancelled_opens_driver_mode_of_its_association_for_a_driver_of_several(world):
    drives_elsewhere_too(world, "holding_driver")
    ride_cancel(ride=world.held, actor=world.people["rider"], reason="Sjuk")
    told = latest(world.people["holding_driver"], "ride.cancelled")
    assert told.payload["association"] == world.a.pk

    target = opened(world, "holding_driver", told)

    assert target == f"/driver/?association={world.a.pk}"
    page = world.client("holding_driver").get(target).content.decode()
    assert f'name="association" value="{world.a.pk}"' in page


def test_a_ride_given_to_another_driver_opens_driver_mode_of_its_association(world):
    drives_elsewhere_too(world, "holding_driver")
    ride_reassign_by_coordinator(
        ride_id=world.held.pk,
        driver=world.drivers["offered_driver"],
        actor=world.people["coordinator"],
        reason="Bilen startar inte",
    )
    told = latest(world.people["holding_driver"], "ride.released")
    assert told.payload["association"] == world.a.pk

    assert opened(world, "holding_driver", told) == f"/driver/?association={world.a.pk}"


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"when": "2026-12-01 10:00", "reason": "Sjuk"}, id="older-payload"),
        pytest.param(
            {"when": "2026-12-01 10:00", "reason": "Sjuk", "association": -1},
            id="no-longer-drives-there",
        ),
    ],
)
def test_a_ride_cancelled_opens_plain_driver_mode_when_the_association_is_unknown(world, payload):
    told = notify(world.people["holding_driver"], "ride.cancelled", payload)
    assert opened(world, "holding_driver", told) == "/driver/"


def test_a_ride_without_a_driver_opens_the_console_for_the_coordinator(world):
    told = notify(
        world.people["coordinator"],
        "ride.unassigned",
        {"ride": world.open.pk, "when": "2026-12-01 10:00", "village": "Vansbro"},
    )
    assert (
        opened(world, "coordinator", told)
        == f"/console/rides/{world.open.pk}/?association={world.a.pk}"
    )


# --- Shared things ------------------------------------------------------------------------------


@pytest.fixture
def shared(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    add_sharing(world)
    world.trailer.approval_mode = ApprovalMode.OWNER
    world.trailer.save()
    return world


def test_a_request_to_borrow_opens_the_owners_page_and_the_answer_the_bookers(shared):
    neighbour = shared.people["other_resident"]
    response = shared.client("other_resident").post(
        f"/sharing/{shared.trailer.pk}/book", book_form(neighbour, tomorrow_at(10))
    )
    assert response.status_code == 302
    asked = latest(shared.people["owner"], "sharing.booking_requested")

    assert opened(shared, "owner", asked) == "/sharing/mine"

    booking = neighbour.sharing_bookings.get()
    booking = booking_approve(actor=shared.people["owner"], booking=booking)
    assert booking.status == BookingStatus.CONFIRMED
    confirmed = latest(neighbour, "sharing.booking_confirmed")
    assert opened(shared, "other_resident", confirmed) == "/sharing/bookings"


def test_a_request_for_the_associations_car_opens_the_console_for_the_coordinator(shared):
    shared.car.approval_mode = ApprovalMode.OWNER  # no owner: the coordinators approve
    shared.car.save()
    rider = shared.people["rider"]
    response = shared.client("rider").post(
        f"/sharing/{shared.car.pk}/book", book_form(rider, tomorrow_at(10))
    )
    assert response.status_code == 302
    asked = latest(shared.people["coordinator"], "sharing.booking_requested")

    assert opened(shared, "coordinator", asked) == f"/console/sharing/?association={shared.a.pk}"


# --- Carpooling ---------------------------------------------------------------------------------


def test_a_seat_request_opens_the_drivers_trips_at_the_trip(world, settings):
    settings.ROUTER_URL = ""
    trip = publish(world, instant_booking=False)
    departure = trip.occurrences.get()
    response = world.client("rider").post(
        "/carpool/book", carpool_book_form(departure, world.people["rider"])
    )
    assert response.status_code == 302
    asked = latest(world.people["holding_driver"], "carpool.booking_requested")

    assert opened(world, "holding_driver", asked) == f"/carpool/trips#trip-{trip.pk}"


def test_a_departure_a_coordinator_moved_opens_the_drivers_trips_at_the_trip(world, settings):
    settings.ROUTER_URL = ""
    trip = publish(world)
    departure = trip.occurrences.get()
    carpool_occurrence_move(
        occurrence=departure,
        actor=world.people["coordinator"],
        departure_at=departure.departure_at + timedelta(minutes=30),
    )
    told = latest(world.people["holding_driver"], "carpool.departure_moved_by_coordinator")

    assert opened(world, "holding_driver", told) == f"/carpool/trips#trip-{trip.pk}"


def test_a_ride_alert_opens_the_search_that_finds_the_trip(world, settings):
    settings.ROUTER_URL = ""
    query = search_query()
    response = world.client("rider").post(
        "/carpool/alerts",
        {
            **{k: query[k] for k in query if k.startswith(("pickup", "dropoff"))},
            "weekdays": ["0"],
            "earliest": "06:30",
            "latest": "08:00",
            "seats": "1",
        },
    )
    assert response.status_code == 302
    assert SavedSearch.objects.filter(owner=world.people["rider"]).exists()
    trip = publish(world)
    assert trip_alerts_send(trip_id=trip.pk) == 1
    told = latest(world.people["rider"], "carpool.alert")

    target = opened(world, "rider", told)

    assert target.startswith("/carpool/?pickup_address=")
    page = world.client("rider").get(target).content.decode()
    assert f'name="departure" value="{told.payload["occurrence"]}"' in page


# --- Shop runs and asking for help -----------------------------------------------------------


def test_a_shop_run_given_to_a_driver_opens_the_run_sheet(settings):
    settings.ROUTER_URL = ""
    settings.GEOCODER_URL = ""
    shop = make_world()
    driver = shop.drivers[0]
    vehicle_add(
        occurrence=shop.occurrence, driver=driver, actor=shop.coordinator, by_coordinator=True
    )
    told = latest(shop.driver_user(), "shuttle.run_assigned")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(shop.driver_user())

    response = client.get(open_url(told))

    assert response["Location"] == f"/shuttle/runs/{shop.occurrence.pk}/sheet"
    assert client.get(response["Location"]).status_code == 200
    told.refresh_from_db()
    assert told.read_at is not None


def open_as(person, notification: Notification) -> str:
    """Open the message as `person` (the page it leads to answers 200); where it led."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(person)
    response = client.get(open_url(notification))
    assert response.status_code == 302
    target = response["Location"]
    assert client.get(target).status_code == 200, target
    return target


@pytest.fixture
def shop_run(settings):
    """A shop run with a driver and one resident signed up."""
    settings.ROUTER_URL = ""
    settings.GEOCODER_URL = ""
    shop = make_world()
    vehicle_add(
        occurrence=shop.occurrence,
        driver=shop.drivers[0],
        actor=shop.coordinator,
        by_coordinator=True,
    )
    resident = shop.residents[0]
    signup_create(actor=resident, occurrence=shop.occurrence, passenger=resident)
    return shop


def test_a_shop_run_cancelled_opens_the_run_sheet_for_its_driver_and_the_signups_else(
    shop_run,
):
    occurrence_cancel(actor=shop_run.coordinator, occurrence=shop_run.occurrence, reason="Snö")
    driver_note = latest(shop_run.driver_user(), "shuttle.run_cancelled")
    resident_note = latest(shop_run.residents[0], "shuttle.run_cancelled")
    assert driver_note.payload["run"] == shop_run.occurrence.pk

    sheet = f"/shuttle/runs/{shop_run.occurrence.pk}/sheet"
    assert open_as(shop_run.driver_user(), driver_note) == sheet
    assert open_as(shop_run.residents[0], resident_note) == "/shop-runs/#my-signups"


def test_a_shop_run_moved_opens_the_run_sheet_for_its_driver_and_the_signups_else(shop_run):
    occurrence = shop_run.occurrence
    occurrence_reschedule(
        actor=shop_run.coordinator,
        occurrence=occurrence,
        arrive_at=occurrence.arrive_at + timedelta(minutes=30),
        leave_at=occurrence.leave_at + timedelta(minutes=30),
    )
    driver_note = latest(shop_run.driver_user(), "shuttle.run_moved")
    resident_note = latest(shop_run.residents[0], "shuttle.run_moved")
    assert driver_note.payload["run"] == occurrence.pk

    assert open_as(shop_run.driver_user(), driver_note) == f"/shuttle/runs/{occurrence.pk}/sheet"
    assert open_as(shop_run.residents[0], resident_note) == "/shop-runs/#my-signups"


def test_a_shop_run_message_without_the_run_opens_the_signups(shop_run):
    """Stored before the kind's payload named the run: the driver's sign-ups page."""
    told = notify(shop_run.driver_user(), "shuttle.run_cancelled", {"when": "1", "reason": ""})
    assert open_as(shop_run.driver_user(), told) == "/shop-runs/#my-signups"


def test_a_request_for_help_opens_the_profile_where_it_is_answered(world):
    proxy_link_create(
        actor=world.people["other_resident"],
        resident=world.people["other_resident"],
        proxy=world.people["proxy"],
    )
    asked = latest(world.people["proxy"], "proxy.invited")

    assert opened(world, "proxy", asked) == "/profile/#proxy-requests"


# --- Who may open, and where the others go ------------------------------------------------------


def test_someone_elses_message_is_a_404_and_stays_unread(world):
    told = notify(world.people["rider"], "ride.requested", {"when": "1", "ride": world.held.pk})
    for role in ["proxy", "other_resident", "coordinator", "holding_driver"]:
        assert world.client(role).get(open_url(told)).status_code == 404
    assert world.client("rider").get("/notifications/999999999/open").status_code == 404
    told.refresh_from_db()
    assert told.read_at is None


def test_signed_out_the_link_goes_through_sign_in(world):
    told = notify(world.people["rider"], "ride.requested", {"when": "1", "ride": world.held.pk})
    response = world.client("anonymous").get(open_url(told))
    assert response.status_code == 302
    assert response["Location"] == f"/sign-in?next={open_url(told)}"
    told.refresh_from_db()
    assert told.read_at is None


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        pytest.param("ride.offer_withdrawn", {"when": "2026-12-01 10:00"}, id="no-page"),
        # Stored before the kind's payload named the ride.
        pytest.param("ride.requested", {"when": "2026-12-01 10:00"}, id="older-payload"),
        pytest.param("ride.requested", {"when": "x", "ride": "12"}, id="not-an-id"),
    ],
)
def test_a_message_without_a_page_opens_the_messages_page_at_it(world, kind, payload):
    told = notify(world.people["offered_driver"], kind, payload)
    assert opened(world, "offered_driver", told) == f"/notifications/#message-{told.pk}"


def test_a_coordinators_page_is_not_given_to_someone_who_no_longer_coordinates(world):
    told = notify(
        world.people["coordinator_elsewhere"],
        "ride.unassigned",
        {"ride": world.open.pk, "when": "2026-12-01 10:00", "village": "Vansbro"},
    )
    assert notification_link(told.kind, told.payload, recipient=told.recipient) is None


# --- The lists link each message -------------------------------------------------------------


def test_the_messages_page_and_the_home_page_link_each_message(world):
    rider = world.people["rider"]
    first = notify(rider, "ride.requested", {"when": "2026-12-01 10:00", "ride": world.held.pk})
    second = notify(rider, "association.message", {"association": "Äppelbo", "text": "Hej"})
    client = world.client("rider")
    messages = client.get("/notifications/").content.decode()
    home = client.get("/").content.decode()
    for note in (first, second):
        assert f'<a class="message-link" href="{open_url(note)}">' in messages
        assert f'<a class="message-link" href="{open_url(note)}">' in home
    assert f'id="message-{second.pk}"' in messages
    # Opened from the list: read, so no longer among the new on the home page.
    client.get(open_url(first))
    assert open_url(first) not in client.get("/").content.decode()
