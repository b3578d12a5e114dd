"""Rate limits. Their counters live in Redis (the cache); see FailOpenMixin for what
happens when Redis is down. The API uses these classes, never DRF's own, directly."""

import hashlib
import logging

from redis.exceptions import RedisError
from rest_framework import throttling
from rest_framework.request import Request

from backend.accounts.phone import normalize_phone

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


class AnonRateThrottle(FailOpenMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(FailOpenMixin, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(FailOpenMixin, throttling.ScopedRateThrottle):
    pass


class LoginIdentifierThrottle(FailOpenMixin, throttling.SimpleRateThrottle):
    """Limits login attempts per phone number or e-mail, from whatever address they come,
    so guessing one person's password from many machines is as slow as from one."""

    scope = "login_identifier"

    def get_cache_key(self, request: Request, view) -> str | None:
        data = request.data if isinstance(request.data, dict) else {}
        identifier = data.get("identifier")
        if not isinstance(identifier, str) or not identifier.strip():
            return None
        normalized = normalize_phone(identifier) or identifier.strip().lower()
        digest = hashlib.sha256(normalized.encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": digest}
