"""A volunteer driver's own settings through the API: profile, weekly availability,
exceptions, duty, the live position the rider sees (over the real Redis channel layer),
and the logbook."""

import asyncio
import datetime
from urllib.parse import quote

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone
from rest_framework.test import APIClient

from backend.accounts.models import ProxyLink, User
from backend.community.models import Membership, Role
from backend.rides.availability import availability_windows_roll
from backend.rides.models import (
    AvailabilityException,
    AvailabilitySlot,
    AvailabilityWindow,
    DriverProfile,
    RideRequest,
    RideState,
)
from backend.rides.services import busy_range
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
)

pytestmark = pytest.mark.django_db

APPELBO = {"type": "Point", "coordinates": [14.0, 60.4667]}


def error_of(response, status: int) -> dict:
    """The body's error after checking the status and the API's one error shape."""
    assert response.status_code == status, response.content
    body = response.json()
    assert list(body) == ["error"]
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["message"]
    return error


def driver_member(association, name: str = "Erik Olsson", phone: str = "+46701740610") -> User:
    user = UserFactory(full_name=name, phone=phone)
    MembershipFactory(user=user, association=association, roles=[Role.MEMBER, Role.DRIVER])
    return user


def profile_of(user: User, association, **fields) -> DriverProfile:
    membership = Membership.objects.get(user=user, association=association)
    return DriverProfileFactory(membership=membership, **fields)


def profile_row(user: User) -> list[dict]:
    return list(
        DriverProfile.objects.filter(membership__user=user)
        .order_by("pk")
        .values(
            "service_radius_m",
            "seats",
            "vehicle_description",
            "wheelchair_accessible",
            "on_duty",
            "position",
            "position_at",
        )
    )


@pytest.fixture
def association():
    return AssociationFactory(name="Äppelbo byalag")


@pytest.fixture
def erik(association) -> User:
    return driver_member(association)


# --- Profile ---------------------------------------------------------------------------------


def test_driver_sets_up_and_changes_the_profile(association, erik, api_as):
    client = api_as(erik)
    assert error_of(client.get("/api/v1/driver/profile"), 404)["code"] == "not_found"

    response = client.put(
        "/api/v1/driver/profile",
        {
            "home_base": APPELBO,
            "service_radius_m": 25_000,
            "seats": 4,
            "wheelchair_accessible": True,
            "vehicle_description": "Blå Volvo V70",
        },
    )

    assert response.status_code == 200, response.content
    profile = DriverProfile.objects.get(membership__user=erik)
    expected = {
        "id": profile.pk,
        "association": association.pk,
        "home_base": APPELBO,
        "service_radius_m": 25_000,
        "seats": 4,
        "wheelchair_accessible": True,
        "walker_space": True,
        "child_seat": False,
        "takes_guide_dog": True,
        "vehicle_description": "Blå Volvo V70",
        "active": True,
        "on_duty": False,
    }
    assert response.json() == expected
    assert client.get("/api/v1/driver/profile").json() == expected

    response = client.put("/api/v1/driver/profile", {"seats": 2, "active": False})
    assert response.json() == {**expected, "seats": 2, "active": False}
    assert DriverProfile.objects.count() == 1


def test_a_new_profile_needs_a_home_base(erik, api_as):
    response = api_as(erik).put("/api/v1/driver/profile", {"seats": 3})

    error = error_of(response, 400)
    assert (error["code"], list(error["fields"])) == ("profile_invalid", ["home_base"])
    assert not DriverProfile.objects.exists()


@pytest.mark.parametrize(
    ("body", "code", "fields"),
    [
        ({"service_radius_m": 0}, "profile_invalid", ["service_radius_m"]),
        ({"service_radius_m": 100_001}, "profile_invalid", ["service_radius_m"]),
        ({"service_radius_m": "far"}, "invalid", ["service_radius_m"]),
        ({"seats": 0}, "profile_invalid", ["seats"]),
        ({"seats": 9}, "profile_invalid", ["seats"]),
        ({"home_base": {"lat": 60.47, "lon": 14.0}}, "invalid", ["home_base"]),
        ({"home_base": {"type": "Point", "coordinates": [14.0]}}, "invalid", ["home_base"]),
        ({"home_base": {"type": "Point", "coordinates": [14.0, 95.0]}}, "invalid", ["home_base"]),
        ({"vehicle_description": "V" * 101}, "invalid", ["vehicle_description"]),
    ],
    ids=[
        "radius-zero",
        "radius-over-100-km",
        "radius-not-a-number",
        "no-seats",
        "nine-seats",
        "point-not-geojson",
        "point-one-coordinate",
        "latitude-out-of-range",
        "car-description-too-long",
    ],
)
def test_bad_profile_is_refused_and_nothing_changes(association, erik, api_as, body, code, fields):
    profile_of(erik, association, seats=3, service_radius_m=20_000)
    before = profile_row(erik)

    response = api_as(erik).put("/api/v1/driver/profile", body)

    error = error_of(response, 400)
    assert (error["code"], list(error["fields"])) == (code, fields)
    assert profile_row(erik) == before


def test_a_member_without_the_driver_role_has_no_profile(association, api_as):
    anna = UserFactory(full_name="Anna Eriksson")
    MembershipFactory(user=anna, association=association)

    response = api_as(anna).put(
        f"/api/v1/driver/profile?association={association.pk}", {"home_base": APPELBO}
    )
    assert error_of(response, 409)["code"] == "not_driver"
    response = api_as(anna).put("/api/v1/driver/profile", {"home_base": APPELBO})
    assert error_of(response, 404)["code"] == "not_driver"
    assert not DriverProfile.objects.exists()


def test_a_driver_of_two_associations_says_which(association, erik, api_as):
    other = AssociationFactory(name="Dala-Järna PRO")
    MembershipFactory(user=erik, association=other, roles=[Role.MEMBER, Role.DRIVER])
    client = api_as(erik)

    error = error_of(client.put("/api/v1/driver/profile", {"home_base": APPELBO}), 400)
    assert (error["code"], list(error["fields"])) == ("association_required", ["association"])

    response = client.put(f"/api/v1/driver/profile?association={other.pk}", {"home_base": APPELBO})
    assert response.status_code == 200, response.content
    assert response.json()["association"] == other.pk
    stranger = AssociationFactory(name="Malung byalag")
    response = client.get(f"/api/v1/driver/profile?association={stranger.pk}")
    assert error_of(response, 404)["code"] == "not_found"


@pytest.mark.parametrize("raw", ["¹", "٣", "x1", "-1"])
def test_an_association_that_is_not_a_plain_number_is_400(erik, api_as, raw):
    """Unicode digits ("¹" is a digit to str.isdigit, not to int) are refused like letters,
    not a server error, and nothing is stored."""
    response = api_as(erik).put(
        "/api/v1/driver/profile", {"home_base": APPELBO}, QUERY_STRING=f"association={quote(raw)}"
    )

    error = error_of(response, 400)
    assert (error["code"], list(error["fields"])) == ("invalid", ["association"])
    assert not DriverProfile.objects.exists()


# --- Availability and exceptions ----------------------------------------------------------------


def slots_of(profile: DriverProfile) -> list[tuple]:
    return list(profile.slots.values_list("weekday", "start", "end"))


def test_availability_is_set_and_replaced(association, erik, api_as):
    profile = profile_of(erik, association)
    client = api_as(erik)

    response = client.put(
        "/api/v1/driver/availability",
        {
            "slots": [
                {"weekday": 2, "start": "13:00", "end": "17:30"},
                {"weekday": 0, "start": "08:00", "end": "12:00"},
            ]
        },
    )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "association": association.pk,
        "slots": [
            {"weekday": 0, "start": "08:00", "end": "12:00"},
            {"weekday": 2, "start": "13:00", "end": "17:30"},
        ],
    }
    response = client.put(
        "/api/v1/driver/availability",
        {
            "association": association.pk,
            "slots": [{"weekday": 6, "start": "10:00", "end": "14:00"}],
        },
    )
    assert response.json()["slots"] == [{"weekday": 6, "start": "10:00", "end": "14:00"}]
    assert slots_of(profile) == [(6, datetime.time(10), datetime.time(14))]
    assert client.put("/api/v1/driver/availability", {"slots": []}).json()["slots"] == []
    assert AvailabilitySlot.objects.count() == 0


@pytest.mark.parametrize(
    ("slot", "code", "fields"),
    [
        ({"weekday": 1, "start": "12:00", "end": "09:00"}, "slot_invalid", ["slots.1.end"]),
        ({"weekday": 1, "start": "12:00", "end": "12:00"}, "slot_invalid", ["slots.1.end"]),
        (
            {"weekday": 7, "start": "08:00", "end": "12:00"},
            "slot_weekday_invalid",
            ["slots.1.weekday"],
        ),
        (
            {"weekday": -1, "start": "08:00", "end": "12:00"},
            "slot_weekday_invalid",
            ["slots.1.weekday"],
        ),
        ({"weekday": 3, "start": "09:30", "end": "11:00"}, "slot_overlap", ["slots.1.start"]),
        ({"weekday": 3, "start": "07:00", "end": "08:30"}, "slot_overlap", ["slots.0.start"]),
        (
            {"weekday": 1, "start": "25:00", "end": "26:00"},
            "invalid",
            ["slots.1.end", "slots.1.start"],
        ),
        ({"weekday": 1, "start": "08:00"}, "invalid", ["slots.1.end"]),
        ({"weekday": "tisdag", "start": "08:00", "end": "12:00"}, "invalid", ["slots.1.weekday"]),
    ],
    ids=[
        "ends-before-it-starts",
        "ends-when-it-starts",
        "weekday-7",
        "weekday-minus-1",
        "overlaps-the-time-before",
        "overlaps-the-time-after",
        "hour-25",
        "no-end",
        "weekday-not-a-number",
    ],
)
def test_bad_slots_are_refused_and_the_old_week_stays(
    association, erik, api_as, slot, code, fields
):
    profile = profile_of(erik, association)
    AvailabilitySlotFactory(driver=profile, weekday=0)
    before = slots_of(profile)
    good = {"weekday": 3, "start": "08:00", "end": "10:00"}

    response = api_as(erik).put("/api/v1/driver/availability", {"slots": [good, slot]})

    error = error_of(response, 400)
    assert (error["code"], sorted(error["fields"])) == (code, fields)
    assert slots_of(profile) == before


def test_slot_errors_say_what_is_wrong_and_what_is_allowed(association, erik, api_as):
    profile_of(erik, association)
    client = api_as(erik)

    def refused(*slots) -> dict:
        response = client.put(
            "/api/v1/driver/availability", {"slots": list(slots)}, HTTP_ACCEPT_LANGUAGE="en"
        )
        return error_of(response, 400)

    assert refused({"weekday": 7, "start": "08:00", "end": "12:00"}) == {
        "code": "slot_weekday_invalid",
        "message": "There is no weekday 7. Use 0 (Monday) to 6 (Sunday).",
        "fields": {"slots.0.weekday": ["From 0 (Monday) to 6 (Sunday)."]},
    }
    assert refused({"weekday": 1, "start": "12:00", "end": "09:00"}) == {
        "code": "slot_invalid",
        "message": "Tuesday 12:00-09:00 ends before it starts. A time must end after it starts.",
        "fields": {"slots.0.end": ["Must be after the start."]},
    }
    assert refused(
        {"weekday": 4, "start": "13:00", "end": "17:00"},
        {"weekday": 4, "start": "08:00", "end": "13:30"},
    ) == {
        "code": "slot_overlap",
        "message": (
            "Friday 13:00-17:00 overlaps Friday 08:00-13:30. Join them into one time or change one."
        ),
        "fields": {"slots.0.start": ["Overlaps Friday 08:00-13:30."]},
    }
    assert AvailabilitySlot.objects.count() == 0


def test_slots_that_only_touch_or_are_on_other_days_are_fine(association, erik, api_as):
    profile = profile_of(erik, association)
    slots = [
        {"weekday": 4, "start": "12:00", "end": "16:00"},
        {"weekday": 4, "start": "08:00", "end": "12:00"},
        {"weekday": 5, "start": "08:00", "end": "16:00"},
    ]

    response = api_as(erik).put("/api/v1/driver/availability", {"slots": slots})

    assert response.status_code == 200, response.content
    assert slots_of(profile) == [
        (4, datetime.time(8), datetime.time(12)),
        (4, datetime.time(12), datetime.time(16)),
        (5, datetime.time(8), datetime.time(16)),
    ]


def test_a_profile_with_several_mistakes_names_each_field(association, erik, api_as):
    profile_of(erik, association, seats=3, service_radius_m=20_000)
    before = profile_row(erik)

    response = api_as(erik).put(
        "/api/v1/driver/profile",
        {"service_radius_m": 200_000, "seats": 12},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    radius = "The service radius must be from 500 to 100000 metres (0.5 to 100 km)."
    seats = "A car has from 1 to 8 passenger seats."
    assert error_of(response, 400) == {
        "code": "profile_invalid",
        "message": f"{radius} {seats}",
        "fields": {"service_radius_m": [radius], "seats": [seats]},
    }
    assert profile_row(erik) == before


def test_availability_needs_a_driver_profile(association, erik, api_as):
    response = api_as(erik).put("/api/v1/driver/availability", {"slots": []})

    assert error_of(response, 404)["code"] == "driver_profile_missing"


def test_exceptions_away_and_extra(association, erik, api_as):
    profile = profile_of(erik, association)
    client = api_as(erik)
    day = timezone.localdate() + datetime.timedelta(days=3)
    next_day = day + datetime.timedelta(days=1)

    away = client.post("/api/v1/driver/exceptions", {"date": day.isoformat(), "kind": "away"})
    extra = client.post(
        "/api/v1/driver/exceptions",
        {"date": next_day.isoformat(), "kind": "extra", "start": "18:00", "end": "20:00"},
    )

    assert away.status_code == 201, away.content
    assert away.json() == {
        "id": away.json()["id"],
        "date": day.isoformat(),
        "kind": "away",
        "start": None,
        "end": None,
    }
    assert extra.status_code == 201, extra.content
    assert (extra.json()["kind"], extra.json()["start"], extra.json()["end"]) == (
        "extra",
        "18:00",
        "20:00",
    )
    assert list(profile.exceptions.order_by("pk").values_list("kind", flat=True)) == [
        "away",
        "extra",
    ]


@pytest.mark.parametrize(
    ("body", "code", "fields"),
    [
        ({"kind": "extra"}, "exception_invalid", ["start"]),
        ({"kind": "extra", "start": "12:00"}, "exception_invalid", ["end"]),
        ({"kind": "away", "start": "12:00", "end": "10:00"}, "exception_invalid", ["end"]),
        ({"kind": "away", "start": "12:00"}, "exception_invalid", ["end"]),
        ({"kind": "away", "end": "12:00"}, "exception_invalid", ["start"]),
        ({"kind": "holiday"}, "invalid", ["kind"]),
        ({"kind": "away", "date": "2020-01-01"}, "time_in_past", ["date"]),
        ({"kind": "away", "date": "9999-12-31"}, "time_too_far_ahead", ["date"]),
        ({"kind": "away", "date": "igår"}, "invalid", ["date"]),
    ],
    ids=[
        "extra-without-times",
        "extra-without-end",
        "ends-before-it-starts",
        "start-without-end",
        "end-without-start",
        "unknown-kind",
        "day-passed",
        "more-than-a-year-ahead",
        "not-a-date",
    ],
)
def test_bad_exception_is_refused(association, erik, api_as, body, code, fields):
    profile_of(erik, association)
    day = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()

    response = api_as(erik).post("/api/v1/driver/exceptions", {"date": day, **body})

    error = error_of(response, 400)
    assert (error["code"], list(error["fields"])) == (code, fields)
    assert not AvailabilityException.objects.exists()


def _windows_on(profile: DriverProfile, day: datetime.date) -> list[tuple]:
    return list(
        AvailabilityWindow.objects.filter(driver=profile, day=day)
        .order_by("during")
        .values_list("during", flat=True)
    )


def test_removing_a_day_away_makes_the_week_apply_again(association, erik, api_as):
    availability_windows_roll()  # the windows' dates, as the beat task builds them
    profile = profile_of(erik, association)
    client = api_as(erik)
    day = timezone.localdate() + datetime.timedelta(days=3)
    client.put(
        "/api/v1/driver/availability",
        {"slots": [{"weekday": day.weekday(), "start": "08:00", "end": "12:00"}]},
        format="json",
    )
    week = _windows_on(profile, day)
    assert week
    away = client.post("/api/v1/driver/exceptions", {"date": day.isoformat(), "kind": "away"})
    kept = client.post(
        "/api/v1/driver/exceptions",
        {"date": (day + datetime.timedelta(days=1)).isoformat(), "kind": "away"},
    )
    assert _windows_on(profile, day) == []

    response = client.delete(f"/api/v1/driver/exceptions/{away.json()['id']}")

    assert (response.status_code, response.content) == (204, b"")
    assert list(profile.exceptions.values_list("pk", flat=True)) == [kept.json()["id"]]
    assert _windows_on(profile, day) == week  # the driver can be asked that day again
    again = client.delete(f"/api/v1/driver/exceptions/{away.json()['id']}")
    assert error_of(again, 404)["code"] == "not_found"


def test_another_drivers_exception_is_404_and_stays(association, erik, api_as):
    profile_of(erik, association)
    olle = driver_member(association, "Olle Berg", "+46701740612")
    theirs = AvailabilityException.objects.create(
        driver=profile_of(olle, association),
        date=timezone.localdate() + datetime.timedelta(days=3),
        kind="away",
    )
    coordinator = UserFactory()
    MembershipFactory(
        user=coordinator, association=association, roles=[Role.MEMBER, Role.COORDINATOR]
    )

    for person in (erik, coordinator):
        response = api_as(person).delete(f"/api/v1/driver/exceptions/{theirs.pk}")
        assert error_of(response, 404)["code"] == "not_found"
    assert AvailabilityException.objects.filter(pk=theirs.pk).exists()


# --- Duty and the live position ---------------------------------------------------------------


def _riding(association, driver: DriverProfile, rider: User, state: str, **fields) -> RideRequest:
    ride = RideRequestFactory(rider=rider, association=association, **fields)
    ride.state, ride.driver = state, driver
    ride.planned_pickup = ride.earliest_pickup
    ride.busy = busy_range(ride, ride.earliest_pickup)
    ride.save()
    return ride


class Listener:
    """A channel of our own in a person's live group: what their open app would get."""

    def __init__(self, user: User) -> None:
        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)("test.")
        async_to_sync(self.layer.group_add)(f"user.{user.pk}", self.channel)

    def receive(self, timeout: float = 3.0) -> dict | None:
        async def wait() -> dict | None:
            try:
                return await asyncio.wait_for(self.layer.receive(self.channel), timeout)
            except TimeoutError:
                return None

        return async_to_sync(wait)()


def test_duty_on_and_off_forgets_the_position(association, erik, api_as):
    profile = profile_of(erik, association)
    client = api_as(erik)

    response = client.post("/api/v1/driver/duty", {"on_duty": True})
    assert (response.status_code, response.json()["on_duty"]) == (200, True)
    assert client.post("/api/v1/driver/position", {"point": APPELBO}).json() == {"sent_to": 0}
    profile.refresh_from_db()
    assert (profile.position.x, profile.position.y) == (14.0, 60.4667)

    response = client.post("/api/v1/driver/duty", {"on_duty": False})
    assert (response.status_code, response.json()["on_duty"]) == (200, False)
    profile.refresh_from_db()
    assert (profile.on_duty, profile.position, profile.position_at) == (False, None, None)


def test_position_reaches_the_rider_and_whoever_booked_for_them(association, erik, api_as):
    profile = profile_of(erik, association, on_duty=True)
    anna = UserFactory(full_name="Anna Eriksson")
    lena = UserFactory(full_name="Lena Eriksson")
    ProxyLink.objects.create(proxy=lena, resident=anna, accepted_at=timezone.now())
    ride = _riding(association, profile, anna, RideState.EN_ROUTE, requested_by=lena)
    # A ride later in the week is not under way: its rider is not shown anything.
    bo = UserFactory(full_name="Bo Nilsson")
    _riding(association, profile, bo, RideState.ACCEPTED, earliest_pickup=next_weekday_at(3, 9))
    listeners = {user.full_name: Listener(user) for user in (anna, lena, bo)}

    response = api_as(erik).post(
        "/api/v1/driver/position", {"point": {"type": "Point", "coordinates": [14.1, 60.5]}}
    )

    assert response.status_code == 200, response.content
    assert response.json() == {"sent_to": 2}
    profile.refresh_from_db()
    for name in ("Anna Eriksson", "Lena Eriksson"):
        message = listeners[name].receive()
        assert message == {
            "type": "live.event",
            "event": {
                "type": "driver.position",
                "ride": ride.pk,
                "position": [14.1, 60.5],
                "at": profile.position_at.isoformat(),
            },
        }
    assert listeners["Bo Nilsson"].receive(timeout=0.5) is None


def test_position_is_refused_off_duty_and_nothing_is_sent(association, erik, api_as):
    profile = profile_of(erik, association, on_duty=False)
    anna = UserFactory(full_name="Anna Eriksson")
    _riding(association, profile, anna, RideState.EN_ROUTE)
    listener = Listener(anna)
    before = profile_row(erik)

    response = api_as(erik).post("/api/v1/driver/position", {"point": APPELBO})

    assert error_of(response, 409)["code"] == "ride_wrong_state"
    assert profile_row(erik) == before
    assert listener.receive(timeout=0.5) is None


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["point"]),
        ({"point": [14.0, 60.4]}, ["point"]),
        ({"point": APPELBO, "association": "x"}, ["association"]),
    ],
    ids=["no-point", "point-as-a-list", "association-not-a-number"],
)
def test_bad_position_is_400(association, erik, api_as, body, fields):
    profile_of(erik, association, on_duty=True)
    before = profile_row(erik)

    error = error_of(api_as(erik).post("/api/v1/driver/position", body), 400)

    assert (error["code"], list(error["fields"])) == ("invalid", fields)
    assert profile_row(erik) == before


# --- Logbook ----------------------------------------------------------------------------------


def test_logbook_lists_my_completed_rides(association, erik, api_as, django_assert_max_num_queries):
    profile = profile_of(erik, association)
    village = VillageFactory(name="Äppelbo", location=VANSBRO)
    closed = timezone.now() - datetime.timedelta(days=2)

    def completed(driven_m, closed_at, driver=profile) -> RideRequest:
        ride = _riding(
            association,
            driver,
            UserFactory(),
            RideState.COMPLETED,
            village=village,
            earliest_pickup=closed_at,
        )
        RideRequest.objects.filter(pk=ride.pk).update(closed_at=closed_at, driven_m=driven_m)
        return ride

    older = completed(12_345, closed - datetime.timedelta(days=1))
    newer = completed(8_051, closed)
    _riding(association, profile, UserFactory(), RideState.ACCEPTED, destination=DALA_JARNA)
    sven = driver_member(association, "Sven Holm", "+46701740611")
    completed(5_000, closed, driver=profile_of(sven, association))
    client = api_as(erik)

    with django_assert_max_num_queries(3):
        response = client.get("/api/v1/driver/logbook")

    assert response.status_code == 200, response.content
    assert response.json()["results"] == [
        {
            "ride": newer.pk,
            "date": timezone.localdate(closed).isoformat(),
            "village": "Äppelbo",
            "km": 8.1,
            "claim": None,
        },
        {
            "ride": older.pk,
            "date": timezone.localdate(closed - datetime.timedelta(days=1)).isoformat(),
            "village": "Äppelbo",
            "km": 12.3,
            "claim": None,
        },
    ]
    for days in range(3, 13):
        completed(1_000, closed - datetime.timedelta(days=days))
    with django_assert_max_num_queries(3):
        assert client.get("/api/v1/driver/logbook").json()["count"] == 12


def test_the_logbook_dates_a_ride_by_its_day_not_by_when_it_was_marked_done(
    association, erik, api_as
):
    profile = profile_of(erik, association)
    picked = timezone.now() - datetime.timedelta(days=3)
    ride = _riding(association, profile, UserFactory(), RideState.COMPLETED, earliest_pickup=picked)
    RideRequest.objects.filter(pk=ride.pk).update(
        closed_at=picked + datetime.timedelta(days=1), driven_m=9_000
    )

    [row] = api_as(erik).get("/api/v1/driver/logbook").json()["results"]

    assert row["date"] == timezone.localdate(picked).isoformat()


def test_an_exception_at_the_same_time_as_another_is_409(association, erik, api_as):
    profile = profile_of(erik, association)
    client = api_as(erik)
    day = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    assert (
        client.post("/api/v1/driver/exceptions", {"date": day, "kind": "away"}).status_code == 201
    )

    response = client.post(
        "/api/v1/driver/exceptions",
        {"date": day, "kind": "extra", "start": "18:00", "end": "20:00"},
    )

    assert (error_of(response, 409)["code"], profile.exceptions.count()) == (
        "exception_clash",
        1,
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/driver/profile"),
        ("put", "/api/v1/driver/profile"),
        ("put", "/api/v1/driver/availability"),
        ("post", "/api/v1/driver/exceptions"),
        ("delete", "/api/v1/driver/exceptions/1"),
        ("post", "/api/v1/driver/duty"),
        ("post", "/api/v1/driver/position"),
        ("get", "/api/v1/driver/logbook"),
    ],
)
def test_driver_endpoints_need_a_login(method, path):
    response = getattr(APIClient(), method)(path, {})

    assert error_of(response, 403)["code"] == "not_authenticated"


def test_position_moves_the_driver_on_the_coordinators_board(association, erik, api_as):
    profile = profile_of(erik, association, on_duty=True)
    coordinator = MembershipFactory(
        association=association, roles=[Role.MEMBER, Role.COORDINATOR]
    ).user
    elsewhere = MembershipFactory(roles=[Role.MEMBER, Role.COORDINATOR]).user
    listeners = {"here": Listener(coordinator), "elsewhere": Listener(elsewhere)}

    response = api_as(erik).post(
        "/api/v1/driver/position", {"point": {"type": "Point", "coordinates": [14.1, 60.5]}}
    )

    assert response.status_code == 200, response.content
    assert listeners["here"].receive() == {
        "type": "live.event",
        "event": {"type": "board.driver", "driver": profile.pk, "position": [14.1, 60.5]},
    }
    assert listeners["elsewhere"].receive(timeout=0.5) is None
