"""The websocket routes against every role, through the real ASGI app and the Redis
channel layer: who is let in, and that a replay from the first notification brings each
person their own notifications and nobody else's (the resident's above all).

The world is committed once for the module (the consumer reads it from its own thread
and connection) and the database is flushed afterwards, as a transactional test does."""

import pytest
from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.test import Client, override_settings

from backend.asgi import application
from backend.notifications.models import Notification
from tests.permissions.matrix import ACCEPTED, WS_ROWS
from tests.permissions.world import ROLES, build_world

CASES = [(route, role) for route in sorted(WS_ROWS) for role in ROLES]
HEADERS = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]


@pytest.fixture(scope="module")
def ws_world(django_db_setup, django_db_blocker, tmp_path_factory):
    with (
        django_db_blocker.unblock(),
        override_settings(ROUTER_URL="", MEDIA_ROOT=tmp_path_factory.mktemp("media")),
    ):
        try:
            world = build_world()
            world.sessions = {}
            for role in ROLES[1:]:
                client = Client()
                client.force_login(world.people[role])
                world.sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
            world.inbox = {
                role: set(
                    Notification.objects.filter(recipient=world.people[role]).values_list(
                        "id", flat=True
                    )
                )
                for role in ROLES[1:]
            }
            yield world
        finally:
            call_command("flush", interactive=False, verbosity=0)
            # Content types are made again by the flush, with new ids.
            ContentType.objects.clear_cache()


async def replay(route: str, cookie: str | None) -> tuple[object, set[int]]:
    headers = list(HEADERS)
    if cookie:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    socket = WebsocketCommunicator(application, f"/{route}?since=0", headers=headers)
    connected, code = await socket.connect()
    if not connected:
        await socket.disconnect()
        return code, set()
    ids = set()
    while not await socket.receive_nothing(timeout=0.3):
        message = await socket.receive_json_from()
        if message.get("type") == "notification":
            ids.add(message["id"])
    await socket.disconnect()
    return ACCEPTED, ids


# The mark makes pytest-django create the test database; the test's own transaction on
# the main connection is irrelevant, the consumer reads the committed world on its own.
@pytest.mark.django_db
@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("route", "role"), CASES, ids=[f"{route}.CONNECT[{role}]" for route, role in CASES]
)
async def test_websocket_permission(ws_world, django_db_blocker, route: str, role: str):
    with django_db_blocker.unblock():
        got, ids = await replay(route.removeprefix("ws:"), ws_world.sessions.get(role))
    assert got == WS_ROWS[route][role]
    if got == ACCEPTED:
        assert ids == ws_world.inbox[role]
        if role != "resident":
            assert not ids & ws_world.inbox["resident"]
    if role == "resident":
        assert ids, "the resident has notifications to replay"
