"""Text nobody can break at a space (an address typed as one long word, a web address in
a coordinator's message) wraps inside a phone's screen instead of widening the page."""

import pytest

from backend.notifications.services import notify
from backend.rides.models import RideRequest
from tests.e2e.conftest import PHONE, off_loop
from tests.webapp.conftest import World, build_world

pytestmark = pytest.mark.e2e

LONG_WORD = "Å" * 200
LONG_ADDRESS = "https://example.se/" + "handlarskjutsen-" * 15 + "?vecka=49"


@pytest.fixture
def world(live) -> World:
    made = build_world()
    RideRequest.objects.filter(pk=made.held.pk).update(
        pickup_address=LONG_WORD, destination_address=LONG_ADDRESS, note=LONG_WORD
    )
    off_loop(
        notify,
        recipient=made.people["rider"],
        kind="association.message",
        payload={"association": made.a.name, "text": f"{LONG_WORD} {LONG_ADDRESS}"},
    )
    return made


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("rider", "/"),
        ("rider", "/notifications/"),
        ("rider", "/rides/"),
        ("rider", "/rides/{held}/"),
        ("holding_driver", "/driver/"),
        ("holding_driver", "/driver/rides/{held}/"),
    ],
)
def test_a_long_word_wraps_within_a_phones_width(live, phone, world: World, who, path):
    page = phone(world.people[who], language="sv").new_page()
    response = page.goto(path.format(held=world.held.pk))
    assert response.status == 200
    assert LONG_WORD[:50] in page.content()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
