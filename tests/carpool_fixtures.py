"""Shared fixtures for carpooling: a driver and passengers of the Vansbro association,
and a straight east-west trip across the municipality (about 44 km as the crow flies,
57 km by the road factor) that tests place points along."""

import datetime as dt

import pytest
from django.contrib.gis.geos import Point

from backend.community.models import Role
from dispatch import carpool
from tests.factories import STOCKHOLM, MembershipFactory, next_weekday_at

WEST = Point(13.80, 60.60, srid=4326)
EAST = Point(14.60, 60.60, srid=4326)
METRES_PER_DEGREE_LAT = 111_320


def along(fraction: float, north_m: float = 0.0) -> Point:
    """A point `fraction` of the way from WEST to EAST, `north_m` metres north of it."""
    return Point(
        WEST.x + (EAST.x - WEST.x) * fraction,
        WEST.y + north_m / METRES_PER_DEGREE_LAT,
        srid=4326,
    )


@pytest.fixture
def carpool_driver(association):
    return MembershipFactory(
        association=association, user__full_name="Anna Ek", roles=[Role.MEMBER]
    ).user


@pytest.fixture
def passenger(association):
    return MembershipFactory(association=association, user__full_name="Bo Ström").user


@pytest.fixture
def publish(carpool_driver, settings):
    """publish(**changes) publishes WEST -> EAST next Monday 07:00 (local), 3 seats."""
    settings.ROUTER_URL = ""

    def make(**changes):
        values = {
            "driver": carpool_driver,
            "origin": WEST,
            "origin_address": "Storgatan 1, Väst",
            "destination": EAST,
            "destination_address": "Torget 2, Öst",
            "first_departure": next_weekday_at(0, 7, 0),
            "seats": 3,
        }
        values.update(changes)
        return carpool.trip_publish(**values)

    return make


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=STOCKHOLM)
