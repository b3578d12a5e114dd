"""Generated bad and good input through the HTTP API: times (ride windows, drivers'
weeks and exceptions, bookings of shared things, carpool departures and their RRULEs,
across the DST nights of Europe/Stockholm and midnight) and points (on every endpoint
that takes one). Every request gives a stored object whose invariants hold, or a 4xx
with a message (and for a 400, the field) and nothing stored. Never a 500."""

import datetime as dt
import itertools
import json
from zoneinfo import ZoneInfo

import hypothesis
import pytest
from django.core.cache import cache
from django.utils import timezone
from hypothesis import event, given
from hypothesis import strategies as st

from backend.carpool.models import Trip, TripOccurrence
from backend.rides.models import AvailabilityException, AvailabilitySlot, RideRequest
from backend.sharing.models import Booking as SharingBooking
from backend.sharing.models import Resource
from backend.shuttle.models import RunOccurrence, RunSchedule
from tests.backend.test_rrules import rules as rule_texts
from tests.carpool_fixtures import EAST, WEST
from tests.factories import DALA_JARNA, VANSBRO

pytestmark = pytest.mark.django_db

STOCKHOLM = ZoneInfo("Europe/Stockholm")
SETTINGS = hypothesis.settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)


def wall(*args: int) -> dt.datetime:
    """A wall-clock time without a zone: hypothesis takes naive bounds."""
    return dt.datetime(*args)  # noqa: DTZ001


def post(client, url: str, body, method: str = "post"):
    """Raw JSON, so NaN and Infinity reach the server as a client could send them."""
    cache.clear()  # rate limits count across examples otherwise
    text = json.dumps(body, allow_nan=True)
    return getattr(client, method)(url, data=text, content_type="application/json")


def assert_refused_with_message(response, before: int, after: int) -> None:
    event(f"refused {response.status_code} {response.json()['error']['code']}")
    assert 400 <= response.status_code < 500, response.content
    error = response.json()["error"]
    assert error["message"]
    if response.status_code == 400:
        assert error["fields"] or error["code"] == "parse_error"
    assert after == before, "a refused request stored something"


# --- Times ---------------------------------------------------------------------------------

SPRING_FORWARD = wall(2027, 3, 28, 0)
FALL_BACK = wall(2027, 10, 31, 0)


def near_now() -> st.SearchStrategy[dt.datetime]:
    return st.integers(-3 * 24 * 60, 20 * 24 * 60).map(
        lambda minutes: (timezone.now() + dt.timedelta(minutes=minutes)).astimezone(STOCKHOLM)
    )


local_moments = st.one_of(
    near_now(),
    st.datetimes(SPRING_FORWARD, SPRING_FORWARD + dt.timedelta(hours=5)),
    st.datetimes(FALL_BACK, FALL_BACK + dt.timedelta(hours=5)),
    st.datetimes(wall(2026, 11, 1), wall(2028, 1, 1)),
).map(lambda moment: moment if moment.tzinfo else moment.replace(tzinfo=STOCKHOLM))
time_texts = st.one_of(
    local_moments.map(lambda m: m.isoformat()),
    local_moments.map(lambda m: m.replace(tzinfo=None).isoformat()),  # no offset
    local_moments.map(lambda m: m.astimezone(dt.timezone(dt.timedelta(hours=14))).isoformat()),
    st.sampled_from(
        [
            "0001-01-01T00:00:00+14:00",
            "0001-01-01T00:00:00",
            "9999-12-31T23:59:59-12:00",
            "9999-12-31T23:59:59",
            "2027-02-30T10:00:00",
            "2027-03-28T02:30:00",
            "2027-10-31T02:30:00",
            "24:00",
            "",
            "tomorrow",
        ]
    ),
    st.none(),
    st.integers(),
    st.booleans(),
    st.just([]),
)


def a_ride(time: dict) -> dict:
    return {
        "pickup": {"address": "Järnvägsgatan 4", "point": geojson(VANSBRO)},
        "destination": {"address": "Vårdcentralen", "point": geojson(DALA_JARNA)},
        "time": time,
    }


def geojson(point) -> dict:
    return {"type": "Point", "coordinates": [point.x, point.y]}


ride_times = st.fixed_dictionaries(
    {"kind": st.sampled_from(["asap", "pickup_at", "arrive_by", "window", "soon", ""])},
    optional={"at": time_texts, "window_start": time_texts, "window_end": time_texts},
)


@SETTINGS
@given(time=ride_times, return_at=st.one_of(st.nothing(), time_texts))
def test_a_ride_request_time_is_stored_sane_or_refused(api_as, rider, time, return_at):
    body = a_ride(time)
    if return_at is not None:
        body["return_at"] = return_at
    before = RideRequest.objects.count()
    response = post(api_as(rider), "/api/v1/rides/", body)
    if response.status_code != 201:
        assert_refused_with_message(response, before, RideRequest.objects.count())
        return
    event("stored")
    ride = RideRequest.objects.get(pk=response.json()["id"])
    assert ride.earliest_pickup <= ride.latest_pickup
    assert ride.latest_pickup - ride.earliest_pickup <= dt.timedelta(days=14)
    assert ride.earliest_pickup >= ride.created_at - dt.timedelta(seconds=1)
    if ride.arrive_by is not None:
        assert ride.latest_pickup + dt.timedelta(seconds=ride.duration_s) <= ride.arrive_by


@pytest.mark.parametrize(
    ("time", "return_at", "field"),
    [
        (
            {"kind": "pickup_at", "at": "9999-12-31T23:59:59+01:00"},
            "9999-12-31T23:59:59+01:00",
            "time.at",
        ),
        ({"kind": "arrive_by", "at": "9999-12-31T23:59:59+01:00"}, None, "time.at"),
        ({"kind": "asap"}, "9999-12-31T23:59:59+01:00", "return_at"),
    ],
    ids=["pickup-at-year-9999", "arrive-by-year-9999", "return-year-9999"],
)
def test_a_ride_more_than_a_year_ahead_is_refused(api_as, rider, time, return_at, field):
    """Found by the property above: a pickup at the end of year 9999 plus a return trip
    overflowed the date arithmetic (a 500). Nobody books a year ahead."""
    body = a_ride(time)
    if return_at is not None:
        body["return_at"] = return_at
    response = post(api_as(rider), "/api/v1/rides/", body)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "time_too_far_ahead"
    assert field in error["fields"]
    assert not RideRequest.objects.exists()


clock_texts = st.one_of(
    st.times().map(lambda t: t.strftime("%H:%M")),
    st.times().map(lambda t: t.strftime("%H:%M")),
    st.sampled_from(["00:00", "23:59", "24:00", "02:30", "25:00", "12:60", "", "noon", "-1:00"]),
    st.none(),
    st.integers(),
)
hours = st.integers(0, 23).map(lambda h: f"{h:02d}:00")
slots = st.lists(
    st.fixed_dictionaries(
        {
            "weekday": st.one_of(
                st.integers(0, 6), st.integers(-2, 9), st.sampled_from(["1", "mon", None])
            ),
            "start": st.one_of(hours, hours, clock_texts),
            "end": st.one_of(hours, hours, clock_texts),
        }
    ),
    max_size=5,
)


@SETTINGS
@given(week=slots)
def test_a_drivers_week_is_stored_without_overlaps_or_refused(api_as, driver, week):
    client = api_as(driver.membership.user)
    before = sorted(AvailabilitySlot.objects.values_list("weekday", "start", "end"))
    response = post(client, "/api/v1/driver/availability", {"slots": week}, method="put")
    after = sorted(AvailabilitySlot.objects.values_list("weekday", "start", "end"))
    if response.status_code != 200:
        assert_refused_with_message(response, len(before), len(after))
        assert after == before
        return
    event("stored")
    for day in range(7):
        times = sorted((s, e) for w, s, e in after if w == day)
        assert all(start < end for start, end in times)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(times))
    assert all(0 <= w <= 6 for w, _, _ in after)


dates = st.one_of(
    st.dates(dt.date(2026, 11, 1), dt.date(2028, 1, 1)).map(str),
    st.sampled_from(["2027-03-28", "2027-10-31", "2027-02-30", "0001-01-01", "9999-12-31", ""]),
)


@SETTINGS
@given(
    exception=st.fixed_dictionaries(
        {"date": dates, "kind": st.sampled_from(["away", "extra", "holiday", ""])},
        optional={"start": clock_texts, "end": clock_texts},
    )
)
def test_an_away_or_extra_day_is_stored_sane_or_refused(api_as, driver, exception):
    before = AvailabilityException.objects.count()
    response = post(api_as(driver.membership.user), "/api/v1/driver/exceptions", exception)
    if response.status_code != 201:
        assert_refused_with_message(response, before, AvailabilityException.objects.count())
        return
    event("stored")
    stored = AvailabilityException.objects.get(pk=response.json()["id"])
    if stored.start is not None or stored.end is not None:
        assert stored.start is not None and stored.end is not None
        assert stored.start < stored.end


@SETTINGS
@given(starts_at=time_texts, ends_at=time_texts)
def test_a_booking_of_a_shared_thing_is_stored_sane_or_refused(
    api_as, member, car, starts_at, ends_at
):
    before = SharingBooking.objects.count()
    response = post(
        api_as(member),
        f"/api/v1/sharing/resources/{car.pk}/bookings",
        {"starts_at": starts_at, "ends_at": ends_at},
    )
    if response.status_code != 201:
        assert_refused_with_message(response, before, SharingBooking.objects.count())
        return
    event("stored")
    booking = SharingBooking.objects.get(pk=response.json()["id"])
    assert booking.starts_at < booking.ends_at <= booking.blocked_until


rrule_texts = st.one_of(
    st.just(""),
    st.sampled_from(
        [
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            "FREQ=DAILY;INTERVAL=0",
            "FREQ=SECONDLY",
            "FREQ=DAILY;COUNT=99999999999999999999",
            "FREQ=MONTHLY;BYDAY=+9MO",
            "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
            "FREQ=MONTHLY;BYSETPOS=10",
            "FREQ=DAILY;UNTIL=20260101T000000",
        ]
    ),
    st.text(max_size=30),
)


@SETTINGS
@given(departure=time_texts, rrule=rrule_texts)
def test_a_carpool_departure_and_its_repetition_are_stored_sane_or_refused(
    api_as, carpool_driver, settings, departure, rrule
):
    settings.ROUTER_URL = ""
    body = {
        "origin": geojson(WEST),
        "origin_address": "Storgatan 1",
        "destination": geojson(EAST),
        "destination_address": "Torget 2",
        "departure": departure,
        "rrule": rrule,
        "seats": 3,
    }
    before = TripOccurrence.objects.count() + Trip.objects.count()
    response = post(api_as(carpool_driver), "/api/v1/carpool/trips/", body)
    after = TripOccurrence.objects.count() + Trip.objects.count()
    if response.status_code != 201:
        assert_refused_with_message(response, before, after)
        return
    event("stored")
    trip = Trip.objects.get(pk=response.json()["id"])
    departures = list(trip.occurrences.order_by("departure_at"))
    assert 1 <= len(departures) <= 400
    assert departures[0].departure_at >= trip.first_departure
    assert all(o.span.lower == o.departure_at < o.span.upper for o in departures)


# --- Points --------------------------------------------------------------------------------

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-180, 180, -90, 90, -180.000001, 90.0000001, 0, 1e308, -1e308]),
    st.floats(13.4, 14.65),  # longitudes and latitudes around Vansbro
    st.floats(60.25, 61.05),
    st.text(max_size=8),
    st.none(),
    st.booleans(),
)
points = st.one_of(
    st.tuples(numbers, numbers).map(lambda c: {"type": "Point", "coordinates": list(c)}),
    st.sampled_from(
        [
            {"type": "Point", "coordinates": [60.50893, 14.22458]},  # swapped
            {"type": "Point", "coordinates": [18.0686, 59.3293]},  # Stockholm, outside
            {"type": "Point", "coordinates": [0, 0]},
            {"type": "Point", "coordinates": [14.2, 60.5, 300]},
            {"type": "Point", "coordinates": [[14.2, 60.5]]},
            {"type": "Point", "coordinates": []},
            {"type": "Point"},
            {"type": "LineString", "coordinates": [[14.2, 60.5], [14.3, 60.6]]},
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [14.2, 60.5]}},
            {"coordinates": [14.2, 60.5]},
            "POINT(14.2 60.5)",
            "14.2,60.5",
            [14.2, 60.5],
            None,
            7,
        ]
    ),
)


def point_requests(point) -> list[tuple[str, str, str, object]]:
    """(who, method, url, body) for each endpoint that takes a point."""
    return [
        (
            "rider",
            "post",
            "/api/v1/rides/",
            a_ride({"kind": "asap"}) | {"pickup": {"address": "x", "point": point}},
        ),
        ("driver", "post", "/api/v1/driver/position", {"point": point}),
        ("driver", "put", "/api/v1/driver/profile", {"home_base": point}),
        (
            "carpool_driver",
            "post",
            "/api/v1/carpool/trips/",
            {
                "origin": point,
                "origin_address": "x",
                "destination": geojson(EAST),
                "destination_address": "y",
                "departure": (timezone.now() + dt.timedelta(days=2)).isoformat(),
                "seats": 2,
            },
        ),
        (
            "passenger",
            "post",
            "/api/v1/carpool/saved-searches/",
            {
                "pickup": point,
                "dropoff": geojson(EAST),
                "earliest": "07:00",
                "latest": "08:00",
                "weekdays": [0],
            },
        ),
        (
            "coordinator",
            "post",
            "/api/v1/sharing/resources/",
            {
                "association": None,
                "kind": "tool",
                "category": "saw",
                "title": "Såg",
                "location": point,
            },
        ),
        ("rider", "patch", "/api/v1/auth/me", {"home_location": point}),
    ]


def lonlat_text(point) -> str:
    if isinstance(point, dict) and isinstance(point.get("coordinates"), list):
        return ",".join(str(c) for c in point["coordinates"])
    return str(point)


STORED = (RideRequest, Trip, Resource)


@SETTINGS
@given(point=points)
def test_every_endpoint_taking_a_point_answers_or_refuses_with_a_message(
    api_as, rider, driver, carpool_driver, passenger, coordinator, association, settings, point
):
    settings.ROUTER_URL = ""
    people = {
        "rider": rider,
        "driver": driver.membership.user,
        "carpool_driver": carpool_driver,
        "passenger": passenger,
        "coordinator": coordinator,
    }
    for who, method, url, body in point_requests(point):
        if isinstance(body, dict) and "association" in body:
            body["association"] = association.pk
        before = sum(model.objects.count() for model in STORED)
        response = post(api_as(people[who]), url, body, method=method)
        after = sum(model.objects.count() for model in STORED)
        assert response.status_code < 500, (url, response.content)
        event(f"{url} {response.status_code}")
        if response.status_code >= 400:
            assert_refused_with_message(response, before, after)
    text = lonlat_text(point)
    for url in (
        f"/api/v1/carpool/search?pickup={text}&dropoff=14.3,60.5"
        f"&window_start={timezone.now().isoformat()}"
        f"&window_end={(timezone.now() + dt.timedelta(days=1)).isoformat()}",
        "/api/v1/sharing/resources/?lon={}&lat={}".format(*([*text.split(",", 1), ""])[:2]),
    ):
        cache.clear()
        response = api_as(passenger).get(url.replace("+", "%2B"))
        assert response.status_code < 500, (url, response.content)
        if response.status_code >= 400:
            assert response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("who", "url", "body", "field"),
    [
        pytest.param(
            "rider",
            "/api/v1/rides/",
            a_ride({"kind": "pickup_at", "at": "0001-01-01T00:00:00"}),
            "time.at",
            id="ride-pickup",
        ),
        pytest.param(
            "carpool_driver",
            "/api/v1/carpool/trips/",
            {"departure": "0001-01-01T00:00:00"},
            "departure",
            id="carpool-departure",
        ),
        pytest.param(
            "member",
            "sharing",
            {"starts_at": "0001-01-01T00:00:00", "ends_at": "2027-01-01T10:00:00"},
            "starts_at",
            id="sharing-booking",
        ),
    ],
)
def test_a_time_without_offset_before_year_1_in_utc_is_a_field_error(
    api_as, rider, carpool_driver, member, car, who, url, body, field
):
    # 0001-01-01T00:00 in Stockholm is in year 0 in UTC: DRF raised OverflowError.
    people = {"rider": rider, "carpool_driver": carpool_driver, "member": member}
    if url == "sharing":
        url = f"/api/v1/sharing/resources/{car.pk}/bookings"
    response = post(api_as(people[who]), url, body)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]


# --- Shop runs: a schedule's repetition, days and times ---------------------------------------


@SETTINGS
@given(
    rrule=st.one_of(
        st.sampled_from(
            [
                "FREQ=WEEKLY;BYDAY=TH",
                "RRULE:FREQ=DAILY",
                "FREQ=MONTHLY;BYDAY=1TU,-1FR",
                "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SA,SU;COUNT=3",
            ]
        ),
        rrule_texts,
        rule_texts,
    ),
    starts_on=st.one_of(
        st.integers(-2, 40).map(lambda n: str(timezone.localdate() + dt.timedelta(days=n))),
        dates,
    ),
    times=st.one_of(
        st.sampled_from(
            [
                ("10:00", "11:30"),
                ("02:00", "03:30"),  # across the hour that does not exist in March
                ("02:30", "02:45"),  # inside the hour that comes twice in October
                ("23:00", "23:59"),
                ("00:00", "00:01"),
            ]
        ),
        st.tuples(clock_texts, clock_texts),
    ),
)
def test_a_shop_run_schedule_is_stored_with_sane_runs_or_refused(
    api_as, coordinator, association, rrule, starts_on, times
):
    arrive_at, leave_at = times
    body = {
        "association": association.pk,
        "name": "Torsdagshandling",
        "rrule": rrule,
        "starts_on": starts_on,
        "arrive_at": arrive_at,
        "leave_at": leave_at,
        "destination": geojson(VANSBRO),
        "destination_name": "ICA Vansbro",
        "deadline_time": "18:00",
    }
    before = RunSchedule.objects.count() + RunOccurrence.objects.count()
    response = post(api_as(coordinator), "/api/v1/shuttle/schedules/", body)
    after = RunSchedule.objects.count() + RunOccurrence.objects.count()
    if response.status_code != 201:
        assert_refused_with_message(response, before, after)
        return
    event("stored")
    runs = list(RunOccurrence.objects.filter(schedule_id=response.json()["id"]))
    assert len(runs) == len({run.rule_date for run in runs}) <= 29
    for run in runs:
        assert run.arrive_at < run.leave_at
        assert run.arrive_at.astimezone(STOCKHOLM).date() == run.rule_date
