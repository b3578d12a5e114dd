"""Volunteer rides through the API: the whole way from a request to the mileage claim,
addresses looked up through a (fake) Nominatim, input that must be refused, two drivers
accepting at the same instant, and the coordinator's lists and reports."""

import datetime
import json
import threading
from dataclasses import dataclass

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from backend.accounts.models import ProxyLink, User
from backend.community.models import Association, Membership, Role, Village
from backend.geo import approximate
from backend.notifications.models import Notification
from backend.rides.models import (
    DriverProfile,
    Offer,
    OfferState,
    RideEvent,
    RiderApproval,
    RideRequest,
    RideState,
)
from backend.rides.services import busy_range
from dispatch.tasks import run_dispatch
from mobile_api.rides_serializers import RideOutput
from tests.factories import (
    DALA_JARNA,
    VANSBRO,
    AssociationFactory,
    AvailabilitySlotFactory,
    DriverProfileFactory,
    MembershipFactory,
    RideRequestFactory,
    UserFactory,
    VillageFactory,
    next_weekday_at,
    ride_due,
)
from tests.fakes.geocoder import FakeNominatim

pytestmark = pytest.mark.django_db

PICKUP_ADDRESS = "Järnvägsgatan 4, Vansbro"
DESTINATION_ADDRESS = "Vårdcentralen, Dala-Järna"
STOCKHOLM_CITY = (18.0686, 59.3293)
TWO_KM_EAST = Point(14.26, 60.51, srid=4326)
# Vansbro -> Dala-Järna: 8.2 km as the crow flies, times the road factor 1.3.
TRIP_KM = 10.7


def error_of(response, status: int) -> dict:
    """The body's error after checking the status and the API's one error shape."""
    assert response.status_code == status, response.content
    body = response.json()
    assert list(body) == ["error"]
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


def geojson(point) -> dict:
    return {"type": "Point", "coordinates": [point.x, point.y]}


def person(name: str, phone: str, association=None, roles=()) -> User:
    user = UserFactory(full_name=name, phone=phone)
    if association is not None:
        MembershipFactory(user=user, association=association, roles=[Role.MEMBER, *roles])
    return user


def driver_in(association, name: str, phone: str, *, car: str = "", home=VANSBRO) -> DriverProfile:
    """A driver of the association, free on Mondays 08-17."""
    user = person(name, phone, association, [Role.DRIVER])
    profile = DriverProfileFactory(
        membership=Membership.objects.get(user=user, association=association),
        vehicle_description=car,
        home_base=home,
    )
    AvailabilitySlotFactory(driver=profile, weekday=0)
    return profile


@dataclass
class World:
    association: Association
    village: Village
    coordinator: User
    rider: User
    driver: DriverProfile

    @property
    def driver_user(self) -> User:
        return self.driver.membership.user

    def approve(self, user: User) -> RiderApproval:
        membership = Membership.objects.get(user=user, association=self.association)
        return RiderApproval.objects.create(membership=membership, approved_by=self.coordinator)


@pytest.fixture
def world(settings) -> World:
    settings.ROUTER_URL = ""
    association = AssociationFactory(name="Äppelbo byalag")
    village = VillageFactory(name="Äppelbo", location=VANSBRO)
    association.villages.add(village)
    return World(
        association=association,
        village=village,
        coordinator=person("Karin Lindqvist", "+46701740605", association, [Role.COORDINATOR]),
        rider=person("Anna Eriksson", "+46701740620", association),
        driver=driver_in(association, "Erik Olsson", "+46701740610", car="Blå Volvo V70"),
    )


@pytest.fixture
def approved(world) -> World:
    world.approve(world.rider)
    return world


def monday_10() -> datetime.datetime:
    return next_weekday_at(0, 10, 0)


def ride_body(**changes) -> dict:
    body = {
        "pickup": {"address": PICKUP_ADDRESS, "point": geojson(VANSBRO)},
        "destination": {"address": DESTINATION_ADDRESS, "point": geojson(DALA_JARNA)},
        "time": {"kind": "pickup_at", "at": monday_10().isoformat()},
    }
    body.update(changes)
    return body


# --- The whole way ------------------------------------------------------------------------


def test_a_ride_from_approval_to_mileage(world, api_as):
    karin, anna, erik = api_as(world.coordinator), api_as(world.rider), api_as(world.driver_user)
    membership = Membership.objects.get(user=world.rider, association=world.association)

    # The coordinator approves Anna for volunteer rides.
    response = karin.post(
        f"/api/v1/memberships/{membership.pk}/rider-approval",
        {"notes": "Har inte färdtjänst"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["membership"] == membership.pk
    assert response.json()["approved_by"] == world.coordinator.pk
    assert response.json()["notes"] == "Har inte färdtjänst"

    # Anna asks for a ride (the association is her only one).
    response = anna.post("/api/v1/rides/", ride_body(note="Ring på, jag hör dåligt"))
    assert response.status_code == 201, response.content
    ride = response.json()
    assert ride["view"] == "full"
    assert ride["state"] == "requested"
    assert ride["rider"]["full_name"] == "Anna Eriksson"
    assert ride["association"] == world.association.pk
    assert ride["village"] == {"id": world.village.pk, "name": "Äppelbo"}
    assert ride["pickup"] == geojson(VANSBRO)
    assert ride["pickup_address"] == PICKUP_ADDRESS
    assert ride["distance_km"] == TRIP_KM
    assert ride["driver"] is None
    ride_id = ride["id"]

    # Dispatch offers it to Erik, who is free on Monday mornings.
    assert run_dispatch(ride_id) == 1
    offer = Offer.objects.get(ride_id=ride_id)
    response = erik.get("/api/v1/offers/")
    assert response.status_code == 200
    area = approximate(VANSBRO, grid_m=500)
    expected_offer = {
        "offer": offer.pk,
        "ride": ride_id,
        "when": monday_10().strftime("%Y-%m-%d 10:00"),
        "village": "Äppelbo",
        "area": [area.x, area.y],
        "km": TRIP_KM,
        "needs": "",
        "passengers": 1,
    }
    assert response.json()["results"] == [{**expected_offer, "state": "pending"}]
    # Before accepting, Erik sees the offer and nothing more.
    response = erik.get(f"/api/v1/rides/{ride_id}")
    assert response.json() == {"view": "offer", **expected_offer}
    for secret in (PICKUP_ADDRESS, "Anna", "+46701740620", "Ring på", "14.22458"):
        assert secret not in response.content.decode()

    # Erik accepts: now he sees where and whom.
    response = erik.post(f"/api/v1/offers/{offer.pk}/accept")
    assert response.status_code == 200, response.content
    held = response.json()
    assert held["view"] == "driver"
    assert held["state"] == "accepted"
    assert held["pickup_address"] == PICKUP_ADDRESS
    assert held["pickup"] == geojson(VANSBRO)
    assert held["note"] == "Ring på, jag hör dåligt"
    assert held["rider"] == {"full_name": "Anna Eriksson", "phone": "+46701740620"}
    assert held["planned_pickup"] == timezone.localtime(monday_10()).isoformat()

    # Anna sees who comes.
    response = anna.get(f"/api/v1/rides/{ride_id}")
    assert response.json()["state"] == "accepted"
    assert response.json()["driver"] == {
        "id": world.driver.pk,
        "full_name": "Erik Olsson",
        "phone": "+46701740610",
        "car": "Blå Volvo V70",
    }

    # Monday has come: on the way, on board, there.
    ride_due(RideRequest.objects.get(pk=ride_id))
    for step, state in (("start", "en_route"), ("picked-up", "picked_up")):
        response = erik.post(f"/api/v1/rides/{ride_id}/{step}")
        assert response.status_code == 200, response.content
        assert (response.json()["view"], response.json()["state"]) == ("driver", state)
    response = erik.post(f"/api/v1/rides/{ride_id}/complete", {"driven_m": 12_345})
    assert response.status_code == 200, response.content
    done = response.json()
    # Once the ride is over, the driver keeps only the area.
    assert done["view"] == "driver_past"
    assert done["state"] == "completed"
    assert done["area"] == geojson(area)
    assert done["driven_m"] == 12_345
    assert "pickup_address" not in done
    assert "rider" not in done

    # Erik's logbook and the association's mileage for the month.
    today = timezone.localdate()
    response = erik.get("/api/v1/driver/logbook")
    assert response.json()["results"] == [
        {
            "ride": ride_id,
            "date": today.isoformat(),
            "village": "Äppelbo",
            "km": 12.3,
            "claim": None,
        }
    ]
    month = f"{today:%Y-%m}"
    url = f"/api/v1/associations/{world.association.pk}/mileage"
    response = karin.get(url, {"month": month})
    assert response.status_code == 200
    assert response.json() == [
        {
            "driver": world.driver.pk,
            "driver_name": "Erik Olsson",
            "rides": 1,
            "km": 12.3,
            "amount_sek": "30.86",  # 12.345 km at 2.50 kr: 30.8625, to the öre
        }
    ]
    response = karin.get(url, {"month": month, "format": "csv"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.decode() == (
        "\ufeffdriver,rides,km,amount (SEK)\r\nErik Olsson,1,12.3,30.86\r\n"
    )

    states = list(RideEvent.objects.filter(ride_id=ride_id).values_list("to_state", flat=True))
    assert states == ["requested", "offering", "accepted", "en_route", "picked_up", "completed"]


def test_booking_for_someone_by_a_proxy_and_by_a_coordinator(approved, api_as):
    world = approved
    daughter = person("Lena Eriksson", "+46701740630")
    ProxyLink.objects.create(
        proxy=daughter, resident=world.rider, relationship="dotter", accepted_at=timezone.now()
    )

    for hours, booker in ((0, daughter), (4, world.coordinator)):
        at = monday_10() + datetime.timedelta(hours=hours)
        response = api_as(booker).post(
            "/api/v1/rides/",
            ride_body(rider=world.rider.pk, time={"kind": "pickup_at", "at": at.isoformat()}),
        )
        assert response.status_code == 201, response.content
        assert response.json()["rider"]["id"] == world.rider.pk
        assert response.json()["requested_by"] == booker.pk

    assert list(RideRequest.objects.values_list("requested_by", flat=True).order_by("pk")) == [
        daughter.pk,
        world.coordinator.pk,
    ]


def test_a_proxy_who_has_not_said_yes_can_neither_book_nor_see_the_rides(approved, api_as):
    world = approved
    daughter = person("Lena Eriksson", "+46701740630")
    link = ProxyLink.objects.create(proxy=daughter, resident=world.rider, relationship="dotter")
    ride = api_as(world.rider).post("/api/v1/rides/", ride_body()).json()["id"]

    response = api_as(daughter).post("/api/v1/rides/", ride_body(rider=world.rider.pk))
    assert response.status_code in (403, 404), response.content
    assert RideRequest.objects.count() == 1
    assert api_as(daughter).get(f"/api/v1/rides/{ride}").status_code == 404
    assert api_as(daughter).get("/api/v1/rides/").json()["results"] == []

    link.accepted_at = timezone.now()
    link.save()
    assert api_as(daughter).get(f"/api/v1/rides/{ride}").status_code == 200
    later = (monday_10() + datetime.timedelta(hours=4)).isoformat()
    response = api_as(daughter).post(
        "/api/v1/rides/",
        ride_body(rider=world.rider.pk, time={"kind": "pickup_at", "at": later}),
    )
    assert response.status_code == 201, response.content


def test_the_answer_to_a_booking_is_the_stored_ride_as_the_serializer_shows_it(approved, api_as):
    """The POST answers with the ride read as the list reads it (`ride_row`); it is the
    same JSON as RideOutput of the ride stored, for a ride with a return trip, an arrival
    time, needs and a note, booked by someone else for the rider."""
    daughter = UserFactory(full_name="Eva Andersson")
    ProxyLink.objects.create(proxy=daughter, resident=approved.rider, accepted_at=timezone.now())
    arrive = monday_10() + datetime.timedelta(hours=1)
    body = ride_body(
        rider=approved.rider.pk,
        time={"kind": "arrive_by", "at": arrive.isoformat()},
        return_at=(arrive + datetime.timedelta(hours=3)).isoformat(),
        needs=["walker"],
        note="Porten är blå",
    )
    response = api_as(daughter).post("/api/v1/rides/", body)

    assert response.status_code == 201, response.content
    stored = RideRequest.objects.get(pk=response.json()["id"])
    assert response.json()["return_ride"] is not None
    assert response.json()["needs"] == ["walker"]
    assert response.content == JSONRenderer().render(RideOutput(stored).data)


def test_a_return_trip_is_booked_with_the_ride(approved, api_as):
    back_at = monday_10() + datetime.timedelta(hours=3)
    response = api_as(approved.rider).post(
        "/api/v1/rides/", ride_body(return_at=back_at.isoformat())
    )

    assert response.status_code == 201, response.content
    back = RideRequest.objects.get(return_of_id=response.json()["id"])
    assert response.json()["return_ride"] == back.pk
    assert (back.pickup_address, back.destination_address) == (
        DESTINATION_ADDRESS,
        PICKUP_ADDRESS,
    )
    assert back.earliest_pickup == back_at


def test_the_same_ride_asked_for_again_is_409_naming_it_and_books_nothing(approved, api_as):
    daughter = UserFactory(full_name="Eva Andersson")
    ProxyLink.objects.create(proxy=daughter, resident=approved.rider, accepted_at=timezone.now())
    first = api_as(approved.rider).post("/api/v1/rides/", ride_body(needs=["walker"]))
    assert first.status_code == 201, first.content
    ride = first.json()["id"]
    notified = Notification.objects.count()

    for who in (approved.rider, daughter):
        again = api_as(who).post(
            "/api/v1/rides/",
            ride_body(rider=approved.rider.pk),
            headers={"accept-language": "en"},
        )
        assert again.status_code == 409, again.content
        assert again.json() == {
            "error": {
                "code": "ride_already_requested",
                "message": f"Anna Eriksson already has this ride booked (ride {ride}), so it "
                "was not booked again.",
                "fields": {},
                "ride": ride,
            }
        }
    assert list(RideRequest.objects.values_list("pk", flat=True)) == [ride]
    assert Notification.objects.count() == notified


@pytest.mark.parametrize(
    ("body", "back_state"),
    [
        ({"reason": "Sjuk"}, RideState.REQUESTED),
        ({"reason": "Sjuk", "with_return": False}, RideState.REQUESTED),
        ({"reason": "Sjuk", "with_return": True}, RideState.CANCELLED),
    ],
    ids=["not-said-only-this-ride", "only-this-ride", "with-the-return-trip"],
)
def test_cancelling_a_ride_takes_its_return_trip_only_when_asked(
    approved, api_as, body, back_state
):
    client = api_as(approved.rider)
    back_at = monday_10() + datetime.timedelta(hours=3)
    ride = client.post("/api/v1/rides/", ride_body(return_at=back_at.isoformat())).json()["id"]
    back = RideRequest.objects.get(return_of_id=ride)

    response = client.post(f"/api/v1/rides/{ride}/cancel", body)

    assert response.status_code == 200, response.content
    assert (response.json()["state"], response.json()["return_ride"]) == ("cancelled", back.pk)
    assert RideRequest.objects.get(pk=back.pk).state == back_state


def test_the_schema_documents_cancelling_with_the_return_trip(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    cancel = schema["paths"]["/api/v1/rides/{id}/cancel"]["post"]
    ref = cancel["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    with_return = schema["components"]["schemas"][ref.split("/")[-1]]["properties"]["with_return"]
    assert (with_return["type"], with_return["default"]) == ("boolean", False)
    assert "return trip" in with_return["description"]
    booked = schema["paths"]["/api/v1/rides/"]["post"]["responses"]["409"]
    assert "`ride_already_requested`" in booked["description"]


def test_a_window_and_arrive_by(approved, api_as):
    client = api_as(approved.rider)
    start, end = monday_10(), monday_10() + datetime.timedelta(days=2)
    window = {"kind": "pickup_at", "window_start": start.isoformat(), "window_end": end.isoformat()}
    response = client.post("/api/v1/rides/", ride_body(time=window))
    assert response.status_code == 201, response.content
    assert (response.json()["earliest_pickup"], response.json()["latest_pickup"]) == (
        timezone.localtime(start).isoformat(),
        timezone.localtime(end).isoformat(),
    )

    arrive = monday_10() + datetime.timedelta(hours=1)
    response = client.post(
        "/api/v1/rides/", ride_body(time={"kind": "arrive_by", "at": arrive.isoformat()})
    )
    assert response.status_code == 201, response.content
    assert response.json()["time_kind"] == "arrive_by"
    assert response.json()["arrive_by"] == timezone.localtime(arrive).isoformat()


def test_association_must_be_chosen_when_the_rider_is_approved_by_two(approved, api_as):
    other = AssociationFactory(name="Dala-Järna PRO")
    MembershipFactory(user=approved.rider, association=other)
    RiderApproval.objects.create(
        membership=Membership.objects.get(user=approved.rider, association=other)
    )

    response = api_as(approved.rider).post("/api/v1/rides/", ride_body())
    error = error_of(response, 400)
    assert error["code"] == "association_required"
    assert list(error["fields"]) == ["association"]
    assert RideRequest.objects.count() == 0

    response = api_as(approved.rider).post("/api/v1/rides/", ride_body(association=other.pk))
    assert response.status_code == 201, response.content
    assert response.json()["association"] == other.pk


# --- Addresses looked up ------------------------------------------------------------------


@pytest.fixture
def nominatim(settings):
    """The fake geocoder running (knowing no address yet), and Samby looking addresses
    up through it."""
    with FakeNominatim() as geocoder:
        settings.GEOCODER_URL = geocoder.url
        settings.GEOCODER_COUNTRY = "se"
        yield geocoder


def test_a_ride_by_address_is_looked_up(approved, api_as, nominatim):
    nominatim.add(PICKUP_ADDRESS, 14.2246, 60.5089)
    nominatim.add(DESTINATION_ADDRESS, 14.3667, 60.5333)
    body = ride_body(
        pickup={"address": PICKUP_ADDRESS}, destination={"address": "vårdcentralen,  Dala-Järna"}
    )

    response = api_as(approved.rider).post("/api/v1/rides/", body)

    assert response.status_code == 201, response.content
    assert response.json()["pickup"] == {"type": "Point", "coordinates": [14.2246, 60.5089]}
    assert response.json()["destination"] == {"type": "Point", "coordinates": [14.3667, 60.5333]}
    assert response.json()["destination_address"] == "vårdcentralen,  Dala-Järna"
    asked = [
        (r.path, r.query["q"], r.query["format"], r.query["countrycodes"])
        for r in nominatim.requests
    ]
    assert asked == [
        ("/search", PICKUP_ADDRESS, "json", "se"),
        ("/search", "vårdcentralen, Dala-Järna", "json", "se"),
    ]


def test_an_address_that_is_not_found_is_400_and_nothing_is_stored(approved, api_as, nominatim):
    nominatim.add(PICKUP_ADDRESS, 14.2246, 60.5089)
    body = ride_body(
        pickup={"address": PICKUP_ADDRESS}, destination={"address": "Storgatan 999, Ingenstans"}
    )

    response = api_as(approved.rider).post("/api/v1/rides/", body, HTTP_ACCEPT_LANGUAGE="en")

    error = error_of(response, 400)
    assert error["code"] == "address_not_found"
    assert error["fields"] == {"destination.address": ["Address not found."]}
    assert RideRequest.objects.count() == 0
    assert len(nominatim.requests) == 2


def test_without_a_geocoder_the_address_needs_a_point(approved, api_as, settings):
    settings.GEOCODER_URL = ""
    response = api_as(approved.rider).post(
        "/api/v1/rides/", ride_body(pickup={"address": PICKUP_ADDRESS})
    )

    error = error_of(response, 409)
    assert error["code"] == "geocoder_unavailable"
    assert list(error["fields"]) == ["pickup.address"]
    assert RideRequest.objects.count() == 0


# --- Input that is refused ------------------------------------------------------------------


def _in(days: float) -> str:
    return (monday_10() + datetime.timedelta(days=days)).isoformat()


def _time(**time) -> dict:
    return {"time": time}


BAD_REQUESTS = [
    pytest.param(
        {
            "pickup": {
                "address": "Sergels torg",
                "point": {"type": "Point", "coordinates": list(STOCKHOLM_CITY)},
            }
        },
        None,
        400,
        "outside_area",
        ["pickup"],
        id="pickup-outside-the-municipality",
    ),
    pytest.param(
        _time(kind="pickup_at", at=(timezone.now() - datetime.timedelta(hours=1)).isoformat()),
        None,
        400,
        "time_in_past",
        ["time.at"],
        id="pickup-time-in-the-past",
    ),
    pytest.param(
        _time(kind="pickup_at", window_start=_in(1), window_end=_in(0)),
        None,
        400,
        "window_reversed",
        ["time.window_end"],
        id="window-ends-before-it-starts",
    ),
    pytest.param(
        _time(kind="pickup_at", window_start=_in(0), window_end=_in(14.01)),
        None,
        400,
        "window_too_long",
        ["time.window_end"],
        id="window-longer-than-14-days",
    ),
    pytest.param(
        {"passengers": 0}, None, 400, "passengers_invalid", ["passengers"], id="no-passengers"
    ),
    pytest.param(
        {"passengers": 9}, None, 400, "passengers_invalid", ["passengers"], id="nine-passengers"
    ),
    pytest.param(
        {"needs": ["walker", "jetpack"]}, None, 400, "needs_unknown", ["needs"], id="unknown-need"
    ),
    pytest.param(
        {"destination": {"address": "Samma ställe", "point": geojson(VANSBRO)}},
        None,
        400,
        "same_place",
        ["destination"],
        id="pickup-and-destination-the-same",
    ),
    pytest.param(
        {"pickup": {"address": PICKUP_ADDRESS, "point": {"lat": 60.5, "lon": 14.2}}},
        None,
        400,
        "invalid",
        ["pickup.point"],
        id="point-not-geojson",
    ),
    pytest.param(
        {
            "pickup": {
                "address": PICKUP_ADDRESS,
                "point": {"type": "Point", "coordinates": [214.2, 60.5]},
            }
        },
        None,
        400,
        "invalid",
        ["pickup.point"],
        id="point-longitude-out-of-range",
    ),
    pytest.param(_time(at=_in(0)), None, 400, "invalid", ["time.kind"], id="time-without-kind"),
    pytest.param(
        _time(kind="pickup_at"), None, 400, "time_missing", ["time.at"], id="time-without-at"
    ),
    pytest.param(
        {"return_at": (monday_10() + datetime.timedelta(minutes=5)).isoformat()},
        None,
        400,
        "return_before_arrival",
        ["return_at"],
        id="return-before-arrival",
    ),
    pytest.param({}, "unapproved", 403, "not_approved_rider", [], id="rider-not-approved"),
    pytest.param({}, "stranger", 404, "not_found", [], id="rider-i-cannot-book-for"),
    pytest.param(
        {},
        "no_association",
        400,
        "association_required",
        ["association"],
        id="rider-approved-nowhere",
    ),
]


@pytest.mark.parametrize(("changes", "who", "status", "code", "fields"), BAD_REQUESTS)
def test_bad_ride_request_is_refused_and_nothing_is_stored(
    approved, api_as, changes, who, status, code, fields
):
    body = ride_body(**changes)
    booker = approved.rider
    if who == "unapproved":
        booker = person("Nils Gustafsson", "+46701740623", approved.association)
        body["association"] = approved.association.pk
    elif who == "stranger":
        body["rider"] = person("Johan Persson", "+46701740621", approved.association).pk
    elif who == "no_association":
        booker = person("Nils Gustafsson", "+46701740623", approved.association)
    notifications = Notification.objects.count()

    response = api_as(booker).post("/api/v1/rides/", body)

    error = error_of(response, status)
    assert error["code"] == code
    assert list(error["fields"]) == fields
    # Each field named says what is wrong with it, in words.
    for name, messages in error["fields"].items():
        assert messages and all(len(message) > 5 for message in messages), name
    assert RideRequest.objects.count() == 0
    assert RideEvent.objects.count() == 0
    assert Notification.objects.count() == notifications


def test_an_unknown_need_is_named_with_the_needs_there_are(approved, api_as):
    body = ride_body(needs=["wheelchair", "jetpack", "Hund"])

    response = api_as(approved.rider).post("/api/v1/rides/", body, HTTP_ACCEPT_LANGUAGE="en")

    error = error_of(response, 400)
    message = (
        "Unknown need: Hund, jetpack. Choose from: wheelchair, walker, bags, companion, guide_dog."
    )
    assert error == {"code": "needs_unknown", "message": message, "fields": {"needs": [message]}}
    assert RideRequest.objects.count() == 0


def test_a_body_that_is_not_json_is_refused(approved, api_as):
    response = api_as(approved.rider).post(
        "/api/v1/rides/", "{not json", content_type="application/json"
    )

    assert error_of(response, 400)["code"] == "parse_error"
    assert RideRequest.objects.count() == 0


# --- Two drivers accept at the same instant --------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_drivers_accepting_at_once_one_gets_the_ride_the_other_409(settings):
    settings.ROUTER_URL = ""
    association = AssociationFactory(name="Äppelbo byalag")
    rider = person("Anna Eriksson", "+46701740620", association)
    drivers = [
        driver_in(association, "Erik Olsson", "+46701740610"),
        driver_in(association, "Sven Holm", "+46701740611"),
    ]
    ride = RideRequestFactory(rider=rider, association=association, state=RideState.OFFERING)
    offers = [
        Offer.objects.create(
            ride=ride,
            driver=driver,
            wave=1,
            rank=rank,
            distance_m=1000 * rank,
            pickup_at=ride.earliest_pickup,
        )
        for rank, driver in enumerate(drivers, 1)
    ]
    barrier = threading.Barrier(2)
    results: dict[int, tuple[int, dict]] = {}

    def accept(offer: Offer) -> None:
        try:
            client = APIClient(raise_request_exception=False)
            client.force_authenticate(offer.driver.membership.user)
            barrier.wait(timeout=10)
            response = client.post(f"/api/v1/offers/{offer.pk}/accept")
            results[offer.pk] = (response.status_code, response.content)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(offer,)) for offer in offers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(status for status, _body in results.values()) == [200, 409], results
    winner = next(pk for pk, (status, _body) in results.items() if status == 200)
    loser = next(pk for pk, (status, _body) in results.items() if status == 409)
    assert json.loads(results[loser][1])["error"]["code"] == "ride_already_accepted"
    assert json.loads(results[winner][1])["state"] == "accepted"
    ride.refresh_from_db()
    assert ride.state == RideState.ACCEPTED
    assert ride.driver_id == Offer.objects.get(pk=winner).driver_id
    states = dict(Offer.objects.values_list("pk", "state"))
    assert states == {winner: OfferState.ACCEPTED, loser: OfferState.WITHDRAWN}
    assert RideEvent.objects.filter(ride=ride, to_state=RideState.ACCEPTED).count() == 1


# --- Lists -------------------------------------------------------------------------------------


def _ride_for(world: World, rider: User, *, days: int = 0, **fields) -> RideRequest:
    fields.setdefault("village", world.village)
    return RideRequestFactory(
        rider=rider,
        association=world.association,
        earliest_pickup=monday_10() + datetime.timedelta(days=days),
        **fields,
    )


def _held_by(driver: DriverProfile, ride: RideRequest, state: str) -> RideRequest:
    ride.state, ride.driver = state, driver
    ride.planned_pickup = ride.earliest_pickup
    ride.busy = busy_range(ride, ride.earliest_pickup)
    ride.save()
    return ride


def test_my_rides_are_mine_and_those_i_book_for(world, api_as, django_assert_max_num_queries):
    daughter = person("Lena Eriksson", "+46701740630")
    ProxyLink.objects.create(proxy=daughter, resident=world.rider, accepted_at=timezone.now())
    mine = _ride_for(world, daughter, days=1)
    mothers = _ride_for(world, world.rider, days=2)
    _ride_for(world, person("Johan Persson", "+46701740621", world.association))

    # The people I book for, then the count and the page of their rides: a fixed number.
    with django_assert_max_num_queries(3):
        response = api_as(daughter).get("/api/v1/rides/")
    assert [r["id"] for r in response.json()["results"]] == [mothers.pk, mine.pk]

    for _ in range(10):
        _held_by(world.driver, _ride_for(world, world.rider, days=-3), RideState.COMPLETED)
    with django_assert_max_num_queries(3):
        response = api_as(daughter).get("/api/v1/rides/", {"page_size": 100})
    assert response.json()["count"] == 12
    assert all(r["driver"]["full_name"] == "Erik Olsson" for r in response.json()["results"][2:])


def test_my_rides_filtered_by_state_and_upcoming(world, api_as):
    later = _ride_for(world, world.rider, days=7)
    sooner = _ride_for(world, world.rider, days=1, state=RideState.REQUESTED)
    done = _held_by(world.driver, _ride_for(world, world.rider, days=-7), RideState.COMPLETED)
    client = api_as(world.rider)

    def ids(**query) -> list[int]:
        response = client.get("/api/v1/rides/", query)
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["results"]]

    assert ids() == [later.pk, sooner.pk, done.pk]
    assert ids(upcoming="true") == [sooner.pk, later.pk]
    assert ids(upcoming="false") == [done.pk]
    assert ids(state="completed") == [done.pk]
    assert ids(state=["requested", "offering"]) == [later.pk, sooner.pk]
    assert error_of(client.get("/api/v1/rides/", {"state": "flying"}), 400)["code"] == "invalid"


def test_offers_lists_only_my_pending_offers_of_open_rides(
    world, api_as, django_assert_max_num_queries
):
    sven = driver_in(world.association, "Sven Holm", "+46701740611")

    def offer(ride, driver, state=OfferState.PENDING) -> Offer:
        return Offer.objects.create(
            ride=ride,
            driver=driver,
            wave=1,
            rank=1,
            distance_m=500,
            pickup_at=ride.earliest_pickup,
            state=state,
        )

    first = offer(_ride_for(world, world.rider, days=1), world.driver)
    offer(_ride_for(world, world.rider, days=2), world.driver, OfferState.DECLINED)
    offer(_ride_for(world, world.rider, days=3), sven)
    offer(_ride_for(world, world.rider, days=4, state=RideState.CANCELLED), world.driver)
    client = api_as(world.driver_user)

    with django_assert_max_num_queries(2):
        response = client.get("/api/v1/offers/")
    assert [o["offer"] for o in response.json()["results"]] == [first.pk]

    more = [offer(_ride_for(world, world.rider, days=5 + n), world.driver) for n in range(10)]
    with django_assert_max_num_queries(2):
        response = client.get("/api/v1/offers/")
    assert [o["offer"] for o in response.json()["results"]] == [first.pk] + [o.pk for o in more]


def test_declining_an_offer(world, api_as):
    ride = _ride_for(world, world.rider)
    offer = Offer.objects.create(
        ride=ride,
        driver=world.driver,
        wave=1,
        rank=1,
        distance_m=500,
        pickup_at=ride.earliest_pickup,
    )
    client = api_as(world.driver_user)

    response = client.post(f"/api/v1/offers/{offer.pk}/decline")
    assert response.status_code == 200, response.content
    assert (response.json()["offer"], response.json()["state"]) == (offer.pk, "declined")

    again = client.post(f"/api/v1/offers/{offer.pk}/decline", HTTP_ACCEPT_LANGUAGE="en")
    assert error_of(again, 409) == {
        "code": "offer_not_pending",
        "message": "This offer is no longer open (declined). There is nothing to answer.",
        "fields": {},
    }
    assert error_of(client.get(f"/api/v1/rides/{ride.pk}"), 404)["code"] == "not_found"
    other = api_as(driver_in(world.association, "Sven Holm", "+46701740611").membership.user)
    assert error_of(other.post(f"/api/v1/offers/{offer.pk}/accept"), 404)["code"] == (
        "offer_not_found"
    )


def test_declining_an_accepted_offer_is_409_and_the_ride_stays_taken(world, api_as):
    ride = _ride_for(world, world.rider)
    offer = Offer.objects.create(
        ride=ride,
        driver=world.driver,
        wave=1,
        rank=1,
        distance_m=500,
        pickup_at=ride.earliest_pickup,
    )
    client = api_as(world.driver_user)
    assert client.post(f"/api/v1/offers/{offer.pk}/accept").status_code == 200

    response = client.post(f"/api/v1/offers/{offer.pk}/decline", HTTP_ACCEPT_LANGUAGE="en")

    error = error_of(response, 409)
    assert error["code"] == "offer_not_pending"
    assert error["message"] == (
        "You have already accepted this ride. If you cannot drive after all, give the ride "
        "back from My rides and say why."
    )
    offer.refresh_from_db()
    ride.refresh_from_db()
    assert (offer.state, ride.state, ride.driver) == ("accepted", "accepted", world.driver)


def test_association_rides_unassigned_first_and_filters(
    world, api_as, django_assert_max_num_queries
):
    other_village = VillageFactory(name="Dala-Järna", location=DALA_JARNA)
    world.association.villages.add(other_village)
    accepted = _held_by(world.driver, _ride_for(world, world.rider, days=0), RideState.ACCEPTED)
    offering = _ride_for(world, world.rider, days=1)
    unassigned = _ride_for(world, world.rider, days=2, state=RideState.UNASSIGNED)
    elsewhere = _ride_for(world, world.rider, days=3, village=other_village)
    RideRequestFactory(association=AssociationFactory(name="Dala-Järna PRO"))
    client = api_as(world.coordinator)
    url = f"/api/v1/associations/{world.association.pk}/rides/"

    def ids(**query) -> list[int]:
        response = client.get(url, query)
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["results"]]

    # 5: the page, and one insert for the audit log of whose rides were shown.
    with django_assert_max_num_queries(5):
        assert ids() == [unassigned.pk, offering.pk, elsewhere.pk, accepted.pk]
    assert ids(state="accepted") == [accepted.pk]
    assert ids(village=other_village.pk) == [elsewhere.pk]
    assert ids(day=f"{monday_10() + datetime.timedelta(days=1):%Y-%m-%d}") == [offering.pk]

    for n in range(10):
        _ride_for(world, world.rider, days=10 + n)
    with django_assert_max_num_queries(5):
        assert len(ids()) == 14


def test_association_rides_are_read_in_order_from_their_index(world, api_as):
    """A page of the association's rides is read in order from the index
    ride_association_urgency instead of sorting all the association's rides. The test's
    tables are tiny, so sequential scans and sorts are priced out: an index whose
    expression differed from the list's order would leave a Sort in the plan."""
    for days in range(3):
        _ride_for(world, world.rider, days=days)
    with CaptureQueriesContext(connection) as queries:
        response = api_as(world.coordinator).get(
            f"/api/v1/associations/{world.association.pk}/rides/"
        )
    assert response.status_code == 200
    with connection.cursor() as cursor:
        # The list runs as a prepared statement (backend/db.py): its EXECUTE is the
        # last statement of what was sent; the statement's text tells which is the page.
        executed = [q["sql"].rsplit("; ", 1)[-1] for q in queries]
        cursor.execute("SELECT name, statement FROM pg_prepared_statements")
        ordered = {name for name, text in cursor.fetchall() if "ORDER BY" in text}
        [page] = [sql for sql in executed if sql.split("(")[0].removeprefix("EXECUTE ") in ordered]
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        cursor.execute(f"EXPLAIN {page}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "ride_association_urgency" in plan, plan
    assert "Sort" not in plan, plan


def test_a_ride_list_is_written_as_ride_output_writes_it(world, api_as):
    """The association's rides, read with only the columns a list shows, are the same
    JSON as RideOutput writes for whole rides, with and without a driver, a village, a
    return ride, an arrival time and needs."""
    held = _held_by(world.driver, _ride_for(world, world.rider, days=1), RideState.COMPLETED)
    held.accepted_at, held.closed_at, held.driven_m = held.earliest_pickup, timezone.now(), 12345
    held.save()
    out = _ride_for(
        world,
        world.rider,
        days=2,
        village=None,
        needs=["walker"],
        note="Ring på",
        passengers=2,
        time_kind="arrive_by",
        arrive_by=monday_10() + datetime.timedelta(days=2, hours=1),
    )
    back = _ride_for(world, world.rider, days=2, return_of=out, requested_by=world.coordinator)
    rides = RideRequest.objects.filter(pk__in=[held.pk, out.pk, back.pk]).order_by("pk")

    response = api_as(world.coordinator).get(f"/api/v1/associations/{world.association.pk}/rides/")

    shown = {row["id"]: row for row in response.json()["results"]}
    assert [shown[ride.pk] for ride in rides] == json.loads(
        json.dumps(RideOutput(rides, many=True).data)
    )
    assert shown[out.pk]["return_ride"] == back.pk and shown[held.pk]["driver"] is not None


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("rider", 403, "ride_not_allowed"),
        ("driver", 403, "ride_not_allowed"),
        ("coordinator_elsewhere", 403, "ride_not_allowed"),
        ("anonymous", 403, "not_authenticated"),
    ],
    ids=["rider", "driver", "coordinator-of-another-association", "anonymous"],
)
@pytest.mark.parametrize("path", ["rides/", "mileage"])
def test_association_lists_are_for_its_coordinators(world, api_as, who, status, code, path):
    elsewhere = AssociationFactory(name="Dala-Järna PRO")
    user = {
        "rider": world.rider,
        "driver": world.driver_user,
        "coordinator_elsewhere": person(
            "Maria Berg", "+46701740612", elsewhere, [Role.COORDINATOR]
        ),
        "anonymous": None,
    }[who]
    client = APIClient() if user is None else api_as(user)

    response = client.get(f"/api/v1/associations/{world.association.pk}/{path}")

    assert error_of(response, status)["code"] == code


# --- Coordinators: suggestions, assigning, history, mileage -----------------------------------


def test_suggestions_rank_near_and_fair_drivers(world, api_as):
    ride = _ride_for(world, world.rider)
    near_busy = world.driver  # at the pickup, but has driven four times lately
    for days in range(1, 5):
        _held_by(near_busy, _ride_for(world, world.rider, days=-days), RideState.COMPLETED)
    # Two kilometres further, but with no rides lately: asked first.
    a_bit_further = driver_in(
        world.association, "Sven Holm", "+46701740611", car="Röd Saab", home=TWO_KM_EAST
    )

    response = api_as(world.coordinator).get(f"/api/v1/rides/{ride.pk}/suggestions")

    assert response.status_code == 200, response.content
    assert response.json() == [
        {
            "driver": a_bit_further.pk,
            "full_name": "Sven Holm",
            "phone": "+46701740611",
            "car": "Röd Saab",
            "distance_km": 1.9,
            "pickup_at": timezone.localtime(ride.earliest_pickup).isoformat(),
            "recent_rides": 0,
        },
        {
            "driver": near_busy.pk,
            "full_name": "Erik Olsson",
            "phone": "+46701740610",
            "car": "Blå Volvo V70",
            "distance_km": 0.0,
            "pickup_at": timezone.localtime(ride.earliest_pickup).isoformat(),
            "recent_rides": 4,
        },
    ]


def test_coordinator_assigns_and_the_history_shows_every_offer(world, api_as):
    ride = _ride_for(world, world.rider)
    sven = driver_in(world.association, "Sven Holm", "+46701740611")
    declined = Offer.objects.create(
        ride=ride, driver=sven, wave=1, rank=1, distance_m=500, pickup_at=ride.earliest_pickup
    )
    api_as(sven.membership.user).post(f"/api/v1/offers/{declined.pk}/decline")
    karin = api_as(world.coordinator)

    response = karin.post(f"/api/v1/rides/{ride.pk}/assign", {"driver": world.driver.pk})

    assert response.status_code == 200, response.content
    assert response.json()["state"] == "accepted"
    assert response.json()["driver"]["full_name"] == "Erik Olsson"
    response = karin.get(f"/api/v1/rides/{ride.pk}/events")
    assert response.status_code == 200
    history = [(e["event"], e["to_state"], e["actor"], e["driver"]) for e in response.json()]
    assert history == [
        ("offer_sent", "", None, "Sven Holm"),
        ("offer_declined", "", None, "Sven Holm"),
        ("state", "accepted", "Karin Lindqvist", None),
        ("assigned", "", "Karin Lindqvist", "Erik Olsson"),
    ]


@pytest.mark.parametrize(
    ("driver", "status", "code"),
    [
        ("unknown", 400, "not_driver"),
        ("other_association", 400, "not_driver"),
        ("busy", 409, "driver_busy"),
    ],
    ids=["no-such-driver", "driver-of-another-association", "driver-busy-then"],
)
def test_assigning_a_driver_who_cannot_is_refused(world, api_as, driver, status, code):
    ride = _ride_for(world, world.rider)
    profile_id = {
        "unknown": 999_999,
        "other_association": lambda: (
            driver_in(AssociationFactory(name="Dala-Järna PRO"), "Sven Holm", "+46701740611").pk
        ),
        "busy": lambda: (
            _held_by(world.driver, _ride_for(world, world.rider), RideState.ACCEPTED).driver_id
        ),
    }[driver]
    profile_id = profile_id() if callable(profile_id) else profile_id
    before = RideRequest.objects.get(pk=ride.pk)

    response = api_as(world.coordinator).post(
        f"/api/v1/rides/{ride.pk}/assign", {"driver": profile_id}
    )

    assert error_of(response, status)["code"] == code
    ride.refresh_from_db()
    assert (ride.state, ride.driver_id) == (before.state, None)
    assert not Offer.objects.filter(ride=ride).exists()


def test_mileage_sums_the_month_per_driver_to_the_ore(world, api_as):
    sven = driver_in(world.association, "Sven Holm", "+46701740611")
    may = datetime.datetime(2025, 5, 15, 12, tzinfo=datetime.UTC)

    def completed(driver, driven_m, closed_at):
        ride = _held_by(driver, _ride_for(world, world.rider, days=-30), RideState.COMPLETED)
        ride.closed_at, ride.driven_m = closed_at, driven_m
        ride.save()

    completed(world.driver, 12_345, may)
    completed(world.driver, 7_003, may + datetime.timedelta(days=10))
    completed(sven, 50_000, may)
    completed(sven, 4, may)
    # 1 June 00:30 in Sweden is still May in UTC: it counts for June.
    completed(sven, 50_000, datetime.datetime(2025, 5, 31, 22, 30, tzinfo=datetime.UTC))
    completed(sven, 50_000, datetime.datetime(2025, 4, 30, 21, 59, tzinfo=datetime.UTC))
    url = f"/api/v1/associations/{world.association.pk}/mileage"
    client = api_as(world.coordinator)

    response = client.get(url, {"month": "2025-05"})

    assert response.json() == [
        {
            "driver": world.driver.pk,
            "driver_name": "Erik Olsson",
            "rides": 2,
            "km": 19.3,
            "amount_sek": "48.37",
        },
        {
            "driver": sven.pk,
            "driver_name": "Sven Holm",
            "rides": 2,
            "km": 50.0,
            "amount_sek": "125.01",
        },
    ]
    response = client.get(
        url, {"month": "2025-05"}, HTTP_ACCEPT="text/csv", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response["Content-Disposition"] == (
        f'attachment; filename="mileage-{world.association.pk}-2025-05.csv"'
    )
    assert response.content.decode().splitlines() == [
        "\ufeffdriver,rides,km,amount (SEK)",
        "Erik Olsson,2,19.3,48.37",
        "Sven Holm,2,50.0,125.01",
    ]
    assert client.get(url, {"month": "2025-07"}).json() == []


@pytest.mark.parametrize("month", ["2025-13", "maj", "2025-05-01", "99999-01"])
def test_mileage_month_must_be_a_month(world, api_as, month):
    response = api_as(world.coordinator).get(
        f"/api/v1/associations/{world.association.pk}/mileage", {"month": month, "format": "csv"}
    )

    error = error_of(response, 400)
    assert response["Content-Type"] == "application/json"
    assert list(error["fields"]) == ["month"]


def test_rider_approval_only_by_a_coordinator(world, api_as):
    membership = Membership.objects.get(user=world.rider, association=world.association)

    response = api_as(world.driver_user).post(f"/api/v1/memberships/{membership.pk}/rider-approval")
    assert error_of(response, 404)["code"] == "not_found"
    response = api_as(world.rider).post(f"/api/v1/memberships/{membership.pk}/rider-approval")
    assert error_of(response, 403)["code"] == "ride_not_allowed"
    assert not RiderApproval.objects.exists()
