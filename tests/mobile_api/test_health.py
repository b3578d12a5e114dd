"""/healthz against the real database and real Redis servers, one of which is stopped."""

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis

pytestmark = pytest.mark.django_db

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2)
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False
    finally:
        client.close()


@pytest.fixture
def private_redis(tmp_path) -> Iterator[tuple[subprocess.Popen, int]]:
    """A Redis server of our own on a free port, which the test may stop."""
    port = _free_port()
    server = subprocess.Popen(
        [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not _answers(port):
            assert server.poll() is None, f"redis-server exited with {server.returncode}"
            assert time.monotonic() < deadline, "redis-server did not answer within 10 s"
            time.sleep(0.05)
        yield server, port
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=10)


def test_healthy(api):
    response = api.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_stopped_redis_makes_it_unavailable(api, settings, private_redis, caplog):
    server, port = private_redis
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"

    running = api.get("/healthz")
    assert running.status_code == 200
    assert running.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}

    server.terminate()
    server.wait(timeout=10)
    assert not _answers(port)

    started = time.monotonic()
    stopped = api.get("/healthz")

    assert time.monotonic() - started < 5
    assert stopped.status_code == 503
    assert stopped.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "redis": "error"},
    }
    text = stopped.content.decode()
    for leak in ("Error", "refused", "Connect", "127.0.0.1", str(port), "Traceback"):
        assert leak not in text
    # The details go to the log for whoever operates the service.
    logged = [r.getMessage() for r in caplog.records if r.name == "mobile_api.health"]
    assert len(logged) == 1
    assert logged[0].startswith("healthz: redis unavailable: ConnectionError")
    assert str(port) in logged[0]


def test_redis_that_never_ran(api, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{_free_port()}/0"

    response = api.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "redis": "error"}


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_healthz_only_answers_get(api, method):
    response = getattr(api, method)("/healthz")

    assert response.status_code == 405
    assert response["Allow"] == "GET"


def test_healthz_needs_no_login_and_sets_no_cookie(api):
    response = api.get("/healthz")

    assert response.status_code == 200
    assert not response.cookies
