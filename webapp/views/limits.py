"""Rate limits on the web pages' booking forms, on the API's counters
(backend.rate_limits), so booking by turns through the API and the pages gives nobody more
attempts."""

import math
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse

from backend.rate_limits import booking_attempt_check
from webapp.views.common import page


def booking_limited(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Count each POST of a signed-in person; over THROTTLE_BOOKING, a 429 page that says
    how long to wait, and the form is not handled. Goes below `login_required`."""

    @wraps(view)
    def limited(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "POST" and request.user.is_authenticated:
            wait = booking_attempt_check(user_id=request.user.pk)
            if wait is not None:
                response = page(
                    request,
                    "webapp/limits/too_many_bookings.html",
                    {"minutes": max(1, math.ceil(wait / 60))},
                    status=429,
                )
                response["Retry-After"] = str(wait)
                return response
        return view(request, *args, **kwargs)

    return limited
