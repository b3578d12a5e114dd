"""What makes the site an installable app: the manifest, the service worker (served
from the root so it controls every page) and the page it shows when offline."""

from pathlib import Path

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

SERVICE_WORKER = Path(__file__).resolve().parents[1] / "static" / "webapp" / "sw.js"


@require_safe
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, from the site root: a worker controls only the pages under the
    path it is served from, and /static/ holds none of them."""
    response = HttpResponse(SERVICE_WORKER.read_bytes(), content_type="application/javascript")
    response["Service-Worker-Allowed"] = "/"
    # Browsers check for a new worker on each visit; a cached one would delay fixes.
    response["Cache-Control"] = "no-cache"
    return response


@require_safe
def manifest(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(
        {
            "name": "Samby",
            "short_name": "Samby",
            "description": _("Rides, volunteer drivers and shared things in your village."),
            "lang": request.LANGUAGE_CODE,
            "start_url": reverse("webapp:home"),
            "scope": "/",
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": "#0b4f8a",
            "icons": [
                {
                    "src": static("webapp/icons/icon-192.png"),
                    "sizes": "192x192",
                    "type": "image/png",
                },
                {
                    "src": static("webapp/icons/icon-512.png"),
                    "sizes": "512x512",
                    "type": "image/png",
                },
                {
                    "src": static("webapp/icons/icon-maskable-512.png"),
                    "sizes": "512x512",
                    "type": "image/png",
                    "purpose": "maskable",
                },
            ],
        }
    )
    response["Content-Type"] = "application/manifest+json"
    return response


@require_safe
def offline(request: HttpRequest) -> HttpResponse:
    """Cached by the service worker at install; stands in for any page without network."""
    return render(request, "webapp/pwa/offline.html")
