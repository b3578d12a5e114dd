"""Shop runs as a GTFS-Flex feed: fetched over HTTP and validated by two validators with
GTFS-Flex rules, `gtfs-validator` (PyPI, a pure-Python reimplementation of
MobilityData's GTFS validator 8.0.1) and `gtfs-guru` (PyPI, an independent validator in
Rust), plus what a validator cannot know: the exact contents for known runs,
service-day times across a change of the clocks, cancelled runs left out, no personal
data, caching headers."""

import csv
import datetime
import io
import json
import math
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import gtfs_guru
import pytest
from django.contrib.gis.geos import Point, Polygon
from django.utils import timezone

from backend.opendata.selectors import service_day_seconds, shop_stop_id
from backend.opendata.services import gtfs_flex_feed
from backend.shuttle.models import RunOccurrence
from backend.shuttle.services import (
    occurrence_cancel,
    occurrence_move,
    occurrences_materialise,
    schedule_create,
    signup_create,
)
from dispatch.shop_runs import run_assign_by_coordinator
from tests.factories import (
    DALA_JARNA,
    VANSBRO,
    AssociationFactory,
    VillageFactory,
    coordinator_of,
)
from tests.shuttle_world import SHOP, make_world

pytestmark = pytest.mark.django_db

STOCKHOLM = ZoneInfo("Europe/Stockholm")
GTFS_FILES = [
    "agency.txt",
    "stops.txt",
    "routes.txt",
    "trips.txt",
    "stop_times.txt",
    "calendar_dates.txt",
    "locations.geojson",
    "booking_rules.txt",
    "translations.txt",
    "feed_info.txt",
]


def url(association_id: int) -> str:
    return f"/api/v1/gtfs/{association_id}/gtfs-flex.zip"


def unzip(body: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def validate(body: bytes, tmp_path: Path, today: datetime.date) -> list[dict]:
    """The notices of gtfs-validator's report.json for the zip."""
    feed = tmp_path / "feed.zip"
    feed.write_bytes(body)
    out = tmp_path / "report"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "gtfs_validator.cli",
            "-i",
            str(feed),
            "-o",
            str(out),
            "-c",
            "SE",
            "-d",
            today.isoformat(),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert json.loads((out / "system_errors.json").read_text())["notices"] == []
    return json.loads((out / "report.json").read_text())["notices"]


# Notices accepted, each for a reason:
# - trip_coverage_not_active_for_next7_days (WARNING): a weekly shop run has no trip on
#   some of the next seven days; that is the service, not a fault of the feed.
ACCEPTED_NOTICES = {"trip_coverage_not_active_for_next7_days"}


def validate_guru(body: bytes, tmp_path: Path, today: datetime.date) -> dict[str, set[str]]:
    """gtfs-guru's notice codes for the zip, by severity."""
    feed = tmp_path / "feed-guru.zip"
    feed.write_bytes(body)
    result = gtfs_guru.validate(str(feed), country_code="SE", date=today.isoformat())
    return {
        "ERROR": {n.code for n in result.errors()},
        "WARNING": {n.code for n in result.warnings()},
    }


@pytest.fixture
def world():
    world = make_world()
    world.association.phone = "+4628140000"
    world.association.email = "skjuts@vasterdalarna-byaskjuts.se"
    world.association.save()
    return world


def test_feed_passes_the_gtfs_validator(api, world, tmp_path):
    """The whole zip, as served, through gtfs-validator's full rule set (GTFS-Flex rules
    included): no error, and no warning but the one a weekly service always draws."""
    for resident in world.residents[:2]:
        signup_create(actor=resident, occurrence=world.occurrence, passenger=resident)
    response = api.get(url(world.association.id))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    notices = validate(response.content, tmp_path, timezone.localdate())
    assert [n for n in notices if n["severity"] == "ERROR"] == []
    # INFO notices (e.g. future_calendar: the first run is in a few days) are advice.
    assert {n["code"] for n in notices if n["severity"] != "INFO"} <= ACCEPTED_NOTICES, notices
    summary = json.loads((tmp_path / "report" / "report.json").read_text())["summary"]
    # The validator saw the flexible service and the booking rules, not just plain GTFS.
    assert {"Zone-Based Demand Responsive Services", "Booking Rules"} <= set(
        summary["gtfsFeatures"]
    )
    assert summary["agencies"][0]["name"] == world.association.name
    assert sorted(summary["files"]) == sorted(GTFS_FILES)
    guru = validate_guru(response.content, tmp_path, timezone.localdate())
    assert guru["ERROR"] == set()
    assert guru["WARNING"] <= ACCEPTED_NOTICES, guru


def test_the_validator_catches_a_broken_flex_field(api, world, tmp_path):
    """The same feed with one pickup window cut short draws the validator's GTFS-Flex
    error: it really checks the flexible fields of our files."""
    files = unzip(api.get(url(world.association.id)).content)
    lines = files["stop_times.txt"].splitlines()
    header = lines[0].split(",")
    end = header.index("end_pickup_drop_off_window")
    first_zone_row = next(i for i, line in enumerate(lines) if ",by-" in line)
    cells = lines[first_zone_row].split(",")
    cells[end] = ""
    lines[first_zone_row] = ",".join(cells)
    files["stop_times.txt"] = "\n".join(lines) + "\n"
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    codes = {n["code"] for n in validate(broken.getvalue(), tmp_path, timezone.localdate())}
    assert "missing_pickup_or_drop_off_window" in codes
    guru = validate_guru(broken.getvalue(), tmp_path, timezone.localdate())
    assert "missing_pickup_or_drop_off_window" in guru["ERROR"]


@pytest.fixture
def spring(settings):
    """An association with two villages (one with a drawn area, one without) and a run
    every Thursday at 10:00 from 11 March 2027, seen on 10 March: the clocks go forward
    on 28 March. Runs exist for 15 days (11, 18, 25 March); the feed covers 23 days, so
    1 April comes from the rule. The run of 18 March is cancelled, the one of 25 March
    moved to Friday 26 March 13:00-14:00."""
    settings.SITE_URL = "https://samby.example.se"
    settings.SHUTTLE_HORIZON_DAYS = 15
    settings.GTFS_FLEX_HORIZON_DAYS = 23
    association = AssociationFactory(
        name="Vansbro byalag", phone="+4628140000", email="skjuts@vansbrobyalag.se"
    )
    vansbro = VillageFactory(
        name="Vansbro",
        municipality=association.municipality,
        location=VANSBRO,
        # Drawn clockwise: the feed turns it counterclockwise (RFC 7946).
        area=Polygon.from_bbox((14.20, 60.49, 14.25, 60.53)),
    )
    jarna = VillageFactory(
        name="Dala-Järna", municipality=association.municipality, location=DALA_JARNA
    )
    association.villages.add(vansbro, jarna)
    coordinator = coordinator_of(association)
    schedule = schedule_create(
        actor=coordinator,
        association=association,
        name="Torsdagshandling",
        rrule="FREQ=WEEKLY;BYDAY=TH",
        starts_on=datetime.date(2027, 3, 11),
        arrive_at=datetime.time(10, 0),
        leave_at=datetime.time(11, 30),
        destination=SHOP,
        destination_name="ICA Nära Vansbro",
        deadline_time=datetime.time(18, 0),
        village_ids=[vansbro.pk, jarna.pk],
    )
    occurrences_materialise(schedule=schedule, today=datetime.date(2027, 3, 10))
    runs = {o.rule_date.day: o for o in RunOccurrence.objects.filter(schedule=schedule)}
    assert sorted(runs) == [11, 18, 25]
    occurrence_cancel(actor=coordinator, occurrence=runs[18], reason="Affären har stängt")
    occurrence_move(
        actor=coordinator,
        occurrence=runs[25],
        arrive_at=datetime.datetime(2027, 3, 26, 13, 0, tzinfo=STOCKHOLM),
        leave_at=datetime.datetime(2027, 3, 26, 14, 0, tzinfo=STOCKHOLM),
    )
    now = datetime.datetime(2027, 3, 10, 12, 0, tzinfo=STOCKHOLM)
    return association, schedule, vansbro, jarna, runs, now


def test_file_contents_for_known_runs(spring):
    association, schedule, vansbro, jarna, _runs, now = spring
    files = unzip(gtfs_flex_feed(association=association, now=now).body)
    assert list(files) == GTFS_FILES
    a, s, shop = association.id, schedule.id, shop_stop_id(SHOP.x, SHOP.y)
    z1, z2 = f"by-{jarna.pk}", f"by-{vansbro.pk}"  # villages in name order
    ten, one = f"r{s}-1000-1130", f"r{s}-1300-1400"
    assert files["agency.txt"] == (
        "agency_id,agency_name,agency_url,agency_timezone,agency_lang,agency_phone,agency_email\n"
        f"samby-2021-{a},Vansbro byalag,https://samby.example.se/,Europe/Stockholm,sv,"
        "+4628140000,skjuts@vansbrobyalag.se\n"
    )
    assert files["stops.txt"] == (
        f"stop_id,stop_name,stop_lat,stop_lon\n{shop},ICA Nära Vansbro,60.511000,14.230000\n"
    )
    assert files["routes.txt"] == (
        f"route_id,agency_id,route_long_name,route_type\nr{s},samby-2021-{a},Torsdagshandling,3\n"
    )
    assert files["trips.txt"] == (
        "route_id,service_id,trip_id,trip_headsign,direction_id\n"
        f"r{s},{ten},{ten}-till,ICA Nära Vansbro,0\n"
        f"r{s},{ten},{ten}-hem,Hem från affären,1\n"
        f"r{s},{one},{one}-till,ICA Nära Vansbro,0\n"
        f"r{s},{one},{one}-hem,Hem från affären,1\n"
    )
    b = f"b{s}"
    assert files["stop_times.txt"] == (
        "trip_id,arrival_time,departure_time,stop_id,location_id,stop_sequence,"
        "start_pickup_drop_off_window,end_pickup_drop_off_window,pickup_type,drop_off_type,"
        "pickup_booking_rule_id,drop_off_booking_rule_id\n"
        # To the shop: picked up at home from 75 minutes before, booked by phone.
        f"{ten}-till,,,,{z1},1,08:45:00,10:00:00,2,1,{b},\n"
        f"{ten}-till,,,,{z2},2,08:45:00,10:00:00,2,1,{b},\n"
        f"{ten}-till,10:00:00,10:00:00,{shop},,3,,,1,0,,\n"
        # Home: leaves the shop at 11:30, everyone home within 75 minutes.
        f"{ten}-hem,11:30:00,11:30:00,{shop},,1,,,2,1,{b},\n"
        f"{ten}-hem,,,,{z1},2,11:30:00,12:45:00,1,2,,{b}\n"
        f"{ten}-hem,,,,{z2},3,11:30:00,12:45:00,1,2,,{b}\n"
        f"{one}-till,,,,{z1},1,11:45:00,13:00:00,2,1,{b},\n"
        f"{one}-till,,,,{z2},2,11:45:00,13:00:00,2,1,{b},\n"
        f"{one}-till,13:00:00,13:00:00,{shop},,3,,,1,0,,\n"
        f"{one}-hem,14:00:00,14:00:00,{shop},,1,,,2,1,{b},\n"
        f"{one}-hem,,,,{z1},2,14:00:00,15:15:00,1,2,,{b}\n"
        f"{one}-hem,,,,{z2},3,14:00:00,15:15:00,1,2,,{b}\n"
    )
    # 11 March (winter time) and 1 April (summer time, from the rule) share the 10:00
    # trip; 18 March is cancelled and absent; 25 March was moved to 26 March 13:00.
    assert files["calendar_dates.txt"] == (
        f"service_id,date,exception_type\n{ten},20270311,1\n{ten},20270401,1\n{one},20270326,1\n"
    )
    assert files["booking_rules.txt"] == (
        "booking_rule_id,booking_type,prior_notice_duration_min,prior_notice_last_day,"
        "prior_notice_last_time,message,phone_number,info_url,booking_url\n"
        f"{b},2,,1,18:00:00,Handlarskjuts för boende i byarna. Boka senast kl. 18:00 dagen "
        "före: ring +4628140000 eller anmäl dig i Samby. Du hämtas hemma och körs hem igen.,"
        "+4628140000,https://samby.example.se/,https://samby.example.se/shop-runs/\n"
    )
    assert files["translations.txt"] == (
        "table_name,field_name,language,translation,record_id\n"
        f"trips,trip_headsign,en,Home from the shop,{ten}-hem\n"
        f"trips,trip_headsign,en,Home from the shop,{one}-hem\n"
    )
    header, info = files["feed_info.txt"].splitlines()
    assert header == (
        "feed_publisher_name,feed_publisher_url,feed_lang,feed_start_date,feed_end_date,"
        "feed_version,feed_contact_email"
    )
    version = info.split(",")[5]
    assert re.fullmatch("[0-9a-f]{12}", version)
    assert info == (
        "Vansbro byalag,https://samby.example.se/,sv,20270310,20270402,"
        f"{version},skjuts@vansbrobyalag.se"
    )

    locations = json.loads(files["locations.geojson"])
    assert locations["type"] == "FeatureCollection"
    features = {f["id"]: f for f in locations["features"]}
    assert list(features) == [z1, z2]
    assert features[z2]["properties"] == {"stop_name": "Vansbro"}
    assert features[z2]["geometry"] == {
        "type": "Polygon",
        "coordinates": [
            [[14.2, 60.49], [14.25, 60.49], [14.25, 60.53], [14.2, 60.53], [14.2, 60.49]]
        ],
    }
    # Dala-Järna has no drawn area: a circle of 3 km around its centre (the villages are
    # about 8 km apart, so the two zones do not overlap).
    circle = features[z1]["geometry"]
    assert features[z1]["properties"] == {"stop_name": "Dala-Järna"}
    assert circle["type"] == "Polygon"
    ring = circle["coordinates"][0]
    assert len(ring) == 25 and ring[0] == ring[-1]
    centre = Point(DALA_JARNA.x, DALA_JARNA.y, srid=4326).transform(3006, clone=True)
    for lon, lat in ring:
        assert Point(lon, lat, srid=4326).transform(3006, clone=True).distance(
            centre
        ) == pytest.approx(3000, rel=0.01)


def test_the_same_local_time_is_a_different_utc_time_across_the_change(spring):
    """10:00 on 11 March is 09:00 UTC and on 1 April 08:00 UTC; both read 10:00:00."""
    association, schedule, _vansbro, _jarna, runs, now = spring
    assert runs[11].arrive_at == datetime.datetime(2027, 3, 11, 9, 0, tzinfo=datetime.UTC)
    files = unzip(gtfs_flex_feed(association=association, now=now).body)
    ten = f"r{schedule.id}-1000-1130"
    dates = [r["date"] for r in rows(files["calendar_dates.txt"]) if r["service_id"] == ten]
    assert dates == ["20270311", "20270401"]
    at_shop = [
        r["arrival_time"]
        for r in rows(files["stop_times.txt"])
        if r["trip_id"] == f"{ten}-till" and r["stop_id"]
    ]
    assert at_shop == ["10:00:00"]


@pytest.mark.parametrize(
    ("moment", "day", "expected"),
    [
        pytest.param("2027-03-11T10:00+01:00", "2027-03-11", "10:00:00", id="winter"),
        pytest.param("2027-04-01T10:00+02:00", "2027-04-01", "10:00:00", id="summer"),
        pytest.param("2027-03-28T10:00+02:00", "2027-03-28", "10:00:00", id="clocks-forward"),
        pytest.param("2027-10-31T10:00+01:00", "2027-10-31", "10:00:00", id="clocks-back"),
        # GTFS counts from noon minus 12 h: on the night the clocks go forward that is
        # 23:00 the evening before, so 01:30 reads 02:30:00.
        pytest.param("2027-03-28T01:30+01:00", "2027-03-28", "02:30:00", id="before-the-change"),
        pytest.param("2027-03-12T00:15+01:00", "2027-03-11", "24:15:00", id="after-midnight"),
    ],
)
def test_service_day_times(moment, day, expected):
    from backend.opendata.gtfs import gtfs_time

    seconds = service_day_seconds(
        datetime.datetime.fromisoformat(moment), datetime.date.fromisoformat(day)
    )
    assert gtfs_time(seconds) == expected


def test_a_cancelled_run_leaves_the_feed(api, world):
    def dates() -> list[str]:
        files = unzip(api.get(url(world.association.id)).content)
        return [r["date"] for r in rows(files["calendar_dates.txt"])]

    first = world.occurrence
    day = timezone.localtime(first.arrive_at).strftime("%Y%m%d")
    assert day in dates()
    occurrence_cancel(actor=world.coordinator, occurrence=first, reason="Snöstorm")
    after = dates()
    assert day not in after
    assert len(after) >= 7  # the other weeks stay


def test_no_personal_data_in_the_feed(api, world):
    """Names, phone numbers, addresses and homes of the people signed up, their
    proxies, the drivers and the coordinator appear nowhere in the zip."""
    for resident in world.residents[:3]:
        signup_create(actor=resident, occurrence=world.occurrence, passenger=resident)
    signup_create(actor=world.daughter, occurrence=world.occurrence, passenger=world.managed)
    run_assign_by_coordinator(
        occurrence=world.occurrence, driver=world.drivers[0], actor=world.coordinator
    )
    text = "\n".join(unzip(api.get(url(world.association.id)).content).values())
    people = [
        *world.residents,
        world.managed,
        world.daughter,
        world.coordinator,
        *(d.membership.user for d in world.drivers),
    ]
    for person in people:
        for value in (person.full_name, person.phone, person.home_address):
            if value:
                assert value not in text, value
        assert person.full_name.split()[-1] not in text  # nor the surname alone
        if person.home_location is not None:
            x, y = person.home_location.x, person.home_location.y
            for digits in (4, 5, 6):
                assert f"{x:.{digits}f},{y:.{digits}f}" not in text  # GeoJSON
                assert f"{y:.{digits}f},{x:.{digits}f}" not in text  # stops.txt
            assert f"[{x},{y}]" not in text
    assert "Snöstorm" not in text and "note" not in text


def test_caching_headers_and_conditional_requests(api, world):
    first = api.get(url(world.association.id))
    assert first["Cache-Control"] == "public, max-age=3600"
    assert first["Access-Control-Allow-Origin"] == "*"
    assert first["Content-Disposition"] == (
        f'attachment; filename="samby-2021-{world.association.id}-gtfs-flex.zip"'
    )
    again = api.get(url(world.association.id))
    assert again.content == first.content
    assert again["ETag"] == first["ETag"]
    assert again["Last-Modified"] == first["Last-Modified"]

    by_etag = api.get(url(world.association.id), HTTP_IF_NONE_MATCH=first["ETag"])
    assert by_etag.status_code == 304 and by_etag.content == b""
    assert by_etag["ETag"] == first["ETag"]
    by_date = api.get(url(world.association.id), HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert by_date.status_code == 304

    occurrence_cancel(actor=world.coordinator, occurrence=world.occurrence, reason="Sjuk")
    changed = api.get(url(world.association.id), HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200
    assert changed["ETag"] != first["ETag"]


def test_listed_in_the_openapi_schema(api):
    import yaml

    schema = yaml.safe_load(api.get("/api/schema/").content)
    operation = schema["paths"]["/api/v1/gtfs/{association_id}/gtfs-flex.zip"]["get"]
    assert "open data" in operation["tags"]
    assert "application/zip" in operation["responses"]["200"]["content"]
    assert operation["security"] == [{}]  # no login


def test_unknown_association_is_a_404(api):
    assert api.get(url(999_999)).status_code == 404


def test_an_association_without_runs_has_an_empty_but_valid_feed(api, tmp_path):
    association = AssociationFactory(
        name="Tyst byalag", phone="+4628140001", email="info@tystbyalag.se"
    )
    response = api.get(url(association.id))
    assert response.status_code == 200
    files = unzip(response.content)
    assert rows(files["trips.txt"]) == []
    assert json.loads(files["locations.geojson"])["features"] == []


def test_queries_do_not_grow_with_runs(api, world, django_assert_num_queries):
    # association, schedules, their villages, the association's villages, the runs
    with django_assert_num_queries(5):
        api.get(url(world.association.id))
    for hour in (8, 14):
        schedule_create(
            actor=world.coordinator,
            association=world.association,
            name=f"Extra {hour}",
            rrule="FREQ=DAILY",
            starts_on=timezone.localdate(),
            arrive_at=datetime.time(hour, 0),
            leave_at=datetime.time(hour + 1, 0),
            destination=SHOP,
            destination_name="Coop Vansbro",
            deadline_time=datetime.time(18, 0),
            village_ids=[v.pk for v in world.villages],
        )
    with django_assert_num_queries(5):
        api.get(url(world.association.id))


def test_same_day_booking_counts_minutes_before_the_first_pickup(tmp_path):
    """Sign-up closing on the day itself is GTFS booking_type 1: the notice is counted in
    minutes before travel, which begins with the pickup window (08:45 for a 10:00 run;
    sign-up closes 08:00, so 45 minutes; a run moved to 13:00 gets its own rule, 225
    minutes). Built from plain data and validated too."""
    from backend.opendata import gtfs

    day = datetime.date(2027, 5, 6)
    schedule = gtfs.FlexSchedule(
        schedule_id=7,
        name="Samma dag",
        shop_id="affar-1",
        shop_name="Coop Dala-Järna",
        shop_lon=14.36,
        shop_lat=60.53,
        zone_ids=("by-1",),
        deadline_days=0,
        deadline_time=datetime.time(8, 0),
        window_s=75 * 60,
        runs=(
            gtfs.FlexRun(service_day=day, arrive_s=10 * 3600, leave_s=11 * 3600),
            gtfs.FlexRun(
                service_day=day + datetime.timedelta(days=7), arrive_s=13 * 3600, leave_s=14 * 3600
            ),
        ),
    )
    feed = gtfs.FlexFeed(
        agency=gtfs.FlexAgency(
            agency_id="a1",
            name="Järna byalag",
            url="https://samby.example.se/",
            phone="",
            email="info@jarnabyalag.se",
            booking_url="https://samby.example.se/shop-runs/",
        ),
        publisher_name="Järna byalag",
        publisher_url="https://samby.example.se/",
        contact_email="info@jarnabyalag.se",
        start=day,
        end=day + datetime.timedelta(days=40),
        zones=(
            gtfs.FlexZone(
                zone_id="by-1",
                name="Dala-Järna",
                geometry={
                    "type": "Polygon",
                    "coordinates": [
                        [[14.3, 60.5], [14.4, 60.5], [14.4, 60.56], [14.3, 60.56], [14.3, 60.5]]
                    ],
                },
            ),
        ),
        schedules=(schedule,),
    )
    body = gtfs.feed_zip(feed)
    files = unzip(body)
    rule, moved = rows(files["booking_rules.txt"])
    assert (rule["booking_rule_id"], moved["booking_rule_id"]) == ("b7-1000", "b7-1300")
    assert rule["booking_type"] == moved["booking_type"] == "1"
    assert (rule["prior_notice_duration_min"], moved["prior_notice_duration_min"]) == ("45", "225")
    booked = {
        r["trip_id"]: r["pickup_booking_rule_id"]
        for r in rows(files["stop_times.txt"])
        if r["location_id"]
    }
    assert booked["r7-1000-1100-till"] == "b7-1000"
    assert booked["r7-1300-1400-till"] == "b7-1300"
    assert rule["prior_notice_last_day"] == rule["prior_notice_last_time"] == ""
    assert rule["phone_number"] == ""  # no phone: book in Samby only
    assert rule["message"] == (
        "Handlarskjuts för boende i byarna. Boka senast kl. 08:00 samma dag: anmäl dig i "
        "Samby. Du hämtas hemma och körs hem igen."
    )
    assert gtfs.feed_zip(feed) == body  # the same bytes every time: a sound ETag
    notices = validate(body, tmp_path, day)
    assert {n["code"] for n in notices if n["severity"] != "INFO"} <= ACCEPTED_NOTICES, notices
    guru = validate_guru(body, tmp_path, day)
    assert guru["ERROR"] == set() and guru["WARNING"] <= ACCEPTED_NOTICES, guru


def test_a_run_for_no_village_serves_the_municipality(tmp_path):
    """An association that names no villages, with a run that names none: anyone in the
    municipality may be picked up, so the zone is the municipality's outline."""
    association = AssociationFactory(
        name="Kommunens skjuts", phone="+4628140002", email="info@kommunskjuts.se"
    )
    schedule = schedule_create(
        actor=coordinator_of(association),
        association=association,
        name="Lördagshandling",
        rrule="FREQ=WEEKLY;BYDAY=SA",
        starts_on=timezone.localdate(),
        arrive_at=datetime.time(11, 0),
        leave_at=datetime.time(12, 0),
        destination=SHOP,
        destination_name="Coop Vansbro",
        deadline_time=datetime.time(12, 0),
        deadline_days=2,
    )
    body = gtfs_flex_feed(association=association, now=timezone.now()).body
    files = unzip(body)
    (feature,) = json.loads(files["locations.geojson"])["features"]
    assert feature["id"] == "kommun-2021"
    assert feature["properties"] == {"stop_name": "Vansbro"}
    # One Polygon per part of the outline (a box in the tests), not a MultiPolygon.
    assert feature["geometry"] == {
        "type": "Polygon",
        "coordinates": [
            [[13.4, 60.25], [14.65, 60.25], [14.65, 61.05], [13.4, 61.05], [13.4, 60.25]]
        ],
    }
    zone_rows = [r for r in rows(files["stop_times.txt"]) if r["location_id"]]
    assert {r["location_id"] for r in zone_rows} == {"kommun-2021"}
    rule = rows(files["booking_rules.txt"])[0]
    assert (rule["booking_rule_id"], rule["prior_notice_last_day"]) == (f"b{schedule.id}", "2")
    assert "senast kl. 12:00, 2 dagar före" in rule["message"]
    notices = validate(body, tmp_path, timezone.localdate())
    assert {n["code"] for n in notices if n["severity"] != "INFO"} <= ACCEPTED_NOTICES, notices
    guru = validate_guru(body, tmp_path, timezone.localdate())
    assert guru["ERROR"] == set() and guru["WARNING"] <= ACCEPTED_NOTICES, guru


def test_a_circle_stops_short_of_a_neighbours_drawn_area(tmp_path, settings):
    """Two villages 4.5 km apart, the first with an area drawn to within 1 km of the
    second: the second's circle is 1 km, not 2.25 km (half way) or 3 km, so the two
    zones of the trips do not overlap, and both validators agree."""
    settings.SITE_URL = "https://samby.example.se"
    association = AssociationFactory(name="Grannbyarna", phone="+4628140003")
    centre = Point(14.30, 60.50, srid=4326)
    east = 111_320 * math.cos(math.radians(60.50))
    far = Point(14.30 + 4500 / east, 60.50, srid=4326)
    drawn = VillageFactory(
        name="Östby",
        municipality=association.municipality,
        location=centre,
        area=Polygon.from_bbox((14.28, 60.48, 14.30 + 3500 / east, 60.52)),
    )
    plain = VillageFactory(name="Västby", municipality=association.municipality, location=far)
    association.villages.add(drawn, plain)
    schedule_create(
        actor=coordinator_of(association),
        association=association,
        name="Onsdagshandling",
        rrule="FREQ=WEEKLY;BYDAY=WE",
        starts_on=timezone.localdate(),
        arrive_at=datetime.time(10, 0),
        leave_at=datetime.time(11, 0),
        destination=SHOP,
        destination_name="ICA Nära Vansbro",
        deadline_time=datetime.time(18, 0),
    )
    body = gtfs_flex_feed(association=association, now=timezone.now()).body
    features = {f["id"]: f for f in json.loads(unzip(body)["locations.geojson"])["features"]}
    ring = features[f"by-{plain.pk}"]["geometry"]["coordinates"][0]
    for lon, lat in ring:
        metres = math.hypot((lon - far.x) * east, (lat - far.y) * 111_320)
        assert metres == pytest.approx(1000, abs=5)
    notices = validate(body, tmp_path, timezone.localdate())
    assert {n["code"] for n in notices if n["severity"] != "INFO"} <= ACCEPTED_NOTICES, notices
    guru = validate_guru(body, tmp_path, timezone.localdate())
    assert guru["ERROR"] == set() and guru["WARNING"] <= ACCEPTED_NOTICES, guru
