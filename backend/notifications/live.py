"""Live events to a person's open websockets, through the channel layer (Redis), so a
message published by any process (web, Celery worker) reaches every ASGI process."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def publish_to_user(user_id: int, event: dict) -> bool:
    """Send `event` to the person's sockets. Returns False (and logs) when the channel
    layer is unreachable: callers keep what must not be lost in the database."""
    try:
        async_to_sync(get_channel_layer().group_send)(
            user_group(user_id), {"type": "live.event", "event": event}
        )
    except Exception:
        logger.exception("live event to user %s not published", user_id)
        return False
    return True
