"""Shop runs as a GTFS feed with flexible (GTFS-Flex) trips, built from plain data.

A shop run is demand responsive: residents of the villages it serves book a seat, a
volunteer driver collects them at home within a window before the run reaches the shop,
and brings them home within a window after it leaves. In GTFS that is, per dated run,
two trips on the run's route:

- to the shop: one stop time per village zone (`locations.geojson`) with the pickup
  window (`pickup_type` 2, book by phone; no drop-off), then the shop as a fixed stop
  with its arrival time (drop-off only);
- home: the shop with its departure time (pickup only, booked), then the village zones
  with the drop-off window.

Runs with the same times share a trip and a service (`calendar_dates.txt` lists their
dates); a moved run gets a service of its own. Times are GTFS service-day times:
seconds from "noon minus 12 h" local time of the run's date, so a 10:00 run reads
10:00:00 in summer and in winter, also on the days the clocks change.

Texts are Swedish (`feed_lang` sv), with English in `translations.txt` for the homeward
headsign; the feed is the same whoever fetches it. The booking message stays Swedish:
`translations.txt` lists the tables it may translate, and booking_rules is not among them.
"""

import csv
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import date, time

TIMEZONE = "Europe/Stockholm"
TTL = 3600  # seconds: runs change a few times a day at most
ROUTE_TYPE_BUS = 3


@dataclass(frozen=True)
class FlexAgency:
    agency_id: str
    name: str
    url: str  # a public page about the association's runs
    phone: str
    email: str
    booking_url: str  # where a member signs up in Samby


@dataclass(frozen=True)
class FlexZone:
    zone_id: str
    name: str
    # GeoJSON geometry (Polygon or MultiPolygon), (lon, lat), exterior rings
    # counterclockwise as RFC 7946 asks.
    geometry: dict


@dataclass(frozen=True)
class FlexRun:
    """One dated run, in service-day seconds."""

    service_day: date
    arrive_s: int
    leave_s: int


@dataclass(frozen=True)
class FlexSchedule:
    schedule_id: int
    name: str
    shop_id: str
    shop_name: str
    shop_lon: float
    shop_lat: float
    zone_ids: tuple[str, ...]
    deadline_days: int  # 0: the same day
    deadline_time: time
    window_s: int  # how long before arrival the first pickup may be (and after leaving)
    runs: tuple[FlexRun, ...]


@dataclass(frozen=True)
class FlexFeed:
    agency: FlexAgency
    publisher_name: str
    publisher_url: str
    contact_email: str
    start: date
    end: date
    zones: tuple[FlexZone, ...]
    schedules: tuple[FlexSchedule, ...]


FILES = (
    "agency.txt",
    "stops.txt",
    "routes.txt",
    "trips.txt",
    "stop_times.txt",
    "calendar_dates.txt",
    "locations.geojson",
    "booking_rules.txt",
    "translations.txt",
    "feed_info.txt",
)


STOP_TIME_FIELDS = (
    "trip_id",
    "arrival_time",
    "departure_time",
    "stop_id",
    "location_id",
    "stop_sequence",
    "start_pickup_drop_off_window",
    "end_pickup_drop_off_window",
    "pickup_type",
    "drop_off_type",
    "pickup_booking_rule_id",
    "drop_off_booking_rule_id",
)


def _stop_time(
    trip_id: str,
    sequence: int,
    *,
    stop: str | None = None,
    location: str | None = None,
    at: int | None = None,
    window: tuple[int, int] | None = None,
) -> dict[str, object]:
    """A stop time at a fixed stop (`at` its time) or in a zone (`window`); GTFS-Flex
    forbids times on a row with a window."""
    row: dict[str, object] = dict.fromkeys(STOP_TIME_FIELDS)
    row.update(trip_id=trip_id, stop_sequence=sequence, stop_id=stop, location_id=location)
    if at is not None:
        row["arrival_time"] = row["departure_time"] = gtfs_time(at)
    if window is not None:
        row["start_pickup_drop_off_window"] = gtfs_time(window[0])
        row["end_pickup_drop_off_window"] = gtfs_time(window[1])
    return row


def gtfs_time(seconds: int) -> str:
    """HH:MM:SS; past 24:00:00 for a trip that ends after midnight, as GTFS allows."""
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _ymd(day: date) -> str:
    return day.strftime("%Y%m%d")


def _clock(at: time) -> str:
    return f"{at.hour:02d}:{at.minute:02d}"


def _csv(header: list[str], rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return out.getvalue().encode()


def _service_id(schedule: FlexSchedule, run: FlexRun) -> str:
    # Named by the run's times so that the id stays while the dates roll on.
    return f"r{schedule.schedule_id}-{gtfs_time(run.arrive_s)[:5].replace(':', '')}" + (
        f"-{gtfs_time(run.leave_s)[:5].replace(':', '')}"
    )


def booking_message(schedule: FlexSchedule, phone: str) -> str:
    """What a journey planner shows about booking (Swedish)."""
    at = _clock(schedule.deadline_time)
    if schedule.deadline_days == 0:
        when = f"senast kl. {at} samma dag"
    elif schedule.deadline_days == 1:
        when = f"senast kl. {at} dagen före"
    else:
        when = f"senast kl. {at}, {schedule.deadline_days} dagar före"
    how = f"ring {phone} eller anmäl dig i Samby" if phone else "anmäl dig i Samby"
    return (
        f"Handlarskjuts för boende i byarna. Boka {when}: {how}. Du hämtas hemma och körs hem igen."
    )


def _booking_rule_id(schedule: FlexSchedule, run: FlexRun) -> str:
    # Booking days before does not depend on the time of the run; booking the same day
    # does (minutes before the pickup window), so a moved run gets its own rule.
    if schedule.deadline_days:
        return f"b{schedule.schedule_id}"
    return f"b{schedule.schedule_id}-{gtfs_time(run.arrive_s)[:5].replace(':', '')}"


def _booking_rule(schedule: FlexSchedule, run: FlexRun, agency: FlexAgency) -> list[object]:
    if schedule.deadline_days == 0:
        # Same-day booking is counted in minutes before travel, which starts with the
        # first pickup of the window.
        first_pickup_s = max(0, run.arrive_s - schedule.window_s)
        deadline_s = schedule.deadline_time.hour * 3600 + schedule.deadline_time.minute * 60
        minutes = max(0, (first_pickup_s - deadline_s) // 60)
        booking_type, duration, last_day, last_time = 1, minutes, None, None
    else:
        booking_type, duration = 2, None
        last_day, last_time = (
            schedule.deadline_days,
            gtfs_time(schedule.deadline_time.hour * 3600 + schedule.deadline_time.minute * 60),
        )
    return [
        _booking_rule_id(schedule, run),
        booking_type,
        duration,
        last_day,
        last_time,
        booking_message(schedule, agency.phone),
        agency.phone or None,
        agency.url,
        agency.booking_url,
    ]


def _trip_patterns(schedule: FlexSchedule) -> dict[str, tuple[FlexRun, list[date]]]:
    patterns: dict[str, tuple[FlexRun, list[date]]] = {}
    for run in sorted(schedule.runs, key=lambda r: (r.service_day, r.arrive_s)):
        service_id = _service_id(schedule, run)
        patterns.setdefault(service_id, (run, []))[1].append(run.service_day)
    return patterns


def feed_files(feed: FlexFeed) -> dict[str, bytes]:
    """Every file of the feed, by name. Only schedules with runs in the period and the
    zones and shops they use appear."""
    agency = feed.agency
    schedules = [s for s in feed.schedules if s.runs]
    used_zones = {zone_id for s in schedules for zone_id in s.zone_ids}
    zones = [zone for zone in feed.zones if zone.zone_id in used_zones]
    shops: dict[str, FlexSchedule] = {}
    for schedule in schedules:
        shops.setdefault(schedule.shop_id, schedule)

    routes, trips, stop_times, dates, translations = [], [], [], [], []
    rules: dict[str, list[object]] = {}
    for schedule in schedules:
        route_id = f"r{schedule.schedule_id}"
        routes.append([route_id, agency.agency_id, schedule.name, ROUTE_TYPE_BUS])
        for service_id, (run, days) in _trip_patterns(schedule).items():
            rule_id = _booking_rule_id(schedule, run)
            rules.setdefault(rule_id, _booking_rule(schedule, run, agency))
            dates.extend([service_id, _ymd(day), 1] for day in days)
            to_shop, home = f"{service_id}-till", f"{service_id}-hem"
            trips += [
                [route_id, service_id, to_shop, schedule.shop_name, 0],
                [route_id, service_id, home, "Hem från affären", 1],
            ]
            translations.append(["trips", "trip_headsign", "en", "Home from the shop", home])
            window_to = (max(0, run.arrive_s - schedule.window_s), run.arrive_s)
            window_home = (run.leave_s, run.leave_s + schedule.window_s)
            for sequence, zone_id in enumerate(schedule.zone_ids, start=1):
                stop_times.append(
                    _stop_time(to_shop, sequence, location=zone_id, window=window_to)
                    | {"pickup_type": 2, "drop_off_type": 1, "pickup_booking_rule_id": rule_id}
                )
            stop_times.append(
                _stop_time(
                    to_shop, len(schedule.zone_ids) + 1, stop=schedule.shop_id, at=run.arrive_s
                )
                | {"pickup_type": 1, "drop_off_type": 0}
            )
            stop_times.append(
                _stop_time(home, 1, stop=schedule.shop_id, at=run.leave_s)
                | {"pickup_type": 2, "drop_off_type": 1, "pickup_booking_rule_id": rule_id}
            )
            for sequence, zone_id in enumerate(schedule.zone_ids, start=2):
                stop_times.append(
                    _stop_time(home, sequence, location=zone_id, window=window_home)
                    | {"pickup_type": 1, "drop_off_type": 2, "drop_off_booking_rule_id": rule_id}
                )

    features = [
        {
            "type": "Feature",
            "id": zone.zone_id,
            "properties": {"stop_name": zone.name},
            "geometry": zone.geometry,
        }
        for zone in zones
    ]
    files = {
        "agency.txt": _csv(
            [
                "agency_id",
                "agency_name",
                "agency_url",
                "agency_timezone",
                "agency_lang",
                "agency_phone",
                "agency_email",
            ],
            [
                [
                    agency.agency_id,
                    agency.name,
                    agency.url,
                    TIMEZONE,
                    "sv",
                    agency.phone or None,
                    agency.email or None,
                ]
            ],
        ),
        "stops.txt": _csv(
            ["stop_id", "stop_name", "stop_lat", "stop_lon"],
            [
                [shop_id, s.shop_name, f"{s.shop_lat:.6f}", f"{s.shop_lon:.6f}"]
                for shop_id, s in shops.items()
            ],
        ),
        "routes.txt": _csv(["route_id", "agency_id", "route_long_name", "route_type"], routes),
        "trips.txt": _csv(
            ["route_id", "service_id", "trip_id", "trip_headsign", "direction_id"], trips
        ),
        "stop_times.txt": _csv(
            list(STOP_TIME_FIELDS), [[row[f] for f in STOP_TIME_FIELDS] for row in stop_times]
        ),
        "calendar_dates.txt": _csv(["service_id", "date", "exception_type"], dates),
        "locations.geojson": json.dumps(
            {"type": "FeatureCollection", "features": features},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode(),
        "booking_rules.txt": _csv(
            [
                "booking_rule_id",
                "booking_type",
                "prior_notice_duration_min",
                "prior_notice_last_day",
                "prior_notice_last_time",
                "message",
                "phone_number",
                "info_url",
                "booking_url",
            ],
            list(rules.values()),
        ),
        "translations.txt": _csv(
            ["table_name", "field_name", "language", "translation", "record_id"], translations
        ),
    }
    # The version names the content, so it changes exactly when the timetable does.
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name])
    files["feed_info.txt"] = _csv(
        [
            "feed_publisher_name",
            "feed_publisher_url",
            "feed_lang",
            "feed_start_date",
            "feed_end_date",
            "feed_version",
            "feed_contact_email",
        ],
        [
            [
                feed.publisher_name,
                feed.publisher_url,
                "sv",
                _ymd(feed.start),
                _ymd(feed.end),
                digest.hexdigest()[:12],
                feed.contact_email,
            ]
        ],
    )
    return {name: files[name] for name in FILES}


def feed_zip(feed: FlexFeed) -> bytes:
    """The feed as a zip. Byte-for-byte the same for the same timetable on the same day
    (fixed entry times), so its hash is a sound ETag."""
    out = io.BytesIO()
    stamp = (feed.start.year, feed.start.month, feed.start.day, 0, 0, 0)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in feed_files(feed).items():
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return out.getvalue()
