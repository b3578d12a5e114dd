"""The shared cars of one association as a public GBFS v3.0 feed (journey planners read
it). No login; cached by anyone for the document's ttl; readable from any web page."""

import hashlib
import json
from collections.abc import Callable

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from backend.community.models import Association
from backend.opendata import gbfs
from backend.opendata.services import gbfs_feed_file


class GbfsFile(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    name = ""  # the file, set per url

    @extend_schema(tags=["open data"], responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, association_id: int) -> HttpResponse:
        association = get_object_or_404(
            Association.objects.select_related("municipality"), pk=association_id
        )
        feed_urls = {
            name: request.build_absolute_uri(
                reverse(f"gbfs-{name.replace('_', '-')}", args=[association.id])
            )
            for name in gbfs.FEEDS
        }
        document = gbfs_feed_file(
            association=association, name=self.name, now=timezone.now(), feed_urls=feed_urls
        )
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        if etag in request.headers.get("If-None-Match", ""):
            response = HttpResponse(status=304)
        else:
            response = HttpResponse(body, content_type="application/json; charset=utf-8")
        response["ETag"] = etag
        response["Cache-Control"] = f"public, max-age={gbfs.TTL[self.name]}"
        response["Access-Control-Allow-Origin"] = "*"
        return response


def gbfs_view(name: str) -> Callable[..., HttpResponse]:
    """The view of one file of the feed (`name` without .json)."""
    return GbfsFile.as_view(name=name)
