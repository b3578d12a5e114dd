import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from backend.health import check_database, check_redis

logger = logging.getLogger(__name__)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and Redis answer, 503 naming which does not. The details go
    to the log, not to the (public) response."""
    problems = {"database": check_database(), "redis": check_redis()}
    for name, problem in problems.items():
        if problem:
            logger.error("healthz: %s unavailable: %s", name, problem)
    checks = {name: ("ok" if problem is None else "error") for name, problem in problems.items()}
    healthy = all(problem is None for problem in problems.values())
    body = {"status": "ok" if healthy else "unavailable", "checks": checks}
    return JsonResponse(body, status=200 if healthy else 503)
