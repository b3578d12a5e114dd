"""Rate limits shared by the API and the web pages: one counter per thing limited, so
alternating between the two gives nobody more attempts.

Counters live in the cache (Redis), one per window of the rate's period aligned to the
clock (the window is part of the key), read as a sliding window: the attempts of this
window so far plus the previous window's, weighted by the part of it still within one
period back. With fixed windows alone the count started over at each window's edge: a
burst at the end of one window and another at the start of the next let twice the rate
through in a moment, and a refused guesser was let straight back in. Here a burst is
still counted at the start of the next window and fades out over it, and no window lets
through more than the rate. Refused attempts are not counted, so the wait a refusal
gives (`Retry-After`) holds for a client that keeps trying meanwhile. The booking limit
counts only what was booked: an attempt that booked nothing gives its place back.
Rates are written like DRF's ("10/min", "20/hour") and read from
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] at each call. Callers decide what an outage of
Redis means (a RedisError comes through): sign-ins and bookings are let through and
logged, sending SMS codes is refused.
"""

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from redis import Redis
from redis.commands.core import Script
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """DRF's rate notation: "10/min" -> (10, 60), "20/hour" -> (20, 3600)."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period.strip()[0]]


def rate(scope: str) -> str:
    return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope]


def rate_limit_hit(key: str, rate: str) -> int | None:
    """Count one attempt under `key`. None when it is within `rate`, else the seconds
    until an attempt will be let through (at least 1), and this one is not counted.
    Reading and counting are one script in Redis: one round trip, and concurrent
    attempts cannot both take the last place."""
    return _rate_limit_take(key, rate)[0]


def _rate_limit_take(key: str, rate: str) -> tuple[int | None, str]:
    """rate_limit_hit, and the counter the attempt was counted on (to give its place
    back: `_GIVE_BACK`)."""
    limit, period = parse_rate(rate)
    period_ms = period * 1000
    now_ms = int(time.time() * 1000)
    start_ms = now_ms - now_ms % period_ms
    # The part of the previous window still within one period back, in milliseconds
    # (integers, so that the count is exact where fractions would round).
    remaining_ms = period_ms - (now_ms - start_ms)
    client, this_window, previous_window = _counter_keys(key, start_ms // 1000, period)
    allowed, current, previous = _SLIDING_WINDOW(
        keys=[this_window, previous_window],
        args=[limit, remaining_ms, period_ms, 2 * period + 1],
        client=client,
    )
    if allowed:
        return None, this_window
    return _seconds_until_allowed(limit, period_ms, remaining_ms, current, previous), this_window


# KEYS: this window's counter, the previous window's. ARGV: the limit; the milliseconds
# of the previous window still within one period back; the period in milliseconds; the
# seconds a new counter lives (it is read as the previous one during the next window).
# The weighted count is previous * remaining / period + current; multiplied out by the
# period it stays in integers. Returns {1 if counted else 0, this window's count, the
# previous window's}.
_SLIDING_WINDOW = Script(
    None,
    b"""
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local limit, remaining, period = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if previous * remaining + (current + 1) * period > limit * period then
    return {0, current, previous}
end
current = redis.call('INCR', KEYS[1])
if current == 1 then
    redis.call('EXPIRE', KEYS[1], ARGV[4])
end
return {1, current, previous}
""",
)


# KEYS: the counter an attempt was counted on. Never below zero: the counter may have
# expired meanwhile (then there is nothing to give back).
_GIVE_BACK = Script(
    None,
    b"""
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
    return redis.call('DECR', KEYS[1])
end
return 0
""",
)


def _counter_keys(key: str, start: int, period: int) -> tuple[Redis, str, str]:
    this_window = cache.make_and_validate_key(f"ratelimit:{key}:{start}")
    previous_window = cache.make_and_validate_key(f"ratelimit:{key}:{start - period}")
    return cache._cache.get_client(this_window, write=True), this_window, previous_window


def _seconds_until_allowed(
    limit: int, period_ms: int, remaining_ms: int, current: int, previous: int
) -> int:
    """The seconds until the weighted count leaves room for one more attempt: the
    previous window's count fades out over this window, this window's over the next."""
    if limit <= 0:
        return period_ms // 1000
    if current < limit:
        # Refused for the previous window's share: wait until enough of it has faded.
        fading_ms = (limit - current - 1) * period_ms // previous
        wait_ms = remaining_ms - fading_ms
    else:
        # This window is full: wait into the next, until enough of this one has faded.
        fading_ms = (limit - 1) * period_ms // current
        wait_ms = remaining_ms + period_ms - fading_ms
    return max(1, math.ceil(wait_ms / 1000))


def client_address(meta: Mapping[str, str]) -> str:
    """The client's address for rate limits, from a request's META. Behind NUM_PROXIES
    reverse proxies, the address the nearest trusted proxy saw (the rightmost hops of
    X-Forwarded-For are the proxies' own; anything left of them the client may forge);
    otherwise the socket's peer. The same rule as DRF's throttles."""
    proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES", 0)
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return meta.get("REMOTE_ADDR", "")


@dataclass(frozen=True)
class BookingPlace:
    """One booking attempt's place under THROTTLE_BOOKING (booking_place_take)."""

    wait: int | None  # None: go ahead; else the seconds to wait, and nothing was counted
    counter: str | None = None  # the counter that holds the place; None: nothing counted


def booking_place_take(*, user_id: int) -> BookingPlace:
    """Take a place under THROTTLE_BOOKING for a booking attempt of a person (a ride, a
    carpool seat, a shared thing, a shop-run seat; through the API or the web pages
    alike). The limit counts bookings made, not attempts: the caller keeps the place when
    the attempt booked something and gives it back (booking_place_give_back) when it did
    not, so typos and retries refused with a 400 or 409 lock nobody out. The place is
    taken before the attempt rather than counted after it, so concurrent attempts of one
    person cannot together book more than the limit; meanwhile an attempt in progress
    holds its place, and a concurrent one at the last place is refused even if the first
    then books nothing. Redis down: let through (and logged), as an outage of the cache
    must not stop residents from booking."""
    try:
        wait, counter = _rate_limit_take(f"booking:user:{user_id}", rate("booking"))
    except RedisError:
        logger.warning("bookings not counted: Redis unreachable")
        return BookingPlace(wait=None)
    return BookingPlace(wait=wait, counter=counter if wait is None else None)


def booking_place_give_back(place: BookingPlace) -> None:
    """The attempt that took `place` booked nothing: it no longer counts."""
    if place.counter is None:
        return
    try:
        client = cache._cache.get_client(place.counter, write=True)
        _GIVE_BACK(keys=[place.counter], client=client)
    except RedisError:
        logger.warning("booking place not given back: Redis unreachable")


def proxy_request_check(*, user_id: int) -> int | None:
    """Count one request to help that a person sends (THROTTLE_PROXY_REQUEST). None: go
    ahead; else the seconds to wait. A number without an account gets an SMS from such
    a request, so with Redis down nothing is let through (the wait is a minute): sending
    SMS uncounted is what this limit is for. Known numbers or not, the count is the same,
    so the limit tells nobody which numbers have an account."""
    try:
        return rate_limit_hit(f"proxy-request:user:{user_id}", rate("proxy_request"))
    except RedisError:
        logger.warning("requests to help refused: Redis unreachable")
        return 60
