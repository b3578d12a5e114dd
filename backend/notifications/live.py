"""Live events to a person's open websockets, through the channel layer (Redis), so a
message published by any process (web, Celery worker) reaches every ASGI process."""

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Coroutine

from channels.layers import BaseChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)

# A publish waits at most this long for Redis; then it counts as not published.
PUBLISH_TIMEOUT_S = 5


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def publish_to_user(user_id: int, event: dict) -> bool:
    """Send `event` to the person's sockets. Returns False (and logs) when the channel
    layer is unreachable: callers keep what must not be lost in the database."""
    try:
        _run_async(
            lambda layer: layer.group_send(
                user_group(user_id), {"type": "live.event", "event": event}
            )
        )
    except Exception:
        logger.exception("live event to user %s not published", user_id)
        return False
    return True


def _run_async(make: Callable[[BaseChannelLayer], Coroutine]) -> None:
    """Run the layer's coroutine on the process's publisher loop and wait for it.

    async_to_sync would, outside a web request (a Celery worker, a command), start an
    event loop, and with it a new Redis connection, for every event: a message to 200
    members cost 200 connections. One loop a process keeps the layer's connections."""
    future = asyncio.run_coroutine_threadsafe(
        _publisher.on_loop(get_channel_layer(), make), _publisher.loop()
    )
    try:
        future.result(timeout=PUBLISH_TIMEOUT_S)
    except TimeoutError:
        future.cancel()
        raise


class _Publisher:
    """An event loop on a thread of its own, started on first use in each process
    (a Celery worker process is forked from its parent, whose thread it does not have)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._layer: BaseChannelLayer | None = None

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                self._loop = asyncio.new_event_loop()
                self._pid = os.getpid()
                self._layer = None
                threading.Thread(
                    target=self._loop.run_forever, name="live-publisher", daemon=True
                ).start()
            return self._loop

    async def on_loop(
        self, layer: BaseChannelLayer, make: Callable[[BaseChannelLayer], Coroutine]
    ) -> None:
        if layer is not self._layer:
            # A new layer (settings changed, as in tests): the old one's connections on
            # this loop would stay open for good.
            if self._layer is not None and hasattr(self._layer, "close_pools"):
                await self._layer.close_pools()
            self._layer = layer
        await make(layer)


_publisher = _Publisher()
