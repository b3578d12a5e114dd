"""The shared cars of one association as public GBFS feeds, v3.0 and v3.1-RC3 (journey
planners read them). No login; cached by anyone for the document's ttl; readable from
any web page."""

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
    version = gbfs.VERSION  # the feed's version, set per url

    @extend_schema(tags=["open data"], responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, association_id: int) -> HttpResponse:
        association = get_object_or_404(
            Association.objects.select_related("municipality"), pk=association_id
        )

        def absolute(version: str, name: str) -> str:
            return request.build_absolute_uri(
                reverse(gbfs_url_name(version, name), args=[association.id])
            )

        document = gbfs_feed_file(
            association=association,
            name=self.name,
            now=timezone.now(),
            feed_urls={name: absolute(self.version, name) for name in gbfs.VERSIONS[self.version]},
            gbfs_urls={version: absolute(version, "gbfs") for version in gbfs.VERSIONS},
            version=self.version,
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


def gbfs_url_name(version: str, name: str) -> str:
    prefix = "gbfs" if version == gbfs.VERSION else "gbfs31"
    return f"{prefix}-{name.replace('_', '-')}"


def gbfs_view(name: str, version: str = gbfs.VERSION) -> Callable[..., HttpResponse]:
    """The view of one file of the feed in `version` (`name` without .json)."""
    return GbfsFile.as_view(name=name, version=version)


def gbfs_versions_files(version: str) -> tuple[str, ...]:
    """The files (besides gbfs.json) that `version` publishes."""
    return gbfs.VERSIONS[version]
