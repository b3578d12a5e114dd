"""notify() to the websocket: the right person only, replay after reconnect, token
auth, and a message published by another process (a Celery worker) arriving."""

import asyncio
import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from rest_framework.authtoken.models import Token

from backend.asgi import application
from backend.notifications.models import Notification
from backend.notifications.reminders import reminder_schedule
from backend.notifications.services import notify
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
ROOT = Path(__file__).resolve().parents[2]
MESSAGE = {"association": "Äppelbo byalag", "text": "Hej"}


async def open_socket(user, *, since: int | None = None) -> WebsocketCommunicator:
    token = await sync_to_async(lambda: Token.objects.get_or_create(user=user)[0].key)()
    query = f"?token={token}" + (f"&since={since}" if since is not None else "")
    socket = WebsocketCommunicator(
        application, f"/ws/{query}", headers=[(b"origin", b"http://127.0.0.1")]
    )
    connected, _ = await socket.connect()
    assert connected
    return socket


async def send(user, text: str = "Hej") -> int:
    notification = await sync_to_async(notify)(
        user, "association.message", {**MESSAGE, "text": text}
    )
    return notification.pk


async def test_a_notification_committed_after_a_newer_one_still_arrives_live():
    """Ids are given at insert: a message to every member, in one long transaction, can
    commit after a newer notification was sent. It must still reach the socket."""
    anna = await sync_to_async(UserFactory)()
    socket = await open_socket(anna, since=0)
    inserted, release = threading.Event(), threading.Event()

    def slow() -> None:
        with transaction.atomic():
            notify(anna, "association.message", {**MESSAGE, "text": "långsam"})
            inserted.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=slow)
    thread.start()
    assert await asyncio.to_thread(inserted.wait, 10)
    newer = await send(anna, "snabb")
    assert (await socket.receive_json_from(timeout=5))["id"] == newer
    release.set()
    await asyncio.to_thread(thread.join, 10)
    late = await socket.receive_json_from(timeout=5)
    assert late["id"] < newer
    assert late["body"].endswith("långsam")
    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()


async def test_a_notification_committed_while_offline_after_a_newer_one_is_replayed():
    """Two real transactions: A inserts (the lower id) and stays open, B inserts and
    commits and reaches the socket live; the phone goes offline; A commits. Reconnecting
    with since=<B's id> must bring A, though its id is lower."""
    anna = await sync_to_async(UserFactory)()
    socket = await open_socket(anna, since=0)
    inserted, release = threading.Event(), threading.Event()
    slow_id: list[int] = []

    def slow() -> None:
        with transaction.atomic():
            slow_id.append(notify(anna, "association.message", {**MESSAGE, "text": "lång"}).pk)
            inserted.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=slow)
    thread.start()
    assert await asyncio.to_thread(inserted.wait, 10)
    newer = await send(anna, "snabb")
    assert (await socket.receive_json_from(timeout=5))["id"] == newer
    await socket.disconnect()  # offline

    release.set()  # A commits now: published to nobody
    await asyncio.to_thread(thread.join, 10)
    assert slow_id[0] < newer

    socket = await open_socket(anna, since=newer)
    replayed = await receive_all(socket)
    # Oldest first; B again as well (made within the overlap): the client drops it.
    assert [m["id"] for m in replayed] == [slow_id[0], newer]
    assert replayed[0]["body"].endswith("lång")
    later = await send(anna, "efteråt")
    assert [m["id"] for m in await receive_all(socket)] == [later]
    await socket.disconnect()


async def test_the_replay_reaches_back_only_the_overlap_below_the_id_asked_for():
    anna = await sync_to_async(UserFactory)()
    old, recent, seen = [await send(anna, text) for text in ("gammal", "ny", "sedd")]
    await sync_to_async(_backdate)(old, seconds=settings.NOTIFY_REPLAY_OVERLAP + 60)
    after = await send(anna, "missad")

    socket = await open_socket(anna, since=seen)
    assert [m["id"] for m in await receive_all(socket)] == [recent, seen, after]
    await socket.disconnect()


async def receive_all(socket: WebsocketCommunicator) -> list[dict]:
    """Every message the socket has got until it falls quiet for half a second."""
    messages = []
    while not await socket.receive_nothing(timeout=0.5):
        messages.append(await socket.receive_json_from(timeout=5))
    return messages


def _backdate(notification_id: int, *, seconds: int) -> None:
    Notification.objects.filter(pk=notification_id).update(
        created_at=F("created_at") - dt.timedelta(seconds=seconds)
    )


async def test_token_in_the_query_authenticates_and_a_bad_token_is_refused():
    user = await sync_to_async(UserFactory)()
    socket = await open_socket(user)
    await socket.disconnect()
    bad = WebsocketCommunicator(
        application, "/ws/?token=nope", headers=[(b"origin", b"http://127.0.0.1")]
    )
    assert await bad.connect() == (False, 4401)


async def test_notification_reaches_the_recipient_and_nobody_else():
    anna, bo = (
        await sync_to_async(UserFactory)(preferred_language="en"),
        await sync_to_async(UserFactory)(),
    )
    anna_socket, bo_socket = await open_socket(anna), await open_socket(bo)
    notification_id = await send(anna, "Bilen är tillbaka")
    message = await anna_socket.receive_json_from(timeout=5)
    assert message["id"] == notification_id
    assert (message["type"], message["kind"]) == ("notification", "association.message")
    assert (message["title"], message["body"]) == (
        "Message from Äppelbo byalag",
        "Bilen är tillbaka",
    )
    assert await bo_socket.receive_nothing(timeout=0.5)
    await anna_socket.disconnect()
    await bo_socket.disconnect()


async def test_reconnecting_with_since_replays_the_missed_messages_in_order():
    anna = await sync_to_async(UserFactory)()
    socket = await open_socket(anna)
    seen = await send(anna, "första")
    assert (await socket.receive_json_from(timeout=5))["id"] == seen
    await socket.disconnect()

    missed = [await send(anna, f"medan du var borta {n}") for n in range(3)]

    socket = await open_socket(anna, since=seen)
    # The one it had comes again (it is within the overlap): the client drops it.
    replayed = [await socket.receive_json_from(timeout=5) for _ in range(len(missed) + 1)]
    assert [m["id"] for m in replayed] == [seen, *missed]
    assert [m["body"] for m in replayed[1:]] == [f"medan du var borta {n}" for n in range(3)]
    assert await socket.receive_nothing(timeout=0.5)
    # Live messages keep flowing after the replay, each once.
    later = await send(anna, "efteråt")
    assert (await socket.receive_json_from(timeout=5))["id"] == later
    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()


async def test_connecting_without_since_replays_nothing():
    anna = await sync_to_async(UserFactory)()
    await send(anna)
    socket = await open_socket(anna)
    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()


@pytest.mark.slow
async def test_a_notification_sent_by_a_celery_worker_process_reaches_the_socket():
    anna = await sync_to_async(UserFactory)()
    socket = await open_socket(anna)
    await sync_to_async(reminder_schedule)(
        key="test:cross-process",
        recipient=anna,
        kind="association.message",
        payload=MESSAGE,
        due_at=await sync_to_async(_now)(),
    )
    worker = _start_worker()
    try:
        await sync_to_async(_send_due_reminders_through_the_broker)()
        message = await socket.receive_json_from(timeout=30)
        assert (message["kind"], message["body"]) == ("association.message", "Hej")
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        await socket.disconnect()


def _now():
    from django.utils import timezone

    return timezone.now()


def _start_worker() -> subprocess.Popen:
    """A real `celery worker` process on the test database and the test Redis."""
    db = connection.settings_dict
    credentials = f"{db['USER']}:{db['PASSWORD'] or ''}"
    database_url = f"postgis://{credentials}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="tests.settings", DATABASE_URL=database_url)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "backend", "worker", "--pool=solo", "-l", "warning"],
        cwd=ROOT,
        env=env,
    )
    from backend.celery import app

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if app.control.ping(timeout=0.5):
            return worker
    worker.terminate()
    raise AssertionError("celery worker did not start within 30 s")


def _send_due_reminders_through_the_broker() -> None:
    from backend.notifications.tasks import send_due_reminders

    assert send_due_reminders.delay().get(timeout=30) == 1
