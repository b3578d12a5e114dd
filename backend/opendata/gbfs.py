"""GBFS documents for one association's shared cars, built from plain data.

Station-based car sharing: every car has a home spot (its station) where it is fetched
and returned. Ids are opaque (see `selectors`); prices are in SEK. Two versions are
published from the same data: 3.0, and 3.1-RC3, which adds `vehicle_availability`
(bookable time slots). 3.1-RC3 only adds optional fields and that file to 3.0, so the
other files differ in their `version` alone. The 3.1-RC3 feed's `gbfs_versions` lists
both.
"""

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from backend.opendata.selectors import GbfsCar, GbfsStation

VERSION = "3.0"
AVAILABILITY_VERSION = "3.1-RC3"
STATUS_TTL = 60  # seconds; what changes with every booking
STATIC_TTL = 3600  # seconds; the system, the cars and their spots
TIMEZONE = "Europe/Stockholm"

# The files in gbfs.json, in order, with the ttl each is served with.
FEEDS = {
    "system_information": STATIC_TTL,
    "vehicle_types": STATIC_TTL,
    "station_information": STATIC_TTL,
    "station_status": STATUS_TTL,
    "system_pricing_plans": STATIC_TTL,
}
TTL = {
    "gbfs": STATIC_TTL,
    "gbfs_versions": STATIC_TTL,
    **FEEDS,
    "vehicle_availability": STATUS_TTL,
}
# The files each published version lists in its gbfs.json. gbfs_versions only in 3.1-RC3:
# the 3.0 schema of that file cannot name a later version.
VERSIONS: dict[str, tuple[str, ...]] = {
    VERSION: tuple(FEEDS),
    AVAILABILITY_VERSION: ("gbfs_versions", *FEEDS, "vehicle_availability"),
}


@dataclass(frozen=True)
class GbfsSystem:
    system_id: str  # samby-<municipality code>-<association id>
    name: str
    operator: str
    contact_email: str


def _text(sv: str, en: str | None = None) -> list[dict[str, str]]:
    return [{"text": sv, "language": "sv"}, {"text": en or sv, "language": "en"}]


def _stamp(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def _envelope(name: str, now: datetime, data: dict, version: str) -> dict:
    return {"last_updated": _stamp(now), "ttl": TTL[name], "version": version, "data": data}


def _short(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:10]


def vehicle_type_id(car: GbfsCar) -> str:
    return "t-" + _short(car.make_model, car.propulsion, car.seats)


def pricing_plan_id(car: GbfsCar) -> str:
    return f"p-{car.price_per_hour_ore}-{car.price_per_km_ore}"


def _sek(ore: int) -> float:
    return round(ore / 100, 2)


def gbfs_document(*, now: datetime, feed_urls: dict[str, str], version: str = VERSION) -> dict:
    feeds = [{"name": name, "url": feed_urls[name]} for name in VERSIONS[version]]
    return _envelope("gbfs", now, {"feeds": feeds}, version)


def gbfs_versions(*, now: datetime, gbfs_urls: dict[str, str], version: str = VERSION) -> dict:
    """Every published version with the url of its gbfs.json (the same in each)."""
    versions = [{"version": name, "url": gbfs_urls[name]} for name in VERSIONS]
    return _envelope("gbfs_versions", now, {"versions": versions}, version)


def system_information(*, system: GbfsSystem, now: datetime, version: str = VERSION) -> dict:
    return _envelope(
        "system_information",
        now,
        {
            "system_id": system.system_id,
            "languages": ["sv", "en"],
            "name": _text(system.name),
            "operator": _text(system.operator),
            "opening_hours": "24/7",
            "feed_contact_email": system.contact_email,
            "timezone": TIMEZONE,
        },
        version,
    )


def vehicle_types(*, cars: list[GbfsCar], now: datetime, version: str = VERSION) -> dict:
    types: dict[str, dict] = {}
    for car in cars:
        types.setdefault(
            vehicle_type_id(car),
            {
                "vehicle_type_id": vehicle_type_id(car),
                "form_factor": "car",
                "propulsion_type": car.propulsion,
                "max_range_meters": car.range_m,
                "name": _text(car.make_model),
                "rider_capacity": car.seats,
                "default_pricing_plan_id": pricing_plan_id(car),
                "pricing_plan_ids": [],
            },
        )
        plans = types[vehicle_type_id(car)]["pricing_plan_ids"]
        if pricing_plan_id(car) not in plans:
            plans.append(pricing_plan_id(car))
    return _envelope("vehicle_types", now, {"vehicle_types": list(types.values())}, version)


def system_pricing_plans(*, cars: list[GbfsCar], now: datetime, version: str = VERSION) -> dict:
    plans: dict[str, dict] = {}
    for car in cars:
        hour, km = _sek(car.price_per_hour_ore), _sek(car.price_per_km_ore)
        plan = {
            "plan_id": pricing_plan_id(car),
            "name": _text(f"{hour:g} kr/timme, {km:g} kr/km", f"SEK {hour:g}/hour, {km:g}/km"),
            "currency": "SEK",
            "price": 0,
            "is_taxable": False,
            "description": _text(
                f"{hour:g} kr per påbörjad timme och {km:g} kr per kilometer.",
                f"SEK {hour:g} per hour begun and SEK {km:g} per kilometre.",
            ),
        }
        if car.price_per_hour_ore:
            # Charged per hour begun: the rate is added every 60 minutes from the start.
            plan["per_min_pricing"] = [{"start": 0, "rate": hour, "interval": 60}]
        if car.price_per_km_ore:
            plan["per_km_pricing"] = [{"start": 0, "rate": km, "interval": 1}]
        plans.setdefault(plan["plan_id"], plan)
    return _envelope("system_pricing_plans", now, {"plans": list(plans.values())}, version)


def station_information(
    *, stations: list[GbfsStation], cars: list[GbfsCar], now: datetime, version: str = VERSION
) -> dict:
    rows = []
    for station in stations:
        here = Counter(vehicle_type_id(car) for car in cars if car.station_id == station.station_id)
        rows.append(
            {
                "station_id": station.station_id,
                "name": _text(station.name),
                "lat": round(station.lat, 6),
                "lon": round(station.lon, 6),
                "capacity": station.capacity,
                "vehicle_types_capacity": [
                    {"vehicle_type_ids": [type_id], "count": count}
                    for type_id, count in sorted(here.items())
                ],
                "is_virtual_station": False,
            }
        )
    return _envelope("station_information", now, {"stations": rows}, version)


def station_status(
    *, stations: list[GbfsStation], cars: list[GbfsCar], now: datetime, version: str = VERSION
) -> dict:
    rows = []
    for station in stations:
        here = [car for car in cars if car.station_id == station.station_id]
        available = Counter(vehicle_type_id(car) for car in here if car.available_now)
        rows.append(
            {
                "station_id": station.station_id,
                "num_vehicles_available": sum(available.values()),
                "vehicle_types_available": [
                    {"vehicle_type_id": type_id, "count": available.get(type_id, 0)}
                    for type_id in sorted({vehicle_type_id(car) for car in here})
                ],
                "num_vehicles_disabled": sum(car.out_of_service for car in here),
                "is_installed": True,
                "is_renting": any(not car.out_of_service for car in here),
                "is_returning": True,
                "last_reported": _stamp(now),
            }
        )
    return _envelope("station_status", now, {"stations": rows}, version)


def vehicle_availability(*, cars: list[GbfsCar], now: datetime) -> dict:
    vehicles = []
    for car in cars:
        slots = []
        for begins, ends in car.free_slots:
            slot = {"from": _stamp(begins)}
            if ends is not None:
                slot["until"] = _stamp(ends)
            slots.append(slot)
        vehicles.append(
            {
                "vehicle_id": car.vehicle_id,
                "vehicle_type_id": vehicle_type_id(car),
                "station_id": car.station_id,
                "pricing_plan_id": pricing_plan_id(car),
                "availabilities": slots,
            }
        )
    return _envelope(
        "vehicle_availability", now, {"vehicles": vehicles}, version=AVAILABILITY_VERSION
    )
