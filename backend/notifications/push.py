"""Web Push to every browser a person has subscribed, signed with our VAPID key."""

import base64
import json
import logging

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from backend.accounts.models import User
from backend.notifications.errors import PermanentDeliveryError, TransientDeliveryError
from backend.notifications.models import PushSubscription

logger = logging.getLogger(__name__)
GONE = {404, 410}


def b64url(data: bytes) -> str:
    """URL-safe base64 without padding, the spelling Web Push uses for keys."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def vapid_keys_generate() -> tuple[str, str]:
    """A new VAPID key pair as (public, private): the public key is the uncompressed P-256
    point browsers take as `applicationServerKey`; the private key is the raw 32-byte
    scalar, which pywebpush reads back with `Vapid.from_string`."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    public = private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    # Fixed width: a scalar with leading zero bytes must still be 32 bytes long, or
    # Vapid.from_string takes it for DER.
    scalar = private_key.private_numbers().private_value.to_bytes(32, "big")
    return b64url(public), b64url(scalar)


def _signing_key() -> Vapid:
    if not settings.VAPID_PRIVATE_KEY:
        raise PermanentDeliveryError("Web Push is not configured (VAPID_PRIVATE_KEY)")
    try:
        return Vapid.from_string(private_key=settings.VAPID_PRIVATE_KEY)
    except (ValueError, TypeError) as error:
        raise PermanentDeliveryError(
            "VAPID_PRIVATE_KEY is not a key; make one with manage.py generate_vapid_keys"
        ) from error


def send_to_user(*, user: User, message: dict, urgent: bool = False) -> str:
    """Push `message` (JSON) to each of the person's subscriptions. Subscriptions the push
    service says are gone (404/410) are deleted. Returns how many received it."""
    signing_key = _signing_key()
    subscriptions = list(PushSubscription.objects.filter(user=user))
    if not subscriptions:
        # They unsubscribed every browser after the notification was planned.
        raise PermanentDeliveryError("no push subscription left")
    data = json.dumps(message, ensure_ascii=False)
    delivered, transient = 0, []
    with requests.Session() as session:
        for subscription in subscriptions:
            try:
                webpush(
                    subscription_info=subscription.as_webpush_info(),
                    data=data,
                    vapid_private_key=signing_key,
                    # A new dict each time: webpush writes the endpoint's origin into it.
                    vapid_claims={"sub": settings.VAPID_SUBJECT},
                    ttl=3600 if urgent else 24 * 3600,
                    headers={"Urgency": "high" if urgent else "normal"},
                    timeout=settings.SMS_TIMEOUT,
                    requests_session=session,
                )
                delivered += 1
            except WebPushException as error:
                status = error.status_code
                if status in GONE:
                    logger.info("push subscription %s gone (%s): removed", subscription.pk, status)
                    subscription.delete()
                elif status is None or status >= 500 or status == 429:
                    transient.append(f"{status or 'unreachable'}")
                else:
                    logger.warning("push to subscription %s refused: %s", subscription.pk, status)
            except requests.RequestException as error:
                # Refused connection, DNS failure or time-out: the service may be back soon.
                logger.warning("push to subscription %s failed: %s", subscription.pk, error)
                transient.append("unreachable")
    if delivered:
        return f"{delivered}/{len(subscriptions)}"
    if transient:
        raise TransientDeliveryError(f"push service answered {', '.join(transient)}")
    raise PermanentDeliveryError("no push subscription accepted the message")
