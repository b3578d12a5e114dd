"""POST /api/v1/carpool/departures/<pk>/move: the driver (or a coordinator of the driver's
association, who may cancel it too) gives one departure a new time. Bad input is a 4xx with
a message and the field, and changes nothing."""

import datetime as dt

import pytest
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from backend.accounts.models import ProxyLink
from backend.carpool.models import Booking, OccurrenceStatus, TripOccurrence
from backend.community.models import MunicipalityAnalyst
from backend.notifications.models import Notification
from tests.carpool_fixtures import along
from tests.factories import AssociationFactory, MembershipFactory, UserFactory, coordinator_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_router(settings):
    settings.ROUTER_URL = ""


def url(occurrence: TripOccurrence) -> str:
    return f"/api/v1/carpool/departures/{occurrence.pk}/move"


def geo(point) -> dict:
    return {"type": "Point", "coordinates": [point.x, point.y]}


@pytest.fixture
def booked(api_as, publish, passenger):
    """Next Monday 07:00 with the passenger's seat request on it."""
    occurrence = publish().occurrences.get()
    response = api_as(passenger).post(
        "/api/v1/carpool/bookings/",
        {
            "departure": occurrence.pk,
            "pickup": geo(along(0.1, 300)),
            "pickup_address": "Byvägen 3, Mellanby",
            "dropoff": geo(along(0.9)),
            "dropoff_address": "Skolan, Öst",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    Notification.objects.all().delete()
    return occurrence


def snapshot() -> list[tuple]:
    return [
        *TripOccurrence.objects.order_by("pk").values_list("pk", "departure_at", "span"),
        *Booking.objects.order_by("pk").values_list("pk", "pickup_at", "dropoff_at"),
        ("notifications", Notification.objects.count()),
    ]


def test_the_driver_moves_a_departure_and_the_passenger_is_told(
    api_as, booked, carpool_driver, passenger
):
    booking = Booking.objects.get()
    new = booked.departure_at + dt.timedelta(minutes=15)
    response = api_as(carpool_driver).post(
        url(booked), {"departure_at": new.isoformat()}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["status"]) == (booked.pk, "published")
    assert dt.datetime.fromisoformat(body["departure_at"]) == new
    [seat] = body["bookings"]
    moved_pickup = booking.pickup_at + dt.timedelta(minutes=15)
    assert dt.datetime.fromisoformat(seat["pickup_at"]) == moved_pickup
    [note] = Notification.objects.filter(recipient=passenger, kind="carpool.departure_moved")
    assert note.payload == {
        "before": timezone.localtime(booking.pickup_at).strftime("%Y-%m-%d %H:%M"),
        "when": timezone.localtime(moved_pickup).strftime("%Y-%m-%d %H:%M"),
    }


def test_a_time_without_an_offset_is_swedish_time(api_as, booked, carpool_driver):
    local = timezone.localtime(booked.departure_at) + dt.timedelta(minutes=30)
    naive = local.replace(tzinfo=None).isoformat()
    response = api_as(carpool_driver).post(url(booked), {"departure_at": naive}, format="json")
    assert response.status_code == 200, response.content
    booked.refresh_from_db()
    assert booked.departure_at == local


def test_the_same_minute_is_answered_with_the_departure_unchanged(api_as, booked, carpool_driver):
    before = snapshot()
    same = booked.departure_at + dt.timedelta(seconds=20)
    response = api_as(carpool_driver).post(
        url(booked), {"departure_at": same.isoformat()}, format="json"
    )
    assert response.status_code == 200
    assert dt.datetime.fromisoformat(response.json()["departure_at"]) == booked.departure_at
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "invalid"),
        ({"departure_at": "Thursday at a quarter to eight"}, 400, "invalid"),
        ({"departure_at": None}, 400, "invalid"),
        ({"departure_at": 1234}, 400, "invalid"),
        ({"departure_at": "0001-01-01T00:00:00"}, 400, "invalid"),
        ("past", 400, "time_in_past"),
        ("13-hours-later", 400, "move_too_far"),
        ("13-hours-earlier", 400, "move_too_far"),
        ("another-departure", 409, "departure_time_taken"),
    ],
    ids=[
        "missing",
        "not-a-time",
        "null",
        "number",
        "year-one",
        "past",
        "13-hours-later",
        "13-hours-earlier",
        "another-departures-time",
    ],
)
def test_bad_times_are_refused_with_a_message_and_change_nothing(
    api_as, booked, carpool_driver, body, status, code
):
    at = booked.departure_at
    if body == "another-departure":
        other = at + dt.timedelta(hours=2)
        TripOccurrence.objects.create(
            trip=booked.trip,
            departure_at=other,
            span=DateTimeTZRange(other, other + dt.timedelta(hours=1), "[)"),
            route=booked.route,
            seats_total=3,
        )
        body = {"departure_at": other.isoformat()}
    elif isinstance(body, str):
        body = {
            "past": {"departure_at": (timezone.now() - dt.timedelta(hours=1)).isoformat()},
            "13-hours-later": {"departure_at": (at + dt.timedelta(hours=13)).isoformat()},
            "13-hours-earlier": {"departure_at": (at - dt.timedelta(hours=13)).isoformat()},
        }[body]
        if code == "time_in_past":  # within reach of the departure: the past is the reason
            soon = timezone.now() + dt.timedelta(hours=2)
            TripOccurrence.objects.filter(pk=booked.pk).update(
                departure_at=soon, span=DateTimeTZRange(soon, soon + dt.timedelta(hours=1), "[)")
            )
    before = snapshot()
    response = api_as(carpool_driver).post(url(booked), body, format="json")
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert list(error["fields"]) == ["departure_at"]
    assert snapshot() == before


@pytest.mark.parametrize("status", [OccurrenceStatus.DEPARTED, OccurrenceStatus.CANCELLED])
def test_a_departure_that_left_or_was_cancelled_is_409(api_as, booked, carpool_driver, status):
    TripOccurrence.objects.filter(pk=booked.pk).update(status=status)
    before = snapshot()
    new = booked.departure_at + dt.timedelta(minutes=15)
    response = api_as(carpool_driver).post(
        url(booked), {"departure_at": new.isoformat()}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "trip_not_bookable"
    assert snapshot() == before


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("driver", 200),
        ("coordinator", 200),  # as for cancelling it: the coordinator acts for the driver
        ("passenger", 404),
        ("other_member", 404),
        ("coordinator_elsewhere", 404),
        ("analyst", 404),
        ("proxy", 404),
        ("anonymous", 403),
    ],
)
def test_who_may_move_a_departure(
    api, api_as, booked, carpool_driver, coordinator, passenger, association, role, status
):
    proxy = UserFactory()
    ProxyLink.objects.create(
        proxy=proxy, resident=passenger, relationship="son", accepted_at=timezone.now()
    )
    analyst = UserFactory()
    MunicipalityAnalyst.objects.create(user=analyst, municipality=association.municipality)
    people = {
        "driver": carpool_driver,
        "coordinator": coordinator,
        "passenger": passenger,
        "other_member": MembershipFactory(association=association).user,
        "coordinator_elsewhere": coordinator_of(AssociationFactory()),
        "analyst": analyst,
        "proxy": proxy,
    }
    client = api if role == "anonymous" else api_as(people[role])
    before = snapshot()
    new = booked.departure_at + dt.timedelta(minutes=15)
    response = client.post(url(booked), {"departure_at": new.isoformat()}, format="json")
    assert response.status_code == status
    if status == 200:
        booked.refresh_from_db()
        assert booked.departure_at == new
    else:
        assert snapshot() == before
