"""Malformed messages on /ws/, through the real ASGI app and the Redis channel layer:
each ends that connection with an error message and its documented close code, raises
nothing in the server, logs no error, and the person's other socket keeps working."""

import json
import logging

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from backend.notifications.live import user_group
from dispatch import consumers
from tests.dispatch.test_live_socket import connect, session_cookie_for
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def send_text(socket, text: str) -> None:
    await socket.send_to(text_data=text)


CASES = [
    pytest.param(
        lambda s: s.send_to(bytes_data=b"\x00\x01ping"),
        "binary_not_supported",
        consumers.UNSUPPORTED_DATA,
        id="binary-frame",
    ),
    pytest.param(
        lambda s: send_text(s, '{"type": "ping"'), "invalid_json", 1007, id="invalid-json"
    ),
    pytest.param(
        lambda s: s.send_input({"type": "websocket.receive", "text": ""}),
        "invalid_json",
        1007,
        id="empty-text",
    ),
    pytest.param(lambda s: send_text(s, "NaN-ish {]"), "invalid_json", 1007, id="garbage"),
    pytest.param(
        lambda s: send_text(s, '["ping"]'), "invalid_message", 1007, id="json-array-not-object"
    ),
    pytest.param(lambda s: send_text(s, '"ping"'), "invalid_message", 1007, id="json-string"),
    pytest.param(lambda s: send_text(s, "null"), "invalid_message", 1007, id="json-null"),
    pytest.param(lambda s: send_text(s, "{}"), "invalid_message", 1007, id="missing-type"),
    pytest.param(
        lambda s: send_text(s, '{"type": 7}'), "invalid_message", 1007, id="type-not-a-string"
    ),
    pytest.param(
        lambda s: send_text(s, '{"type": "offer.accept", "offer": 1}'),
        "unknown_type",
        consumers.UNKNOWN_TYPE,
        id="unknown-type",
    ),
    pytest.param(
        lambda s: send_text(
            s, json.dumps({"type": "ping", "pad": "x" * consumers.MAX_MESSAGE_BYTES})
        ),
        "message_too_big",
        consumers.MESSAGE_TOO_BIG,
        id="huge-message",
    ),
]


async def two_sockets():
    user = await sync_to_async(UserFactory)()
    cookie = await sync_to_async(session_cookie_for)(user)
    bad, connected, _ = await connect(cookie)
    assert connected
    good, connected, _ = await connect(cookie)
    assert connected
    return user, bad, good


async def assert_other_socket_works(user, good) -> None:
    await good.send_json_to({"type": "ping"})
    assert await good.receive_json_from(timeout=5) == {"type": "pong"}
    await get_channel_layer().group_send(
        user_group(user.pk), {"type": "live.event", "event": {"kind": "still here"}}
    )
    assert await good.receive_json_from(timeout=5) == {"kind": "still here"}


@pytest.mark.parametrize(("send", "error", "close_code"), CASES)
async def test_a_malformed_message_closes_that_socket_only(send, error, close_code, caplog):
    caplog.set_level(logging.ERROR)
    user, bad, good = await two_sockets()

    await send(bad)

    assert await bad.receive_json_from(timeout=5) == {"type": "error", "code": error}
    assert await bad.receive_output(timeout=5) == {"type": "websocket.close", "code": close_code}
    # The server did not raise: the app ends cleanly once the client goes.
    await bad.disconnect()
    await assert_other_socket_works(user, good)
    await good.disconnect()
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_flood_of_messages_is_answered_up_to_the_limit_then_closed(caplog):
    caplog.set_level(logging.ERROR)
    user, bad, good = await two_sockets()

    for _ in range(consumers.MAX_MESSAGES + 10):
        await bad.send_json_to({"type": "ping"})

    for _ in range(consumers.MAX_MESSAGES):
        assert await bad.receive_json_from(timeout=5) == {"type": "pong"}
    assert await bad.receive_json_from(timeout=5) == {"type": "error", "code": "too_many_messages"}
    assert await bad.receive_output(timeout=5) == {
        "type": "websocket.close",
        "code": consumers.TOO_MANY_MESSAGES,
    }
    # The rest of the flood, sent before the close arrived, is dropped silently.
    assert await bad.receive_nothing(timeout=0.5)
    await bad.disconnect()
    await assert_other_socket_works(user, good)
    await good.disconnect()
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_message_just_under_the_size_limit_is_answered():
    user = await sync_to_async(UserFactory)()
    socket, connected, _ = await connect(await sync_to_async(session_cookie_for)(user))
    assert connected
    message = {"type": "ping", "pad": ""}
    message["pad"] = "x" * (consumers.MAX_MESSAGE_BYTES - len(json.dumps(message)))
    assert len(json.dumps(message)) == consumers.MAX_MESSAGE_BYTES
    await socket.send_json_to(message)
    assert await socket.receive_json_from(timeout=5) == {"type": "pong"}
    await socket.disconnect()
