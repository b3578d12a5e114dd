"""The browsers a person lets us push to: subscribing, unsubscribing and our public key.
Sending is in push.py."""

import base64
import binascii
import ipaddress
import re
from enum import StrEnum
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.errors import ApplicationError, ErrorKind
from backend.notifications.models import PushSubscription
from backend.notifications.push import b64url

P256DH_BYTES = 65  # an uncompressed P-256 point: 0x04, x, y
AUTH_BYTES = 16
_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_URL = URLValidator(schemes=["https", "http"])


class PushErrorCode(StrEnum):
    NOT_CONFIGURED = "push_not_configured"
    ENDPOINT_INVALID = "push_endpoint_invalid"
    KEYS_INVALID = "push_keys_invalid"


def push_public_key() -> str:
    """The key browsers subscribe with (`applicationServerKey`). Without the private half
    we could never send, so a browser should not subscribe at all."""
    if not (settings.VAPID_PUBLIC_KEY and settings.VAPID_PRIVATE_KEY):
        raise ApplicationError(
            PushErrorCode.NOT_CONFIGURED,
            _("Notifications to this browser are not available on this server."),
            kind=ErrorKind.NOT_FOUND,
        )
    return settings.VAPID_PUBLIC_KEY


def push_subscription_save(
    *, user: User, endpoint: str, p256dh: str, auth: str, user_agent: str = ""
) -> PushSubscription:
    """Store a browser's subscription. The endpoint identifies the browser: when it
    subscribes again (after another person logs in on it) the row moves to `user`, so
    the previous person's notifications stop appearing there."""
    _check_endpoint(endpoint)
    p256dh_bytes = _decode_key(p256dh, field="keys.p256dh", length=P256DH_BYTES)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), p256dh_bytes)
    except ValueError as error:
        raise _keys_invalid("keys.p256dh", _("Not a point on the P-256 curve.")) from error
    auth_bytes = _decode_key(auth, field="keys.auth", length=AUTH_BYTES)
    subscription, _created = PushSubscription.objects.update_or_create(
        endpoint=endpoint,
        defaults={
            "user": user,
            # Stored in one spelling, whatever padding the browser used.
            "p256dh": b64url(p256dh_bytes),
            "auth": b64url(auth_bytes),
            "user_agent": user_agent[:300],
        },
    )
    return subscription


def push_subscription_delete(*, user: User, endpoint: str) -> bool:
    """Forget this browser for `user`. Another person's subscription of the same endpoint
    stays: only they (or the push service saying it is gone) can end it. Returns whether
    a row was deleted."""
    deleted, _by_model = PushSubscription.objects.filter(user=user, endpoint=endpoint).delete()
    return bool(deleted)


def _check_endpoint(endpoint: str) -> None:
    try:
        _URL(endpoint)
    except ValidationError as error:
        raise _endpoint_invalid(_("Not a web address.")) from error
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if parts.username or parts.password:
        raise _endpoint_invalid(_("A push address carries no user name or password."))
    loopback = _is_loopback(host)
    if parts.scheme != "https" and not (settings.DEBUG or loopback):
        raise _endpoint_invalid(_("A push address must start with https://."))
    if settings.IS_PRODUCTION and (loopback or _is_internal_address(host)):
        # Push services are on the internet; an address inside our network would make
        # the worker send requests to our own services for whoever subscribed it.
        raise _endpoint_invalid(_("This is not the address of a push service."))


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_internal_address(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def _decode_key(value: str, *, field: str, length: int) -> bytes:
    if not _B64URL.fullmatch(value):
        raise _keys_invalid(field, _("Not URL-safe base64."))
    unpadded = value.rstrip("=")
    try:
        raw = base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
    except (binascii.Error, ValueError) as error:
        raise _keys_invalid(field, _("Not URL-safe base64.")) from error
    if len(raw) != length:
        raise _keys_invalid(
            field,
            _("Must be %(length)s bytes long, not %(actual)s.")
            % {"length": length, "actual": len(raw)},
        )
    return raw


def _endpoint_invalid(reason) -> ApplicationError:
    return ApplicationError(
        PushErrorCode.ENDPOINT_INVALID,
        _("This browser gave a push address we cannot use. Try again, or use another browser."),
        fields={"endpoint": [reason]},
    )


def _keys_invalid(field: str, reason) -> ApplicationError:
    return ApplicationError(
        PushErrorCode.KEYS_INVALID,
        _("This browser gave push keys we cannot use. Try again, or use another browser."),
        fields={field: [reason]},
    )
