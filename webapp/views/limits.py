"""Rate limits on the web pages' booking forms, on the API's counters
(backend.rate_limits), so booking by turns through the API and the pages gives nobody more
bookings."""

import math
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse

from backend.rate_limits import booking_place_give_back, booking_place_take
from webapp.views.common import page


def booking_limited(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Bookings (POST) of a signed-in person; over THROTTLE_BOOKING, a 429 page that says
    how long to wait, and the form is not handled. A POST takes a place under the limit
    and keeps it only when the view booked something (`booking_made`), so a form sent back with
    mistakes costs nothing. Goes below `login_required`."""

    @wraps(view)
    def limited(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method != "POST" or not request.user.is_authenticated:
            return view(request, *args, **kwargs)
        place = booking_place_take(user_id=request.user.pk)
        if place.wait is not None:
            response = page(
                request,
                "webapp/limits/too_many_bookings.html",
                {"minutes": max(1, math.ceil(place.wait / 60))},
                status=429,
            )
            response["Retry-After"] = str(place.wait)
            return response
        booked = False
        try:
            response = view(request, *args, **kwargs)
            booked = _booked(request, response)
        finally:
            if not booked:
                booking_place_give_back(place)
        return response

    return limited


def booking_made(request: HttpRequest) -> None:
    """Called by a booking view once its booking is stored: the request keeps its place
    under the limit. Anything else (the form sent back with mistakes, a conflict, a
    refusal) gives the place back."""
    request.booking_made = True


def _booked(request: HttpRequest, response: HttpResponse) -> bool:
    return getattr(request, "booking_made", False) and response.status_code < 400
