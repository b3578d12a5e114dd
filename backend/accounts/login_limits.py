"""Limits on sign-in attempts, the one implementation the API's login
(mobile_api.throttles.LoginAttemptThrottle) and the web sign-in pages (password and
one-time code) both use: THROTTLE_LOGIN per client address and THROTTLE_LOGIN_IDENTIFIER
per phone number or e-mail, on the same counters, so alternating between the API and
the pages gives nobody more attempts.

Counters: backend.rate_limits (the cache, fixed windows). When Redis is down the attempt
is let through and logged: an outage of the cache must not lock everyone out, and the
password hasher's cost still slows guessing.
"""

import hashlib
import logging

from django.utils.translation import gettext_lazy as _
from redis.exceptions import RedisError

from backend.accounts.phone import normalize_phone
from backend.errors import ApplicationError, ErrorKind
from backend.rate_limits import parse_rate, rate, rate_limit_hit

__all__ = ["login_attempt_check", "login_attempt_count", "parse_rate"]

logger = logging.getLogger(__name__)


def login_attempt_check(*, identifier: str, client_ip: str) -> int | None:
    """Count one sign-in attempt against the client address and the person. None: go
    ahead; else the seconds until another attempt may be made. Call before checking the
    password or code, so a refused attempt reveals nothing."""
    identifier = identifier.strip() if isinstance(identifier, str) else ""
    normalized = (normalize_phone(identifier) or identifier.lower()) if identifier else ""
    try:
        if client_ip:
            wait = rate_limit_hit(f"signin:ip:{client_ip}", rate("login"))
            if wait is not None:
                return wait
        if normalized:
            who = hashlib.sha256(normalized.encode()).hexdigest()
            return rate_limit_hit(f"signin:who:{who}", rate("login_identifier"))
    except RedisError:
        logger.warning("sign-in attempts not counted: Redis unreachable")
    return None


def login_attempt_count(*, identifier: str, client_ip: str) -> None:
    """`login_attempt_check` for the web pages: a refused attempt raises ApplicationError
    `login_rate_limited`."""
    if login_attempt_check(identifier=identifier, client_ip=client_ip) is not None:
        raise ApplicationError(
            "login_rate_limited",
            _("Too many sign-in attempts. Wait a while and try again."),
            kind=ErrorKind.CONFLICT,
        )
