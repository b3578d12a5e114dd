"""A poison message: a task that kills its worker process every time it runs. With late
acknowledgement and reject-on-worker-lost its message would go back to the queue after
every death and be handed out for ever. Counted per delivery, it runs
CELERY_MAX_DELIVERIES times; the next delivery is logged as dead-lettered, kept in the
dead-letter list and acknowledged without running, and the worker carries on.

A worker of the production layout (infra/multiproc.py) on a Redis of its own; the
worker also loads the test's poison task (tests/faults/poison.py)."""

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import redis
from celery import Celery

from infra.multiproc import Layout, PrivateRedis
from tests.faults.conftest import ROOT

pytestmark = [pytest.mark.faults, pytest.mark.slow]

MAX_DELIVERIES = 3


@pytest.fixture
def worker():
    base = Path(tempfile.mkdtemp(prefix="samby-poison-"))
    private = PrivateRedis(base / "redis").start()
    env = {
        "DJANGO_ENV": "local",
        "REDIS_URL": private.url,
        "CELERY_MAX_DELIVERIES": str(MAX_DELIVERIES),
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
    }
    layout = Layout(web=0, workers=0, worker_concurrency=1, env=env, work=base / "layout")
    try:
        layout.start_worker("worker1", include=("tests.faults.poison",))
        layout.wait_worker_ready("worker1")
        yield layout, private, base
    finally:
        layout.stop()
        private.stop()
        shutil.rmtree(base, ignore_errors=True)


def _wait_until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"{what} not reached within {timeout} s")


def test_a_task_that_kills_its_worker_every_time_is_dead_lettered_after_the_limit(worker):
    layout, private, base = worker
    marker = base / "poison-runs.txt"
    client = redis.Redis.from_url(private.url)
    broker = Celery("poison", broker=private.url)
    result = broker.send_task("tests.faults.poison.die", args=[str(marker)])

    _wait_until(lambda: client.llen("samby:deadletters") > 0, timeout=180, what="a dead letter")
    # Acknowledged: nothing waits in the queue or is held as unacknowledged.
    _wait_until(
        lambda: client.llen("celery") == 0 and client.hlen("unacked") == 0,
        timeout=30,
        what="the message acknowledged",
    )

    assert marker.read_text().splitlines() == ["started"] * MAX_DELIVERIES
    [entry] = [json.loads(raw) for raw in client.lrange("samby:deadletters", 0, -1)]
    assert entry["task"] == "tests.faults.poison.die"
    assert entry["task_id"] == result.id
    assert entry["task_args"] == [str(marker)]
    assert entry["deliveries"] == MAX_DELIVERIES + 1
    assert layout.processes["worker1"].poll() is None  # the worker itself lives on

    logged = [
        json.loads(line)
        for line in (layout.work / "worker1.log").read_text().splitlines()
        if line.startswith("{") and "dead-lettered" in line
    ]
    assert len(logged) == 1
    assert logged[0]["logger"] == "samby.deadletter"
    assert logged[0]["level"] == "ERROR"
    assert logged[0]["dead_letter"] is True
    assert logged[0]["task_id"] == result.id

    # What an operator runs to see it.
    shown = subprocess.run(
        [sys.executable, "manage.py", "dead_letters"],
        cwd=ROOT,
        env=layout.child_env("manage"),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    assert [json.loads(line)["task_id"] for line in shown] == [result.id]
