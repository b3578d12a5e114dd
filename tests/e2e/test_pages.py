"""Every page of the web app, in Swedish at a phone's size: no WCAG 2.1 A/AA violations
that axe-core finds, under the weight budget (bytes transferred on a first visit, map
tiles excluded), and a screenshot for the documentation."""

from pathlib import Path

import pytest

from backend.notifications.services import notify
from tests.e2e.conftest import PAGE_BUDGET, SCREENSHOTS, Transfer, check_axe, off_loop, screenshot
from tests.webapp.conftest import World, build_world

pytestmark = pytest.mark.e2e

PAGES = [
    # (who, path, screenshot name)
    (None, "/sign-in", "sign-in"),
    (None, "/sign-in/code", "sign-in-code"),
    (None, "/offline", "offline"),
    (None, "/erased", "erased"),
    ("rider", "/", "home"),
    ("rider", "/rides/new", "ride-request"),
    ("rider", "/rides/{held}/", "ride-follow"),
    ("rider", "/rides/", "my-rides"),
    ("rider", "/notifications/", "notifications"),
    ("rider", "/profile/", "profile"),
    ("rider", "/profile/erase", "erase"),
    ("proxy", "/rides/new", "ride-request-proxy"),
    ("offered_driver", "/driver/", "driver-offers"),
    ("holding_driver", "/driver/", "driver-home"),
    ("holding_driver", "/driver/rides/{held}/", "driver-ride"),
    ("holding_driver", "/driver/availability", "driver-availability"),
    ("holding_driver", "/driver/km", "driver-km"),
    ("other_resident", "/driver/", "not-a-driver"),
]


@pytest.fixture
def world(live) -> World:
    made = build_world()
    rider = made.people["rider"]
    for kind, payload in [
        ("ride.requested", {"when": "2026-12-01 10:00"}),
        (
            "ride.accepted",
            {"driver": "Erik Olsson", "car": "Grå Volvo", "when": "2026-12-01 10:00"},
        ),
    ]:
        off_loop(notify, recipient=rider, kind=kind, payload=payload)
    return made


def test_every_page_is_accessible_light_and_pictured(live, phone, world: World):
    weights = []
    for who, path, name in PAGES:
        user = world.people[who] if who else None
        context = phone(user, language="sv")
        page = context.new_page()
        transfer = Transfer()
        transfer.watch(page)
        url = path.format(held=world.held.pk)
        response = page.goto(url)
        assert response.status in (200, 403), (url, response.status)
        page.wait_for_load_state("networkidle")
        assert page.locator("html").get_attribute("lang") == "sv"
        check_axe(page)
        screenshot(page, name)
        weights.append((name, url, len(transfer.rows), transfer.total))
        context.close()
    table = ["page                 requests   bytes"] + [
        f"{name:<20} {count:>8} {total:>7}" for name, _url, count, total in weights
    ]
    Path(SCREENSHOTS / "page-weight.txt").write_text("\n".join(table) + "\n", encoding="utf-8")
    print("\n".join(table))
    heavy = [(name, total) for name, _url, _count, total in weights if total >= PAGE_BUDGET]
    assert heavy == [], f"over {PAGE_BUDGET} bytes: {heavy}"


def test_the_accessibility_check_reports_a_violation(live, phone):
    """The check above would catch a real problem: an image without a text alternative."""
    page = phone().new_page()
    page.set_content('<html lang="en"><body><main><img src="/x.png"></main></body></html>')
    with pytest.raises(AssertionError, match="image-alt"):
        check_axe(page)
