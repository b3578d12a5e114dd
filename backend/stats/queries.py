"""The SQL behind the published tables: one statement per kind of figure, each with
GROUPING SETS for every table asked for at once (village, association, service, period
and the total), so a year of data is scanned once per statement.

- sums: additive columns of `DailyFigures`;
- people: distinct people per row and in the total, counted by first grouping per
  (row, person) with hashing, then counting. Whole months come from `MonthlyPeople`
  (one row per person and month), the days of a partial month from the daily arrays;
- medians: all waiting times of the rows (`percentile_cont`).
"""

# Every statement here is put together from constant fragments of this module; values
# always travel as parameters.
# ruff: noqa: S608

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from backend.community.models import Municipality

COLUMNS = ("village_id", "association_id", "service_key", "period")
DIMENSION_COLUMN = {
    "village": "village_id",
    "association": "association_id",
    "service": "service_key",
    "period": "period",
}
_SERVICE_KEY = "CASE WHEN {a}.kind = '' THEN {a}.service ELSE {a}.service || ':' || {a}.kind END"


@dataclass(frozen=True)
class StatsQuery:
    """What an analyst asked for: checked by `selectors.stats_query`."""

    municipality: Municipality
    start: date
    end: date  # inclusive
    villages: tuple[int, ...] = ()
    services: tuple[str, ...] = ()
    granularity: str = "month"

    def with_filters(self, *, villages=None, services=None) -> "StatsQuery":
        return StatsQuery(
            self.municipality,
            self.start,
            self.end,
            self.villages if villages is None else villages,
            self.services if services is None else services,
            self.granularity,
        )

    def whole_months(self) -> tuple[date, date]:
        """[first, after) of the whole calendar months inside the range (maybe none)."""
        first = self.start if self.start.day == 1 else _next_month(self.start)
        after_end = self.end + timedelta(days=1)
        after = after_end if after_end.day == 1 else after_end.replace(day=1)
        return first, max(first, after)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _filters(query: StatsQuery, alias: str) -> str:
    sql = f" AND {alias}.municipality_id = %(municipality)s"
    if query.villages:
        sql += f" AND {alias}.village_id = ANY(%(villages)s)"
    if query.services:
        sql += f" AND {alias}.service = ANY(%(services)s)"
    return sql


def _params(query: StatsQuery, **extra) -> dict[str, Any]:
    use_months = query.granularity == "month"
    first, after = query.whole_months() if use_months else (query.start, query.start)
    return {
        "municipality": query.municipality.pk,
        "start": query.start,
        "end": query.end,
        "villages": list(query.villages),
        "services": list(query.services),
        "granularity": query.granularity,
        "months_from": first,
        "months_to": after,
        **extra,
    }


def _daily(query: StatsQuery, *, outside_months: bool = False) -> str:
    """Daily rows of the query with the four key columns (optionally only the days
    outside the whole months that MonthlyPeople covers)."""
    where = "d.day BETWEEN %(start)s AND %(end)s" + _filters(query, "d")
    if outside_months:
        where += " AND NOT (d.day >= %(months_from)s AND d.day < %(months_to)s)"
    return (
        f"SELECT d.*, {_SERVICE_KEY.format(a='d')} AS service_key,"
        f" date_trunc(%(granularity)s, d.day)::date AS period"
        f" FROM stats_dailyfigures d WHERE {where}"
    )


def _people_source(query: StatsQuery) -> str:
    """One row per (keys, person) with their flags: whole months, then the other days."""
    return f"""
    SELECT m.village_id, m.association_id, {_SERVICE_KEY.format(a="m")} AS service_key,
        m.month AS period, m.person_id AS p, m.served, m.elderly, m.managed
    FROM stats_monthlypeople m
    WHERE m.month >= %(months_from)s AND m.month < %(months_to)s {_filters(query, "m")}
    UNION ALL
    SELECT d.village_id, d.association_id, d.service_key, d.period, p,
        p = ANY(d.served), p = ANY(d.served_elderly), p = ANY(d.served_managed)
    FROM ({_daily(query, outside_months=True)}) d CROSS JOIN LATERAL unnest(d.requesters) p
    """


def _sets(columns: Sequence[str], extra: str = "") -> str:
    return ", ".join([*(f"({c}{extra})" for c in columns), f"({extra.lstrip(', ')})"])


_SUMS = """
SELECT {grouping} AS g, {columns},
    COALESCE(sum(requests), 0)::bigint AS requests,
    COALESCE(sum(fulfilled), 0)::bigint AS fulfilled,
    COALESCE(sum(unfulfilled), 0)::bigint AS unfulfilled,
    COALESCE(sum(cancelled), 0)::bigint AS cancelled,
    COALESCE(sum(no_show), 0)::bigint AS no_show,
    COALESCE(sum(passengers), 0)::bigint AS passengers,
    COALESCE(sum(vehicle_m), 0)::bigint AS vehicle_m,
    COALESCE(sum(passenger_m), 0)::bigint AS passenger_m,
    COALESCE(sum(passenger_m * COALESCE((%(alternative)s::jsonb ->> service)::float, 0)), 0)
        AS alt_g_m,
    COALESCE(sum(volunteer_s), 0)::bigint AS volunteer_s,
    COALESCE(sum(volunteer_m), 0)::bigint AS volunteer_m,
    COALESCE(sum(usage_s), 0)::bigint AS usage_s
FROM ({daily}) d
GROUP BY GROUPING SETS ({sets})
"""

_PEOPLE = """
WITH per_person AS (
    SELECT {grouping} AS g, {columns},
        bool_or(served) AS s, bool_or(elderly) AS e, bool_or(managed) AS m
    FROM ({source}) src
    GROUP BY GROUPING SETS ({sets})
)
SELECT g, {columns},
    count(*) AS requesters, count(*) FILTER (WHERE s) AS served,
    count(*) FILTER (WHERE e) AS served_elderly, count(*) FILTER (WHERE m) AS served_managed
FROM per_person GROUP BY g, {columns}
"""

_MEDIANS = """
SELECT {grouping} AS g, {columns},
    percentile_cont(0.5) WITHIN GROUP (ORDER BY delay) AS median_s
FROM ({daily}) d CROSS JOIN LATERAL unnest(d.accept_delays_s) delay
GROUP BY GROUPING SETS ({sets})
"""

_FLAG = {
    "requesters": "true",
    "served": "served",
    "served_elderly": "elderly",
    "served_managed": "managed",
}


def _bits(columns: Sequence[str], column: str | None) -> int:
    """GROUPING(columns) of the set that groups by `column` (None: the total)."""
    return sum(1 << (len(columns) - 1 - i) for i, c in enumerate(columns) if c != column)


Found = dict[str, tuple[dict[Any, dict], dict]]


def fetch_tables(query: StatsQuery, dimensions: Sequence[str]) -> Found:
    """For each dimension: {row key: raw figures} and the raw total."""
    columns = [DIMENSION_COLUMN[name] for name in dimensions]
    params = _params(query, alternative=json.dumps(settings.STATS_CO2_ALTERNATIVE_G_PER_PKM))
    shape = {"grouping": f"GROUPING({', '.join(columns)})", "columns": ", ".join(columns)}
    raw: dict[tuple[int, Any], dict] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        _more_memory(cursor)
        for sql in (
            _SUMS.format(daily=_daily(query), sets=_sets(columns), **shape),
            _PEOPLE.format(source=_people_source(query), sets=_sets(columns, ", p"), **shape),
            _MEDIANS.format(daily=_daily(query), sets=_sets(columns), **shape),
        ):
            cursor.execute(sql, params)
            names = [c.name for c in cursor.description]
            for values in cursor.fetchall():
                row = dict(zip(names, values, strict=True))
                column = next((c for c in columns if _bits(columns, c) == row["g"]), None)
                key = row[column] if column else None
                raw.setdefault((row["g"], key), {}).update(row)
    out: Found = {}
    for name, column in zip(dimensions, columns, strict=True):
        bits = _bits(columns, column)
        rows = {key: values for (g, key), values in raw.items() if g == bits}
        out[name] = (rows, raw.get((_bits(columns, None), None), {}))
    return out


def _more_memory(cursor) -> None:
    """Hash the people of a year in memory (PostgreSQL's default of 4 MB would spill
    them to disk or sort instead): for this transaction only."""
    cursor.execute("SELECT set_config('work_mem', %s, true)", [settings.STATS_WORK_MEM])


def union_size(query: StatsQuery, dimension: str, figure: str) -> Callable[[frozenset], int]:
    """Distinct people of a set of rows (for the complementary suppression)."""
    column = DIMENSION_COLUMN[dimension]
    sql = f"""
    SELECT count(DISTINCT p) FROM ({_people_source(query)}) src
    WHERE ({column} = ANY(%(keys)s) OR ({column} IS NULL AND %(with_null)s))
      AND {_FLAG[figure]}
    """

    def size(keys: frozenset) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                _params(
                    query,
                    keys=[key for key in keys if key is not None],
                    with_null=None in keys,
                ),
            )
            return cursor.fetchone()[0]

    return size


INNER_SQL = "SELECT DISTINCT d.village_id, d.association_id, d.service_key FROM ({daily}) d"


def inner_cells(query: StatsQuery) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(INNER_SQL.format(daily=_daily(query)), _params(query))
        return [tuple(row) for row in cursor.fetchall()]


_UNMET = """
WITH base AS (
    SELECT d.* FROM stats_unmetdemand d
    WHERE d.day BETWEEN %(start)s AND %(end)s {filters}
),
per_person AS (
    SELECT GROUPING(cell) AS g, cell
    FROM base CROSS JOIN LATERAL unnest(base.requesters) p
    GROUP BY GROUPING SETS ((cell, p), (p))
),
people AS (SELECT g, cell, count(*) AS people FROM per_person GROUP BY g, cell),
sums AS (SELECT cell, sum(requests)::bigint AS requests FROM base GROUP BY cell)
SELECT people.cell, people.g = 1 AS is_total, sums.requests, people.people
FROM people LEFT JOIN sums ON sums.cell = people.cell
"""


def fetch_unmet(query: StatsQuery) -> tuple[dict[str, tuple[int, int]], int]:
    """{cell: (requests, people)} and the distinct people of all cells."""
    with transaction.atomic(), connection.cursor() as cursor:
        _more_memory(cursor)
        cursor.execute(_UNMET.format(filters=_filters(query, "d")), _params(query))
        fetched = cursor.fetchall()
    cells = {cell: (requests, people) for cell, total, requests, people in fetched if not total}
    total = next((people for _c, is_total, _r, people in fetched if is_total), 0)
    return cells, total


def unmet_union_size(query: StatsQuery) -> Callable[[frozenset], int]:
    sql = (
        "SELECT count(DISTINCT p) FROM stats_unmetdemand d"
        " CROSS JOIN LATERAL unnest(d.requesters) p"
        " WHERE d.day BETWEEN %(start)s AND %(end)s"
        f" {_filters(query, 'd')} AND d.cell = ANY(%(cells)s)"
    )

    def size(keys: frozenset) -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql, _params(query, cells=list(keys)))
            return cursor.fetchone()[0]

    return size
