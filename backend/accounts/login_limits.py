"""Limits on sign-in attempts made on the web pages (password and one-time code):
THROTTLE_LOGIN per client address and THROTTLE_LOGIN_IDENTIFIER per phone number or
e-mail, the same rates the API's login throttles use. Without them the sign-in page
would be an unthrottled way to guess passwords and codes.

Counters live in the cache (Redis), in fixed windows. When Redis is down the attempt
is let through and logged, like the API's rate limits: an outage of the cache must not
lock everyone out, and the password hasher's cost still slows guessing.
"""

import hashlib
import logging

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from redis.exceptions import RedisError

from backend.accounts.phone import normalize_phone
from backend.errors import ApplicationError, ErrorKind

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """DRF's rate notation: "10/min" -> (10, 60), "20/hour" -> (20, 3600)."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period.strip()[0]]


def _over_limit(key: str, rate: str) -> bool:
    limit, window = parse_rate(rate)
    cache.add(key, 0, window)
    try:
        count = cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.set(key, 1, window)
        count = 1
    return count > limit


def login_attempt_count(*, identifier: str, client_ip: str) -> None:
    """Count one sign-in attempt and refuse it (ApplicationError `login_rate_limited`)
    when the address or the person has made too many. Call before checking the
    password or code, so a refused attempt reveals nothing."""
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    normalized = normalize_phone(identifier) or identifier.strip().lower()
    who = hashlib.sha256(normalized.encode()).hexdigest()
    try:
        limited = (client_ip and _over_limit(f"signin:ip:{client_ip}", rates["login"])) or (
            normalized and _over_limit(f"signin:who:{who}", rates["login_identifier"])
        )
    except RedisError:
        logger.warning("sign-in attempts not counted: Redis unreachable")
        return
    if limited:
        raise ApplicationError(
            "login_rate_limited",
            _("Too many sign-in attempts. Wait a while and try again."),
            kind=ErrorKind.CONFLICT,
        )
