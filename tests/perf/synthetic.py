"""Synthetic volunteer drivers and ride requests around real Swedish localities.

Places come from `tests/perf/data/se_localities.csv` (GeoNames, CC BY 4.0). A driver
lives near a locality picked at random (so a municipality gets drivers in proportion to
how many localities it has), at a gaussian distance of a few kilometres (one in five
further out in the countryside). Every municipality has one association, and a driver
belongs to the association of their locality's municipality.

Each driver has 1-4 weekly slots (mostly weekdays, 2-8 hours, between 07:00 and 22:00),
a service radius of 5-50 km, 1-6 seats, a wheelchair-accessible car one time in twenty;
a few are away a day, have extra time, are on duty, hold a ride in the next two weeks or
have done rides in the last 30 days; about 3 % are suspended or inactive.

`World.add_drivers` writes them with PostgreSQL COPY (users, memberships, driver profiles,
slots, exceptions, rides) and returns them as plain tuples for the in-memory baselines.
Everything is seeded: the same sizes give the same data.
"""

import csv
import datetime as dt
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from django.contrib.gis.geos import Point
from django.db import connection

from backend.rides.availability import availability_windows_roll
from backend.rides.models import AvailabilityHorizon, Need, RideRequest, RideState, TimeKind
from dispatch.matching import local_day, local_days, local_zone

DATA = Path(__file__).resolve().parent / "data" / "se_localities.csv"
UTC = dt.UTC
KM_PER_DEGREE = 111.32
DRIVER_ROLES = "{member,driver}"


@dataclass(frozen=True)
class Locality:
    name: str
    lat: float
    lon: float
    municipality: str


def localities() -> list[Locality]:
    with DATA.open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    return [
        Locality(
            name=row["name"],
            lat=float(row["lat"]),
            lon=float(row["lon"]),
            # A few rows have no municipality: the locality stands for its own.
            municipality=row["municipality"] or f"{row['name']} ({row['county']})",
        )
        for row in rows
    ]


class Slot(NamedTuple):
    weekday: int
    start: dt.time
    end: dt.time


class Driver(NamedTuple):
    """A driver as the in-memory baseline sees it."""

    id: int
    association_id: int
    lon: float
    lat: float
    eligible: bool  # active profile and active membership with the driver role
    radius_m: int
    seats: int
    wheelchair: bool
    walker: bool
    guide_dog: bool
    slots: tuple[Slot, ...]
    away: tuple[tuple[dt.date, dt.time | None, dt.time | None], ...]
    extra: tuple[tuple[dt.date, dt.time, dt.time], ...]
    held: tuple[tuple[dt.datetime, dt.datetime], ...]
    recent_rides: int  # done or held in the last 30 days (the synthetic rides all are)
    position: tuple[float, float] | None  # (lon, lat) while on duty
    position_at: dt.datetime | None


def _ewkt(lon: float, lat: float) -> str:
    return f"SRID=4326;POINT({lon:.6f} {lat:.6f})"


def _range(start: dt.datetime, end: dt.datetime) -> str:
    return f"[{start.isoformat()},{end.isoformat()})"


def _scatter(rng: random.Random, lat: float, lon: float, sigma_km: float) -> tuple[float, float]:
    north = rng.gauss(0, sigma_km) / KM_PER_DEGREE
    east = rng.gauss(0, sigma_km) / (KM_PER_DEGREE * math.cos(math.radians(lat)))
    return lat + north, lon + east


def _next_id(cursor, table: str) -> int:
    cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")  # noqa: S608 - table name is ours
    return cursor.fetchone()[0]


def _reset_sequence(cursor, table: str) -> None:
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - ours
        f"(SELECT coalesce(max(id), 1) FROM {table}))"
    )


class World:
    """Municipalities and associations once, then drivers in batches (ids keep growing)."""

    def __init__(self, *, seed: int = 20260329) -> None:
        self.rng = random.Random(seed)
        self.places = localities()
        self.association_of: dict[str, int] = {}
        self.now = dt.datetime.now(tz=UTC)
        self.today = self.now.astimezone(local_zone()).date()
        self.drivers = 0

    # --- Setup --------------------------------------------------------------------------

    def create_associations(self) -> None:
        """One municipality (a box around its localities) and one association each."""
        by_municipality: dict[str, list[Locality]] = {}
        for place in self.places:
            by_municipality.setdefault(place.municipality, []).append(place)
        with connection.cursor() as cursor:
            next_municipality = _next_id(cursor, "community_municipality")
            next_association = _next_id(cursor, "community_association")
            raw = cursor.cursor
            with raw.copy(
                "COPY community_municipality (id, name, code, boundary) FROM STDIN"
            ) as copy:
                for n, (name, places) in enumerate(sorted(by_municipality.items())):
                    lats = [p.lat for p in places]
                    lons = [p.lon for p in places]
                    west, east = min(lons) - 0.3, max(lons) + 0.3
                    south, north = min(lats) - 0.2, max(lats) + 0.2
                    box = (
                        f"SRID=4326;MULTIPOLYGON((({west} {south},{east} {south},"
                        f"{east} {north},{west} {north},{west} {south})))"
                    )
                    code = f"{9000 - n:04d}"
                    copy.write_row((next_municipality + n, name, code, box))
            with raw.copy(
                "COPY community_association"
                " (id, name, phone, email, created_at, municipality_id) FROM STDIN"
            ) as copy:
                for n, name in enumerate(sorted(by_municipality)):
                    copy.write_row(
                        (
                            next_association + n,
                            f"Samby {name}",
                            "",
                            "",
                            self.now,
                            next_municipality + n,
                        )
                    )
                    self.association_of[name] = next_association + n
            for table in ("community_municipality", "community_association"):
                _reset_sequence(cursor, table)

    # --- Drivers ------------------------------------------------------------------------

    def _slots(self) -> tuple[Slot, ...]:
        rng = self.rng
        slots = []
        for _ in range(rng.randint(1, 4)):
            weekday = rng.randrange(5) if rng.random() < 0.85 else rng.choice((5, 6))
            start = rng.randrange(7 * 2, 16 * 2)  # half hours
            length = rng.randrange(2 * 2, 8 * 2 + 1)
            end = min(start + length, 22 * 2)
            slot = Slot(
                weekday, dt.time(start // 2, 30 * (start % 2)), dt.time(end // 2, 30 * (end % 2))
            )
            # One day's times never overlap (the slot_no_overlap constraint, as the service).
            if all(
                other.weekday != weekday or other.end <= slot.start or slot.end <= other.start
                for other in slots
            ):
                slots.append(slot)
        return tuple(slots)

    def _weekday_in_two_weeks(self) -> dt.date:
        while True:
            day = self.today + dt.timedelta(days=self.rng.randint(1, 14))
            if day.weekday() < 5:
                return day

    def add_drivers(self, count: int, *, chunk: int = 50_000) -> list[Driver]:
        """Create `count` more drivers with COPY, `chunk` at a time; return them as tuples."""
        drivers: list[Driver] = []
        with connection.cursor() as cursor:
            ids = {table: _next_id(cursor, table) for table in TABLES}
            while len(drivers) < count:
                drivers += self._add_chunk(cursor.cursor, ids, min(chunk, count - len(drivers)))
            for table in TABLES:
                _reset_sequence(cursor, table)
        return drivers

    def _add_chunk(self, raw, ids: dict[str, int], count: int) -> list[Driver]:
        rng = self.rng
        drivers: list[Driver] = []
        users, memberships, profiles, slots, exceptions, rides = [], [], [], [], [], []
        for _ in range(count):
            number = self.drivers
            self.drivers += 1
            uid, mid, did = (
                self._take(ids, table)
                for table in ("accounts_user", "community_membership", "rides_driverprofile")
            )
            place = rng.choice(self.places)
            sigma = 3.0 if rng.random() < 0.8 else 12.0
            lat, lon = _scatter(rng, place.lat, place.lon, sigma)
            association = self.association_of[place.municipality]
            state, active = "active", True
            roll = rng.random()
            if roll < 0.015:
                state = "suspended"
            elif roll < 0.03:
                active = False
            users.append(
                (
                    uid,
                    "!synthetic",
                    False,
                    f"Driver {number}",
                    f"+4670{number:08d}",
                    "",
                    "sv",
                    True,
                    False,
                    True,
                    "",
                    False,
                    True,
                    False,
                    self.now,
                )
            )
            memberships.append((mid, DRIVER_ROLES, state, "", self.now, association, uid))
            radius = rng.randint(5, 50) * 1000
            seats = rng.choices((1, 2, 3, 4, 6), weights=(10, 20, 45, 20, 5))[0]
            wheelchair = rng.random() < 0.05
            walker = rng.random() < 0.8
            guide_dog = rng.random() < 0.85
            on_duty = rng.random() < 0.02
            position, position_at = None, None
            if on_duty:
                here_lat, here_lon = _scatter(rng, lat, lon, 5.0)
                position = (here_lon, here_lat)
                position_at = self.now - dt.timedelta(minutes=rng.randint(0, 30))
            profiles.append(
                (
                    did,
                    _ewkt(lon, lat),
                    radius,
                    seats,
                    wheelchair,
                    walker,
                    False,
                    guide_dog,
                    "",
                    active,
                    on_duty,
                    _ewkt(*position) if position else None,
                    position_at,
                    mid,
                    association,
                )
            )
            weekly = self._slots()
            slots.extend((did, s.weekday, s.start, s.end) for s in weekly)
            away: list[tuple[dt.date, dt.time | None, dt.time | None]] = []
            extra: list[tuple[dt.date, dt.time, dt.time]] = []
            if rng.random() < 0.03:
                day = self._weekday_in_two_weeks()
                if rng.random() < 0.5:
                    away.append((day, None, None))
                else:
                    away.append((day, dt.time(rng.randint(8, 12)), dt.time(rng.randint(13, 18))))
            if rng.random() < 0.02:
                day = self._weekday_in_two_weeks()
                start = rng.randint(8, 14)
                extra.append((day, dt.time(start), dt.time(start + rng.randint(2, 6))))
            exceptions.extend((did, day, "away", s, e) for day, s, e in away)
            exceptions.extend((did, day, "extra", s, e) for day, s, e in extra)
            held: list[tuple[dt.datetime, dt.datetime]] = []
            trips: list[tuple[dt.datetime, dt.datetime, str]] = []
            if rng.random() < 0.05:
                day = local_day(self._weekday_in_two_weeks())
                begin = day.instant(dt.time(rng.randint(8, 16), 5 * rng.randrange(12)))
                held.append((begin, begin + dt.timedelta(minutes=rng.randint(20, 60))))
                trips.append((*held[0], RideState.ACCEPTED))
            if rng.random() < 0.25:
                for _ in range(rng.randint(1, 5)):
                    begin = self.now - dt.timedelta(minutes=rng.randint(60, 29 * 24 * 60))
                    end = begin + dt.timedelta(minutes=rng.randint(20, 60))
                    trips.append((begin, end, RideState.COMPLETED))
            for begin, end, ride_state in trips:
                rid = self._take(ids, "rides_riderequest")
                rides.append(
                    self._ride(rid, uid, association, did, lon, lat, begin, end, ride_state)
                )
            drivers.append(
                Driver(
                    id=did,
                    association_id=association,
                    lon=lon,
                    lat=lat,
                    eligible=active and state == "active",
                    radius_m=radius,
                    seats=seats,
                    wheelchair=wheelchair,
                    walker=walker,
                    guide_dog=guide_dog,
                    slots=weekly,
                    away=tuple(away),
                    extra=tuple(extra),
                    held=tuple(held),
                    recent_rides=len(trips),
                    position=position,
                    position_at=position_at,
                )
            )
        self._copy(raw, "accounts_user", USER_COLUMNS, users)
        self._copy(raw, "community_membership", MEMBERSHIP_COLUMNS, memberships)
        self._copy(raw, "rides_driverprofile", PROFILE_COLUMNS, profiles)
        self._copy(raw, "rides_availabilityslot", SLOT_COLUMNS, slots)
        self._copy(raw, "rides_availabilityexception", EXCEPTION_COLUMNS, exceptions)
        self._copy(raw, "rides_riderequest", RIDE_COLUMNS, rides)
        return drivers

    @staticmethod
    def _take(ids: dict[str, int], table: str) -> int:
        """The next free id of `table` (COPY writes ids itself)."""
        ids[table] += 1
        return ids[table] - 1

    def _ride(self, rid, uid, association, did, lon, lat, start, end, state) -> tuple:
        destination = _ewkt(lon + 0.1, lat + 0.05)
        closed = end if state == RideState.COMPLETED else None
        return (
            rid,
            _ewkt(lon, lat),
            "Hemma",
            destination,
            "Vårdcentralen",
            TimeKind.PICKUP_AT,
            start,
            start,
            1,
            "{}",
            "",
            8_000,
            int((end - start).total_seconds()) - 300,
            state,
            start,
            _range(start, end),
            1,
            start - dt.timedelta(days=1),
            start - dt.timedelta(hours=20),
            closed,
            association,
            did,
            uid,
            uid,
        )

    @staticmethod
    def _copy(raw, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        names = ", ".join(f'"{c}"' for c in columns)
        with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    @staticmethod
    def build_windows() -> int:
        """The drivers' availability windows, built afresh for every driver (what the
        first run of the beat task does)."""
        AvailabilityHorizon.objects.filter(pk=1).delete()
        written = availability_windows_roll()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) rides_availabilitywindow, rides_availabilityhorizon")
        return written

    @staticmethod
    def vacuum_analyze() -> None:
        """What autovacuum would have done by now: statistics and the visibility map."""
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {', '.join(TABLES)}")

    # --- Ride requests ------------------------------------------------------------------

    def ride_requests(self, count: int, *, seed: int) -> list[RideRequest]:
        """Unsaved ride requests near localities at weekday times in the next two weeks:
        60 % at a fixed time, 30 % in a one-hour window, 10 % "any weekday next week"."""
        rng = random.Random(seed)
        requests = []
        for _ in range(count):
            place = rng.choice(self.places)
            lat, lon = _scatter(rng, place.lat, place.lon, 3.0)
            day = self.today + dt.timedelta(days=rng.randint(1, 14))
            while day.weekday() >= 5:
                day += dt.timedelta(days=1)
            at = local_day(day).instant(dt.time(rng.randint(8, 16), 5 * rng.randrange(12)))
            kind = rng.random()
            if kind < 0.6:
                until = at
            elif kind < 0.9:
                until = at + dt.timedelta(hours=1)
            else:
                monday = self.today + dt.timedelta(days=7 - self.today.weekday())
                at = local_day(monday).instant(dt.time(8))
                until = local_day(monday + dt.timedelta(days=4)).instant(dt.time(17))
            needs = []
            if rng.random() < 0.05:
                needs.append(Need.WHEELCHAIR)
            if rng.random() < 0.10:
                needs.append(Need.WALKER)
            if rng.random() < 0.05:
                needs.append(Need.COMPANION)
            if rng.random() < 0.01:
                needs.append(Need.GUIDE_DOG)
            requests.append(
                RideRequest(
                    association_id=self.association_of[place.municipality],
                    pickup=Point(lon, lat, srid=4326),
                    earliest_pickup=at,
                    latest_pickup=until,
                    duration_s=rng.randint(10, 60) * 60,
                    distance_m=0,
                    passengers=rng.choices((1, 2, 3), weights=(80, 15, 5))[0],
                    needs=needs,
                )
            )
        return requests


TABLES = (
    "accounts_user",
    "community_membership",
    "rides_driverprofile",
    "rides_availabilityslot",
    "rides_availabilityexception",
    "rides_riderequest",
)
USER_COLUMNS = (
    "id",
    "password",
    "is_superuser",
    "full_name",
    "phone",
    "email",
    "preferred_language",
    "contact_by_sms",
    "contact_by_email",
    "contact_by_push",
    "home_address",
    "is_managed",
    "is_active",
    "is_staff",
    "date_joined",
)
MEMBERSHIP_COLUMNS = (
    "id",
    "roles",
    "state",
    "state_reason",
    "created_at",
    "association_id",
    "user_id",
)
PROFILE_COLUMNS = (
    "id",
    "home_base",
    "service_radius_m",
    "seats",
    "wheelchair_accessible",
    "walker_space",
    "child_seat",
    "takes_guide_dog",
    "vehicle_description",
    "active",
    "on_duty",
    "position",
    "position_at",
    "membership_id",
    "association_id",
)
SLOT_COLUMNS = ("driver_id", "weekday", "start", "end")
EXCEPTION_COLUMNS = ("driver_id", "date", "kind", "start", "end")
RIDE_COLUMNS = (
    "id",
    "pickup",
    "pickup_address",
    "destination",
    "destination_address",
    "time_kind",
    "earliest_pickup",
    "latest_pickup",
    "passengers",
    "needs",
    "note",
    "distance_m",
    "duration_s",
    "state",
    "planned_pickup",
    "busy",
    "wave",
    "created_at",
    "accepted_at",
    "closed_at",
    "association_id",
    "driver_id",
    "rider_id",
    "requested_by_id",
)


def python_fit(driver: Driver, ride: RideRequest, trip: dt.timedelta) -> dt.datetime | None:
    """The earliest pickup at which `driver` can do the whole trip, by the same rules as
    the query (dispatch.matching), in plain Python."""
    best = None
    for window in local_days(ride.earliest_pickup, ride.latest_pickup):
        day = window.day
        periods = [
            (day.instant(s.start), day.instant(s.end))
            for s in driver.slots
            if s.weekday == day.date.weekday()
        ]
        periods += [(day.instant(s), day.instant(e)) for d, s, e in driver.extra if d == day.date]
        if not periods:
            continue
        aways = [(s, e) for d, s, e in driver.away if d == day.date]
        if any(s is None for s, _ in aways):
            continue
        blocked = [(day.instant(s), day.instant(e)) for s, e in aways]
        blocked += [(s, e) for s, e in driver.held]
        for opens, closes in periods:
            starts = [max(window.earliest, opens)]
            starts += [max(window.earliest, e) for s, e in blocked]
            for at in starts:
                if not (opens <= at <= window.latest and at + trip <= closes):
                    continue
                if any(s < at + trip and e > at for s, e in blocked):
                    continue
                if best is None or at < best:
                    best = at
    return best
