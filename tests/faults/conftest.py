"""The fault tests' stack: a PostgreSQL (with PostGIS) and a Redis of their own, on free
ports in a temporary directory, and the production process layout on them (two uvicorn
processes behind the load balancer, one Celery worker): infra/multiproc.py. The tests
stop, kill and restart these freely; the machine's shared PostgreSQL (5432) and Redis
(6379) are never touched."""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from celery import Celery

from infra.multiproc import Layout, PrivatePostgres, PrivateRedis

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Stack:
    pg: PrivatePostgres
    redis: PrivateRedis
    layout: Layout
    world: dict
    broker: Celery
    first_pids: dict[str, int]

    def sql(self, query: str, *params) -> list[tuple]:
        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{self.pg.port}/samby", autocommit=True
        ) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def api(self, who: dict) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.layout.url}/api/v1",
            headers={"Authorization": f"Token {who['token']}", "Accept-Language": "en"},
            timeout=60,
        )

    def beat(self, task: str) -> None:
        """What Celery beat does on schedule: queue a periodic task."""
        self.broker.send_task(task)

    def wait_until(self, check, timeout: float = 90, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.25)
        raise AssertionError(f"{what} not reached within {timeout} s")


def _quiet_hours_far_away() -> str:
    """A one-minute quiet period twelve hours from now: SMS go out whenever the suite
    runs (quiet hours are tested elsewhere)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    later = datetime.now(ZoneInfo("Europe/Stockholm")) + timedelta(hours=12)
    return f"{later:%H:%M}-{later + timedelta(minutes=1):%H:%M}"


@pytest.fixture(scope="module")
def stack():
    """Module-scoped: the servers are gone before the rest of the suite runs."""
    missing = [tool for tool in ("redis-server", "psql") if not shutil.which(tool)]
    if missing or not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.fail(
            "the fault tests start their own PostgreSQL and Redis; install the server "
            f"packages (`make setup` does): missing {missing or 'PostgreSQL server binaries'}"
        )
    base = Path(tempfile.mkdtemp(prefix="samby-faults-"))
    base.chmod(0o755)  # the postgres user enters it when we run as root
    pg = PrivatePostgres(base / "pg").init()
    redis = PrivateRedis(base / "redis").start()
    env = {
        "DJANGO_ENV": "local",
        "DATABASE_URL": pg.url,
        "REDIS_URL": redis.url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Short, so a message held by a worker that died is handed out again quickly;
        # longer than the longest countdown (the offer wave's) and the task time limit.
        "CELERY_VISIBILITY_TIMEOUT": "20",
        "CELERY_TASK_TIME_LIMIT": "19",
        "SMS_BACKEND": "console",
        "SMS_CONSOLE_FILE": str(base / "sms.log"),
        "NOTIFY_QUIET_HOURS": _quiet_hours_far_away(),
        "RIDES_OFFER_TIMEOUT": "15",
        "RIDES_OFFER_WAVE_SIZE": "3",
        "LOG_LEVEL": "INFO",
        # Each process keeps a pool of connections, as in production: a restart of
        # PostgreSQL must not leave a process with dead connections in it.
        "DATABASE_POOL_MAX_SIZE": "4",
    }
    run_env = {**os.environ, **env, "DJANGO_SETTINGS_MODULE": "backend.settings"}
    run_env.pop("SAMBY_TEST_REDIS_DB", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=run_env,
        check=True,
    )
    world = json.loads(
        subprocess.run(
            [sys.executable, "-m", "tests.faults.world"],
            cwd=ROOT,
            env=run_env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    layout = Layout(web=2, workers=1, worker_concurrency=1, env=env, work=base / "layout")
    broker = Celery("faults", broker=redis.url)
    try:
        layout.start()
        first_pids = {name: p.pid for name, p in layout.processes.items()}
        yield Stack(
            pg=pg, redis=redis, layout=layout, world=world, broker=broker, first_pids=first_pids
        )
    finally:
        layout.stop()
        redis.stop()
        with contextlib.suppress(subprocess.CalledProcessError):
            pg.stop()
        if os.environ.get("SAMBY_KEEP_FAULT_LOGS"):
            print(f"fault test logs kept in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
