"""Keep the statistics summary up to date, in SQL.

Incremental: every service's `changed_sql` names the (association, day) pairs with a
change since the last refresh started (minus `STATS_REFRESH_OVERLAP` for transactions
that committed late); only their rows are deleted and computed again from the
service's facts, in one INSERT ... SELECT each; then the people of those months
(`MonthlyPeople`) from the daily rows, and, once every service is done, the people's
masks of those months (`PersonMonth`) from `MonthlyPeople`. Full: everything is computed again (the
nightly task, and after the seed). Both run in one transaction under an advisory lock,
so two refreshes never interleave and a reader sees the old or the new figures, never
half of them. Running one twice gives the same rows.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import h3
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from backend.stats.models import ChangedPerson, RefreshState
from backend.stats.sources import SOURCES, Source

_LOCK_KEY = 0x5A_57A7  # pg_advisory_xact_lock key of the statistics refresh

_DAILY_INSERT = """
INSERT INTO stats_dailyfigures (
    service, kind, day, municipality_id, association_id, village_id,
    requests, fulfilled, unfulfilled, cancelled, no_show, passengers,
    vehicle_m, passenger_m, volunteer_s, volunteer_m, usage_s,
    requesters, served, served_elderly, served_managed, accept_delays_s, refreshed_at
)
SELECT
    %(service)s, f.kind, f.day, f.municipality_id, f.association_id, f.village_id,
    count(*),
    count(*) FILTER (WHERE f.fulfilled),
    count(*) FILTER (WHERE f.unfulfilled),
    count(*) FILTER (WHERE f.cancelled),
    count(*) FILTER (WHERE f.no_show),
    COALESCE(sum(f.passengers) FILTER (WHERE f.fulfilled), 0),
    COALESCE(sum(f.vehicle_m) FILTER (WHERE f.fulfilled), 0),
    COALESCE(sum(f.passenger_m) FILTER (WHERE f.fulfilled), 0),
    COALESCE(sum(f.volunteer_s) FILTER (WHERE f.fulfilled), 0),
    COALESCE(sum(f.volunteer_m) FILTER (WHERE f.fulfilled), 0),
    COALESCE(sum(f.usage_s) FILTER (WHERE f.fulfilled), 0),
    array_agg(DISTINCT f.person_id ORDER BY f.person_id),
    COALESCE(array_agg(DISTINCT f.person_id ORDER BY f.person_id)
        FILTER (WHERE f.fulfilled), '{{}}'),
    COALESCE(array_agg(DISTINCT f.person_id ORDER BY f.person_id)
        FILTER (WHERE f.fulfilled AND f.elderly), '{{}}'),
    COALESCE(array_agg(DISTINCT f.person_id ORDER BY f.person_id)
        FILTER (WHERE f.fulfilled AND f.managed), '{{}}'),
    COALESCE(array_agg(f.accept_delay_s ORDER BY f.accept_delay_s)
        FILTER (WHERE f.accept_delay_s IS NOT NULL), '{{}}'),
    %(now)s
FROM ({facts}) f
{only_dirty}
GROUP BY f.kind, f.day, f.municipality_id, f.association_id, f.village_id
"""

_UNMET_POINTS = """
SELECT f.municipality_id, f.association_id, f.village_id, f.day, f.person_id, f.lon, f.lat
FROM ({facts}) f
{only_dirty}
WHERE f.unfulfilled
"""

_MONTHLY_INSERT = """
INSERT INTO stats_monthlypeople (
    service, kind, month, municipality_id, association_id, village_id,
    person_id, served, elderly, managed
)
SELECT d.service, d.kind, date_trunc('month', d.day)::date, d.municipality_id,
    d.association_id, d.village_id, p,
    bool_or(p = ANY(d.served)), bool_or(p = ANY(d.served_elderly)),
    bool_or(p = ANY(d.served_managed))
FROM stats_dailyfigures d CROSS JOIN LATERAL unnest(d.requesters) p
WHERE d.service = %(service)s {only_dirty}
GROUP BY 1, 2, 3, 4, 5, 6, 7
"""

_MONTHS_DIRTY = """
    AND (d.association_id, date_trunc('month', d.day)::date) IN (
        SELECT DISTINCT association_id, date_trunc('month', day)::date FROM stats_dirty
    )
"""

# The (municipality, month) pairs whose people changed, over every service of one refresh.
_DIRTY_MONTHS = """
INSERT INTO stats_dirty_months
SELECT DISTINCT a.municipality_id, date_trunc('month', k.day)::date
FROM stats_dirty k JOIN community_association a ON a.id = k.association_id
ON CONFLICT DO NOTHING
"""

# Keys as `KeyBit` names them, from a row of stats_monthlypeople `m`.
_KEYS = """
CROSS JOIN LATERAL (VALUES
    ('village', COALESCE(m.village_id::text, '')),
    ('association', m.association_id::text),
    ('service', CASE WHEN m.kind = '' THEN m.service ELSE m.service || ':' || m.kind END)
) k(dimension, key)
"""

_MONTHS_OF_REFRESH = (
    "AND (m.municipality_id, m.month) IN (SELECT municipality_id, month FROM stats_dirty_months)"
)

# New keys get the next free bits of their municipality and dimension (in key order),
# none once the 63 bits are used up.
_NEW_BITS = f"""
INSERT INTO stats_keybit (municipality_id, dimension, key, bit)
SELECT n.municipality_id, n.dimension, n.key,
    CASE WHEN COALESCE(b.used, -1) + n.rank < 63 THEN COALESCE(b.used, -1) + n.rank END
FROM (
    SELECT k.*, row_number() OVER (PARTITION BY municipality_id, dimension ORDER BY key) AS rank
    FROM (
        SELECT DISTINCT m.municipality_id, k.dimension, k.key
        FROM stats_monthlypeople m {_KEYS}
        WHERE true {{only_dirty}}
    ) k
    WHERE NOT EXISTS (
        SELECT 1 FROM stats_keybit e WHERE e.municipality_id = k.municipality_id
            AND e.dimension = k.dimension AND e.key = k.key
    )
) n
LEFT JOIN (
    SELECT municipality_id, dimension, max(bit) AS used FROM stats_keybit GROUP BY 1, 2
) b ON b.municipality_id = n.municipality_id AND b.dimension = n.dimension
"""  # noqa: S608 - built from constant pieces only

_PERSON_MONTH_INSERT = """
INSERT INTO stats_personmonth (municipality_id, month, person_id,
    village, village_served, village_elderly, village_managed,
    association, association_served, association_elderly, association_managed,
    service, service_served, service_elderly, service_managed)
SELECT m.municipality_id, m.month, m.person_id, {masks}
FROM stats_monthlypeople m
JOIN stats_keybit v ON v.municipality_id = m.municipality_id AND v.dimension = 'village'
    AND v.key = COALESCE(m.village_id::text, '')
JOIN stats_keybit a ON a.municipality_id = m.municipality_id AND a.dimension = 'association'
    AND a.key = m.association_id::text
JOIN stats_keybit s ON s.municipality_id = m.municipality_id AND s.dimension = 'service'
    AND s.key = CASE WHEN m.kind = '' THEN m.service ELSE m.service || ':' || m.kind END
WHERE true {only_dirty}
GROUP BY m.municipality_id, m.month, m.person_id
""".replace(
    "{masks}",
    ",\n    ".join(
        f"bit_or(CASE WHEN {flag} THEN COALESCE(1::bigint << {alias}.bit, 0) ELSE 0 END)"
        for alias in ("v", "a", "s")
        for flag in ("true", "m.served", "m.elderly", "m.managed")
    ),
)

_CHANGED_PEOPLE = """
INSERT INTO stats_dirty
SELECT DISTINCT f.association_id, f.day FROM ({facts}) f
WHERE f.person_id IN (SELECT person_id FROM stats_changedperson WHERE changed_at >= %(since)s)
ON CONFLICT DO NOTHING
"""

_ONLY_DIRTY = "JOIN stats_dirty k ON k.association_id = f.association_id AND k.day = f.day"


@dataclass(frozen=True)
class RefreshResult:
    service: str
    full: bool
    keys: int  # (association, day) pairs recomputed; -1 for a full rebuild
    rows: int
    unmet_rows: int


def _params(**extra) -> dict:
    return {
        "tz": settings.TIME_ZONE,
        "elderly_age": settings.STATS_ELDERLY_AGE,
        **extra,
    }


@transaction.atomic
def stats_refresh(*, full: bool = False, now: datetime | None = None) -> list[RefreshResult]:
    """Bring the summary up to date for every service (see the module docstring).
    Locks: a transaction-level advisory lock for the whole refresh."""
    now = now or timezone.now()
    results = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        cursor.execute("DROP TABLE IF EXISTS stats_dirty_months")
        cursor.execute(
            "CREATE TEMP TABLE stats_dirty_months (municipality_id bigint, month date,"
            " PRIMARY KEY (municipality_id, month)) ON COMMIT DROP"
        )
        for source in SOURCES:
            results.append(_refresh_source(cursor, source, full=full, now=now))
        _refresh_person_months(cursor, full=any(result.full for result in results))
        if full:
            # Changes older than the last refresh's margin are in the rebuilt figures.
            cursor.execute(
                "DELETE FROM stats_changedperson WHERE changed_at < %s",
                [now - timedelta(seconds=settings.STATS_REFRESH_OVERLAP)],
            )
    return results


def stats_person_changed(*, person_id: int) -> None:
    """Record that a person's own details that figures use (birth year, managed
    profile) changed, e.g. at erasure: the next refresh recomputes every day they are
    counted in, in every service."""
    ChangedPerson.objects.create(person_id=person_id)


def _refresh_person_months(cursor, *, full: bool) -> None:
    """The masks of the months whose people changed (all of them after a full
    rebuild of any service), from `MonthlyPeople` as it now is."""
    if full:
        cursor.execute("DELETE FROM stats_personmonth")
        only_dirty = ""
    else:
        cursor.execute(
            "DELETE FROM stats_personmonth m USING stats_dirty_months k"
            " WHERE m.municipality_id = k.municipality_id AND m.month = k.month"
        )
        only_dirty = _MONTHS_OF_REFRESH
    cursor.execute(_NEW_BITS.format(only_dirty=only_dirty))
    cursor.execute(_PERSON_MONTH_INSERT.format(only_dirty=only_dirty))


def _refresh_source(cursor, source: Source, *, full: bool, now: datetime) -> RefreshResult:
    state = RefreshState.objects.filter(service=source.service).first()
    full = full or state is None
    params = _params(service=source.service, now=now)
    if full:
        cursor.execute("DELETE FROM stats_dailyfigures WHERE service = %s", [source.service])
        cursor.execute("DELETE FROM stats_unmetdemand WHERE service = %s", [source.service])
        cursor.execute("DELETE FROM stats_monthlypeople WHERE service = %s", [source.service])
        only_dirty, keys = "", -1
    else:
        since = state.refreshed_from - timedelta(seconds=settings.STATS_REFRESH_OVERLAP)
        cursor.execute("DROP TABLE IF EXISTS stats_dirty")
        cursor.execute(
            "CREATE TEMP TABLE stats_dirty (association_id bigint, day date,"
            " PRIMARY KEY (association_id, day)) ON COMMIT DROP"
        )
        cursor.execute(
            f"INSERT INTO stats_dirty {source.changed_sql}",
            _params(since=since),
        )
        # Every day a changed person (erased, say) is counted in, whenever it was.
        cursor.execute(_CHANGED_PEOPLE.format(facts=source.facts_sql), _params(since=since))
        cursor.execute("SELECT count(*) FROM stats_dirty")
        keys = cursor.fetchone()[0]
        cursor.execute(_DIRTY_MONTHS)
        for table in ("stats_dailyfigures", "stats_unmetdemand"):
            cursor.execute(
                f"DELETE FROM {table} d USING stats_dirty k WHERE d.service = %s"  # noqa: S608
                " AND d.association_id = k.association_id AND d.day = k.day",
                [source.service],
            )
        cursor.execute(
            "DELETE FROM stats_monthlypeople m WHERE m.service = %s"
            " AND (m.association_id, m.month) IN (SELECT DISTINCT association_id,"
            " date_trunc('month', day)::date FROM stats_dirty)",
            [source.service],
        )
        only_dirty = _ONLY_DIRTY
    rows = unmet_rows = 0
    if keys:
        cursor.execute(_DAILY_INSERT.format(facts=source.facts_sql, only_dirty=only_dirty), params)
        rows = cursor.rowcount
        unmet_rows = _refresh_unmet(cursor, source, only_dirty, params)
        # The people of the months touched, from the daily rows just written.
        cursor.execute(
            _MONTHLY_INSERT.format(only_dirty=_MONTHS_DIRTY if only_dirty else ""), params
        )
    RefreshState.objects.update_or_create(
        service=source.service,
        defaults={"refreshed_from": now, **({"full_rebuild_at": now} if full else {})},
    )
    return RefreshResult(source.service, full, keys, rows, unmet_rows)


def _refresh_unmet(cursor, source: Source, only_dirty: str, params: dict) -> int:
    """Unserved requests to H3 cells. Only these points leave the database: the cell of
    a point is computed with the h3 library (PostgreSQL has no H3 here), and the counts
    go back in one multi-row INSERT."""
    cursor.execute(_UNMET_POINTS.format(facts=source.facts_sql, only_dirty=only_dirty), params)
    resolution = settings.STATS_H3_RESOLUTION
    cells: dict[tuple, list] = defaultdict(lambda: [0, set()])
    for municipality, association, village, day, person, lon, lat in cursor.fetchall():
        key = (municipality, association, village, day, h3.latlng_to_cell(lat, lon, resolution))
        cells[key][0] += 1
        cells[key][1].add(person)
    if not cells:
        return 0
    cursor.executemany(
        "INSERT INTO stats_unmetdemand (service, municipality_id, association_id, village_id,"
        " day, cell, requests, requesters) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        [(source.service, *key, count, sorted(people)) for key, (count, people) in cells.items()],
    )
    return len(cells)
