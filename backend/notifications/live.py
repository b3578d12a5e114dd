"""Live events to a person's open websockets, through the channel layer (Redis), so a
message published by any process (web, Celery worker) reaches every ASGI process."""

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Coroutine

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

# A publish waits at most this long for Redis; then it counts as not published.
PUBLISH_TIMEOUT_S = 5


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def publish_to_user(user_id: int, event: dict) -> bool:
    """Send `event` to the person's sockets. Returns False (and logs) when the channel
    layer is unreachable: callers keep what must not be lost in the database."""
    message = {"type": "live.event", "event": event}
    try:
        _publisher.run(get_channel_layer().group_send, user_group(user_id), message)
    except Exception:
        logger.exception("live event to user %s not published", user_id)
        return False
    return True


def close_publisher() -> None:
    """Stop this process's publisher loop and close its Redis connections; the next
    publish starts another. For a process that is ending, and for tests, which give each
    test a channel layer of its own (the loop would otherwise keep every old layer's
    connection open)."""
    _publisher.close()


class _Publisher:
    """An event loop on a thread of its own, started on first use in each process. A
    forked process (Celery's worker processes) does not have its parent's thread, so it
    forgets the parent's loop and starts its own."""

    def __init__(self) -> None:
        self.forget()

    def forget(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=_serve, args=(self._loop,), name="live-publisher", daemon=True
                )
                self._thread.start()
            return self._loop

    def run(self, function: Callable[..., Coroutine], *args) -> None:
        """Run `function(*args)` on this loop and wait for it. async_to_sync would,
        outside a web request (a Celery worker, a command), start an event loop, and with
        it a new Redis connection, for every event: a message to 200 members cost 200
        connections. One loop a process keeps the layer's connections."""
        loop = self.loop()
        future = asyncio.run_coroutine_threadsafe(function(*args), loop)
        try:
            future.result(timeout=PUBLISH_TIMEOUT_S)
        except TimeoutError:
            future.cancel()
            raise

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    loop.run_forever()
    # channels-redis closes its connections when the loop closes, by running the loop
    # once more: on this thread, since the caller's may have an event loop running.
    loop.close()


_publisher = _Publisher()
os.register_at_fork(after_in_child=_publisher.forget)
