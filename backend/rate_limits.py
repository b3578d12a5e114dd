"""Rate limits shared by the API and the web pages: one counter per thing limited, so
alternating between the two gives nobody more attempts.

Counters live in the cache (Redis) in fixed windows aligned to the clock (the window is
part of the key), so the time until the next window is known exactly (`Retry-After`).
Rates are written like DRF's ("10/min", "20/hour") and read from
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] at each call. Callers decide what an outage of
Redis means (a RedisError comes through): sign-ins and bookings are let through and
logged, sending SMS codes is refused.
"""

import logging
import time
from collections.abc import Mapping

from django.conf import settings
from django.core.cache import cache
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
    until the window ends (at least 1). The count is one atomic INCR, in one round trip
    to Redis."""
    limit, window = parse_rate(rate)
    now = int(time.time())
    start = now - now % window
    count = _count_in_window(f"ratelimit:{key}:{start}", window + 1)
    if count <= limit:
        return None
    return max(1, start + window - now)


def _count_in_window(key: str, seconds: int) -> int:
    """Add one to the cache's counter `key` and return its new value; a new counter
    lives `seconds`. SET NX with the expiry, then INCR, in one pipeline: one round trip
    where the cache's add() and incr() take two."""
    full_key = cache.make_and_validate_key(key)
    client = cache._cache.get_client(full_key, write=True)  # the cache's own pool
    with client.pipeline(transaction=False) as pipe:
        pipe.set(full_key, 0, ex=seconds, nx=True)
        pipe.incr(full_key)
        _, count = pipe.execute()
    return count


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


def booking_attempt_check(*, user_id: int) -> int | None:
    """Count one booking attempt of a person (a ride, a carpool seat, a shared thing, a
    shop-run seat; through the API or the web pages alike) against THROTTLE_BOOKING.
    None: go ahead; else the seconds to wait. Redis down: let through (and logged), as
    an outage of the cache must not stop residents from booking."""
    try:
        return rate_limit_hit(f"booking:user:{user_id}", rate("booking"))
    except RedisError:
        logger.warning("booking attempts not counted: Redis unreachable")
        return None


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
