"""The shop runs of one association as a public GTFS-Flex zip (journey planners read
it). No login; cached by anyone for an hour; ETag and Last-Modified for conditional
requests; readable from any web page."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.http import http_date, parse_http_date_safe
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from backend.community.models import Association
from backend.opendata import gtfs
from backend.opendata.services import gtfs_flex_feed


class GtfsFlexFeed(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        tags=["open data"],
        summary="Shop runs as a GTFS feed with flexible trips (GTFS-Flex)",
        description=(
            "A GTFS zip of the association's shop runs in the coming weeks: agency, "
            "stops (the shops), routes, trips, stop_times with pickup/drop-off windows, "
            "calendar_dates, locations.geojson (the villages served), booking_rules, "
            "translations and feed_info. No personal data. Supports If-None-Match and "
            "If-Modified-Since."
        ),
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, "The GTFS zip."),
            304: OpenApiResponse(description="Not modified."),
            404: OpenApiResponse(description="No such association."),
        },
    )
    def get(self, request: Request, association_id: int) -> HttpResponse:
        association = get_object_or_404(
            Association.objects.select_related("municipality"), pk=association_id
        )
        feed = gtfs_flex_feed(association=association, now=timezone.now())
        if_none_match = request.headers.get("If-None-Match")
        since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
        if if_none_match is not None:
            not_modified = feed.etag in if_none_match or if_none_match.strip() == "*"
        else:
            not_modified = since is not None and feed.last_modified.timestamp() <= since
        if not_modified:
            response = HttpResponse(status=304)
        else:
            response = HttpResponse(feed.body, content_type="application/zip")
            response["Content-Disposition"] = f'attachment; filename="{feed.filename}"'
        response["ETag"] = feed.etag
        response["Last-Modified"] = http_date(feed.last_modified.timestamp())
        response["Cache-Control"] = f"public, max-age={gtfs.TTL}"
        response["Access-Control-Allow-Origin"] = "*"
        return response
