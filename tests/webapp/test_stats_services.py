"""The dashboard shows carpool, shop runs and shared things: the service filter offers
them, the per-service table has their figures (seats, attendance, car hours), and a
service filter narrows the page to one service."""

import re

import pytest
from django.test import Client

from backend.community.models import MunicipalityAnalyst
from backend.stats.refresh import stats_refresh
from tests.backend.stats.test_sources import (  # noqa: F401 - place is a fixture
    build_carpool,
    build_sharing,
    build_shuttle,
    place,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RANGE = {"start": "2026-01-01", "end": "2026-01-31", "granularity": "month"}


@pytest.fixture
def analyst(place, settings):  # noqa: F811 - the fixture imported above
    settings.STATS_K_ANONYMITY = 2
    municipality, association, vansbro, _ = place
    build_carpool(association, vansbro)
    build_shuttle(association)
    build_sharing(association)
    stats_refresh()
    user = UserFactory(full_name="Helena Ström")
    MunicipalityAnalyst.objects.create(user=user, municipality=municipality)
    client = Client()
    client.force_login(user)
    return client


def cells(html: str, table: str) -> dict[str, list[str]]:
    body = re.search(rf'<table id="{table}">(.*?)</table>', html, re.DOTALL)[1]
    rows = re.findall(r'<th scope="row">(.*?)</th>(.*?)</tr>', body, re.DOTALL)
    return {label: re.findall(r"<td>(.*?)</td>", rest) for label, rest in rows}


def test_service_filter_offers_every_service(analyst):
    html = analyst.get("/stats/", RANGE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    options = re.findall(
        r'<option value="(\w+)"', html.split('name="service"')[1].split("</select>")[0]
    )
    assert options == ["rides", "carpool", "shuttle", "sharing"]


def test_per_service_table(analyst):
    html = analyst.get("/stats/", RANGE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    table = cells(html, "services")
    # requests, carried out, not served, cancelled, carried, passenger km, hours in use
    assert table["Carpool"][:5] == ["5", "2", "2", "1", "3"]
    assert table["Carpool"][5] == "70.0"
    assert table["Shop runs"][:5] == ["6", "2", "2", "1", "3"]
    assert table["Shared things (car)"] == ["3", "2", "1", "0", "2", "52.0", "5.5"]
    assert table["Shared things (tool)"] == ["\u2013"] * 7  # one person: withheld


def test_service_filter_narrows_the_page(analyst):
    response = analyst.get("/stats/", {**RANGE, "service": "carpool"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    headline = re.search(
        r'<ul class="cards" id="headline">(.*?)</ul>', response.content.decode(), re.DOTALL
    )[1]
    assert re.search(r'class="value">5\b', headline)  # the five seat bookings only
