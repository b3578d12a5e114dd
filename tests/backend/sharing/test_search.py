"""Search near a point: distance, kind, category, text, free in a period; one query."""

import datetime

import pytest
from django.contrib.gis.geos import Point

from backend.sharing.models import BookingStatus, ResourceKind
from backend.sharing.selectors import resources_available_near
from tests.factories import DALA_JARNA, VANSBRO
from tests.sharing_fixtures import BookingFactory, ResourceFactory, wednesday

pytestmark = pytest.mark.django_db

FAR = Point(14.9, 60.9, srid=4326)  # about 60 km away


@pytest.fixture
def things(association):
    near = ResourceFactory(
        association=association, title="Vedklyv", category="wood splitter", location=VANSBRO
    )
    farther = ResourceFactory(association=association, title="Släp", location=DALA_JARNA)
    room = ResourceFactory(
        association=association,
        kind=ResourceKind.ROOM,
        category="hall",
        title="Bygdegården",
        description="Kök och 60 stolar",
        location=DALA_JARNA,
    )
    ResourceFactory(association=association, title="Långt bort", location=FAR)
    ResourceFactory(association=association, title="Avlistad", active=False, location=VANSBRO)
    ResourceFactory(association=association, title="Trasig", out_of_service=True, location=VANSBRO)
    return {"near": near, "farther": farther, "room": room}


@pytest.fixture(autouse=True)
def _postgis_version_known():
    """GeoDjango asks PostGIS for its version on first use; not part of the search."""
    resources_available_near(point=VANSBRO, radius_m=1)


def titles(found):
    return [r.title for r in found]


def test_nearest_first_within_the_radius(things, django_assert_num_queries):
    with django_assert_num_queries(1):
        found = resources_available_near(point=VANSBRO, radius_m=20_000)
    assert titles(found) == ["Vedklyv", "Släp", "Bygdegården"]
    assert found[0].distance_m == pytest.approx(0, abs=1)
    assert 8_000 < found[1].distance_m < 10_000


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"kind": "room"}, ["Bygdegården"]),
        ({"category": "Wood Splitter"}, ["Vedklyv"]),
        ({"text": "stolar"}, ["Bygdegården"]),
        ({"text": "SLÄP"}, ["Släp"]),
    ],
    ids=["kind", "category", "text-in-description", "text-any-case"],
)
def test_filters(things, filters, expected):
    assert titles(resources_available_near(point=VANSBRO, radius_m=20_000, **filters)) == expected


def test_only_resources_free_for_the_whole_period_buffer_included(
    things, django_assert_num_queries
):
    things["near"].buffer_minutes = 60
    things["near"].save()
    BookingFactory(
        resource=things["farther"],
        starts_at=wednesday(11),
        ends_at=wednesday(13),
        blocked_until=wednesday(13),
    )
    BookingFactory(
        resource=things["near"],
        starts_at=wednesday(14, 30),
        ends_at=wednesday(16),
        blocked_until=wednesday(17),
    )
    BookingFactory(
        resource=things["room"],
        starts_at=wednesday(10),
        ends_at=wednesday(14),
        blocked_until=wednesday(14),
        status=BookingStatus.CANCELLED,
    )
    with django_assert_num_queries(1):
        found = resources_available_near(
            point=VANSBRO, radius_m=20_000, starts_at=wednesday(12), ends_at=wednesday(14)
        )
    # near: 12-14 plus its hour of buffer reaches the booking at 14:30; farther is taken;
    # the room's booking was cancelled.
    assert titles(found) == ["Bygdegården"]
    assert titles(
        resources_available_near(
            point=VANSBRO, radius_m=20_000, starts_at=wednesday(13), ends_at=wednesday(14)
        )
    ) == ["Släp", "Bygdegården"]


def test_length_outside_the_resource_limits_is_not_offered(things):
    found = resources_available_near(
        point=VANSBRO, radius_m=20_000, starts_at=wednesday(10), ends_at=wednesday(10, 30)
    )
    assert found == []


@pytest.mark.parametrize(
    ("minutes", "found"),
    [(59.5, []), (60, ["Vedklyv"]), (120, ["Vedklyv"]), (120.5, [])],
    ids=["just-under-min", "min", "max", "just-over-max"],
)
def test_length_limits_to_the_second(association, minutes, found):
    ResourceFactory(association=association, title="Vedklyv", min_minutes=60, max_minutes=120)
    start = wednesday(10)
    end = start + datetime.timedelta(minutes=minutes)
    assert (
        titles(
            resources_available_near(point=VANSBRO, radius_m=1_000, starts_at=start, ends_at=end)
        )
        == found
    )
