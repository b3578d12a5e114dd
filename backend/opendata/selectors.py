"""Reads the sharing app for the GBFS feed (one query for the cars, one for their
bookings) and the shop runs for the GTFS-Flex feed.

Only cars the association itself owns are published. A car a resident lends stands at
their home, and its position in an open feed would be that person's address. Of the shop
runs only the timetable is read: schedules, dated runs, the villages served, the shop;
never who signed up, who drives or where anyone lives.
"""

import hashlib
import hmac
import itertools
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.gis.geos import Point, Polygon
from django.db.models import Max, Q

from backend.community.models import Association, Village
from backend.opendata.gtfs import FlexRun, FlexSchedule, FlexZone
from backend.sharing.models import HOLDING, Booking, BookingStatus, Fuel, Resource, ResourceKind
from backend.shuttle.models import OccurrenceState, RunOccurrence, RunSchedule
from backend.shuttle.recurrence import local_moment, parse_rule, rule_dates

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


# --- Shop runs for the GTFS-Flex feed ------------------------------------------------------


@dataclass(frozen=True)
class FlexData:
    zones: tuple[FlexZone, ...]
    schedules: tuple[FlexSchedule, ...]


def service_day_seconds(moment: datetime, day: date) -> int:
    """Seconds from GTFS's start of `day` ("noon minus 12 h", local time) to `moment`.
    Equal to the local clock time except around a change of the clocks."""
    zone = ZoneInfo(settings.TIME_ZONE)
    noon = datetime.combine(day, time(12), tzinfo=zone).astimezone(UTC)
    return int((moment.astimezone(UTC) - (noon - timedelta(hours=12))).total_seconds())


def _ring_ccw(ring: list[tuple[float, float]]) -> list[list[float]]:
    # RFC 7946: exterior rings counterclockwise (positive shoelace area).
    area = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(ring))
    ordered = ring if area > 0 else ring[::-1]
    return [[round(x, 6), round(y, 6)] for x, y in ordered]


def _polygon_geojson(polygon: Polygon) -> list[list[list[float]]]:
    exterior = _ring_ccw(list(polygon.exterior_ring.coords))
    # Holes go clockwise: the reverse of an exterior.
    holes = [_ring_ccw(list(ring.coords))[::-1] for ring in list(polygon)[1:]]
    return [exterior, *holes]


def _circle(lon: float, lat: float, radius_m: float, points: int = 24) -> dict:
    dlat = radius_m / 111_320
    dlon = radius_m / (111_320 * math.cos(math.radians(lat)))
    ring = [
        (
            lon + dlon * math.cos(2 * math.pi * i / points),
            lat + dlat * math.sin(2 * math.pi * i / points),
        )
        for i in range(points)
    ]
    return {"type": "Polygon", "coordinates": [_ring_ccw([*ring, ring[0]])]}


def _village_zones(villages: list[Village]) -> dict[int, FlexZone]:
    """A village's drawn area, or else a circle around its centre: at most
    GTFS_FLEX_VILLAGE_RADIUS_M, at most half way to the next village and not into
    another village's drawn area, so that two zones of one trip do not overlap (GTFS-Flex
    forbids it for zones with the same window). Drawn areas are taken as drawn."""
    zones = {}
    for village in villages:
        if village.area is not None:
            geometry = {"type": "Polygon", "coordinates": _polygon_geojson(village.area)}
        else:
            lon, lat = village.location.x, village.location.y
            radius = float(settings.GTFS_FLEX_VILLAGE_RADIUS_M)
            for other in villages:
                if other.pk == village.pk:
                    continue
                radius = min(radius, _metres(lon, lat, other.location.x, other.location.y) / 2)
                if other.area is not None:
                    radius = min(radius, _metres_to_area(lon, lat, other.area))
            geometry = _circle(lon, lat, max(radius, 100.0))
        zones[village.pk] = FlexZone(
            zone_id=f"by-{village.pk}", name=village.name, geometry=geometry
        )
    return zones


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    # Flat-earth distance: good to a fraction of a percent over a few kilometres.
    dx = (lon2 - lon1) * 111_320 * math.cos(math.radians((lat1 + lat2) / 2))
    dy = (lat2 - lat1) * 111_320
    return math.hypot(dx, dy)


def _metres_to_area(lon: float, lat: float, area: Polygon) -> float:
    """Distance from (lon, lat) to the area, in metres (0 inside it), on the same flat
    projection around the point as `_metres`."""
    east = 111_320 * math.cos(math.radians(lat))
    rings = [[((x - lon) * east, (y - lat) * 111_320) for x, y in ring.coords] for ring in area]
    return Polygon(*rings).distance(Point(0, 0))


def _municipality_zones(association: Association) -> list[FlexZone]:
    """A run for no village in particular takes anyone in the municipality. Simplified
    to about 100 m: the outline is for a map, and the file stays small. One Polygon per
    part: MobilityData's validator (and readers built like it) drop a MultiPolygon."""
    boundary = association.municipality.boundary.simplify(0.001, preserve_topology=True)
    polygons = [boundary] if isinstance(boundary, Polygon) else list(boundary)
    code, name = association.municipality.code, association.municipality.name
    return [
        FlexZone(
            zone_id=f"kommun-{code}" if len(polygons) == 1 else f"kommun-{code}-{number}",
            name=name,
            geometry={"type": "Polygon", "coordinates": _polygon_geojson(polygon)},
        )
        for number, polygon in enumerate(polygons, start=1)
    ]


def shop_stop_id(lon: float, lat: float) -> str:
    # Runs to the same shop share one stop; the id is stable while the spot is.
    return "affar-" + hashlib.sha256(f"{lon:.5f}:{lat:.5f}".encode()).hexdigest()[:8]


def gtfs_flex_runs(*, association: Association, today: date, end: date) -> FlexData:
    """The association's shop runs from `today` to `end` (local dates, both included):
    the runs that exist (moved ones at their new times; cancelled ones left out) and, for
    active schedules, the dates their rule gives beyond them. Four queries: schedules,
    their villages, the association's villages, the runs. Nothing about who signed up or
    drives is read."""
    schedules = list(
        RunSchedule.objects.filter(association=association)
        .filter(Q(active=True) | Q(occurrences__rule_date__gte=today))
        .distinct()
        .prefetch_related("villages")
        .order_by("pk")
    )
    own_villages = list(association.villages.order_by("pk"))
    zone = ZoneInfo(settings.TIME_ZONE)
    start_at = datetime.combine(today, time(0), tzinfo=zone)
    end_at = datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone)
    known: dict[int, set[date]] = {schedule.pk: set() for schedule in schedules}
    runs: dict[int, list[FlexRun]] = {schedule.pk: [] for schedule in schedules}
    occurrences = RunOccurrence.objects.filter(schedule_id__in=known).filter(
        Q(arrive_at__gte=start_at, arrive_at__lt=end_at) | Q(rule_date__gte=today)
    )
    for schedule_id, rule_date, arrive_at, leave_at, state in occurrences.values_list(
        "schedule_id", "rule_date", "arrive_at", "leave_at", "state"
    ):
        known[schedule_id].add(rule_date)
        day = arrive_at.astimezone(zone).date()
        if state == OccurrenceState.CANCELLED or not today <= day <= end:
            continue
        runs[schedule_id].append(
            FlexRun(
                service_day=day,
                arrive_s=service_day_seconds(arrive_at, day),
                leave_s=service_day_seconds(leave_at, day),
            )
        )

    village_zones = _village_zones(own_villages)
    zones: dict[str, FlexZone] = {}
    flex: list[FlexSchedule] = []
    for schedule in schedules:
        if schedule.active:
            last = end if schedule.ends_on is None else min(end, schedule.ends_on)
            rule = parse_rule(schedule.rrule, starts_on=schedule.starts_on)
            for day in rule_dates(rule, start=max(today, schedule.starts_on), end=last):
                if day in known[schedule.pk]:
                    continue
                runs[schedule.pk].append(
                    FlexRun(
                        service_day=day,
                        arrive_s=service_day_seconds(local_moment(day, schedule.arrive_at), day),
                        leave_s=service_day_seconds(local_moment(day, schedule.leave_at), day),
                    )
                )
        served = [village_zones[v.pk] for v in schedule.villages.all() if v.pk in village_zones]
        if not served:
            # No villages named: the run takes anyone of the association's villages, or
            # of the municipality when the association names none.
            served = list(village_zones.values()) or _municipality_zones(association)
        for served_zone in served:
            zones.setdefault(served_zone.zone_id, served_zone)
        lon, lat = schedule.destination.x, schedule.destination.y
        flex.append(
            FlexSchedule(
                schedule_id=schedule.pk,
                name=schedule.name,
                shop_id=shop_stop_id(lon, lat),
                shop_name=schedule.destination_name,
                shop_lon=lon,
                shop_lat=lat,
                zone_ids=tuple(z.zone_id for z in served),
                deadline_days=schedule.deadline_days,
                deadline_time=schedule.deadline_time,
                window_s=settings.SHUTTLE_PICKUP_WINDOW_MINUTES * 60,
                runs=tuple(sorted(runs[schedule.pk], key=lambda r: (r.service_day, r.arrive_s))),
            )
        )
    return FlexData(zones=tuple(zones.values()), schedules=tuple(flex))
