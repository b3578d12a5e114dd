from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

SERVICE_WORKER = Path(__file__).resolve().parent / "static" / "webapp" / "sw.js"


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "webapp/home.html")


@require_safe
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, from the site root: a worker controls only the pages under the
    path it is served from, and /static/ holds none of them."""
    response = HttpResponse(SERVICE_WORKER.read_bytes(), content_type="application/javascript")
    response["Service-Worker-Allowed"] = "/"
    # Browsers check for a new worker on each visit; a cached one would delay fixes.
    response["Cache-Control"] = "no-cache"
    return response
