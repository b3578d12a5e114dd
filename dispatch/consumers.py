"""The one websocket a signed-in person keeps open (`/ws/`).

It authenticates (session cookie, or `?token=` for clients without cookies), joins the
person's group, replays the notifications after `?since=<id>`, then forwards live events.
Notifications carry increasing ids; anything at or below the last id sent is dropped, so
a message that arrives both by replay and live reaches the client once, in order.
"""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from backend.notifications.live import user_group
from backend.notifications.selectors import notification_message, notifications_since

UNAUTHENTICATED = 4401


class LiveConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        self.user = user
        self.last_id = _since(self.scope)
        self.group = user_group(user.pk)
        # Join before reading the replay, so nothing published in between is missed.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        for message in await self._missed():
            await self._send_notification(message)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: dict, **kwargs) -> None:
        # The client pings every ~25 s; a socket that stops answering is closed by it.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def live_event(self, event: dict) -> None:
        message = event["event"]
        if message.get("type") == "notification":
            await self._send_notification(message)
        else:
            await self.send_json(message)

    async def _send_notification(self, message: dict) -> None:
        if message["id"] <= self.last_id:
            return
        self.last_id = message["id"]
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
