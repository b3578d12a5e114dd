"""The statistics dashboard: renders the figures, charts and map for the analyst's
municipality, and nothing for anyone else."""

import csv
import io
import re
import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from backend.stats.refresh import stats_refresh
from tests.stats_data import build_world

pytestmark = pytest.mark.django_db

RANGE = {"start": "2026-01-01", "end": "2026-02-28", "granularity": "month"}


@pytest.fixture
def world():
    world = build_world()
    stats_refresh()
    return world


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def svgs(html: str) -> list[ET.Element]:
    found = re.findall(r"<svg\b.*?</svg>", html, flags=re.DOTALL)
    return [ET.fromstring(svg) for svg in found]  # noqa: S314 - our own page


def test_dashboard_renders_figures_charts_and_map(world, settings):
    settings.STATS_K_ANONYMITY = 2
    response = client_of(world.analyst_a).get("/stats/", RANGE, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Vansbro" in html
    headline = re.search(r'<ul class="cards" id="headline">(.*?)</ul>', html, re.DOTALL)[1]
    assert re.search(r'class="value">15\b', headline)  # requests
    assert "118.0 km" in headline  # vehicle km
    charts = svgs(html)
    ns = "{http://www.w3.org/2000/svg}"
    bar_charts = [svg for svg in charts if svg.get("class") == "chart"]
    assert len(bar_charts) == 3
    requests_chart = next(svg for svg in bar_charts if svg.get("id") == "chart-requests")
    tooltips = [t.text for t in requests_chart.iter(f"{ns}title")]
    assert "2026-01, carried out: 8" in tooltips  # P1, P2, P7 and five in Äppelbo
    assert "2026-02, carried out: 3" in tooltips
    [unmet_map] = [svg for svg in charts if svg.get("class") == "map"]
    cells = [p for p in unmet_map.iter(f"{ns}polygon") if p.get("class") == "cell"]
    assert len(cells) == 1
    villages = re.search(r'<table id="villages">(.*?)</table>', html, re.DOTALL)[1]
    assert re.search(r"Dala-Järna</th>\s*<td>3</td>", villages)
    assert "/api/v1/stats/municipalities/" in html and "format=csv" in html


def test_withheld_figures_show_a_dash(world):
    html = client_of(world.analyst_a).get("/stats/", RANGE).content.decode()
    villages = re.search(r'<table id="villages">(.*?)</table>', html, re.DOTALL)[1]
    row = re.search(r"Dala-Järna</th>(.*?)</tr>", villages, re.DOTALL)[1]
    assert "3" not in row and row.count("\u2013") == 7  # en dashes
    requests_chart = next(s for s in svgs(html) if s.get("id") == "chart-requests")
    assert "dolt (färre än k personer)" in ET.tostring(requests_chart, encoding="unicode")


def test_a_bad_date_says_so_and_still_shows_the_default(world):
    response = client_of(world.analyst_a).get("/stats/", {"start": "igår"})
    assert response.status_code == 400
    assert "ÅÅÅÅ-MM-DD" in response.content.decode()


def test_a_range_at_the_end_of_the_calendar_is_a_400_with_a_message(world):
    response = client_of(world.analyst_a).get(
        "/stats/", {"start": "9999-12-01", "end": "9999-12-31"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "Statistics count what has happened" in response.content.decode()


def test_analyst_of_another_municipality_cannot_choose_it(world):
    response = client_of(world.analyst_b).get("/stats/", {"municipality": world.a.pk})
    assert response.status_code == 404
    own = client_of(world.analyst_b).get("/stats/", RANGE)
    assert own.status_code == 200
    assert "Leksand" in own.content.decode() and "Vansbro" not in own.content.decode()


def test_people_who_are_not_analysts_are_refused(world):
    response = client_of(world.people["P2"]).get("/stats/")
    assert response.status_code == 403


def test_anonymous_is_sent_to_log_in(world):
    response = Client().get("/stats/")
    assert response.status_code == 302
    assert "next=/stats/" in response["Location"]


def test_swedish_page(world):
    client = client_of(world.analyst_a)
    html = client.get("/stats/", RANGE, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert '<html lang="sv">' in html
    assert "118,0 km" in html  # Swedish decimal comma


def _table_rows(html: str, table_id: str) -> dict[str, str]:
    """A table's body rows by their heading, each as its cells' text."""
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.DOTALL)[1]
    body = re.search(r"<tbody>(.*?)</tbody>", table, re.DOTALL)[1]
    rows = re.findall(r"<th[^>]*>(.*?)</th>(.*?)</tr>", body, re.DOTALL)
    return {
        name.strip(): re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cells)).strip()
        for name, cells in rows
    }


def test_with_a_village_chosen_the_tables_show_that_village_as_their_csv_does(world, settings):
    settings.STATS_K_ANONYMITY = 2
    client = client_of(world.analyst_a)
    whole = client.get("/stats/", RANGE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chosen = client.get(
        "/stats/", {**RANGE, "village": world.vansbro.pk}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    # PRO Äppelbo drives in Äppelbo only: with Vansbro chosen it has nothing to count.
    assert _table_rows(chosen, "associations") != _table_rows(whole, "associations")
    csv_link = re.search(r'href="([^"]*group_by=association[^"]*)"', chosen)[1]
    lines = client.get(csv_link.replace("&amp;", "&")).content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(lines)))
    csv_requests = {row["label"]: row["requests"] for row in rows if row["association"] != "total"}
    page_requests = {
        name: cells.split(" ")[0] for name, cells in _table_rows(chosen, "associations").items()
    }
    assert page_requests == csv_requests
    assert "PRO Äppelbo" not in page_requests or page_requests["PRO Äppelbo"] == "0"
