"""Municipality statistics for analysts: only their own municipality (another one is a
404), only published figures (after the privacy rule). JSON, CSV and GeoJSON."""

import csv
import io

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.community.models import Municipality
from backend.stats.params import stats_query_from_text
from backend.stats.selectors import (
    DIMENSIONS,
    FIGURES,
    GRANULARITIES,
    StatsQuery,
    Table,
    municipalities_for_analyst,
    stats_dashboard,
    stats_table,
    stats_unmet,
)
from backend.stats.sources import SERVICES
from mobile_api.renderers import JSONRenderer
from mobile_api.stats_serializers import (
    StatsMunicipalityOutput,
    StatsSummaryOutput,
    StatsTableOutput,
)

FILTERS = [
    OpenApiParameter("start", OpenApiTypes.DATE, description="First day (default: a year ago)"),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day, included (default: today)"),
    OpenApiParameter(
        "village", OpenApiTypes.INT, many=True, description="Only these villages (repeat)"
    ),
    OpenApiParameter("service", OpenApiTypes.STR, many=True, enum=list(SERVICES)),
    OpenApiParameter(
        "granularity",
        OpenApiTypes.STR,
        enum=list(GRANULARITIES),
        description="Periods of the time series (default: by the length of the range)",
    ),
]


def _municipality(request: Request, pk: int) -> Municipality:
    return get_object_or_404(municipalities_for_analyst(user=request.user), pk=pk)


def _query(request: Request, municipality: Municipality) -> StatsQuery:
    params = request.query_params
    return stats_query_from_text(
        municipality=municipality,
        start=params.get("start", ""),
        end=params.get("end", ""),
        villages=params.getlist("village"),
        services=params.getlist("service"),
        granularity=params.get("granularity", ""),
    )


def _table_data(table: Table) -> dict:
    return {
        "dimension": table.dimension,
        "k": table.k,
        "rows": [_row(row) for row in table.rows],
        "total": _row(table.total),
    }


def _row(row) -> dict:
    return {
        "key": row.key,
        "label": row.label,
        "suppressed": row.suppressed,
        "figures": row.figures,
    }


class StatsMunicipalities(APIView):
    """The municipalities whose statistics I may read (as their analyst)."""

    @extend_schema(responses=StatsMunicipalityOutput(many=True))
    def get(self, request: Request) -> Response:
        municipalities = municipalities_for_analyst(user=request.user)
        return Response(StatsMunicipalityOutput(municipalities, many=True).data)


class StatsSummary(APIView):
    """Everything the dashboard shows: the headline figures, the tables by village,
    association and service, the time series and how many map cells are shown."""

    @extend_schema(parameters=FILTERS, responses=StatsSummaryOutput)
    def get(self, request: Request, pk: int) -> Response:
        municipality = _municipality(request, pk)
        dashboard = stats_dashboard(query=_query(request, municipality))
        data = {
            "municipality": municipality,
            "start": dashboard.query.start,
            "end": dashboard.query.end,
            "granularity": dashboard.query.granularity,
            "filter_withheld": dashboard.filter_withheld,
            "total": _row(dashboard.total),
            "villages": _table_data(dashboard.villages),
            "associations": _table_data(dashboard.associations),
            "services": _table_data(dashboard.services),
            "series": _table_data(dashboard.series),
            "unmet_cells": len(dashboard.unmet.features),
            "unmet_cells_withheld": dashboard.unmet.withheld_cells,
        }
        return Response(StatsSummaryOutput(data).data)


class TableCsvRenderer(BaseRenderer):
    """A statistics table as a spreadsheet (UTF-8 with a byte order mark for Excel):
    one line per row and the total; a withheld figure is an empty cell."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([data["dimension"], "label", "withheld", *FIGURES])
        for row in [*data["rows"], data["total"]]:
            figures = row["figures"] or {}
            writer.writerow(
                [
                    "total" if row is data["total"] else (row["key"] or ""),
                    row["label"],
                    "yes" if row["suppressed"] else "",
                    *("" if figures.get(name) is None else figures[name] for name in FIGURES),
                ]
            )
        return ("\ufeff" + out.getvalue()).encode()


class JsonErrorsMixin:
    def handle_exception(self, exc: Exception) -> Response:
        # Errors are JSON, also when a CSV or GeoJSON file was asked for.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)


class StatsTable(JsonErrorsMixin, APIView):
    """One table: a row per village, association, service or period, and the total.
    JSON, or a CSV file with `?format=csv` or `Accept: text/csv`."""

    renderer_classes = [JSONRenderer, TableCsvRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter("group_by", OpenApiTypes.STR, enum=list(DIMENSIONS)),
            *FILTERS,
            OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"]),
        ],
        responses={
            (200, "application/json"): StatsTableOutput,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="the table"),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        municipality = _municipality(request, pk)
        query = _query(request, municipality)
        dimension = request.query_params.get("group_by", "village")
        table = stats_table(query=query, dimension=dimension)
        response = Response(StatsTableOutput(_table_data(table)).data)
        if request.accepted_renderer.format == "csv":
            response["Content-Disposition"] = (
                f'attachment; filename="samby-{municipality.code}-{dimension}'
                f'-{query.start}-{query.end}.csv"'
            )
        return response


class GeoJsonRenderer(JSONRenderer):
    media_type = "application/geo+json"
    format = "geojson"


class StatsUnmet(JsonErrorsMixin, APIView):
    """Requests nobody could serve, per H3 cell (resolution STATS_H3_RESOLUTION), as a
    GeoJSON FeatureCollection of hexagons with `requests` and `people`. Cells of fewer
    than k people are left out (and enough others that none can be differenced)."""

    renderer_classes = [GeoJsonRenderer, JSONRenderer]

    @extend_schema(
        parameters=FILTERS,
        responses={
            (200, "application/geo+json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="GeoJSON FeatureCollection"
            ),
            # The same body as plain JSON, for `?format=json` or `Accept: application/json`.
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="GeoJSON FeatureCollection"
            ),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        municipality = _municipality(request, pk)
        query = _query(request, municipality)
        response = Response(stats_unmet(query=query).geojson())
        response["Content-Disposition"] = (
            f'attachment; filename="samby-{municipality.code}-unmet-{query.start}-{query.end}'
            '.geojson"'
        )
        return response
