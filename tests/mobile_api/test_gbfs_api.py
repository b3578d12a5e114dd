"""The shared cars as GBFS v3.0 and v3.1-RC3 feeds: validated over real HTTP by
gbfs-validator (a Python port of MobilityData's validator that ships the official JSON
schemas), plus what the schemas cannot say: availability, rotation of vehicle ids, one
association only, caching headers."""

import datetime
import json

import pytest
from django.utils import timezone
from gbfs_validator import validate_feed
from gbfs_validator.feedhelpers import load_schema
from gbfs_validator.validate import validate_file

from backend.sharing.models import BookingStatus, ResourceKind
from tests.factories import DALA_JARNA, AssociationFactory, UserFactory
from tests.sharing_fixtures import BookingFactory, ResourceFactory

pytestmark = pytest.mark.django_db


def url(association_id: int, name: str, version: str = "v3") -> str:
    return f"/api/v1/gbfs/{version}/{association_id}/{name}.json"


def fetch(api, association_id: int, name: str, version: str = "v3") -> dict:
    response = api.get(url(association_id, name, version))
    assert response.status_code == 200, response.content
    return json.loads(response.content)


@pytest.fixture
def fleet(association, car):
    """The association's car, a petrol car at another spot (out of service), a hall and
    a resident's own car (neither published)."""
    petrol = ResourceFactory(
        association=association,
        kind=ResourceKind.CAR,
        category="car",
        title="Volvo V70",
        location=DALA_JARNA,
        seats=5,
        fuel="petrol",
        odometer_km=200_000,
        price_per_hour_ore=2_500,
        price_per_km_ore=200,
        out_of_service=True,
    )
    ResourceFactory(association=association, kind=ResourceKind.ROOM, title="Bygdegården")
    ResourceFactory(
        association=association,
        owner=UserFactory(),
        kind=ResourceKind.CAR,
        category="car",
        title="Privatbil",
        seats=4,
        fuel="diesel",
        odometer_km=1,
    )
    return car, petrol


@pytest.mark.django_db(transaction=True)
def test_feed_validates_against_official_schemas(live_server, fleet, association):
    car, _ = fleet
    BookingFactory(
        resource=car,
        starts_at=timezone.now() + datetime.timedelta(hours=3),
        ends_at=timezone.now() + datetime.timedelta(hours=5),
        blocked_until=timezone.now() + datetime.timedelta(hours=5, minutes=30),
    )
    report = validate_feed(
        f"{live_server.url}{url(association.id, 'gbfs')}", docked=True, freefloating=False
    )
    problems = [
        (file["file"], file.get("errors")) for file in report["files"] if file.get("hasErrors")
    ]
    assert report["summary"]["version"]["validated"] == "3.0"
    assert not report["summary"]["hasErrors"], problems
    validated = {file["file"] for file in report["files"] if file.get("exists")}
    assert {
        "gbfs.json",
        "system_information.json",
        "vehicle_types.json",
        "station_information.json",
        "station_status.json",
        "system_pricing_plans.json",
    } <= validated


@pytest.mark.django_db(transaction=True)
def test_31_feed_validates_with_vehicle_availability(live_server, fleet, association):
    """The v3.1-RC3 feed, vehicle_availability included, validated the same way as the
    3.0 feed: the whole feed over HTTP, from its gbfs.json, cross-file rules too."""
    car, _ = fleet
    BookingFactory(
        resource=car,
        starts_at=timezone.now() + datetime.timedelta(hours=3),
        ends_at=timezone.now() + datetime.timedelta(hours=5),
        blocked_until=timezone.now() + datetime.timedelta(hours=5, minutes=30),
    )
    report = validate_feed(
        f"{live_server.url}{url(association.id, 'gbfs', 'v3.1-RC3')}",
        docked=True,
        freefloating=False,
    )
    problems = [
        (file["file"], file.get("errors")) for file in report["files"] if file.get("hasErrors")
    ]
    assert report["summary"]["version"]["validated"] == "3.1-RC3"
    assert not report["summary"]["hasErrors"], problems
    validated = {file["file"] for file in report["files"] if file.get("exists")}
    assert {"gbfs.json", "gbfs_versions.json", "vehicle_availability.json"} <= validated


def test_vehicle_availability_refers_to_the_other_files(api, fleet, association):
    """What the validator has no cross-file rule for in vehicle_availability: its type,
    station and pricing plan ids are the ones the other files publish."""
    version = "v3.1-RC3"
    vehicles = fetch(api, association.id, "vehicle_availability", version)["data"]["vehicles"]
    types = fetch(api, association.id, "vehicle_types", version)["data"]["vehicle_types"]
    stations = fetch(api, association.id, "station_information", version)["data"]["stations"]
    plans = fetch(api, association.id, "system_pricing_plans", version)["data"]["plans"]
    assert len(vehicles) == 2
    for vehicle in vehicles:
        assert vehicle["vehicle_type_id"] in {t["vehicle_type_id"] for t in types}
        assert vehicle["station_id"] in {s["station_id"] for s in stations}
        assert vehicle["pricing_plan_id"] in {p["plan_id"] for p in plans}


def test_both_versions_are_listed_and_share_their_data(api, fleet, association):
    versions = fetch(api, association.id, "gbfs_versions", "v3.1-RC3")["data"]["versions"]
    assert [(v["version"], v["url"]) for v in versions] == [
        ("3.0", f"http://testserver{url(association.id, 'gbfs')}"),
        ("3.1-RC3", f"http://testserver{url(association.id, 'gbfs', 'v3.1-RC3')}"),
    ]
    # The 3.0 schema of gbfs_versions cannot name 3.1-RC3: the 3.0 feed has none.
    assert api.get(url(association.id, "gbfs_versions")).status_code == 404
    feeds = fetch(api, association.id, "gbfs", "v3.1-RC3")["data"]["feeds"]
    assert feeds[-1] == {
        "name": "vehicle_availability",
        "url": f"http://testserver{url(association.id, 'vehicle_availability', 'v3.1-RC3')}",
    }
    old = fetch(api, association.id, "station_information")
    new = fetch(api, association.id, "station_information", "v3.1-RC3")
    assert (old["version"], new["version"]) == ("3.0", "3.1-RC3")
    assert old["data"] == new["data"]


def test_vehicle_availability_validates_against_31_schema(api, fleet, association):
    document = fetch(api, association.id, "vehicle_availability")
    result = validate_file(load_schema("3.1-RC3", "vehicle_availability"), document)
    assert result["errors"] is False, result["errors"]
    slots = sorted(len(v["availabilities"]) for v in document["data"]["vehicles"])
    assert slots == [0, 1]  # the out-of-service car has no slots; the other is free


def test_only_the_associations_own_cars_are_published(api, fleet, association):
    other = AssociationFactory(name="Grannbyns byalag")
    ResourceFactory(
        association=other,
        kind=ResourceKind.CAR,
        category="car",
        title="Grannbilen",
        seats=5,
        fuel="electric",
        odometer_km=5,
    )
    types = fetch(api, association.id, "vehicle_types")["data"]["vehicle_types"]
    assert sorted(t["name"][0]["text"] for t in types) == ["Byabilen", "Volvo V70"]
    stations = fetch(api, association.id, "station_information")["data"]["stations"]
    assert len(stations) == 2
    # Pick-up instructions and key codes stay with people who have a booking.
    assert "ICA" not in json.dumps(stations) and "1234" not in json.dumps(stations)
    other_types = fetch(api, other.id, "vehicle_types")["data"]["vehicle_types"]
    assert [t["name"][0]["text"] for t in other_types] == ["Grannbilen"]


def test_a_booked_car_is_not_available_and_out_of_service_is_disabled(api, fleet, association):
    car, _ = fleet

    def status_by_name():
        info = fetch(api, association.id, "station_information")["data"]["stations"]
        names = {s["station_id"]: s["name"][0]["text"] for s in info}
        status = fetch(api, association.id, "station_status")["data"]["stations"]
        return {names[s["station_id"]]: s for s in status}

    before = status_by_name()
    assert before["Byabilen"]["num_vehicles_available"] == 1
    assert before["Byabilen"]["is_renting"] is True
    assert before["Volvo V70"]["num_vehicles_available"] == 0
    assert before["Volvo V70"]["num_vehicles_disabled"] == 1
    assert before["Volvo V70"]["is_renting"] is False

    now = timezone.now()
    BookingFactory(
        resource=car,
        starts_at=now - datetime.timedelta(minutes=30),
        ends_at=now + datetime.timedelta(hours=1),
        blocked_until=now + datetime.timedelta(hours=1, minutes=30),
        status=BookingStatus.CHECKED_OUT,
    )
    after = status_by_name()
    assert after["Byabilen"]["num_vehicles_available"] == 0
    assert after["Byabilen"]["vehicle_types_available"][0]["count"] == 0
    vehicles = fetch(api, association.id, "vehicle_availability")["data"]["vehicles"]
    slots = next(v for v in vehicles if v["availabilities"])
    # Free again once the buffer after the booking is over, and open-ended from then on.
    free_from = datetime.datetime.fromisoformat(slots["availabilities"][0]["from"])
    assert free_from == (now + datetime.timedelta(hours=1, minutes=30)).replace(microsecond=0)
    assert "until" not in slots["availabilities"][0]


def test_vehicle_id_changes_at_each_check_in_only(api, fleet, association):
    car, _ = fleet

    def vehicle_id() -> str:
        vehicles = fetch(api, association.id, "vehicle_availability")["data"]["vehicles"]
        return next(v["vehicle_id"] for v in vehicles if v["station_id"] == byabilen_station)

    info = fetch(api, association.id, "station_information")["data"]["stations"]
    byabilen_station = next(s["station_id"] for s in info if s["name"][0]["text"] == "Byabilen")
    first = vehicle_id()
    assert first == vehicle_id()  # stable between trips
    assert len(first) == 16 and int(first, 16) != car.id  # opaque, not the internal id
    now = timezone.now()
    trip = BookingFactory(
        resource=car,
        starts_at=now - datetime.timedelta(hours=3),
        ends_at=now - datetime.timedelta(hours=1),
        blocked_until=now - datetime.timedelta(hours=1),
        status=BookingStatus.CHECKED_OUT,
    )
    assert vehicle_id() == first  # out on a trip: not yet rotated
    trip.status = BookingStatus.RETURNED
    trip.returned_at = now
    trip.save()
    second = vehicle_id()
    assert second != first
    assert vehicle_id() == second


def test_caching_headers_and_conditional_get(api, fleet, association):
    response = api.get(url(association.id, "station_status"))
    assert response["Cache-Control"] == "public, max-age=60"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert json.loads(response.content)["ttl"] == 60
    static = api.get(url(association.id, "station_information"))
    assert static["Cache-Control"] == "public, max-age=3600"
    assert json.loads(static.content)["ttl"] == 3600
    again = api.get(url(association.id, "station_information"), HTTP_IF_NONE_MATCH=static["ETag"])
    assert again.status_code == 304
    assert again["ETag"] == static["ETag"]


def test_feed_urls_are_absolute_and_list_every_file(api, association):
    feeds = fetch(api, association.id, "gbfs")["data"]["feeds"]
    assert [f["name"] for f in feeds] == [
        "system_information",
        "vehicle_types",
        "station_information",
        "station_status",
        "system_pricing_plans",
    ]
    assert all(f["url"].startswith("http://testserver/api/v1/gbfs/v3/") for f in feeds)


def test_system_information_names_the_association(api, association):
    data = fetch(api, association.id, "system_information")["data"]
    assert data["system_id"] == f"samby-{association.municipality.code}-{association.id}"
    assert data["operator"][0]["text"] == association.name
    assert data["timezone"] == "Europe/Stockholm"


def test_unknown_association_is_a_404_without_login(api):
    response = api.get(url(999_999, "gbfs"))
    assert response.status_code == 404


def test_queries_do_not_grow_with_the_fleet(api, fleet, association, django_assert_num_queries):
    with django_assert_num_queries(3):  # association, cars, bookings
        api.get(url(association.id, "station_status"))
    for n in range(5):
        ResourceFactory(
            association=association,
            kind=ResourceKind.CAR,
            category="car",
            title=f"Bil {n}",
            seats=5,
            fuel="electric",
            odometer_km=5,
        )
    with django_assert_num_queries(3):
        api.get(url(association.id, "station_status"))


def test_not_a_url_for_unknown_files(api, association):
    assert api.get(f"/api/v1/gbfs/v3/{association.id}/free_bike_status.json").status_code == 404
