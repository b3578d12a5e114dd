"""The websocket at /ws/ through the real ASGI app and the Redis channel layer."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing.websocket import WebsocketCommunicator
from django.test import Client

from backend.asgi import application
from backend.notifications.live import user_group
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
ORIGIN = (b"origin", b"http://127.0.0.1")


def session_cookie_for(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect(cookie: bytes | None = None) -> tuple[WebsocketCommunicator, bool, int | None]:
    headers = [ORIGIN, (b"host", b"127.0.0.1")]
    if cookie:
        headers.append((b"cookie", cookie))
    socket = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, code = await socket.connect()
    return socket, connected, code


async def test_anonymous_connection_is_refused():
    socket, connected, code = await connect()
    assert (connected, code) == (False, 4401)
    await socket.disconnect()


async def test_foreign_origin_is_refused():
    user = await sync_to_async(UserFactory)()
    cookie = await sync_to_async(session_cookie_for)(user)
    socket = WebsocketCommunicator(
        application, "/ws/", headers=[(b"origin", b"http://evil.example"), (b"cookie", cookie)]
    )
    connected, _ = await socket.connect()
    assert connected is False
    await socket.disconnect()


async def test_signed_in_person_gets_events_sent_to_their_group_and_answers_ping():
    user = await sync_to_async(UserFactory)()
    cookie = await sync_to_async(session_cookie_for)(user)
    socket, connected, _ = await connect(cookie)
    assert connected
    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_json_from(timeout=5) == {"type": "pong"}

    layer = get_channel_layer()
    await layer.group_send(
        user_group(user.pk), {"type": "live.event", "event": {"kind": "test", "id": 1}}
    )
    assert await socket.receive_json_from(timeout=5) == {"kind": "test", "id": 1}
    await socket.disconnect()


@pytest.mark.slow
async def test_idle_socket_still_receives_after_more_than_five_seconds():
    # redis-py 8's default 5 s socket timeout would kill this consumer (channels_redis #422).
    user = await sync_to_async(UserFactory)()
    cookie = await sync_to_async(session_cookie_for)(user)
    socket, connected, _ = await connect(cookie)
    assert connected
    await asyncio.sleep(6.5)
    await get_channel_layer().group_send(
        user_group(user.pk), {"type": "live.event", "event": {"kind": "late"}}
    )
    assert await socket.receive_json_from(timeout=5) == {"kind": "late"}
    await socket.disconnect()


async def test_every_socket_leaving_its_group_at_once_leaves_the_group_clean():
    """A restart of the proxy or a network failure closes all of a process's sockets at
    once, and each leaves its person's group (`LiveConsumer.disconnect`): far more at a
    time than redis-py's default of 100 connections, beyond which it refused, and the
    socket stayed in the group, sent every event until the group expired a day later.
    On the channel layer as configured, without sockets, so that nothing else is
    measured."""
    layer = get_channel_layer()
    group = user_group(424_242)
    channels = [f"{layer.prefix}.test!{n}" for n in range(300)]
    for start in range(0, len(channels), 25):  # joined a few at a time, as phones come
        await asyncio.gather(*(layer.group_add(group, c) for c in channels[start : start + 25]))
    group_key = layer._group_key(group)
    async with layer.connection(layer.consistent_hash(group_key)) as redis:
        assert await redis.zcard(group_key) == len(channels)

        await asyncio.gather(*(layer.group_discard(group, c) for c in channels))

        assert await redis.zcard(group_key) == 0
