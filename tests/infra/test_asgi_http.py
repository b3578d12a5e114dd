"""backend/asgi_http.py: HTTP requests reach Django whole, answers come back whole, and
requests of one process run side by side on the thread pool."""

import asyncio
import json
import subprocess
import sys
import threading
import time

import pytest
from asgiref.testing import ApplicationCommunicator

from backend.asgi import application
from backend.asgi_http import DjangoHttp
from backend.gc_tuning import YOUNG_THRESHOLD


def _scope(path: str, *, method: str = "GET", headers: list | None = None) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def _exchange(app, scope: dict, chunks: list[bytes]) -> tuple[dict, bytes]:
    communicator = ApplicationCommunicator(app, scope)
    for index, chunk in enumerate(chunks):
        more = index < len(chunks) - 1
        await communicator.send_input({"type": "http.request", "body": chunk, "more_body": more})
    start = await communicator.receive_output(timeout=10)
    body = b""
    while True:
        message = await communicator.receive_output(timeout=10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(timeout=5)
    return start, body


@pytest.mark.django_db(transaction=True)
def test_a_json_body_sent_in_pieces_reaches_the_view_and_its_answer_comes_back():
    payload = json.dumps({"identifier": "+46700000000", "password": "not-the-one"}).encode()
    start, body = asyncio.run(
        _exchange(
            application,
            _scope(
                "/api/v1/auth/login",
                method="POST",
                headers=[
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            ),
            [payload[:10], payload[10:25], payload[25:]],
        )
    )
    assert start["type"] == "http.response.start"
    assert start["status"] == 400, body
    assert (b"content-type", b"application/json") in start["headers"]
    # Not a parse error: the whole body arrived and the login service judged it.
    assert json.loads(body)["error"]["code"] == "login_failed"


@pytest.mark.django_db(transaction=True)
def test_every_set_cookie_header_of_a_page_is_kept():
    start, body = asyncio.run(_exchange(application, _scope("/sign-in"), [b""]))
    assert start["status"] == 200
    cookies = [value for name, value in start["headers"] if name == b"set-cookie"]
    assert any(value.startswith(b"csrftoken=") for value in cookies), start["headers"]
    assert b"<form" in body


def test_too_many_repeated_headers_get_a_400_not_a_crash():
    app = DjangoHttp(lambda environ, start_response: [b""], threads=1)
    headers = [(b"x-repeated", b"1")] * 101
    start, body = asyncio.run(_exchange(app, _scope("/", headers=headers), [b""]))
    assert start["status"] == 400
    assert b"repeated headers" in body


def test_a_client_that_leaves_before_its_body_gets_nothing_and_breaks_nothing():
    calls = []
    app = DjangoHttp(lambda environ, start_response: calls.append(environ) or [b""], threads=1)

    async def leave() -> None:
        communicator = ApplicationCommunicator(app, _scope("/", method="POST"))
        await communicator.send_input({"type": "http.request", "body": b"{", "more_body": True})
        await communicator.send_input({"type": "http.disconnect"})
        await communicator.wait(timeout=5)
        assert await communicator.receive_nothing()

    asyncio.run(leave())
    assert calls == []


def test_requests_of_one_process_run_side_by_side_on_the_pool():
    threads = set()

    def slow(environ, start_response):
        threads.add(threading.current_thread().name)
        time.sleep(0.4)  # a request waiting on PostgreSQL
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"done"]

    app = DjangoHttp(slow, threads=4)

    async def four() -> list:
        return await asyncio.gather(*(_exchange(app, _scope(f"/{n}"), [b""]) for n in range(4)))

    started = time.monotonic()
    answers = asyncio.run(four())
    took = time.monotonic() - started
    assert [body for _start, body in answers] == [b"done"] * 4
    assert len(threads) == 4 and all(name.startswith("http") for name in threads)
    assert took < 1.2, f"four 0.4 s requests took {took:.2f} s: they ran one after another"


WEB_PROCESS_GC = """
import gc, json
import backend.asgi
print(json.dumps({"frozen": gc.get_freeze_count(), "threshold": gc.get_threshold()}))
"""


def test_a_web_process_freezes_its_startup_objects_and_collects_less_often():
    """backend/gc_tuning.py: the objects a web process keeps for life are out of the
    cycle collector's sight, and its young generation is collected less often."""
    result = subprocess.run(
        [sys.executable, "-c", WEB_PROCESS_GC], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout)
    assert state["frozen"] > 100_000  # Django, the URLs and every view module
    assert state["threshold"][0] == YOUNG_THRESHOLD > 700
