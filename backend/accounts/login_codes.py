"""Signing in with a one-time code sent by SMS, for people who do not remember a password,
and confirming one's phone number with such a code. Sign-in codes go only to numbers
confirmed as their login's own.

A code is six digits, valid for LOGIN_CODE_TTL seconds, stored only as an HMAC (keyed
with SECRET_KEY and the person's id), and burnt after LoginCode.MAX_ATTEMPTS wrong
guesses. Asking for codes is limited per phone number and per client address
(backend.rate_limits), so nobody can run up SMS costs or flood a phone. The answer to
"send me a code" is the same whether or not the number has an account.
"""

import hashlib
import hmac
import logging
import math
import secrets
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from redis.exceptions import RedisError

from backend.accounts.models import LoginCode, User
from backend.accounts.selectors import phone_confirmed_by_another, user_find_login
from backend.accounts.services import clean_phone, confirmed_by_another, user_phone_confirmed
from backend.errors import ApplicationError, ErrorKind
from backend.notifications.errors import PermanentDeliveryError, TransientDeliveryError
from backend.notifications.sms import send_sms
from backend.rate_limits import rate_limit_hit

logger = logging.getLogger(__name__)

CODE_DIGITS = 6


class LoginCodeErrorCode(StrEnum):
    RATE_LIMITED = "login_code_rate_limited"
    WRONG = "login_code_wrong"
    EXPIRED = "login_code_expired"
    NOT_SENT = "login_code_not_sent"
    NO_PHONE = "phone_missing"
    ALREADY_CONFIRMED = "phone_already_confirmed"


def _hash(user_id: int, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"login-code:{user_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _rate_limit(key: str, per_hour: int) -> None:
    """Count one request under `key` against `per_hour` (backend.rate_limits); refuse
    beyond it. Without the cache (Redis down) nothing can be counted: refuse rather than
    send SMS unlimited."""
    try:
        wait = rate_limit_hit(key, f"{per_hour}/hour")
    except RedisError as error:
        logger.warning("sign-in code refused: Redis unreachable")
        raise ApplicationError(
            LoginCodeErrorCode.NOT_SENT,
            _("We could not send the SMS just now. Try again in a minute."),
            kind=ErrorKind.CONFLICT,
        ) from error
    if wait is not None:
        minutes = math.ceil(wait / 60)
        raise ApplicationError(
            LoginCodeErrorCode.RATE_LIMITED,
            ngettext(
                "Too many codes asked for. Try again in %(minutes)s minute, or sign in "
                "with your password.",
                "Too many codes asked for. Try again in %(minutes)s minutes, or sign in "
                "with your password.",
                minutes,
            )
            % {"minutes": minutes},
            kind=ErrorKind.CONFLICT,
            fields={"phone": [_("Too many codes asked for.")]},
        )


def login_code_send(*, phone: str, client_ip: str = "") -> None:
    """Send a new sign-in code to `phone` when it belongs to someone who can sign in;
    the previous open code stops working. Raises only for a malformed number, too many
    requests, or an SMS provider that failed (so the person knows to try again)."""
    phone = clean_phone(phone)
    if not phone:
        raise ApplicationError(
            LoginCodeErrorCode.NO_PHONE,
            _("Write your phone number."),
            fields={"phone": [_("This field is required.")]},
        )
    _rate_limit(f"login-code:phone:{phone}", settings.LOGIN_CODES_PER_PHONE_HOUR)
    if client_ip:
        _rate_limit(f"login-code:ip:{client_ip}", settings.LOGIN_CODES_PER_IP_HOUR)
    user = user_find_login(identifier=phone)
    # Only to a number confirmed as the login's own (user_find_login): a mistyped
    # number belongs to a stranger, whom a code would let into someone else's account.
    if user is None or not user.is_active:
        return
    _issue_code(user)


def _issue_code(user: User) -> None:
    """Text `user` a new code; the open one stops working. Raises NOT_SENT when the SMS
    provider fails, leaving no code behind."""
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    now = timezone.now()
    with transaction.atomic():
        # The person's row is the lock: two requests at once leave one open code.
        User.objects.select_for_update().filter(pk=user.pk).first()
        LoginCode.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
        login_code = LoginCode.objects.create(
            user=user,
            code_hash=_hash(user.pk, code),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.LOGIN_CODE_TTL),
        )
    minutes = max(settings.LOGIN_CODE_TTL // 60, 1)
    with translation.override(user.preferred_language):
        text = str(_("Your Samby code: %(code)s. It works for %(minutes)s minutes.")) % {
            "code": code,
            "minutes": minutes,
        }
    try:
        send_sms(to=user.phone, text=text)
    except (TransientDeliveryError, PermanentDeliveryError) as error:
        logger.warning("sign-in code not sent: %s", error)
        LoginCode.objects.filter(pk=login_code.pk).delete()
        raise ApplicationError(
            LoginCodeErrorCode.NOT_SENT,
            _("We could not send the SMS just now. Try again in a minute."),
            kind=ErrorKind.CONFLICT,
        ) from error


def _wrong() -> ApplicationError:
    return ApplicationError(
        LoginCodeErrorCode.WRONG,
        _("That code is not right. Check the SMS and try again, or ask for a new code."),
        fields={"code": [_("Wrong code.")]},
    )


def login_code_verify(*, phone: str, code: str) -> User:
    """The person the code was sent to, when `code` is their open, unexpired code (sent
    only to confirmed numbers, `login_code_send`). `phone` in any common spelling; what
    is no phone number at all (an e-mail address) is `phone_invalid`, so the guesses at
    one person's code count under one number (`login_attempt_check`)."""
    phone = clean_phone(phone)
    user = user_find_login(identifier=phone) if phone else None
    if user is None or not user.is_active:
        raise _wrong()
    _use_code(user, code)
    return user


def phone_confirmation_send(*, user: User, client_ip: str = "") -> None:
    """Text a code to the signed-in `user`'s own number, for them to show it is theirs
    (`phone_confirm`). Limited like sign-in codes, under the same counts."""
    if user.is_managed or not user.phone:
        raise ApplicationError(
            LoginCodeErrorCode.NO_PHONE,
            _("Add your phone number first."),
            fields={"phone": [_("This field is required.")]},
        )
    if user.phone_confirmed_at is not None:
        raise ApplicationError(
            LoginCodeErrorCode.ALREADY_CONFIRMED,
            _("Your phone number is confirmed already."),
            kind=ErrorKind.CONFLICT,
        )
    if phone_confirmed_by_another(phone=user.phone, exclude_id=user.pk):
        # No SMS: the number's owner has shown it is theirs, and is not this person.
        raise confirmed_by_another()
    _rate_limit(f"login-code:phone:{user.phone}", settings.LOGIN_CODES_PER_PHONE_HOUR)
    if client_ip:
        _rate_limit(f"login-code:ip:{client_ip}", settings.LOGIN_CODES_PER_IP_HOUR)
    _issue_code(user)


def phone_confirm(*, user: User, code: str) -> User:
    """Confirm the signed-in `user`'s number with the code texted to it."""
    if user.is_managed or not user.phone:
        raise _wrong()
    _use_code(user, code)  # sets user.phone_confirmed_at (user_phone_confirmed)
    return user


def _use_code(user: User, code: str) -> None:
    """Spend `user`'s open code when `code` is it, and confirm their number; else raise.
    A wrong guess counts (a conditional UPDATE, so parallel guesses count too); the last
    allowed wrong guess burns the code."""
    code = "".join(code.split())
    if not code.isdigit():
        raise _wrong()
    now = timezone.now()
    error: ApplicationError | None = None
    with transaction.atomic():
        login_code = (
            LoginCode.objects.select_for_update().filter(user=user, used_at__isnull=True).first()
        )
        if login_code is None:
            raise _wrong()
        if login_code.expires_at <= now or login_code.attempts >= LoginCode.MAX_ATTEMPTS:
            LoginCode.objects.filter(pk=login_code.pk).update(used_at=now)
            error = ApplicationError(
                LoginCodeErrorCode.EXPIRED,
                _("This code no longer works. Ask for a new one."),
                fields={"code": [_("Ask for a new code.")]},
            )
        elif hmac.compare_digest(login_code.code_hash, _hash(user.pk, code)):
            LoginCode.objects.filter(pk=login_code.pk).update(used_at=now)
            # The code came back from the number: it is theirs, and so are the requests
            # to help waiting for it (for a sign-in code: confirmed already, nothing new).
            user_phone_confirmed(user=user, now=now)
            return
        else:
            LoginCode.objects.filter(pk=login_code.pk, attempts__lt=LoginCode.MAX_ATTEMPTS).update(
                attempts=F("attempts") + 1
            )
            LoginCode.objects.filter(pk=login_code.pk, attempts__gte=LoginCode.MAX_ATTEMPTS).update(
                used_at=now
            )
            error = _wrong()
    # Raised after the commit: the counted guess must stay counted.
    raise error
