"""The sharing API: browse near me, a resource's page and calendar, book, my bookings,
check-out and check-in, approvals, feeds. Exact statuses and error codes; a refused
request changes nothing."""

import datetime
import io

import pytest
from django.utils import timezone
from icalendar import Calendar
from PIL import Image
from rest_framework.renderers import JSONRenderer

from backend.accounts.models import ProxyLink
from backend.community.models import MunicipalityAnalyst
from backend.notifications.models import Notification
from backend.sharing.models import Booking, BookingStatus, Resource, ResourcePhoto
from mobile_api.sharing_serializers import SharingBookingOutput
from tests.factories import (
    VANSBRO,
    DriverProfileFactory,
    ManagedProfileFactory,
    MembershipFactory,
    UserFactory,
)
from tests.sharing_fixtures import BookingFactory, ResourceFactory, wednesday

pytestmark = pytest.mark.django_db
H = datetime.timedelta(hours=1)
LON, LAT = VANSBRO.x, VANSBRO.y


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert list(body) == ["error"]
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["message"]
    return body["error"]


def iso(moment: datetime.datetime) -> str:
    return moment.isoformat()


# --- Browse ------------------------------------------------------------------------------


def test_browse_near_me_nearest_first_with_distances(
    api_as, member, car, hall, trailer, django_assert_num_queries
):
    client = api_as(member)
    client.get("/api/v1/sharing/resources/", {"lon": LON, "lat": LAT})  # warm up PostGIS
    with django_assert_num_queries(2):  # the search, the photos
        response = client.get("/api/v1/sharing/resources/", {"lon": LON, "lat": LAT})
    assert response.status_code == 200
    rows = response.json()
    assert [row["title"] for row in rows] == ["Byabilen", "Lars släpvagn", "Bygdegården"]
    assert rows[0]["distance_m"] == 0
    assert 8_000 < rows[2]["distance_m"] < 10_000
    # A resident's own trailer stands at their home: only the area in search results.
    trailer_row = rows[1]
    assert trailer_row["location_is_approximate"] is True
    assert trailer_row["owner_name"] == "Lars"
    assert "pickup_instructions" not in trailer_row
    assert "key_location" not in rows[0]


def test_browse_available_in_a_period(api_as, member, car, trailer):
    BookingFactory(
        resource=car, starts_at=wednesday(9), ends_at=wednesday(11), blocked_until=wednesday(11, 30)
    )
    response = api_as(member).get(
        "/api/v1/sharing/resources/",
        {
            "lon": LON,
            "lat": LAT,
            "kind": "car",
            "available_from": iso(wednesday(11)),
            "available_until": iso(wednesday(13)),
        },
    )
    assert response.json() == []
    response = api_as(member).get(
        "/api/v1/sharing/resources/",
        {
            "lon": LON,
            "lat": LAT,
            "available_from": iso(wednesday(11, 30)),
            "available_until": iso(wednesday(13)),
        },
    )
    assert [row["title"] for row in response.json()] == ["Byabilen", "Lars släpvagn"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lon": 200, "lat": 60}, "lon"),
        ({"lon": 14}, "lat"),
        ({"lon": 14, "lat": 60, "radius_m": 5}, "radius_m"),
        ({"lon": 14, "lat": 60, "kind": "boat"}, "kind"),
        ({"lon": 14, "lat": 60, "available_from": "2030-01-01T10:00"}, "available_until"),
        (
            {
                "lon": 14,
                "lat": 60,
                "available_from": "2030-01-01T10:00",
                "available_until": "2030-01-01T09:00",
            },
            "available_until",
        ),
        (
            {"lon": 14, "lat": 60, "available_from": "soon", "available_until": "later"},
            "available_from",
        ),
        ({}, "lon"),
    ],
    ids=[
        "lon-range",
        "lat-missing",
        "radius-small",
        "kind-unknown",
        "period-half",
        "period-reversed",
        "period-garbage",
        "no-place-no-home",
    ],
)
def test_browse_bad_input(api_as, member, params, field):
    error = error_of(api_as(member).get("/api/v1/sharing/resources/", params), 400)
    assert field in error["fields"]


def test_browse_from_home_when_no_point_is_given(api_as, member, car):
    member.home_location = VANSBRO
    member.save()
    response = api_as(member).get("/api/v1/sharing/resources/")
    assert [row["title"] for row in response.json()] == ["Byabilen"]


def test_anonymous_sees_nothing(api, car):
    assert api.get("/api/v1/sharing/resources/", {"lon": LON, "lat": LAT}).status_code in (401, 403)
    assert api.get(f"/api/v1/sharing/resources/{car.pk}").status_code in (401, 403)
    assert api.post(f"/api/v1/sharing/resources/{car.pk}/bookings", {}).status_code in (401, 403)


# --- Catalogue -----------------------------------------------------------------------------


CAR = {
    "kind": "car",
    "category": "Car",
    "title": "Elbilen",
    "location": {"type": "Point", "coordinates": [LON, LAT]},
    "seats": 5,
    "fuel": "electric",
    "odometer_km": 500,
    "key_location": "Nyckelskåpet",
    "price_per_km_ore": 200,
    "approval_mode": "members",
}


def test_coordinator_lists_the_association_car(api_as, coordinator, association):
    response = api_as(coordinator).post(
        "/api/v1/sharing/resources/", {**CAR, "association": association.pk}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["category"], body["owner_name"], body["key_location"], body["manage"]) == (
        "car",
        None,
        "Nyckelskåpet",
        True,
    )
    assert Resource.objects.get().owner is None


def test_member_lends_their_own_thing(api_as, member, association):
    response = api_as(member).post(
        "/api/v1/sharing/resources/",
        {
            "association": association.pk,
            "kind": "tool",
            "category": "chainsaw",
            "title": "Motorsåg",
            "location": {"type": "Point", "coordinates": [LON, LAT]},
            "requires_clearance": True,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert Resource.objects.get().owner == member


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"seats": None}, "seats"),
        ({"kind": "tool"}, "seats"),
        ({"min_minutes": 600, "max_minutes": 60}, "min_minutes"),
        ({"price_per_hour_ore": -1}, "price_per_hour_ore"),
        ({"location": {"type": "Point", "coordinates": [LON, 95]}}, "location"),
        ({"location": {"type": "Point", "coordinates": [18.0686, 59.3293]}}, "location"),
        ({"title": ""}, "title"),
        ({"association": None}, "association"),
    ],
    ids=[
        "car-without-seats",
        "tool-with-seats",
        "min-above-max",
        "negative-price",
        "latitude-range",
        "outside-the-municipality",
        "blank-title",
        "no-association",
    ],
)
def test_bad_resource_is_refused_and_nothing_stored(
    api_as, coordinator, association, change, field
):
    payload = {**CAR, "association": association.pk, **change}
    payload = {key: value for key, value in payload.items() if value is not None or key == "seats"}
    error = error_of(
        api_as(coordinator).post("/api/v1/sharing/resources/", payload, format="json"), 400
    )
    assert field in error["fields"]
    assert not Resource.objects.exists()


def test_outsider_cannot_list_in_an_association(api_as, outsider, association):
    error = error_of(
        api_as(outsider).post(
            "/api/v1/sharing/resources/", {**CAR, "association": association.pk}, format="json"
        ),
        403,
    )
    assert error["code"] == "resource_not_allowed"
    assert not Resource.objects.exists()


def test_only_managers_edit(api_as, car, coordinator, member):
    error_of(
        api_as(member).patch(f"/api/v1/sharing/resources/{car.pk}", {"title": "X"}, format="json"),
        403,
    )
    response = api_as(coordinator).patch(
        f"/api/v1/sharing/resources/{car.pk}",
        {"title": "Byabilen 2", "buffer_minutes": 15},
        format="json",
    )
    assert response.status_code == 200
    car.refresh_from_db()
    assert (car.title, car.buffer_minutes) == ("Byabilen 2", 15)


def test_a_place_far_from_the_association_is_refused(api_as, car, coordinator, association):
    """A geocoder's hit in Stockholm for a car kept in Vansbro: neither listed nor moved
    there."""
    stockholm = {"type": "Point", "coordinates": [18.0686, 59.3293]}
    error = error_of(
        api_as(coordinator).post(
            "/api/v1/sharing/resources/",
            {**CAR, "association": association.pk, "location": stockholm},
            format="json",
            HTTP_ACCEPT_LANGUAGE="en",
        ),
        400,
    )
    message = (
        "This place is 218 km outside Vansbro, where Västerdalarnas byaskjuts is. Check the "
        "address or the pin on the map and choose a place in Vansbro."
    )
    assert error == {
        "code": "resource_outside_area",
        "message": message,
        "fields": {"location": [message]},
    }
    assert list(Resource.objects.values_list("pk", flat=True)) == [car.pk]
    error = error_of(
        api_as(coordinator).patch(
            f"/api/v1/sharing/resources/{car.pk}",
            {"title": "Byabilen 2", "location": stockholm},
            format="json",
        ),
        400,
    )
    assert error["code"] == "resource_outside_area"
    car.refresh_from_db()
    assert (car.title, car.location.x, car.location.y) == ("Byabilen", LON, LAT)
    # Nearby is fine.
    response = api_as(coordinator).patch(
        f"/api/v1/sharing/resources/{car.pk}",
        {"location": {"type": "Point", "coordinates": [14.3, 60.52]}},
        format="json",
    )
    assert response.status_code == 200, response.content
    car.refresh_from_db()
    assert (car.location.x, car.location.y) == (14.3, 60.52)


def _png() -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (2400, 1200), (10, 120, 10)).save(out, format="PNG")
    out.name = "bil.png"
    out.seek(0)
    return out


def test_photo_upload_is_resized_and_served(api_as, car, coordinator, member, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    response = api_as(coordinator).post(
        f"/api/v1/sharing/resources/{car.pk}/photos", {"image": _png()}, format="multipart"
    )
    assert response.status_code == 201, response.content
    assert (response.json()["width"], response.json()["height"]) == (1600, 800)
    assert response.json()["url"].endswith(".jpg")
    error = error_of(
        api_as(coordinator).post(
            f"/api/v1/sharing/resources/{car.pk}/photos",
            {"image": io.BytesIO(b"GIF89a broken")},
            format="multipart",
        ),
        400,
    )
    assert "image" in error["fields"]
    error_of(
        api_as(member).post(
            f"/api/v1/sharing/resources/{car.pk}/photos", {"image": _png()}, format="multipart"
        ),
        403,
    )
    assert ResourcePhoto.objects.count() == 1


def test_search_results_show_each_things_photos_in_order(
    api_as, car, hall, coordinator, member, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    for _ in range(2):
        uploaded = api_as(coordinator).post(
            f"/api/v1/sharing/resources/{car.pk}/photos", {"image": _png()}, format="multipart"
        )
        assert uploaded.status_code == 201, uploaded.content
    first, second = ResourcePhoto.objects.filter(resource=car).order_by("pk")
    ResourcePhoto.objects.filter(pk=first.pk).update(position=5)  # moved to the end

    rows = api_as(member).get("/api/v1/sharing/resources/", {"lon": LON, "lat": LAT}).json()

    by_title = {row["title"]: row for row in rows}
    shown = by_title[car.title]["photos"]
    assert [photo["id"] for photo in shown] == [second.pk, first.pk]
    assert shown[0] == {
        "id": second.pk,
        "url": second.image.url,
        "width": 1600,
        "height": 800,
    }
    assert by_title[hall.title]["photos"] == []


# --- A resource's page and calendar -------------------------------------------------------


def test_exact_place_and_key_only_to_who_needs_them(api_as, trailer, member, lender, coordinator):
    url = f"/api/v1/sharing/resources/{trailer.pk}"
    stranger_view = api_as(member).get(url).json()
    assert (stranger_view["pickup_instructions"], stranger_view["location_is_approximate"]) == (
        "",
        True,
    )
    assert api_as(lender).get(url).json()["pickup_instructions"] == "Storgatan 12, vid garaget"
    assert api_as(coordinator).get(url).json()["location_is_approximate"] is False
    BookingFactory(resource=trailer, booker=member)
    assert api_as(member).get(url).json()["pickup_instructions"] == "Storgatan 12, vid garaget"


def test_calendar_is_free_busy_to_others(api_as, car, member, coordinator, outsider):
    BookingFactory(
        resource=car,
        booker=member,
        starts_at=wednesday(10),
        ends_at=wednesday(12),
        blocked_until=wednesday(12, 30),
    )
    params = {"since": iso(wednesday(0)), "until": iso(wednesday(23))}
    url = f"/api/v1/sharing/resources/{car.pk}/calendar"
    other = api_as(outsider).get(url, params).json()
    assert other == [
        {
            "starts_at": other[0]["starts_at"],
            "ends_at": other[0]["ends_at"],
            "blocked_until": other[0]["blocked_until"],
            "status": "busy",
            "booking": None,
            "booker_name": None,
        }
    ]
    assert api_as(coordinator).get(url, params).json()[0]["booker_name"] == "Anna Berg"
    assert api_as(member).get(url, params).json()[0]["status"] == "confirmed"
    error_of(
        api_as(member).get(
            url,
            {"since": iso(wednesday(0)), "until": iso(wednesday(0) + datetime.timedelta(days=100))},
        ),
        400,
    )


# --- Booking --------------------------------------------------------------------------------


def test_book_and_overlap_says_when_it_is_free(api_as, car, member, django_assert_num_queries):
    url = f"/api/v1/sharing/resources/{car.pk}/bookings"
    response = api_as(member).post(
        url, {"starts_at": iso(wednesday(10)), "ends_at": iso(wednesday(12))}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["estimated_cost_ore"]) == ("confirmed", 6000)
    assert body["access"]["key_location"] == "Nyckelskåp vid affären, kod 1234"
    other = MembershipFactory(association=car.association).user
    error = error_of(
        api_as(other).post(
            url, {"starts_at": iso(wednesday(11)), "ends_at": iso(wednesday(13))}, format="json"
        ),
        409,
    )
    assert error["code"] == "booking_overlap"
    assert "12:30" in error["message"]
    assert Booking.objects.count() == 1


def test_the_answer_to_a_booking_is_the_stored_booking(api_as, car, hall, member):
    """The POST shows the booking it wrote without reading it back: the same JSON as the
    stored booking gives, confirmed at once (with the key) and waiting for the owner,
    booked by a proxy for someone else, with a note."""
    relative = ManagedProfileFactory(full_name="Greta Berg")
    MembershipFactory(association=car.association, user=relative)
    ProxyLink.objects.create(proxy=member, resident=relative, accepted_at=timezone.now())
    for resource, body, status in [
        (car, {"starts_at": iso(wednesday(10)), "ends_at": iso(wednesday(12))}, "confirmed"),
        (
            hall,
            {
                "starts_at": iso(wednesday(14)),
                "ends_at": iso(wednesday(18)),
                "booker": relative.pk,
                "note": "  Kalas för 30  ",
            },
            "requested",
        ),
    ]:
        response = api_as(member).post(
            f"/api/v1/sharing/resources/{resource.pk}/bookings", body, format="json"
        )
        assert response.status_code == 201, response.content
        assert response.json()["status"] == status
        stored = Booking.objects.get(pk=response.json()["id"])
        assert response.content == JSONRenderer().render(SharingBookingOutput(stored).data)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"starts_at": "tomorrow", "ends_at": "2030-01-01T10:00"}, "starts_at"),
        ({"ends_at": "2030-01-01T10:00"}, "starts_at"),
        ({"starts_at": "W12", "ends_at": "W10"}, "ends_at"),
        ({"starts_at": "W10", "ends_at": "W10:30"}, "ends_at"),
        ({"starts_at": "PAST", "ends_at": "W10"}, "starts_at"),
        ({"starts_at": "W10", "ends_at": "W12", "note": "x" * 501}, "note"),
    ],
    ids=["garbage-time", "missing-start", "reversed", "too-short", "past", "note-too-long"],
)
def test_bad_booking_input_is_400_and_stores_nothing(api_as, car, member, payload, field):
    def resolve(value):
        if value == "PAST":
            return iso(timezone.now() - datetime.timedelta(days=2))
        if isinstance(value, str) and value.startswith("W") and value[1:3].isdigit():
            hour, _, minute = value[1:].partition(":")
            return iso(wednesday(int(hour), int(minute or 0)))
        return value

    data = {key: resolve(value) for key, value in payload.items()}
    error = error_of(
        api_as(member).post(f"/api/v1/sharing/resources/{car.pk}/bookings", data, format="json"),
        400,
    )
    assert field in error["fields"]
    assert not Booking.objects.exists()
    assert not Notification.objects.exists()


def test_booking_body_that_is_not_json(api_as, car, member):
    response = api_as(member).generic(
        "POST",
        f"/api/v1/sharing/resources/{car.pk}/bookings",
        "{not json",
        content_type="application/json",
    )
    assert error_of(response, 400)["code"] == "parse_error"


def test_non_member_cannot_book_members_only(api_as, car, outsider):
    error = error_of(
        api_as(outsider).post(
            f"/api/v1/sharing/resources/{car.pk}/bookings",
            {"starts_at": iso(wednesday(10)), "ends_at": iso(wednesday(12))},
            format="json",
        ),
        403,
    )
    assert error["code"] == "booking_not_member"
    assert not Booking.objects.exists()


def test_my_bookings_list_is_a_fixed_number_of_queries(
    api_as, member, car, trailer, django_assert_num_queries
):
    for day in range(6):
        BookingFactory(
            resource=trailer,
            booker=member,
            starts_at=wednesday(8) + datetime.timedelta(days=7 * day),
            ends_at=wednesday(9) + datetime.timedelta(days=7 * day),
            blocked_until=wednesday(9) + datetime.timedelta(days=7 * day),
        )
    BookingFactory(resource=car, booker=UserFactory())
    # The page only: a first page that is not full is its own count.
    with django_assert_num_queries(1):
        response = api_as(member).get("/api/v1/sharing/bookings/", {"upcoming": "true"})
    rows = response.json()["results"]
    assert len(rows) == 6
    assert rows[0]["starts_at"] < rows[1]["starts_at"]


# --- Permissions per role --------------------------------------------------------------------


ROLES = [
    "booker",
    "proxy",
    "other_resident",
    "driver",
    "coordinator",
    "coordinator_elsewhere",
    "analyst",
    "owner",
]


@pytest.fixture
def people(member, coordinator, other_coordinator, outsider, lender, association):
    proxy = UserFactory()
    ProxyLink.objects.create(proxy=proxy, resident=member, accepted_at=timezone.now())
    analyst = UserFactory()
    MunicipalityAnalyst.objects.create(user=analyst, municipality=association.municipality)
    return {
        "booker": member,
        "proxy": proxy,
        "other_resident": outsider,
        "driver": DriverProfileFactory(membership__association=association).membership.user,
        "coordinator": coordinator,
        "coordinator_elsewhere": other_coordinator,
        "analyst": analyst,
        "owner": lender,
    }


def _requested(resource, booker):
    return BookingFactory(resource=resource, booker=booker, status=BookingStatus.REQUESTED)


# Who sees a booking of the resident's trailer, who approves it, who cancels it.
SEES = {"booker", "proxy", "coordinator", "owner"}
APPROVES = {"coordinator", "owner"}


@pytest.mark.parametrize("role", ROLES)
def test_booking_detail_per_role(api_as, people, trailer, role):
    booking = _requested(trailer, people["booker"])
    response = api_as(people[role]).get(f"/api/v1/sharing/bookings/{booking.pk}")
    assert response.status_code == (200 if role in SEES else 404)


@pytest.mark.parametrize("role", ROLES)
def test_approve_per_role(api_as, people, trailer, role):
    booking = _requested(trailer, people["booker"])
    response = api_as(people[role]).post(f"/api/v1/sharing/bookings/{booking.pk}/approve")
    expected = 200 if role in APPROVES else (403 if role in SEES else 404)
    assert response.status_code == expected, response.content
    booking.refresh_from_db()
    assert booking.status == ("confirmed" if role in APPROVES else "requested")


@pytest.mark.parametrize("role", ROLES)
def test_cancel_per_role(api_as, people, trailer, role):
    booking = _requested(trailer, people["booker"])
    response = api_as(people[role]).post(
        f"/api/v1/sharing/bookings/{booking.pk}/cancel",
        {"reason": "Ändrade planer"},
        format="json",
    )
    assert response.status_code == (200 if role in SEES else 404), response.content
    booking.refresh_from_db()
    assert booking.status == ("cancelled" if role in SEES else "requested")


def test_approvals_list_shows_what_i_may_approve(
    api_as, people, trailer, hall, django_assert_num_queries
):
    mine = _requested(trailer, people["booker"])
    hall_request = BookingFactory(
        resource=hall,
        booker=people["booker"],
        status=BookingStatus.REQUESTED,
        starts_at=wednesday(14),
        ends_at=wednesday(15),
        blocked_until=wednesday(15),
    )
    with django_assert_num_queries(1):  # the page (not full: no COUNT)
        owner_rows = api_as(people["owner"]).get("/api/v1/sharing/approvals/").json()["results"]
    assert [row["id"] for row in owner_rows] == [mine.pk]
    coordinator_rows = api_as(people["coordinator"]).get("/api/v1/sharing/approvals/").json()
    assert [row["id"] for row in coordinator_rows["results"]] == [mine.pk, hall_request.pk]
    assert (
        api_as(people["other_resident"]).get("/api/v1/sharing/approvals/").json()["results"] == []
    )


# --- Check-out and check-in ---------------------------------------------------------------


def test_check_out_and_in_through_the_api(api_as, car, member, coordinator):
    now = timezone.now()
    booking = BookingFactory(
        resource=car, booker=member, starts_at=now - H, ends_at=now + H, blocked_until=now + H
    )
    base = f"/api/v1/sharing/bookings/{booking.pk}"
    error = error_of(api_as(member).post(f"{base}/check-out", {}, format="json"), 400)
    assert error["code"] == "booking_odometer_required"
    response = api_as(member).post(
        f"{base}/check-out", {"odometer_km": 12_000, "condition": "Hel och ren"}, format="json"
    )
    assert response.json()["status"] == "checked_out"
    error = error_of(
        api_as(member).post(f"{base}/check-in", {"odometer_km": 11_000}, format="json"), 400
    )
    assert error["code"] == "booking_odometer_backwards"
    booking.refresh_from_db()
    assert (booking.status, booking.odometer_in) == ("checked_out", None)
    response = api_as(member).post(f"{base}/check-in", {"odometer_km": 12_100}, format="json")
    body = response.json()
    assert (body["status"], body["km_driven"], body["cost_ore"]) == (
        "returned",
        100,
        2 * 3000 + 100 * 150,
    )
    assert body["access"] is None


def test_breakdown_through_the_api(api_as, car, member, coordinator):
    BookingFactory(resource=car, booker=member)
    response = api_as(member).post(
        f"/api/v1/sharing/resources/{car.pk}/problems",
        {"kind": "breakdown", "text": "Punktering"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["out_of_service"] is True
    assert Booking.objects.get().status == "cancelled"
    error_of(
        api_as(member).post(
            f"/api/v1/sharing/resources/{car.pk}/problems",
            {"kind": "fire", "text": "x"},
            format="json",
        ),
        400,
    )
    error_of(api_as(member).post(f"/api/v1/sharing/resources/{car.pk}/back-in-service"), 403)
    assert (
        api_as(coordinator)
        .post(f"/api/v1/sharing/resources/{car.pk}/back-in-service")
        .json()["out_of_service"]
        is False
    )


def test_waitlist_through_the_api(api_as, trailer, member):
    BookingFactory(resource=trailer, booker=UserFactory())
    response = api_as(member).post(
        f"/api/v1/sharing/resources/{trailer.pk}/waitlist",
        {"starts_at": iso(wednesday(10)), "ends_at": iso(wednesday(12))},
        format="json",
    )
    assert response.status_code == 201
    error_of(
        api_as(member).post(
            f"/api/v1/sharing/resources/{trailer.pk}/waitlist",
            {"starts_at": iso(wednesday(12)), "ends_at": iso(wednesday(10))},
            format="json",
        ),
        400,
    )


def test_clearance_by_a_coordinator_only(api_as, car, member, coordinator):
    car.requires_clearance = True
    car.save()
    url = f"/api/v1/sharing/resources/{car.pk}/clearances"
    error_of(api_as(member).post(url, {"user": member.pk}, format="json"), 403)
    stranger = UserFactory()
    error_of(api_as(coordinator).post(url, {"user": stranger.pk}, format="json"), 404)
    error_of(api_as(coordinator).post(url, {"user": "x"}, format="json"), 400)
    assert (
        api_as(coordinator)
        .post(url, {"user": member.pk, "note": "Körkort visat"}, format="json")
        .status_code
        == 204
    )
    assert (
        api_as(member)
        .post(
            f"/api/v1/sharing/resources/{car.pk}/bookings",
            {"starts_at": iso(wednesday(10)), "ends_at": iso(wednesday(12))},
            format="json",
        )
        .status_code
        == 201
    )


# --- Calendar feed ---------------------------------------------------------------------------


def test_my_feed_address_serves_my_bookings_without_login(api_as, api, member, trailer, car):
    mine = BookingFactory(resource=trailer, booker=member)
    BookingFactory(resource=car, booker=UserFactory())
    url = api_as(member).get("/api/v1/sharing/feed").json()["url"]
    path = url.split("testserver", 1)[1]
    response = api.get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    events = Calendar.from_ical(response.content).walk("VEVENT")
    assert [str(e["uid"]) for e in events] == [f"booking-{mine.pk}@127.0.0.1:8000"]
    new_url = api_as(member).post("/api/v1/sharing/feed").json()["url"]
    assert new_url != url
    assert api.get(path).status_code == 404


def test_resource_feed_only_for_managers(api_as, api, trailer, member, lender):
    error_of(api_as(member).get(f"/api/v1/sharing/resources/{trailer.pk}/feed"), 403)
    url = api_as(lender).get(f"/api/v1/sharing/resources/{trailer.pk}/feed").json()["url"]
    assert api.get(url.split("testserver", 1)[1]).status_code == 200


def test_unknown_feed_token(api):
    assert api.get("/api/v1/sharing/feeds/nope.ics").status_code == 404


def test_unlisted_resource_is_invisible_to_others(api_as, member, association):
    hidden = ResourceFactory(association=association, active=False)
    assert api_as(member).get(f"/api/v1/sharing/resources/{hidden.pk}").status_code == 404
