"""After signing in with a one-time code: for a while the person may choose a new password
without giving the present one, since they may have forgotten it (that is what the code
is for). The web pages remember the sign-in in the session (`webapp.views.sessions`); the
API remembers it for the token it answered with.

Why Redis and not a field on the token: the fact lives CODE_SIGN_IN_GRACE_S and then is
worth nothing, which is what an expiring key is; DRF's `Token` is a third-party model we
do not migrate; and losing it fails safe (with Redis down, or after it expired, the
present password is asked for, as after a sign-in with the password). The key is a hash
of the token, so the cache holds nothing that signs anyone in.

The API's token is one per person (DRF's `Token`), shared by their apps, so the grace
goes with that token wherever it is. Choosing a new password replaces it, and with it
the grace.
"""

import hashlib
import logging
import time

from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from redis.exceptions import RedisError
from rest_framework.authtoken.models import Token

from backend.accounts.models import User
from backend.accounts.services import AccountErrorCode, user_change_password
from backend.errors import ApplicationError

logger = logging.getLogger(__name__)

# How long after signing in with a code a new password may be chosen without the old one.
CODE_SIGN_IN_GRACE_S = 15 * 60


def _key(token_key: str) -> str:
    return f"code-sign-in:token:{hashlib.sha256(token_key.encode()).hexdigest()}"


def code_sign_in_token(*, user: User) -> str:
    """The API token of `user`, who has just signed in with a code texted to their
    number, remembered as such for CODE_SIGN_IN_GRACE_S."""
    token, _created = Token.objects.get_or_create(user=user)
    code_sign_in_remember(token_key=token.key)
    return token.key


def code_sign_in_remember(*, token_key: str, at: float | None = None) -> None:
    """Remember that the holder of `token_key` signed in with a code at `at` (now). With
    Redis down nothing is remembered and the sign-in stands: the person gives the present
    password to choose a new one, or signs in with a code again later."""
    at = time.time() if at is None else at
    left = at + CODE_SIGN_IN_GRACE_S - time.time()
    if left <= 0:
        code_sign_in_forget(token_key=token_key)
        return
    try:
        # Kept a second past the grace: `signed_in_by_code_lately` compares the time.
        cache.set(_key(token_key), at, timeout=int(left) + 1)
    except RedisError:
        logger.warning("sign-in by code not remembered: Redis unreachable")


def code_sign_in_forget(*, token_key: str) -> None:
    try:
        cache.delete(_key(token_key))
    except RedisError:
        logger.warning("sign-in by code not forgotten: Redis unreachable")


def signed_in_by_code_lately(*, token_key: str) -> bool:
    """Whether the holder of `token_key` signed in with a code within
    CODE_SIGN_IN_GRACE_S. False when it cannot be told (Redis down)."""
    try:
        at = cache.get(_key(token_key))
    except RedisError:
        logger.warning("sign-in by code not read: Redis unreachable")
        return False
    return isinstance(at, float) and time.time() - at < CODE_SIGN_IN_GRACE_S


def password_change_with_token(
    *, user: User, token_key: str, new_password: str, current_password: str | None
) -> User:
    """`user_change_password` for an API client holding `token_key` (empty: a session):
    the present password may be left out (None) only within CODE_SIGN_IN_GRACE_S of
    signing in with a code, as on the web pages. Every token of the person goes, this
    one with its grace."""
    if current_password is None and not (
        token_key and signed_in_by_code_lately(token_key=token_key)
    ):
        raise ApplicationError(
            AccountErrorCode.PASSWORD_NEEDED,
            _(
                "Give your present password to choose a new one. Forgot it? Sign in with "
                "a code by SMS, then choose a new password within %(minutes)s minutes."
            )
            % {"minutes": CODE_SIGN_IN_GRACE_S // 60},
            fields={"current_password": [_("Give your present password.")]},
        )
    user = user_change_password(
        user=user, new_password=new_password, current_password=current_password
    )
    if token_key:
        code_sign_in_forget(token_key=token_key)  # the token is gone
    return user
