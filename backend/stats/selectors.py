"""Published statistics: what an analyst may see, in tables that have passed the privacy
rule (`backend.stats.privacy`).

Every figure comes from the summary (`DailyFigures`, `PersonMonth`, `UnmetDemand`; see
`backend.stats.queries`): a fixed number of statements gives every row of every table
asked for and the total, with distinct people and the median waiting time exact. A
further, small query runs only when some rows are withheld, to count the people of the
withheld rows together.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import h3
from django.conf import settings
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.community.models import Association, Municipality, Village
from backend.errors import ApplicationError
from backend.stats.cache import cached
from backend.stats.errors import StatsErrorCode
from backend.stats.privacy import Suppression, linked_withheld, suppress
from backend.stats.queries import (
    SUM_COLUMNS,
    Found,
    StatsQuery,
    fetch_tables,
    fetch_unmet,
    union_size,
    unmet_union_size,
)
from backend.stats.sources import SERVICES

DIMENSIONS = ("village", "association", "service", "period")
GRANULARITIES = ("day", "week", "month")
MAX_RANGE_DAYS = 3 * 366 + 1
# Dates an analyst may ask for. Statistics count what has happened, so a date far ahead
# is a typing mistake; the bounds also keep every day and period of a range a real date.
FIRST_DAY = date(2000, 1, 1)
DAYS_AHEAD = timedelta(days=366)

# Figures in every row, in this order (CSV columns, API fields).
FIGURES = (
    "requests",
    "fulfilled",
    "unfulfilled",
    "cancelled",
    "no_show",
    "people_requesting",
    "people_served",
    "people_served_elderly",
    "people_served_managed",
    "passengers",
    "vehicle_km",
    "passenger_km",
    "co2_avoided_kg",
    "volunteer_hours",
    "volunteer_km",
    "usage_hours",
    "median_minutes_to_accept",
)
# Figures that count people: each is held to k on its own (privacy rule 5).
PEOPLE_FIGURES = {
    "people_served": "served",
    "people_served_elderly": "served_elderly",
    "people_served_managed": "served_managed",
}


def municipalities_for_analyst(*, user: User) -> QuerySet[Municipality]:
    """The municipalities whose statistics `user` may read: those they are an analyst
    of. Nobody else (coordinators, staff) reads them through the statistics pages."""
    if not user.is_authenticated:
        return Municipality.objects.none()
    return Municipality.objects.filter(analysts__user=user).order_by("name")


def stats_query(
    *,
    municipality: Municipality,
    start: date | None,
    end: date | None,
    villages: Sequence[int] = (),
    services: Sequence[str] = (),
    granularity: str | None = None,
    today: date | None = None,
) -> StatsQuery:
    """Check the analyst's choices; the default range is the last twelve full months
    plus this one, by month."""
    today = today or date.today()  # noqa: DTZ011 - settings.TIME_ZONE is the local day
    last = today + DAYS_AHEAD
    for name, day in (("start", start), ("end", end)):
        if day is not None and not FIRST_DAY <= day <= last:
            bounds = {"first": FIRST_DAY.isoformat(), "last": last.isoformat()}
            raise ApplicationError(
                StatsErrorCode.DATE_OUT_OF_RANGE,
                _("Statistics count what has happened: choose dates from %(first)s to %(last)s.")
                % bounds,
                fields={name: [_("Choose a date from %(first)s to %(last)s.") % bounds]},
            )
    end = end or today
    start = start or (end.replace(day=1) - timedelta(days=365)).replace(day=1)
    if start > end:
        raise ApplicationError(
            StatsErrorCode.RANGE_REVERSED,
            _("The start date is after the end date. Swap them."),
            fields={"start": [_("Must be on or before the end date.")]},
        )
    if (end - start).days > MAX_RANGE_DAYS:
        raise ApplicationError(
            StatsErrorCode.RANGE_TOO_LONG,
            _("Choose at most three years at a time."),
            fields={"start": [_("At most three years before the end date.")]},
        )
    known = set(
        Village.objects.filter(municipality=municipality, pk__in=villages).values_list(
            "pk", flat=True
        )
    )
    if unknown := [v for v in villages if v not in known]:
        raise ApplicationError(
            StatsErrorCode.UNKNOWN_VILLAGE,
            _("No village %(ids)s in %(municipality)s. Choose one from the list.")
            % {"ids": ", ".join(map(str, unknown)), "municipality": municipality.name},
            fields={"village": [_("Not a village of this municipality.")]},
        )
    if unknown := [s for s in services if s not in SERVICES]:
        raise ApplicationError(
            StatsErrorCode.UNKNOWN_SERVICE,
            _("Unknown service %(names)s. Choose one of: %(known)s.")
            % {"names": ", ".join(unknown), "known": ", ".join(SERVICES)},
            fields={"service": [_("Unknown service.")]},
        )
    if granularity is None:
        days = (end - start).days
        granularity = "day" if days <= 62 else "week" if days <= 26 * 7 else "month"
    if granularity not in GRANULARITIES:
        raise ApplicationError(
            StatsErrorCode.UNKNOWN_GRANULARITY,
            _("Show figures by day, week or month."),
            fields={"granularity": [_("Choose day, week or month.")]},
        )
    return StatsQuery(
        municipality,
        start,
        end,
        tuple(sorted(set(villages))),
        tuple(sorted(set(services))),
        granularity,
    )


@dataclass
class Row:
    key: Any
    label: str
    figures: dict[str, Any] | None  # None: withheld (fewer than k people)
    withheld: frozenset[str] = field(default_factory=frozenset)  # figures withheld alone

    @property
    def suppressed(self) -> bool:
        return self.figures is None


@dataclass
class Table:
    dimension: str
    rows: list[Row]
    total: Row
    k: int


def _figures(found: dict) -> dict[str, Any]:
    # People are counted apart from the sums: a range with no request at all has people
    # figures (zero) and no sums.
    raw = {**dict.fromkeys(SUM_COLUMNS, 0), "alt_g_m": 0.0, **found}
    vehicle_g = settings.STATS_CO2_VEHICLE_G_PER_KM
    co2_g = (raw["alt_g_m"] or 0) / 1000 - raw["vehicle_m"] * vehicle_g / 1000
    median = raw.get("median_s")  # no row: nobody was accepted
    return {
        "requests": raw["requests"],
        "fulfilled": raw["fulfilled"],
        "unfulfilled": raw["unfulfilled"],
        "cancelled": raw["cancelled"],
        "no_show": raw["no_show"],
        "people_requesting": raw.get("requesters") or 0,
        "people_served": raw.get("served") or 0,
        "people_served_elderly": raw.get("served_elderly") or 0,
        "people_served_managed": raw.get("served_managed") or 0,
        "passengers": raw["passengers"],
        "vehicle_km": round(raw["vehicle_m"] / 1000, 1),
        "passenger_km": round(raw["passenger_m"] / 1000, 1),
        "co2_avoided_kg": round(co2_g / 1000, 1),
        "volunteer_hours": round(raw["volunteer_s"] / 3600, 1),
        "volunteer_km": round(raw["volunteer_m"] / 1000, 1),
        "usage_hours": round(raw["usage_s"] / 3600, 1),
        "median_minutes_to_accept": None if median is None else round(median / 60, 1),
    }


def _labels(query: StatsQuery, dimension: str, keys) -> dict[Any, str]:
    if dimension == "village":
        names = dict(
            Village.objects.filter(municipality=query.municipality).values_list("pk", "name")
        )
        return {key: names.get(key, str(_("No village"))) for key in keys}
    if dimension == "association":
        names = dict(
            Association.objects.filter(pk__in=[k for k in keys if k]).values_list("pk", "name")
        )
        return {key: names.get(key, str(key)) for key in keys}
    if dimension == "service":
        return {
            key: str(SERVICES[key.split(":")[0]].label)
            + (f" ({key.split(':', 1)[1]})" if ":" in key else "")
            for key in keys
        }
    return {key: _period_label(key, query.granularity) for key in keys}


def _period_label(day: date, granularity: str) -> str:
    if granularity == "month":
        return day.strftime("%Y-%m")
    if granularity == "week":
        year, week, _weekday = day.isocalendar()
        return f"{year}-W{week:02d}"
    return day.isoformat()


def _all_keys(query: StatsQuery, dimension: str, found: dict) -> list:
    """Rows to show: every village of the municipality (zeros too, so that a missing
    village is not a hint), every period of the range; otherwise the rows found."""
    if dimension == "village":
        villages = query.villages or tuple(
            Village.objects.filter(municipality=query.municipality).values_list("pk", flat=True)
        )
        extra = [None] if None in found else []
        return [*villages, *extra]
    if dimension == "period":
        return _periods(query.start, query.end, query.granularity)
    return sorted(found, key=str)


def _periods(start: date, end: date, granularity: str) -> list[date]:
    if granularity == "day":
        first, step = start, None
    elif granularity == "week":
        first, step = start - timedelta(days=start.weekday()), None
    else:
        first, step = start.replace(day=1), "month"
    out, current = [], first
    while current <= end:
        out.append(current)
        if step == "month":
            current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            current += timedelta(days=7 if granularity == "week" else 1)
    return out


LINKED = ("village", "association", "service")


@dataclass
class _Draft:
    dimension: str
    keys: list
    labels: dict
    figures: dict
    total: dict
    cells: Suppression


def _draft(query: StatsQuery, dimension: str, found: Found) -> _Draft:
    rows, total_raw = found[dimension]
    keys = _all_keys(query, dimension, rows)
    figures = {key: _figures(rows[key]) if key in rows else _zero() for key in keys}
    total = _figures(total_raw) if total_raw else _zero()
    cells = suppress(
        [(key, figures[key]["people_requesting"]) for key in keys],
        total=total["people_requesting"],
        k=settings.STATS_K_ANONYMITY,
        union_size=union_size(query, dimension, "requesters"),
    )
    return _Draft(dimension, keys, _labels(query, dimension, keys), figures, total, cells)


def _link(drafts: dict[str, _Draft], inner: list[tuple]) -> None:
    """Privacy rule 6 over the village, association and service tables of one query;
    `inner` are its (village, association, service) cells."""
    if not drafts or any(draft.cells.total_withheld for draft in drafts.values()):
        return
    position = {name: i for i, name in enumerate(LINKED)}
    rows, people, withheld = {}, {}, set()
    for name, draft in drafts.items():
        for key in draft.keys:
            rows[(name, key)] = frozenset(c for c in inner if c[position[name]] == key)
            people[(name, key)] = draft.figures[key]["people_requesting"]
        withheld |= {(name, key) for key in draft.cells.withheld}
    final = linked_withheld(rows, people, frozenset(withheld), k=settings.STATS_K_ANONYMITY)
    for name, draft in drafts.items():
        draft.cells = Suppression(
            frozenset(key for table, key in final if table == name), draft.cells.total_withheld
        )


def _finish(query: StatsQuery, draft: _Draft) -> Table:
    """Rule 5 (figures that count people) and the rows as published."""
    k = settings.STATS_K_ANONYMITY
    cells, keys, figures, total = draft.cells, draft.keys, draft.figures, draft.total
    alone: dict[Any, set[str]] = {key: set() for key in keys}
    total_alone: set[str] = set()
    for name, column in PEOPLE_FIGURES.items():
        if cells.total_withheld:
            break
        column_rule = suppress(
            [(key, figures[key][name]) for key in keys],
            total=total[name],
            k=k,
            union_size=union_size(query, draft.dimension, column),
            already=cells.withheld,
        )
        for key in column_rule.withheld - cells.withheld:
            alone[key].add(name)
        if column_rule.total_withheld:
            total_alone.add(name)
            for key in keys:
                alone[key].add(name)
    rows = [
        Row(
            key,
            draft.labels[key],
            _without(figures[key], alone[key]) if cells.shows(key) else None,
            frozenset(alone[key]),
        )
        for key in keys
    ]
    total_row = Row(
        None,
        str(_("Total")),
        None if cells.total_withheld else _without(total, total_alone),
        frozenset(total_alone),
    )
    return Table(draft.dimension, rows, total_row, k)


def stats_tables(*, query: StatsQuery, dimensions: Sequence[str]) -> dict[str, Table]:
    """Published tables: a row per village, association, service or period of the
    query, and the total, each with all `FIGURES`, after the privacy rule. Asking for
    one of the linked tables computes all three, because each one's withheld rows
    depend on the others."""
    wanted = list(dict.fromkeys(dimensions))
    if any(name in LINKED for name in wanted):
        wanted = [*LINKED, *(name for name in wanted if name not in LINKED)]
    for name in wanted:
        if name not in DIMENSIONS:
            raise ApplicationError(
                StatsErrorCode.UNKNOWN_DIMENSION,
                _("Group the figures by village, association, service or period."),
                fields={"group_by": [_("Choose village, association, service or period.")]},
            )
    fetched = fetch_tables(query, wanted)
    drafts = {name: _draft(query, name, fetched.tables) for name in wanted}
    _link({name: drafts[name] for name in LINKED if name in drafts}, fetched.inner)
    return {name: _finish(query, drafts[name]) for name in dimensions}


def stats_table(*, query: StatsQuery, dimension: str) -> Table:
    """One published table; with a village or service filter, withheld whole when the
    filter selects a withheld row (see `filter_withheld`). Cached like the dashboard."""

    def compute() -> Table:
        table = stats_tables(query=query, dimensions=[dimension])[dimension]
        return _withhold_all(table) if filter_withheld(query=query) else table

    return cached(f"table:{dimension}", query, compute)


def filter_withheld(*, query: StatsQuery) -> bool:
    """A filter (villages, services) selects rows of the unfiltered table of its
    dimension; when any of them is withheld there, figures for the selection would give
    it back, so everything about the selection is withheld."""
    if not query.villages and not query.services:
        return False
    linked = stats_tables(query=query.with_filters(villages=(), services=()), dimensions=LINKED)
    return _selection_withheld(linked["village"], query.villages) or _selection_withheld(
        linked["service"], query.services
    )


def _without(figures: dict, names: set[str]) -> dict:
    return {name: None if name in names else value for name, value in figures.items()}


def _zero() -> dict[str, Any]:
    zero = dict.fromkeys(FIGURES, 0)
    zero["median_minutes_to_accept"] = None
    return zero


# --- The dashboard: filters that cannot be used to difference --------------------------------


@dataclass
class Dashboard:
    query: StatsQuery
    total: Row
    villages: Table
    associations: Table
    services: Table
    series: Table
    unmet: "UnmetMap"
    filter_withheld: bool  # the filtered selection is too small to show


def stats_dashboard(*, query: StatsQuery) -> Dashboard:
    """Everything the dashboard shows, from the cache while the summary has not changed
    (see `backend.stats.cache`)."""
    return cached("dashboard", query, lambda: _dashboard(query))


def _dashboard(query: StatsQuery) -> Dashboard:
    """Everything the dashboard shows. A filter (villages, services) selects rows of
    the unfiltered table of its dimension; when any of those rows is withheld there, the
    filtered figures would give it back, so the whole selection is withheld. With a
    filter, every table is the filtered one, as the API's CSV of the same choices."""
    unfiltered = query.with_filters(villages=(), services=())
    filtered = bool(query.villages or query.services)
    # Without a filter the series comes from the same statements as the other tables.
    tables = stats_tables(query=unfiltered, dimensions=[*LINKED, *([] if filtered else ["period"])])
    withheld = _selection_withheld(tables["village"], query.villages) or _selection_withheld(
        tables["service"], query.services
    )
    if filtered:
        tables = stats_tables(query=query, dimensions=[*LINKED, "period"])
    if withheld:
        tables = {name: _withhold_all(table) for name, table in tables.items()}
    villages, associations, services, series = (tables[name] for name in [*LINKED, "period"])
    unmet = _unmet(query)
    if withheld:
        unmet = UnmetMap(features=[], withheld_cells=len(unmet.features) + unmet.withheld_cells)
    total = villages.total if not filtered else series.total
    return Dashboard(query, total, villages, associations, services, series, unmet, withheld)


def _selection_withheld(table: Table, selected: Sequence) -> bool:
    if not selected:
        return False
    shown = {row.key for row in table.rows if not row.suppressed}
    return table.total.suppressed or any(key not in shown for key in selected)


def _withhold_all(table: Table) -> Table:
    rows = [Row(row.key, row.label, None) for row in table.rows]
    return Table(table.dimension, rows, Row(None, table.total.label, None), table.k)


# --- Unmet demand on a map ------------------------------------------------------------------


@dataclass
class UnmetMap:
    features: list[dict]  # GeoJSON features: hexagon, cell id, requests, people
    withheld_cells: int

    def geojson(self) -> dict:
        return {"type": "FeatureCollection", "features": self.features}


def stats_unmet(*, query: StatsQuery) -> UnmetMap:
    """Requests nobody could serve per H3 cell, as GeoJSON features; cells are held to
    the same privacy rule (their total is the number of unserved requests). Nothing
    when a filter selects a withheld village or service. Cached like the dashboard."""

    def compute() -> UnmetMap:
        unmet = _unmet(query)
        if filter_withheld(query=query):
            return UnmetMap(features=[], withheld_cells=len(unmet.features) + unmet.withheld_cells)
        return unmet

    return cached("unmet", query, compute)


def _unmet(query: StatsQuery) -> UnmetMap:
    cells, total_people = fetch_unmet(query)
    rule = suppress(
        [(cell, people) for cell, (_requests, people) in cells.items()],
        total=total_people,
        k=settings.STATS_K_ANONYMITY,
        union_size=unmet_union_size(query),
    )
    features = [
        {
            "type": "Feature",
            "geometry": {
                "type": "Polygon",
                "coordinates": [_ring(cell)],
            },
            "properties": {"cell": cell, "requests": requests, "people": people},
        }
        for cell, (requests, people) in sorted(cells.items())
        if rule.shows(cell)
    ]
    return UnmetMap(features=features, withheld_cells=len(cells) - len(features))


def _ring(cell: str) -> list[list[float]]:
    """The hexagon as a closed GeoJSON ring, (lon, lat), six decimals (~0.1 m)."""
    points = [[round(lng, 6), round(lat, 6)] for lat, lng in h3.cell_to_boundary(cell)]
    return [*points, points[0]]


def stats_cache_warm(*, today: date | None = None) -> int:
    """After a refresh: compute the default dashboard (the last year, by month) of every
    municipality that has analysts, in each language, so that the first view after a
    refresh is served from the cache too. Returns how many were computed."""
    count = 0
    for municipality in Municipality.objects.filter(analysts__isnull=False).distinct():
        query = stats_query(municipality=municipality, start=None, end=None, today=today)
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                stats_dashboard(query=query)
            count += 1
    return count
