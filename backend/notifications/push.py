"""Web Push to every browser a person has subscribed, signed with our VAPID key."""

import json
import logging

from django.conf import settings
from pywebpush import WebPushException, webpush

from backend.accounts.models import User
from backend.notifications.errors import PermanentDeliveryError, TransientDeliveryError
from backend.notifications.models import PushSubscription

logger = logging.getLogger(__name__)
GONE = {404, 410}


def send_to_user(*, user: User, message: dict, urgent: bool = False) -> str:
    """Push `message` (JSON) to each of the person's subscriptions. Subscriptions the push
    service says are gone (404/410) are deleted. Returns how many received it."""
    if not settings.VAPID_PRIVATE_KEY:
        raise PermanentDeliveryError("Web Push is not configured (VAPID_PRIVATE_KEY)")
    subscriptions = list(PushSubscription.objects.filter(user=user))
    delivered, transient = 0, []
    for subscription in subscriptions:
        try:
            webpush(
                subscription_info=subscription.as_webpush_info(),
                data=json.dumps(message, ensure_ascii=False),
                vapid_private_key=settings.VAPID_PRIVATE_KEY,
                vapid_claims={"sub": settings.VAPID_SUBJECT},
                ttl=3600 if urgent else 24 * 3600,
                headers={"Urgency": "high" if urgent else "normal"},
                timeout=settings.SMS_TIMEOUT,
            )
            delivered += 1
        except WebPushException as error:
            status = error.response.status_code if error.response is not None else None
            if status in GONE:
                logger.info("push subscription %s gone (%s): removed", subscription.pk, status)
                subscription.delete()
            elif status is None or status >= 500 or status == 429:
                transient.append(f"{status or 'unreachable'}")
            else:
                logger.warning("push to subscription %s refused: %s", subscription.pk, status)
    if delivered:
        return f"{delivered}/{len(subscriptions)}"
    if transient:
        raise TransientDeliveryError(f"push service answered {', '.join(transient)}")
    raise PermanentDeliveryError("no push subscription accepted the message")
