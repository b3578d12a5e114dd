"""Shop runs as a GTFS-Flex feed: fetched over HTTP and validated by `gtfs-validator`
(PyPI, a pure-Python reimplementation of MobilityData's GTFS validator 8.0.1 with its
GTFS-Flex rules), plus what a validator cannot know: the exact contents for known runs,
service-day times across a change of the clocks, cancelled runs left out, no personal
data, caching headers."""

import csv
import datetime
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.contrib.gis.geos import Point, Polygon
from django.utils import timezone

from backend.opendata.selectors import service_day_seconds
from backend.opendata.services import gtfs_flex_feed
from backend.shuttle.models import RunOccurrence
from backend.shuttle.services import (
    occurrence_cancel,
    occurrence_move,
    occurrences_materialise,
    schedule_create,
    signup_create,
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


@pytest.fixture
def world():
    world = make_world()
    world.association.phone = "+4628140000"
    world.association.email = "skjuts@byalaget.example"
    world.association.save()
    return world


def test_feed_passes_the_gtfs_validator(api, world, tmp_path):
    response = api.get(url(world.association.id))
    assert response.status_code == 200
    notices = validate(response.content, tmp_path, timezone.localdate())
    print(json.dumps(notices, indent=1, ensure_ascii=False)[:20000])
    assert False
