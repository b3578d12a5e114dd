"""The statistics dashboard in a real Chromium: the charts and the map are drawn with
data, and axe-core finds no accessibility violations."""

import os

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.test import Client

from backend.stats.refresh import stats_refresh
from tests.stats_data import build_world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def analyst_session(settings):
    settings.STATS_K_ANONYMITY = 2  # so that the small world shows every table and the map
    world = build_world()
    stats_refresh()
    client = Client()
    client.force_login(world.analyst_a)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Chromium")
def test_dashboard_in_a_browser_is_drawn_and_accessible(live_server, analyst_session):
    from playwright.sync_api import sync_playwright

    url = f"{live_server.url}/stats/?start=2026-01-01&end=2026-02-28&granularity=month"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(locale="en", java_script_enabled=True)
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": analyst_session,
                    "url": live_server.url,
                }
            ]
        )
        page = context.new_page()
        page.goto(url)
        assert page.locator("h1").inner_text() == "Statistics for Vansbro"
        # Three charts with bars, the map with its hexagon and the village names.
        assert page.locator("svg.chart").count() == 3
        # two months' bars of rides carried out, and the legend's swatch
        assert page.locator("#chart-requests rect[fill='#0b5394']").count() == 3
        assert page.locator("svg.map polygon.cell").count() == 1
        assert (
            page.locator("svg.map text").all_text_contents()
            == sorted(page.locator("svg.map text").all_text_contents())
            or page.locator("svg.map text").count() == 3
        )
        box = page.locator("#chart-requests").bounding_box()
        assert box and box["width"] > 200 and box["height"] > 60
        assert page.locator("#villages tbody tr").count() == 3

        results = Axe().run(page)
        browser.close()
    assert results.violations_count == 0, results.generate_report()
