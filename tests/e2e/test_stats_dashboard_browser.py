"""The statistics dashboard in a real Chromium (the fixtures of tests/e2e/conftest.py):
the charts and the map are drawn with data on a phone's screen, and axe-core
finds no WCAG 2.1 A/AA violations."""

import pytest

from backend.stats.refresh import stats_refresh
from tests.e2e.conftest import check_axe, screenshot
from tests.stats_data import build_world

URL = "/stats/?start=2026-01-01&end=2026-02-28&granularity=month"


@pytest.fixture
def analyst(live, settings):
    settings.STATS_K_ANONYMITY = 2  # so that the small world shows every table and the map
    world = build_world()
    stats_refresh()
    return world.analyst_a


def test_dashboard_is_drawn_and_accessible(phone, analyst):
    page = phone(analyst).new_page()
    page.goto(URL)
    assert page.locator("h1").inner_text() == "Statistics for Vansbro"
    # Three charts; the requests chart has a bar per month of rides carried out (and the
    # legend's swatch in the same colour).
    assert page.locator("svg.chart").count() == 3
    assert page.locator("#chart-requests rect[fill='#0b5394']").count() == 3
    box = page.locator("#chart-requests").bounding_box()
    assert box and box["width"] > 200 and box["height"] > 60
    # The map: the one hexagon with unserved requests, and the villages by name.
    assert page.locator("svg.map polygon.cell").count() == 1
    assert sorted(page.locator("svg.map text").all_text_contents()) == [
        "Dala-Järna",
        "Vansbro",
        "Äppelbo",
    ]
    assert page.locator("#villages tbody tr").count() == 3
    check_axe(page)
    screenshot(page, "stats-dashboard")
