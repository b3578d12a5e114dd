"""publish_to_user() from outside a web request (a Celery worker, a command): through
the real Redis channel layer, on one event loop and one connection a process."""

import multiprocessing

import redis
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer
from django.conf import settings

from backend.notifications.live import close_publisher, publish_to_user, user_group

USER_ID = 987_654


def _connections_opened() -> int:
    return redis.Redis.from_url(settings.REDIS_URL).info("stats")["total_connections_received"]


def _listen() -> tuple[object, str]:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group(USER_ID), channel)
    return layer, channel


def _received(layer, channel: str, count: int) -> list[dict]:
    async def receive_all() -> list[dict]:
        return [(await layer.receive(channel))["event"] for _ in range(count)]

    return async_to_sync(receive_all)()


def test_events_from_outside_a_web_request_share_one_redis_connection():
    layer, channel = _listen()
    publish_to_user(USER_ID, {"n": 0})  # the process's publisher connects once
    opened_before = _connections_opened()

    for n in range(1, 21):
        assert publish_to_user(USER_ID, {"n": n}) is True

    # async_to_sync opened one connection (and one event loop) for each event.
    assert _connections_opened() - opened_before <= 1  # this test's own INFO client
    assert _received(layer, channel, 21) == [{"n": n} for n in range(21)]


def _publish_in_child(result) -> None:
    result.put(publish_to_user(USER_ID, {"from": "child"}))


def test_a_forked_worker_process_publishes_on_a_loop_of_its_own():
    # Celery's worker processes are forked from a parent that may have published
    # already: its publisher thread does not exist in the child.
    layer, channel = _listen()
    assert publish_to_user(USER_ID, {"from": "parent"}) is True
    fork = multiprocessing.get_context("fork")
    result = fork.Queue()
    child = fork.Process(target=_publish_in_child, args=(result,))
    child.start()
    child.join(timeout=20)

    assert child.exitcode == 0
    assert result.get(timeout=1) is True
    assert _received(layer, channel, 2) == [{"from": "parent"}, {"from": "child"}]


def test_an_unreachable_channel_layer_is_reported_not_raised(settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": "redis://127.0.0.1:1/0"}]},
        }
    }
    channel_layers.backends.clear()
    assert publish_to_user(USER_ID, {"n": 1}) is False


def test_closing_the_publisher_closes_its_redis_connections():
    client = redis.Redis.from_url(settings.REDIS_URL)
    close_publisher()
    before = client.info("clients")["connected_clients"]
    for n in range(5):  # a fresh channel layer each time, as tests have
        channel_layers.backends.clear()
        assert publish_to_user(USER_ID, {"n": n}) is True
        close_publisher()
    assert client.info("clients")["connected_clients"] == before
