"""The ride lists the apps poll, and the coordinators' list, are read with written-out SQL
and shaped without model instances (`ride_row_output`, `driver_ride_row_output`,
`offer_row_output`). They give
byte for byte the JSON the serializers give of the same rides, for every shape of a ride:
each state, with and without a driver, village, return ride or arrival time, with
the same pages, counts and links."""

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.gis.geos import Point
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from backend.accounts.models import ProxyLink
from backend.audit.models import AuditEntry
from backend.rides.models import (
    DRIVER_HOLDS,
    OPEN_STATES,
    Offer,
    OfferState,
    RideRequest,
    RideState,
)
from mobile_api.rides_serializers import OfferOutput
from tests.factories import DriverProfileFactory, ManagedProfileFactory, RideRequestFactory

pytestmark = pytest.mark.django_db

ALL_STATES = [state.value for state in RideState]


def _at(days: float, hour: int = 10) -> datetime.datetime:
    moment = timezone.localtime() + datetime.timedelta(days=days)
    return moment.replace(hour=hour, minute=0, second=0, microsecond=0)


@pytest.fixture
def rides(association, driver, rider) -> list[RideRequest]:
    """A ride in each state, the rider's and a managed relative's they book for, with
    and without a village, a driver (two drivers: one without a car named), a return
    ride, an arrival time, needs and a note; pickups with more decimals than shown."""
    village = association.villages.get()
    relative = ManagedProfileFactory(full_name="Greta Svensson")
    ProxyLink.objects.create(proxy=rider, resident=relative, accepted_at=timezone.now())
    other_driver = DriverProfileFactory(
        membership__association=association,
        membership__user__full_name="Anna",
        membership__user__phone="",
        membership__user__email="anna@example.org",
        vehicle_description="",
    )
    made = []
    for number, state in enumerate(ALL_STATES * 2):
        second = number >= len(ALL_STATES)
        start = _at(days=number - 8, hour=8 + number % 9)
        with_driver = state in (*DRIVER_HOLDS, RideState.COMPLETED, RideState.NO_SHOW) or (
            state == RideState.CANCELLED and second
        )
        closed = state in (
            RideState.COMPLETED,
            RideState.CANCELLED,
            RideState.NO_SHOW,
            RideState.UNFULFILLED,
        )
        made.append(
            RideRequestFactory(
                rider=relative if second else rider,
                requested_by=rider,
                association=association,
                village=None if number % 3 == 0 else village,
                pickup=Point(14.2245812345 + number / 1000, 60.5089398765, srid=4326),
                destination=Point(14.10000049, 60.4499999951 - number / 997, srid=4326),
                time_kind="arrive_by" if number % 4 == 1 else "pickup_at",
                earliest_pickup=start,
                latest_pickup=start + datetime.timedelta(minutes=30 * (number % 2)),
                arrive_by=start + datetime.timedelta(hours=1) if number % 4 == 1 else None,
                state=state,
                driver=(other_driver if second else driver) if with_driver else None,
                planned_pickup=start if with_driver else None,
                busy=DateTimeTZRange(start, start + datetime.timedelta(hours=1))
                if with_driver
                else None,
                accepted_at=start - datetime.timedelta(days=1) if with_driver else None,
                closed_at=start + datetime.timedelta(hours=2) if closed else None,
                driven_m=12_345 + number if state == RideState.COMPLETED else None,
                distance_m=10_950 + number * 17,
                passengers=1 + number % 3,
                needs=["wheelchair", "walker"] if number % 2 else [],
                note="Ring på, två trappor" if number % 5 == 0 else "",
            )
        )
    RideRequestFactory(
        rider=rider,
        association=association,
        return_of=made[0],
        earliest_pickup=_at(days=30),
        latest_pickup=_at(days=30),
    )
    return made


def _same_pages(client, path: str, filtered: dict, language: str) -> int:
    """Pages of `path` read as rows and (through the filter set, which selects every
    ride) read by the ORM and the serializer: the same bytes but for the links, which
    keep the filter's parameters. Returns the number of rides."""
    page, seen = 1, 0
    while True:
        asked = {"page": page, "page_size": 4}
        rows = client.get(path, asked, HTTP_ACCEPT_LANGUAGE=language)
        orm = client.get(path, {**asked, **filtered}, HTTP_ACCEPT_LANGUAGE=language)
        assert rows.status_code == orm.status_code == 200
        rows_json, orm_json = rows.json(), orm.json()
        for link in ("next", "previous"):
            assert _without(orm_json[link], filtered) == _without(rows_json[link], {})
            orm.content = orm.content.replace(
                JSONRenderer().render(orm_json[link]), JSONRenderer().render(rows_json[link])
            )
        assert rows.content == orm.content
        seen += len(rows_json["results"])
        if rows_json["next"] is None:
            return seen
        page += 1


def _without(link: str | None, filtered: dict) -> tuple | None:
    if link is None:
        return None
    url = urlsplit(link)
    query = {key: value for key, value in parse_qs(url.query).items() if key not in filtered}
    return url.path, sorted(query.items())


@pytest.mark.parametrize("language", ["sv", "en"])
def test_my_rides_as_rows_are_the_serializers_json(rides, rider, api_as, language):
    client = api_as(rider)
    assert _same_pages(client, "/api/v1/rides/", {"state": ALL_STATES}, language) == 21
    # A first page that is not full, counted without a second query.
    assert client.get("/api/v1/rides/").json()["count"] == 21
    # A page past the end is not found, as before.
    assert client.get("/api/v1/rides/", {"page": 9, "page_size": 4}).status_code == 404
    assert client.get("/api/v1/rides/", {"page": "x"}).status_code == 404


@pytest.mark.parametrize("language", ["sv", "en"])
def test_driver_rides_as_rows_are_the_serializers_json(rides, driver, api_as, language):
    client = api_as(driver.membership.user)
    seen = _same_pages(client, "/api/v1/driver/rides", {"state": ALL_STATES}, language)
    assert seen == RideRequest.objects.filter(driver=driver).count() > 4


@pytest.mark.parametrize("language", ["sv", "en"])
def test_association_rides_as_rows_are_the_serializers_json(
    rides, association, coordinator, api_as, language
):
    """The coordinators' list: the same bytes in the urgency order, and the same audit
    entries of whose rides were shown."""
    client = api_as(coordinator)
    path = f"/api/v1/associations/{association.pk}/rides/"
    assert _same_pages(client, path, {"state": ALL_STATES}, language) == len(rides) + 1

    def audited(query: dict) -> list[tuple]:
        AuditEntry.objects.all().delete()
        assert client.get(path, {"page_size": 7, **query}).status_code == 200
        return sorted(AuditEntry.objects.values_list("actor_id", "subject_id", "action", "detail"))

    rows, orm = audited({}), audited({"state": ALL_STATES})
    assert rows == orm
    assert len(rows) == 2  # the rider's rides and their relative's, one entry each


def test_pending_offers_as_rows_are_the_serializers_json(rides, driver, api_as):
    open_rides = [ride for ride in rides if ride.state in OPEN_STATES]
    for number, ride in enumerate([*open_rides, rides[5], rides[7]]):
        Offer.objects.create(
            ride=ride,
            driver=driver,
            wave=1,
            rank=1,
            distance_m=500,
            pickup_at=ride.earliest_pickup + datetime.timedelta(minutes=number),
            state=OfferState.DECLINED if number == 1 else OfferState.PENDING,
        )
    pending = (
        Offer.objects.filter(
            driver__membership__user=driver.membership.user,
            state=OfferState.PENDING,
            ride__state__in=OPEN_STATES,
        )
        .select_related("ride__village")
        .order_by("pickup_at", "pk")
    )
    assert len(pending) == len(open_rides) - 1 > 1

    response = api_as(driver.membership.user).get("/api/v1/offers/", {"page_size": 2})

    assert response.json()["count"] == len(pending)
    assert JSONRenderer().render(response.json()["results"]) == JSONRenderer().render(
        OfferOutput(pending[:2], many=True).data
    )
    assert response.content.startswith(b'{"count":%d,' % len(pending))
    assert JSONRenderer().render(OfferOutput(pending[:2], many=True).data) in response.content
