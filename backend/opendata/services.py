"""Assembles one GBFS file, or the GTFS-Flex zip, for an association (reads only, but
for remembering when the zip last changed; named like the other apps' entry points so
the view calls one function)."""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from backend.community.models import Association
from backend.opendata import gbfs, gtfs
from backend.opendata.selectors import gbfs_fleet, gtfs_flex_runs


def gbfs_feed_file(
    *,
    association: Association,
    name: str,
    now: datetime,
    feed_urls: dict[str, str],
    gbfs_urls: dict[str, str],
    version: str = gbfs.VERSION,
) -> dict:
    """One file of the association's feed in `version` (one of gbfs.VERSIONS)."""
    if name == "gbfs":
        return gbfs.gbfs_document(now=now, feed_urls=feed_urls, version=version)
    if name == "gbfs_versions":
        return gbfs.gbfs_versions(now=now, gbfs_urls=gbfs_urls, version=version)
    if name == "system_information":
        system = gbfs.GbfsSystem(
            system_id=f"samby-{association.municipality.code}-{association.id}",
            name=association.name,
            operator=association.name,
            contact_email=association.email or settings.GBFS_FEED_CONTACT_EMAIL,
        )
        return gbfs.system_information(system=system, now=now, version=version)
    stations, cars = gbfs_fleet(association=association, now=now)
    if name == "vehicle_types":
        return gbfs.vehicle_types(cars=cars, now=now, version=version)
    if name == "system_pricing_plans":
        return gbfs.system_pricing_plans(cars=cars, now=now, version=version)
    if name == "station_information":
        return gbfs.station_information(stations=stations, cars=cars, now=now, version=version)
    if name == "station_status":
        return gbfs.station_status(stations=stations, cars=cars, now=now, version=version)
    if name == "vehicle_availability":
        return gbfs.vehicle_availability(cars=cars, now=now)
    raise ValueError(f"unknown GBFS file {name}")


@dataclass(frozen=True)
class GtfsFlexZip:
    body: bytes
    etag: str
    last_modified: datetime
    filename: str


def _last_modified_key(association_id: int) -> str:
    return f"opendata:gtfs-flex:last-modified:{association_id}"


def gtfs_flex_feed(*, association: Association, now: datetime) -> GtfsFlexZip:
    """The association's shop runs of the coming GTFS_FLEX_HORIZON_DAYS as a GTFS-Flex
    zip. The zip is the same bytes for the same timetable on the same day; its
    Last-Modified is when these bytes were first served (kept in the cache: after a
    flush it is the next request's time, later than the truth, which only costs a
    download)."""
    today = timezone.localtime(now).date()
    end = today + timedelta(days=settings.GTFS_FLEX_HORIZON_DAYS)
    data = gtfs_flex_runs(association=association, today=today, end=end)
    site = settings.SITE_URL.rstrip("/")
    contact = association.email or settings.GBFS_FEED_CONTACT_EMAIL
    feed = gtfs.FlexFeed(
        agency=gtfs.FlexAgency(
            agency_id=f"samby-{association.municipality.code}-{association.id}",
            name=association.name,
            url=site + "/",
            phone=association.phone,
            email=contact,
            booking_url=site + reverse("webapp:shop-runs"),
        ),
        publisher_name=association.name,
        publisher_url=site + "/",
        contact_email=contact,
        start=today,
        end=end,
        zones=data.zones,
        schedules=data.schedules,
    )
    body = gtfs.feed_zip(feed)
    etag = hashlib.sha256(body).hexdigest()[:32]
    key = _last_modified_key(association.id)
    seen = cache.get(key)
    if seen is not None and seen[0] == etag:
        last_modified = datetime.fromtimestamp(seen[1], tz=now.tzinfo)
    else:
        last_modified = now.replace(microsecond=0)
        cache.set(key, (etag, int(last_modified.timestamp())), timeout=60 * 60 * 24 * 30)
    return GtfsFlexZip(
        body=body,
        etag=f'"{etag}"',
        last_modified=last_modified,
        filename=f"samby-{association.municipality.code}-{association.id}-gtfs-flex.zip",
    )
