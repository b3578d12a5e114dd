"""A shared thing is kept where its association is: a place outside the association's
municipality (a mistyped pin, a geocoder's hit in another town) is refused with how far
off it is, and nothing is stored or changed."""

import pytest
from django.contrib.gis.geos import Point
from django.utils import translation

from backend.errors import ApplicationError, ErrorKind
from backend.sharing import services
from backend.sharing.errors import ResourceErrorCode
from backend.sharing.models import Resource
from tests.factories import VANSBRO
from tests.sharing_fixtures import ResourceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """The messages as written in the code (Swedish is the default language)."""
    with translation.override("en"):
        yield


# Vansbro in the tests is the box 13.4..14.65 E, 60.25..61.05 N (tests/factories.py).
INSIDE = Point(14.3, 60.52, srid=4326)
JUST_OUTSIDE = Point(14.655, 60.5, srid=4326)  # about 270 m east of the edge
STOCKHOLM = Point(18.0686, 59.3293, srid=4326)
EAST_55_KM = Point(15.65, 60.5, srid=4326)


def drill(**changes) -> dict:
    return {
        "kind": "tool",
        "category": "drill",
        "title": "Slagborr",
        "location": INSIDE,
        **changes,
    }


def refused_place(call) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call()
    error = caught.value
    assert (error.code, error.kind) == (ResourceErrorCode.OUTSIDE_AREA, ErrorKind.INVALID)
    assert error.fields == {"location": [error.message]}
    return error


def test_a_thing_in_the_municipality_is_listed(coordinator, association):
    resource = services.resource_create(actor=coordinator, association=association, **drill())
    assert (resource.location.x, resource.location.y) == (14.3, 60.52)


@pytest.mark.parametrize(
    ("point", "km"),
    [(JUST_OUTSIDE, 1), (EAST_55_KM, 55), (STOCKHOLM, 218)],
    ids=["just-over-the-border", "55-km-east", "stockholm"],
)
def test_a_place_outside_the_municipality_is_refused_and_nothing_stored(
    coordinator, association, point, km
):
    error = refused_place(
        lambda: services.resource_create(
            actor=coordinator, association=association, **drill(location=point)
        )
    )
    assert str(error.message) == (
        f"This place is {km} km outside Vansbro, where Västerdalarnas byaskjuts is. Check the "
        "address or the pin on the map and choose a place in Vansbro."
    )
    assert not Resource.objects.exists()


def test_a_member_lending_their_own_thing_is_held_to_the_same_place(member, association):
    refused_place(
        lambda: services.resource_create(
            actor=member, association=association, lend_as_owner=True, **drill(location=STOCKHOLM)
        )
    )
    assert not Resource.objects.exists()


def test_moving_a_thing_out_of_the_municipality_is_refused_and_changes_nothing(
    coordinator, association
):
    trailer = ResourceFactory(association=association, title="Släpet", location=VANSBRO)
    refused_place(
        lambda: services.resource_update(
            actor=coordinator, resource=trailer, title="Flyttat släp", location=STOCKHOLM
        )
    )
    trailer.refresh_from_db()
    assert (trailer.title, trailer.location.x, trailer.location.y) == (
        "Släpet",
        VANSBRO.x,
        VANSBRO.y,
    )


def test_moving_a_thing_within_the_municipality_is_fine(coordinator, association):
    trailer = ResourceFactory(association=association, location=VANSBRO)
    services.resource_update(actor=coordinator, resource=trailer, location=INSIDE)
    trailer.refresh_from_db()
    assert (trailer.location.x, trailer.location.y) == (14.3, 60.52)


def test_a_thing_listed_far_off_before_the_rule_can_still_be_changed(coordinator, association):
    """Only a new place is checked, so its manager can still unlist it or fix its text
    (and is refused only when moving it somewhere else outside)."""
    stray = ResourceFactory(association=association, location=STOCKHOLM)
    services.resource_update(
        actor=coordinator, resource=stray, active=False, location=Point(STOCKHOLM.x, STOCKHOLM.y)
    )
    stray.refresh_from_db()
    assert stray.active is False
    refused_place(
        lambda: services.resource_update(actor=coordinator, resource=stray, location=EAST_55_KM)
    )
    services.resource_update(actor=coordinator, resource=stray, location=INSIDE)
    stray.refresh_from_db()
    assert (stray.location.x, stray.location.y) == (14.3, 60.52)
