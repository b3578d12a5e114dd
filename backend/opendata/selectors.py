"""Reads the sharing app for the GBFS feed: one query for the cars, one for their bookings.

Only cars the association itself owns are published. A car a resident lends stands at
their home, and its position in an open feed would be that person's address.
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max, Q

from backend.community.models import Association
from backend.sharing.models import HOLDING, Booking, BookingStatus, Fuel, Resource, ResourceKind

# GBFS propulsion_type for our fuels.
PROPULSION = {
    Fuel.PETROL: "combustion",
    Fuel.DIESEL: "combustion_diesel",
    Fuel.BIOGAS: "combustion",
    Fuel.ELECTRIC: "electric",
    Fuel.HYBRID: "hybrid",
}

AVAILABILITY_DAYS = 7


@dataclass(frozen=True)
class GbfsStation:
    station_id: str
    name: str
    lon: float
    lat: float
    capacity: int


@dataclass(frozen=True)
class GbfsCar:
    resource_id: int  # internal; never published
    vehicle_id: str  # rotated at every check-in
    station_id: str
    make_model: str
    seats: int
    propulsion: str
    range_m: int
    price_per_hour_ore: int
    price_per_km_ore: int
    available_now: bool
    out_of_service: bool
    free_slots: tuple[tuple[datetime, datetime | None], ...]


def _digest(*parts: object) -> str:
    message = ":".join(str(part) for part in parts).encode()
    return hmac.new(settings.GBFS_VEHICLE_ID_SECRET.encode(), message, hashlib.sha256).hexdigest()


def gbfs_vehicle_id(*, resource_id: int, last_check_in_id: int | None) -> str:
    """GBFS asks that a vehicle id change after each trip so trips cannot be followed:
    keyed by the last check-in, it is stable between trips and new after each one, and
    without the secret nobody can tell two ids of one car apart."""
    return _digest("vehicle", resource_id, last_check_in_id or 0)[:16]


def gbfs_station_id(*, association_id: int, lon: float, lat: float) -> str:
    # Cars parked at the same spot share a station; the id is stable while the spot is.
    return "s-" + _digest("station", association_id, f"{lon:.6f}", f"{lat:.6f}")[:12]


def _free_slots(
    busy: list[tuple[datetime, datetime]], now: datetime, horizon: datetime
) -> tuple[tuple[datetime, datetime | None], ...]:
    """The gaps between holding bookings (buffer included) from now to the horizon. The
    last gap is open-ended (`until` omitted): the car is free from then on."""
    slots: list[tuple[datetime, datetime | None]] = []
    start = now
    for begins, ends in sorted(busy):
        if begins > start:
            slots.append((start, begins))
        start = max(start, ends)
    if start < horizon:
        slots.append((start, None))
    return tuple(slots)


def gbfs_fleet(
    *, association: Association, now: datetime
) -> tuple[list[GbfsStation], list[GbfsCar]]:
    cars = list(
        Resource.objects.filter(
            association=association, kind=ResourceKind.CAR, active=True, owner__isnull=True
        )
        .annotate(
            last_check_in_id=Max("bookings__id", filter=Q(bookings__status=BookingStatus.RETURNED))
        )
        .order_by("id")
    )
    horizon = now + timedelta(days=AVAILABILITY_DAYS)
    busy: dict[int, list[tuple[datetime, datetime]]] = {car.id: [] for car in cars}
    for resource_id, starts_at, blocked_until in Booking.objects.filter(
        resource_id__in=busy, status__in=HOLDING, starts_at__lt=horizon, blocked_until__gt=now
    ).values_list("resource_id", "starts_at", "blocked_until"):
        busy[resource_id].append((starts_at, blocked_until))

    stations: dict[str, GbfsStation] = {}
    fleet: list[GbfsCar] = []
    for car in cars:
        lon, lat = car.location.x, car.location.y
        station_id = gbfs_station_id(association_id=association.id, lon=lon, lat=lat)
        known = stations.get(station_id)
        stations[station_id] = GbfsStation(
            station_id=station_id,
            # Named after the first car parked there: the exact pick-up instructions
            # stay for people with a booking.
            name=known.name if known else car.title,
            lon=lon,
            lat=lat,
            capacity=(known.capacity if known else 0) + 1,
        )
        propulsion = PROPULSION.get(car.fuel, "combustion")
        in_use_now = any(begins <= now < ends for begins, ends in busy[car.id])
        fleet.append(
            GbfsCar(
                resource_id=car.id,
                vehicle_id=gbfs_vehicle_id(
                    resource_id=car.id, last_check_in_id=car.last_check_in_id
                ),
                station_id=station_id,
                make_model=car.title,
                seats=car.seats or 1,
                propulsion=propulsion,
                range_m=settings.GBFS_RANGE_M[
                    "electric" if propulsion == "electric" else "combustion"
                ],
                price_per_hour_ore=car.price_per_hour_ore,
                price_per_km_ore=car.price_per_km_ore,
                available_now=not car.out_of_service and not in_use_now,
                out_of_service=car.out_of_service,
                free_slots=() if car.out_of_service else _free_slots(busy[car.id], now, horizon),
            )
        )
    return list(stations.values()), fleet
