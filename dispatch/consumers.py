"""The one websocket a signed-in person keeps open (`/ws/`).

It authenticates (session cookie, or `?token=` for clients without cookies), joins the
person's group, replays what a client with notifications up to `?since=<id>` may have
missed (`notifications_since`: the ones after it, and the recent ones at or below it,
since ids are given at insert and not at commit), then forwards live events. Within a
connection each id is sent once, so a message that arrives both by replay and live
reaches the client once; across connections the client drops the ids it already has.
"""

import json
import time
from collections import deque
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from backend.notifications.live import user_group
from backend.notifications.selectors import notification_message, notifications_since

UNAUTHENTICATED = 4401
# What a client may send is small: {"type": "ping"} every ~25 s. Anything else ends the
# connection with a close code that says why (RFC 6455 codes where one fits), after an
# {"type": "error", "code": ...} message where the socket can still take one. The
# person's other sockets are not touched.
UNSUPPORTED_DATA = 1003  # a binary frame
INVALID_MESSAGE = 1007  # not JSON, not an object, or no "type"
TOO_MANY_MESSAGES = 1008  # more than MAX_MESSAGES within MESSAGE_WINDOW_S
MESSAGE_TOO_BIG = 1009  # more than MAX_MESSAGE_BYTES
UNKNOWN_TYPE = 4400  # a "type" the server does not know
MAX_MESSAGE_BYTES = 4096
MAX_MESSAGES = 30
MESSAGE_WINDOW_S = 60
SENT_REMEMBERED = 1000  # notification ids a connection remembers having sent


class LiveConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        self.user = user
        self.last_id = _since(self.scope)  # the replay: what came after it
        self.sent: set[int] = set()
        self.sent_order: deque[int] = deque()
        self.group = user_group(user.pk)
        # Join before reading the replay, so nothing published in between is missed.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        for message in await self._missed():
            await self._send_notification(message)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Check a client's message before it is read; the base class would raise (and
        log a server error) on a binary frame or text that is not JSON."""
        if getattr(self, "refused", False):
            return  # closed already: the server may send nothing more on this socket
        if not self._within_rate():
            await self._refuse("too_many_messages", TOO_MANY_MESSAGES)
        elif text_data is None:
            await self._refuse("binary_not_supported", UNSUPPORTED_DATA)
        elif len(text_data.encode()) > MAX_MESSAGE_BYTES:
            await self._refuse("message_too_big", MESSAGE_TOO_BIG)
        else:
            try:
                content = json.loads(text_data)
            except ValueError:
                await self._refuse("invalid_json", INVALID_MESSAGE)
                return
            await self.receive_json(content)

    async def receive_json(self, content: dict, **kwargs) -> None:
        # The client pings every ~25 s; a socket that stops answering is closed by it.
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self._refuse("invalid_message", INVALID_MESSAGE)
        elif content["type"] == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self._refuse("unknown_type", UNKNOWN_TYPE)

    def _within_rate(self) -> bool:
        now = time.monotonic()
        if not hasattr(self, "received_at"):
            self.received_at: deque[float] = deque()
        while self.received_at and now - self.received_at[0] > MESSAGE_WINDOW_S:
            self.received_at.popleft()
        self.received_at.append(now)
        return len(self.received_at) <= MAX_MESSAGES

    async def _refuse(self, code: str, close_code: int) -> None:
        self.refused = True
        await self.send_json({"type": "error", "code": code})
        await self.close(code=close_code)

    async def live_event(self, event: dict) -> None:
        if getattr(self, "refused", False):
            return
        message = event["event"]
        if message.get("type") == "notification":
            await self._send_notification(message)
        else:
            await self.send_json(message)

    async def _send_notification(self, message: dict) -> None:
        # Ids are given when a row is inserted, not when it is committed: a notification
        # of a long transaction (a message to every member) can commit after a newer one
        # was sent. So the socket remembers which ids it sent, not only the highest.
        if message["id"] in self.sent:
            return
        self.sent.add(message["id"])
        self.sent_order.append(message["id"])
        if len(self.sent_order) > SENT_REMEMBERED:
            self.sent.discard(self.sent_order.popleft())
        await self.send_json(message)

    @database_sync_to_async
    def _missed(self) -> list[dict]:
        if self.last_id < 0:
            return []
        return [
            notification_message(n, language=self.user.preferred_language)
            for n in notifications_since(user=self.user, since_id=self.last_id)
        ]


def _since(scope: dict) -> int:
    """`?since=<id>` as an int; -1 (no replay) when absent or malformed."""
    values = parse_qs(scope.get("query_string", b"").decode()).get("since", [])
    try:
        return max(int(values[0]), 0) if values else -1
    except ValueError:
        return -1
