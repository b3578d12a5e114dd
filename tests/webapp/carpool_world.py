"""A carpool trip in the web page tests' world: Erik (holding_driver) drives west to
east across the municipality next Monday at 07:00 with three seats; the rider Anna and
her neighbour Johan are members of the same association; Lena books for Anna."""

from django.utils import timezone

from backend.carpool.models import Booking, SavedSearch, Trip, TripOccurrence
from dispatch import carpool
from tests.carpool_fixtures import EAST, WEST, along
from tests.factories import next_weekday_at
from tests.webapp.conftest import World

PICKUP = along(0.2)
DROPOFF = along(0.8)


def publish(world: World, **changes) -> Trip:
    values = {
        "driver": world.people["holding_driver"],
        "origin": WEST,
        "origin_address": "Storgatan 1, Väst",
        "destination": EAST,
        "destination_address": "Torget 2, Öst",
        "first_departure": next_weekday_at(0, 7, 0),
        "seats": 3,
    }
    values.update(changes)
    return carpool.trip_publish(**values)


def search_query(**changes) -> dict:
    day = timezone.localtime(next_weekday_at(0, 7, 0)).date()
    values = {
        "pickup_address": "Byvägen 3",
        "pickup_lon": f"{PICKUP.x}",
        "pickup_lat": f"{PICKUP.y}",
        "dropoff_address": "Skolgatan 9",
        "dropoff_lon": f"{DROPOFF.x}",
        "dropoff_lat": f"{DROPOFF.y}",
        "day": day.isoformat(),
        "earliest": "07:00",
        "latest": "08:30",
        "seats": "1",
    }
    values.update(changes)
    return {name: value for name, value in values.items() if value is not None}


def book_form(occurrence: TripOccurrence, passenger, **changes) -> dict:
    values = {
        "departure": str(occurrence.pk),
        "pickup_address": "Byvägen 3",
        "pickup_lon": f"{PICKUP.x}",
        "pickup_lat": f"{PICKUP.y}",
        "dropoff_address": "Skolgatan 9",
        "dropoff_lon": f"{DROPOFF.x}",
        "dropoff_lat": f"{DROPOFF.y}",
        "seats": "1",
        "passenger": str(passenger.pk),
        "message": "Jag har en liten väska",
    }
    values.update(changes)
    return {name: value for name, value in values.items() if value is not None}


def carpool_snapshot() -> list[tuple]:
    """Everything a refused carpool request must leave as it was."""
    return [
        *Trip.objects.order_by("pk").values_list("pk", "cancelled_at"),
        *TripOccurrence.objects.order_by("pk").values_list("pk", "status", "seats_taken"),
        *Booking.objects.order_by("pk").values_list("pk", "state", "passenger_id"),
        *SavedSearch.objects.order_by("pk").values_list("pk", "active"),
    ]
