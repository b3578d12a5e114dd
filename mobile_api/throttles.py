"""Rate limits. Their counters live in Redis (the cache); see FailOpenMixin for what
happens when Redis is down. The API uses these classes, never DRF's own, directly."""

import logging

from redis.exceptions import RedisError
from rest_framework import exceptions, status, throttling
from rest_framework.request import Request

from backend.accounts.login_limits import login_attempt_check
from backend.rate_limits import (
    BookingPlace,
    booking_place_give_back,
    booking_place_take,
    client_address,
    proxy_request_check,
    rate_limit_hit,
)

logger = logging.getLogger(__name__)


class FailOpenMixin:
    """When Redis is down, let the request through (and log) rather than fail it with a
    500: an outage of the cache must not stop residents from booking, and everything a
    request writes goes to PostgreSQL. Logins keep a second line of defence in the
    password hasher's cost; the outage is logged so the operator sees it."""

    def allow_request(self, request: Request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except RedisError:
            logger.warning("rate limit %s not checked: Redis unreachable", type(self).__name__)
            return True


class WindowCountMixin:
    """Counts requests on two counters a client, this window's and the previous one's
    (backend.rate_limits), one round trip to Redis a request. DRF's own rate throttles
    keep each client's request times as a list in the cache, read and written back whole
    on every request: two round trips and a list as long as the rate, on every API
    request."""

    def allow_request(self, request: Request, view) -> bool:
        self._wait = None
        key = self.get_cache_key(request, view) if self.rate else None
        if key is not None:
            self._wait = rate_limit_hit(key, self.rate)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


class AnonRateThrottle(FailOpenMixin, WindowCountMixin, throttling.AnonRateThrottle):
    """THROTTLE_ANON per client address, for requests without a token."""


class UserRateThrottle(FailOpenMixin, WindowCountMixin, throttling.UserRateThrottle):
    """THROTTLE_USER per person (per client address without a token)."""


class ScopedRateThrottle(FailOpenMixin, throttling.ScopedRateThrottle):
    pass


class LoginAttemptThrottle(throttling.BaseThrottle):
    """Login attempts, on the web sign-in's counters (backend.accounts.login_limits): per
    client address and per phone number or e-mail, from whatever address they come, so
    guessing one person's password from many machines, or by turns through the API and
    the web page, is as slow as from one."""

    def allow_request(self, request: Request, view) -> bool:
        self._wait = login_attempt_check(
            identifier=self.identifier(request), client_ip=client_address(request.META)
        )
        return self._wait is None

    def identifier(self, request: Request) -> str:
        data = request.data if isinstance(request.data, dict) else {}
        identifier = data.get("identifier")
        return identifier if isinstance(identifier, str) else ""

    def wait(self) -> float | None:
        return self._wait


class CodeSignInThrottle(LoginAttemptThrottle):
    """Signing in with a code texted to a number: each try counts against the number, as
    on the web page that takes the code (`login_attempt_count`)."""

    def identifier(self, request: Request) -> str:
        data = request.data if isinstance(request.data, dict) else {}
        phone = data.get("phone")
        return phone if isinstance(phone, str) else ""


class PasswordChangeThrottle(LoginAttemptThrottle):
    """Choosing a new password tries the present one: each try counts as a sign-in
    attempt of the signed-in person, so a stolen session or token cannot guess it
    faster than the sign-in page allows."""

    def identifier(self, request: Request) -> str:
        return request.user.phone or request.user.email


class TooManyBookings(exceptions.Throttled):
    """The booking limit's refusal: its message says so (mobile_api.errors)."""


class BookingThrottle(throttling.BaseThrottle):
    """Bookings (POST) of a signed-in person, on the counter the web pages' booking
    forms use too (backend.rate_limits.booking_place_take). A request takes a place under
    the limit and keeps it only when it booked something (a 2xx answer): a 400 or a 409
    gives it back. DRF asks a throttle before the view runs and never shows it the
    answer, so the throttle has the view give the place back when it finishes this
    request's answer (a view instance serves one request). A request that ends in an
    unhandled error (a 500) keeps its place."""

    def allow_request(self, request: Request, view) -> bool:
        if request.method == "POST" and request.user and request.user.is_authenticated:
            place = booking_place_take(user_id=request.user.pk)
            if place.wait is not None:
                # Not False: DRF's own refusal would not say which limit it was.
                raise TooManyBookings(place.wait)
            _give_back_unless_booked(view, place)
        return True


def _give_back_unless_booked(view, place: BookingPlace) -> None:
    finalize_response = view.finalize_response

    def finalize_and_count(request: Request, response, *args, **kwargs):
        response = finalize_response(request, response, *args, **kwargs)
        if not status.is_success(response.status_code):
            booking_place_give_back(place)
        return response

    view.finalize_response = finalize_and_count


class ProxyRequestThrottle(throttling.BaseThrottle):
    """Requests to help (POST) of a signed-in person, per person
    (backend.rate_limits.proxy_request_check): a request to a number without an account
    sends an SMS. Unlike the others it does not fail open."""

    def allow_request(self, request: Request, view) -> bool:
        self._wait = None
        if request.method == "POST" and request.user and request.user.is_authenticated:
            self._wait = proxy_request_check(user_id=request.user.pk)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait
