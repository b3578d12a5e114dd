"""The SQL behind the published tables: every table asked for at once (village,
association, service, period and the total), in a fixed number of statements.

- sums and medians: the finest rows (village x association x service x period) of
  `DailyFigures` with their sums and all their waiting times, in one statement; each
  table's rows and the total are added up from them here, and medians are taken from
  all the waiting times of a row (as `percentile_cont(0.5)`);
- people: distinct people per row and in the total. Without a filter, from the masks
  of `PersonMonth` (whole months) and of the daily arrays (other days): the OR of a
  person's masks over the range, then the people per bit, in one pass with one
  grouping key (the person). With a filter, or when a key has no bit, by first
  grouping per (row, person) with hashing, then counting; whole months from
  `MonthlyPeople` (one row per person and month), the days of a partial month from the
  daily arrays.
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
        f" date_trunc(%(granularity)s, d.day::timestamp)::date AS period"
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


SUM_COLUMNS = (
    "requests",
    "fulfilled",
    "unfulfilled",
    "cancelled",
    "no_show",
    "passengers",
    "vehicle_m",
    "passenger_m",
    "volunteer_s",
    "volunteer_m",
    "usage_s",
)

# The finest rows of a query (village, association, service, period): every additive
# figure, and all waiting times (stats_array_cat: the arrays one after the other). Every
# published row and total is a union of these.
_FINE = """
SELECT village_id, association_id, service_key, period,
    {sums},
    sum(passenger_m * COALESCE((%(alternative)s::jsonb ->> service)::float, 0)) AS alt_g_m,
    stats_array_cat(accept_delays_s) AS delays
FROM ({daily}) d
GROUP BY village_id, association_id, service_key, period
""".replace("{sums}", ",\n    ".join(f"sum({name})::bigint AS {name}" for name in SUM_COLUMNS))

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


@dataclass
class Fetched:
    tables: Found  # for each dimension: {row key: raw figures} and the raw total
    inner: list[tuple]  # the (village, association, service) cells with any request


def fetch_tables(query: StatsQuery, dimensions: Sequence[str]) -> Fetched:
    """Raw figures of every row of `dimensions` and of the total, in three statements
    whatever the number of tables: the finest rows (sums and waiting times, added up
    and medians taken here), the key bits, and the people (from the masks of
    `PersonMonth`, or by hashing (row, person) pairs where masks cannot answer)."""
    columns = [DIMENSION_COLUMN[name] for name in dimensions]
    params = _params(query, alternative=json.dumps(settings.STATS_CO2_ALTERNATIVE_G_PER_PKM))
    raw: dict[tuple[int, Any], dict] = {}

    def add(g: int, key: Any, values: dict) -> None:
        raw.setdefault((g, key), {}).update(values)

    with transaction.atomic(), connection.cursor() as cursor:
        _more_memory(cursor)
        cursor.execute(_FINE.format(daily=_daily(query)), params)
        fine = cursor.fetchall()
        inner = sorted({tuple(row[:3]) for row in fine}, key=str)
        for column, key, values in _add_up(fine, columns):
            add(_bits(columns, column), key, values)
        bits = _key_bits(cursor, query, raw, columns)
        if bits is None:  # a filter, or keys without a bit: hash (row, person) pairs
            shape = {"grouping": f"GROUPING({', '.join(columns)})", "columns": ", ".join(columns)}
            cursor.execute(
                _PEOPLE.format(source=_people_source(query), sets=_sets(columns, ", p"), **shape),
                params,
            )
            names = [c.name for c in cursor.description]
            for values in cursor.fetchall():
                row = dict(zip(names, values, strict=True))
                column = next((c for c in columns if _bits(columns, c) == row["g"]), None)
                add(row["g"], row[column] if column else None, row)
        else:
            for column, key, people in _people_by_masks(cursor, query, columns, bits, params):
                add(_bits(columns, column), key, people)
    tables: Found = {}
    for name, column in zip(dimensions, columns, strict=True):
        bits_of = _bits(columns, column)
        rows = {key: values for (g, key), values in raw.items() if g == bits_of}
        tables[name] = (rows, raw.get((_bits(columns, None), None), {}))
    return Fetched(tables, inner)


def _add_up(fine: list[tuple], columns: Sequence[str]):
    """(column, key, sums and median) of every row of `columns` and of the total (column
    None) from the finest rows. The median is percentile_cont(0.5)'s: the middle
    waiting time, or the mean of the two middle ones."""
    import numpy as np

    if not fine:
        return
    index = {column: position for position, column in enumerate(COLUMNS)}
    counts = np.array([row[4:15] for row in fine], dtype=np.int64)
    alternative = np.array([row[15] for row in fine], dtype=np.float64)
    waits = [np.asarray(row[16], dtype=np.int64) for row in fine]
    groups: dict[tuple, list[int]] = {(None, None): list(range(len(fine)))}
    for position, row in enumerate(fine):
        for column in columns:
            groups.setdefault((column, row[index[column]]), []).append(position)
    for group, positions in groups.items():
        out = dict(zip(SUM_COLUMNS, map(int, counts[positions].sum(axis=0)), strict=True))
        out["alt_g_m"] = float(alternative[positions].sum())
        parts = [waits[position] for position in positions if len(waits[position])]
        if parts:
            values = np.concatenate(parts)
            middle = (len(values) - 1) // 2
            if len(values) % 2:
                out["median_s"] = float(np.partition(values, middle)[middle])
            else:
                low, high = np.partition(values, [middle, middle + 1])[[middle, middle + 1]]
                out["median_s"] = (int(low) + int(high)) / 2
        yield (*group, out)


# --- Distinct people from the masks of PersonMonth -----------------------------------------

_MASKED = {"village_id": "village", "association_id": "association", "service_key": "service"}
_FLAGS = ("requesters", "served", "served_elderly", "served_managed")


def _key_bits(cursor, query: StatsQuery, raw: dict, columns: Sequence[str]):
    """{column: {bit: key}} when the people can be counted from the masks: no filter
    (a mask does not say which village went with which service), every key of the
    municipality has a bit (the total is counted from the village masks whatever the
    tables asked for), and every key found has one. None otherwise."""
    if query.villages or query.services:
        return None
    cursor.execute(
        "SELECT dimension, key, bit FROM stats_keybit WHERE municipality_id = %s",
        [query.municipality.pk],
    )
    bits: dict[str, dict[int, Any]] = {column: {} for column in _MASKED}
    found: dict[str, set] = {column: set() for column in _MASKED}
    for dimension, key, bit in cursor.fetchall():
        column = next(c for c, d in _MASKED.items() if d == dimension)
        value = key if column == "service_key" else int(key) if key else None
        if bit is None:
            return None
        bits[column][bit] = value
        found[column].add(value)
    for column in columns:
        if column in _MASKED:
            g = _bits(columns, column)
            if any(key not in found[column] for (row_g, key) in raw if row_g == g):
                return None
    return bits


# Every (person, keys) of the days outside the whole months, with the bits of the keys
# (from `_key_bits`, as parameters: a join on the key would leave the planner guessing).
_DAILY_MASKS = """
SELECT d.period, p, p = ANY(d.served) AS served, p = ANY(d.served_elderly) AS elderly,
    p = ANY(d.served_managed) AS managed, d.vb, d.ab, d.sb
FROM (
    SELECT d.*,
        COALESCE(1::bigint << (%(village_bits)s::int[])[
            array_position(%(village_keys)s::bigint[], d.village_id)], 0) AS vb,
        COALESCE(1::bigint << (%(association_bits)s::int[])[
            array_position(%(association_keys)s::bigint[], d.association_id)], 0) AS ab,
        COALESCE(1::bigint << (%(service_bits)s::int[])[
            array_position(%(service_keys)s::text[], d.service_key)], 0) AS sb
    FROM ({daily}) d
) d
CROSS JOIN LATERAL unnest(d.requesters) p
"""

_MONTHS = """
SELECT * FROM stats_personmonth m WHERE m.municipality_id = %(municipality)s
    AND m.month >= %(months_from)s AND m.month < %(months_to)s
"""

_MASK_NAMES = [
    f"{dimension}{suffix}"
    for dimension in ("village", "association", "service")
    for suffix in ("", "_served", "_elderly", "_managed")
]

# Rows of one person and period: whole months from PersonMonth (one row per person and
# month already), other days from the daily arrays. Then, per person, the OR of their
# masks over the range; per period, the people (one row each).
_PEOPLE_MASKS = """
WITH src AS (
    SELECT m.month AS period, m.person_id AS p, {names} FROM ({months}) m
    UNION ALL
    SELECT period, p, {daily_masks} FROM ({daily}) d GROUP BY period, p
)
SELECT {per_person} AS per_person, {period}, {ors},
    count(*), count(*) FILTER (WHERE village_served <> 0),
    count(*) FILTER (WHERE village_elderly <> 0), count(*) FILTER (WHERE village_managed <> 0)
FROM src
GROUP BY GROUPING SETS ({sets})
"""


def _people_by_masks(cursor, query: StatsQuery, columns: Sequence[str], bits: dict, params):
    """(column, key, {requesters, served, ...}) for every row and the total (column
    None): per person the OR of their masks over the range, then the people per bit;
    per period the people of that period."""
    import numpy as np

    daily_masks = ", ".join(
        f"bit_or(CASE WHEN {flag} THEN {bit} ELSE 0 END) AS {name}"
        for (bit, flag), name in zip(
            [(b, f) for b in ("vb", "ab", "sb") for f in ("true", "served", "elderly", "managed")],
            _MASK_NAMES,
            strict=True,
        )
    )
    for column, name in _MASKED.items():
        params = {
            **params,
            f"{name}_keys": list(bits[column].values()),
            f"{name}_bits": list(bits[column]),
        }
    cursor.execute(
        _PEOPLE_MASKS.format(
            names=", ".join(_MASK_NAMES),
            months=_MONTHS,
            daily_masks=daily_masks,
            daily=_DAILY_MASKS.format(daily=_daily(query, outside_months=True)),
            ors=", ".join(f"bit_or({name})" for name in _MASK_NAMES),
            sets="(p), (period)" if "period" in columns else "(p)",
            per_person="GROUPING(period) = 1" if "period" in columns else "true",
            period="period" if "period" in columns else "NULL::date",
        ),
        params,
    )
    per_person, out = [], []
    for row in cursor.fetchall():
        if row[0]:
            per_person.append(row[2 : 2 + len(_MASK_NAMES)])
        else:
            counts = row[2 + len(_MASK_NAMES) :]
            out.append(("period", row[1], dict(zip(_FLAGS, counts, strict=True))))
    masks = np.array(per_person, dtype=np.int64).reshape(-1, len(_MASK_NAMES))
    # Everyone asked in some village (or none: the '' key), so the village masks say
    # who is in the total.
    total = np.count_nonzero(masks[:, 0:4], axis=0)
    out.append((None, None, dict(zip(_FLAGS, map(int, total), strict=True))))
    for position, column in enumerate(_MASKED):
        if column not in columns:
            continue
        for bit, key in bits[column].items():
            counts = np.count_nonzero(
                (masks[:, 4 * position : 4 * position + 4] >> bit) & 1, axis=0
            )
            if counts[0]:
                out.append((column, key, dict(zip(_FLAGS, map(int, counts), strict=True))))
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
