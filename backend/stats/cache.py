"""Published figures change only when the summary is refreshed, so they are cached (in
the Redis cache) under a key that names the query, the privacy and CO2 settings, and the
moment of the last refresh: a refresh makes every cached figure unreachable at once, and
the entries expire after two refresh periods."""

import hashlib
import json
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db.models import Max
from django.utils import translation

from backend.stats.models import RefreshState
from backend.stats.queries import StatsQuery

T = TypeVar("T")


def summary_version() -> str:
    latest = RefreshState.objects.aggregate(latest=Max("refreshed_from"))["latest"]
    return latest.isoformat() if latest else "never"


def cached(kind: str, query: StatsQuery, compute: Callable[[], T]) -> T:
    parts = {
        "kind": kind,
        "query": [
            query.municipality.pk,
            query.start.isoformat(),
            query.end.isoformat(),
            query.villages,
            query.services,
            query.granularity,
        ],
        "settings": [
            settings.STATS_K_ANONYMITY,
            settings.STATS_CO2_VEHICLE_G_PER_KM,
            settings.STATS_CO2_ALTERNATIVE_G_PER_PKM,
            settings.STATS_H3_RESOLUTION,
            settings.STATS_ELDERLY_AGE,
        ],
        "language": translation.get_language(),  # labels are translated
        "version": summary_version(),
    }
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]
    key = f"stats:{digest}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, timeout=2 * settings.STATS_REFRESH_SECONDS)
    return value
