import hashlib

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from backend.accounts.phone import normalize_phone


class LoginIdentifierThrottle(SimpleRateThrottle):
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
