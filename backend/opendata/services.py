"""Assembles one GBFS file for an association (reads only; named like the other apps'
entry points so the view calls one function)."""

from datetime import datetime

from django.conf import settings

from backend.community.models import Association
from backend.opendata import gbfs
from backend.opendata.selectors import gbfs_fleet


def gbfs_feed_file(
    *, association: Association, name: str, now: datetime, feed_urls: dict[str, str]
) -> dict:
    if name == "gbfs":
        return gbfs.gbfs_document(now=now, feed_urls=feed_urls)
    if name == "system_information":
        system = gbfs.GbfsSystem(
            system_id=f"samby-{association.municipality.code}-{association.id}",
            name=association.name,
            operator=association.name,
            contact_email=association.email or settings.GBFS_FEED_CONTACT_EMAIL,
        )
        return gbfs.system_information(system=system, now=now)
    stations, cars = gbfs_fleet(association=association, now=now)
    if name == "vehicle_types":
        return gbfs.vehicle_types(cars=cars, now=now)
    if name == "system_pricing_plans":
        return gbfs.system_pricing_plans(cars=cars, now=now)
    if name == "station_information":
        return gbfs.station_information(stations=stations, cars=cars, now=now)
    if name == "station_status":
        return gbfs.station_status(stations=stations, cars=cars, now=now)
    if name == "vehicle_availability":
        return gbfs.vehicle_availability(cars=cars, now=now)
    raise ValueError(f"unknown GBFS file {name}")
