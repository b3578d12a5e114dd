"""The municipality statistics dashboard: headline figures, time series, the tables by
village and association, the unmet-demand map, and downloads (the API's CSV and
GeoJSON). Filters are a plain GET form, so it works without JavaScript."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from backend.errors import ApplicationError
from backend.stats.params import stats_query_from_text
from backend.stats.selectors import (
    Dashboard,
    municipalities_for_analyst,
    stats_dashboard,
    stats_query,
)
from backend.stats.sources import SERVICES
from webapp.stats.charts import Series, bar_chart, hex_map


@login_required
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    municipalities = list(municipalities_for_analyst(user=request.user))
    if not municipalities:
        return render(request, "webapp/stats/not_analyst.html", status=403)
    chosen = request.GET.get("municipality")
    municipality = municipalities[0]
    if chosen:
        municipality = next((m for m in municipalities if str(m.pk) == chosen), None)
        if municipality is None:
            raise Http404
    error, status = None, 200
    try:
        query = stats_query_from_text(
            municipality=municipality,
            start=request.GET.get("start", ""),
            end=request.GET.get("end", ""),
            villages=request.GET.getlist("village"),
            services=request.GET.getlist("service"),
            granularity=request.GET.get("granularity", ""),
        )
    except ApplicationError as exc:
        error, status = exc.message, 400
        query = stats_query(municipality=municipality, start=None, end=None)
    data = stats_dashboard(query=query)
    context = {
        "municipality": municipality,
        "municipalities": municipalities,
        "data": data,
        "error": error,
        "headline": _headline(data),
        "charts": _charts(data),
        "map": mark_safe(  # noqa: S308 - built by hex_map, which escapes every text
            hex_map(
                map_id="unmet-map",
                title=_("Requests nobody could serve, by area"),
                features=data.unmet.features,
                places=[(v.name, v.location.x, v.location.y) for v in municipality.villages.all()],
            )
        ),
        "villages": municipality.villages.all(),
        "services": [(name, source.label) for name, source in SERVICES.items()],
        "granularities": [
            ("day", _("by day")),
            ("week", _("by week")),
            ("month", _("by month")),
        ],
        "downloads": _downloads(data),
    }
    return render(request, "webapp/stats/dashboard.html", context, status=status)


def _headline(data: Dashboard) -> list[tuple[str, object, str]]:
    figures = data.total.figures or {}
    names = [
        ("requests", _("ride requests"), ""),
        ("fulfilled", _("carried out"), ""),
        ("unfulfilled", _("nobody could drive"), ""),
        ("people_served", _("people served"), ""),
        ("people_served_elderly", _("of them 65 or older"), ""),
        ("people_served_managed", _("of them without the app"), ""),
        ("passengers", _("passengers carried"), ""),
        ("passenger_km", _("passenger km"), "km"),
        ("vehicle_km", _("vehicle km"), "km"),
        ("co2_avoided_kg", _("CO₂ avoided"), "kg"),
        ("volunteer_hours", _("volunteer hours"), "h"),
        ("median_minutes_to_accept", _("median wait for a driver"), "min"),
    ]
    return [(label, figures.get(name), unit) for name, label, unit in names]


def _charts(data: Dashboard) -> list[tuple[str, str]]:
    rows = data.series.rows
    labels = [row.label for row in rows]

    def values(name: str) -> list:
        return [row.figures[name] if row.figures else None for row in rows]

    def other() -> list:
        return [
            row.figures["cancelled"] + row.figures["no_show"] if row.figures else None
            for row in rows
        ]

    charts = [
        (
            _("Ride requests"),
            bar_chart(
                chart_id="chart-requests",
                title=_("Ride requests per period: carried out, not served, cancelled"),
                labels=labels,
                series=[
                    Series(_("carried out"), values("fulfilled"), "#0b5394"),
                    Series(_("nobody could drive"), values("unfulfilled"), "#c0392b"),
                    Series(_("cancelled or no-show"), other(), "#8a8a8a"),
                ],
            ),
        ),
        (
            _("Passenger kilometres"),
            bar_chart(
                chart_id="chart-km",
                title=_("Passenger kilometres per period"),
                labels=labels,
                series=[Series(_("passenger km"), values("passenger_km"), "#1e7b4f")],
                unit=" km",
            ),
        ),
        (
            _("Volunteer hours"),
            bar_chart(
                chart_id="chart-hours",
                title=_("Volunteer hours per period"),
                labels=labels,
                series=[Series(_("volunteer hours"), values("volunteer_hours"), "#7d3c98")],
                unit=" h",
            ),
        ),
    ]
    # Built by bar_chart, which escapes every text.
    return [(title, mark_safe(svg)) for title, svg in charts]  # noqa: S308


def _downloads(data: Dashboard) -> dict[str, str]:
    """Links to the API's files for the same choices (the session logs the analyst in)."""
    query = data.query
    params = [("start", query.start.isoformat()), ("end", query.end.isoformat())]
    params += [("village", str(v)) for v in query.villages]
    params += [("service", s) for s in query.services]
    pk = query.municipality.pk
    table = reverse("stats-table", kwargs={"pk": pk})

    def csv_of(group_by: str, *extra: tuple[str, str]) -> str:
        return f"{table}?{urlencode([*params, ('group_by', group_by), *extra, ('format', 'csv')])}"

    return {
        "villages_csv": csv_of("village"),
        "associations_csv": csv_of("association"),
        "series_csv": csv_of("period", ("granularity", query.granularity)),
        "unmet_geojson": f"{reverse('stats-unmet', kwargs={'pk': pk})}?{urlencode(params)}",
    }
