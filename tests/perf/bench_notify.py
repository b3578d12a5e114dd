"""Benchmark: notify() to the person's open websocket, through the real stack.

1,000 people each keep a websocket open to `uvicorn backend.asgi:application --workers 2`
(the real ASGI app, the Redis channel layer, PostgreSQL). This process calls notify() (it
commits, then publishes) and times until the recipient's socket has the message:

  a. latency: one notify() at a time, to people picked at random;
  b. fan-out: one notify() per person, as fast as one thread sends them;
  c. baseline: the same with a bare channel-layer group_send to `user.<id>` (no database,
     no rendering), both as notify() publishes (publish_to_user(), from the calling
     thread) and from an event loop of the benchmark's own.

It reports and never fails on speed; it fails when a message is lost, duplicated, has the
wrong id or reaches the wrong socket. Run with `make bench ARGS="-k notify"`. The tables
also go to var/bench/notify.txt. BENCH_NOTIFY_USERS and BENCH_NOTIFY_SAMPLES shrink it.
"""

import asyncio
import functools
import itertools
import json
import logging
import math
import os
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

import pytest
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.db import connection, connections
from django.utils import timezone
from rest_framework.authtoken.models import Token
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from backend.accounts.models import User
from backend.notifications import services
from backend.notifications.live import publish_to_user, user_group
from backend.notifications.services import notify
from tests.factories import PASSWORD
from tests.perf._servers import (
    ROOT,
    AsgiServer,
    backend_cpu_seconds,
    current_database_url,
    machine_info,
    own_cpu_seconds,
    percentile,
    raise_fd_limit,
    redis_cpu_seconds,
    rss_mib,
    table,
)

pytestmark = [pytest.mark.perf, pytest.mark.django_db(transaction=True)]

PEOPLE = int(os.environ.get("BENCH_NOTIFY_USERS", "1000"))
SAMPLES = int(os.environ.get("BENCH_NOTIFY_SAMPLES", "300"))
WARM_UP = 20
WORKERS = 2
CONNECT_BATCH = 50
KIND = "association.message"
ASSOCIATION = "Äppelbo byalag"
ORIGIN = "http://127.0.0.1"
REPORT = ROOT / "var" / "bench" / "notify.txt"

SEND_TIMEOUT = 30.0  # one notify() or group_send
RECEIVE_TIMEOUT = 10.0  # a message, after its send returned
FANOUT_TIMEOUT = 240.0  # sending to everybody
CLOSE_TIMEOUT = 30.0


def test_notify_to_a_thousand_websockets(tmp_path, monkeypatch):
    raise_fd_limit()
    monkeypatch.setattr(services, "publish_to_user", _timed(services.publish_to_user))
    people, tokens = _create_people(PEOPLE)
    machine = machine_info()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sender")
    drops = CapacityDrops()
    layer_log = logging.getLogger("channels_redis.core")
    propagate, level = layer_log.propagate, layer_log.level
    layer_log.addHandler(drops)
    layer_log.propagate = False  # counted here rather than printed once per message
    layer_log.setLevel(logging.INFO)
    try:
        with AsgiServer(
            workers=WORKERS,
            log_path=tmp_path / "uvicorn.log",
            database_url=current_database_url(),
        ) as server:
            report = asyncio.run(_benchmark(server, people, tokens, pool, drops))
            server_log = server.log()
    finally:
        layer_log.removeHandler(drops)
        layer_log.propagate = propagate
        layer_log.setLevel(level)
        # The sender thread's database connection, before pytest-django empties the tables.
        pool.submit(connections.close_all).result(timeout=30)
        pool.shutdown(wait=True)
        # The SMS deliveries notify() queued for Celery (no worker runs here), and the
        # groups: this is the test suite's own Redis database.
        cache.clear()

    text = _render(machine, report)
    print("\n" + text)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text + "\n")

    assert report.problems == [], "\n".join(report.problems[:20]) + "\n" + server_log
    assert report.connected == PEOPLE


def _create_people(count: int) -> tuple[list[User], list[str]]:
    """`count` people with default preferences (live, push, SMS; no push subscription)."""
    password = make_password(PASSWORD)
    people = User.objects.bulk_create(
        [
            User(
                full_name=f"Person {n}",
                phone=f"+4670{n:07d}",
                phone_confirmed_at=timezone.now(),
                password=password,
                preferred_language="en" if n % 2 else "sv",
            )
            for n in range(count)
        ],
        batch_size=500,
    )
    tokens = Token.objects.bulk_create(
        [Token(user=person, key=Token.generate_key()) for person in people], batch_size=500
    )
    return people, [token.key for token in tokens]


# --- Sending ---------------------------------------------------------------------------------


class Inside(NamedTuple):
    """Where the time goes inside one notify() call (perf_counter() instants)."""

    publish_at: float  # publish_to_user() called: the transaction has committed
    published_at: float  # publish_to_user() returned
    queries_before: int  # SQL statements before the publish (COMMIT not counted)
    sql_before: float  # seconds they took
    queries: int  # SQL statements in the whole call
    sql: float


class Sent(NamedTuple):
    sent_at: float  # perf_counter() when the call started
    message_id: int  # the id the message must arrive with
    returned_at: float  # when the call returned
    inside: Inside | None = None


def _payload(seq: int) -> dict:
    return {"association": ASSOCIATION, "text": f"Meddelande {seq}", "seq": seq}


_marks = threading.local()


def _timed(publish: Callable[[int, dict], bool]) -> Callable[[int, dict], bool]:
    """publish_to_user(), noting when it starts and returns."""

    @functools.wraps(publish)
    def timed(user_id: int, event: dict) -> bool:
        _marks.publish_at = time.perf_counter()
        try:
            return publish(user_id, event)
        finally:
            _marks.published_at = time.perf_counter()

    return timed


def _notify(person: User, seq: int) -> Sent:
    queries: list[tuple[float, float]] = []

    def timer(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries.append((started, time.perf_counter() - started))

    _marks.publish_at = _marks.published_at = math.nan
    with connection.execute_wrapper(timer):
        started = time.perf_counter()
        notification = notify(person, KIND, _payload(seq))
        returned = time.perf_counter()
    before = [took for at, took in queries if at < _marks.publish_at]
    inside = Inside(
        _marks.publish_at,
        _marks.published_at,
        len(before),
        sum(before),
        len(queries),
        sum(took for _, took in queries),
    )
    return Sent(started, notification.pk, returned, inside)


def _bench_event(seq: int) -> dict:
    """A live event shaped and sized like a notification message. Its type is not
    "notification", so the consumer forwards it as it is."""
    return {
        "type": "live.event",
        "event": {
            "type": "bench",
            "id": seq,
            "kind": KIND,
            "title": f"Message from {ASSOCIATION}",
            "body": f"Meddelande {seq}",
            "payload": _payload(seq),
            "urgent": False,
            "created_at": "2025-01-01T12:00:00+00:00",
            "read": False,
        },
    }


def _group_send(person: User, seq: int) -> Sent:
    """publish_to_user() with the same event: the process's publisher loop."""
    started = time.perf_counter()
    assert publish_to_user(person.pk, _bench_event(seq)["event"])
    return Sent(started, seq, time.perf_counter())


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _each(send: Callable[[User, int], Sent], batch: Sequence[tuple[User, int]]) -> list[Sent]:
    return [send(person, seq) for person, seq in batch]


class ThreadSender:
    """Calls a plain function in one worker thread, as a view or a Celery task would."""

    may_overflow = False

    def __init__(self, name: str, send: Callable[[User, int], Sent], pool: ThreadPoolExecutor):
        self.name, self.send, self.pool = name, send, pool

    async def one(self, person: User, seq: int) -> Sent:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self.pool, self.send, person, seq)
        return await asyncio.wait_for(future, SEND_TIMEOUT)

    async def many(self, batch: Sequence[tuple[User, int]]) -> list[Sent]:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self.pool, functools.partial(_each, self.send, batch))
        return await asyncio.wait_for(future, FANOUT_TIMEOUT)


class LoopSender:
    """group_send awaited on one long-lived event loop in its own thread: the transport
    alone, with its Redis connection kept open."""

    name = "group_send, long-lived loop"
    # Sends faster than an ASGI worker drains its queue in Redis, which holds `capacity`
    # (100) messages for all of that worker's sockets together: channels-redis refuses
    # the rest (and logs it). Those are counted, not failed on; any other loss fails.
    may_overflow = True

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._serve, name="publisher", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.loop.run_forever()
        self.loop.close()  # channels-redis closes this loop's Redis connections here

    async def _one(self, person: User, seq: int) -> Sent:
        started = time.perf_counter()
        await get_channel_layer().group_send(user_group(person.pk), _bench_event(seq))
        return Sent(started, seq, time.perf_counter())

    async def _many(self, batch: Sequence[tuple[User, int]]) -> list[Sent]:
        return [await self._one(person, seq) for person, seq in batch]

    async def _run(self, coroutine, timeout: float):
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return await asyncio.wait_for(asyncio.wrap_future(future), timeout)

    async def one(self, person: User, seq: int) -> Sent:
        return await self._run(self._one(person, seq), SEND_TIMEOUT)

    async def many(self, batch: Sequence[tuple[User, int]]) -> list[Sent]:
        return await self._run(self._many(batch), FANOUT_TIMEOUT)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


# --- Receiving -------------------------------------------------------------------------------


@dataclass
class Expectation:
    socket: int  # index of the person (and of their socket) who must get it
    phase: str
    arrived: asyncio.Future
    sent_at: float = math.nan
    message_id: int | None = None


@dataclass
class Fleet:
    """The clients: one websocket per person, each read by its own task, which notes
    when each message arrives and on which socket."""

    urls: list[str]
    sockets: list[ClientConnection | None] = field(default_factory=list)
    readers: list[asyncio.Task] = field(default_factory=list)
    expected: dict[int, Expectation] = field(default_factory=dict)
    arrivals: dict[int, list[tuple[int, float, object]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    strays: list[tuple[int, str]] = field(default_factory=list)
    lost: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    retries: int = 0
    closing: bool = False
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def connect(self) -> None:
        self.sockets = [None] * len(self.urls)
        for start in range(0, len(self.urls), CONNECT_BATCH):
            batch = range(start, min(start + CONNECT_BATCH, len(self.urls)))
            await asyncio.gather(*(self._open(index) for index in batch))

    async def _open(self, index: int) -> None:
        for attempt in range(3):
            try:
                socket = await connect(
                    self.urls[index],
                    origin=ORIGIN,
                    open_timeout=20,
                    close_timeout=5,
                    ping_interval=None,  # the server pings every 20 s; we answer
                    proxy=None,
                )
            except (OSError, TimeoutError, InvalidHandshake) as error:
                if attempt == 2:
                    self.failed.append((index, repr(error)))
                    return
                self.retries += 1
                await asyncio.sleep(0.5 * (attempt + 1))
            else:
                self.sockets[index] = socket
                self.readers.append(asyncio.create_task(self._read(index, socket)))
                return

    async def _read(self, index: int, socket: ClientConnection) -> None:
        try:
            async for raw in socket:
                received_at = time.perf_counter()
                message = json.loads(raw)
                payload = message.get("payload")
                seq = payload.get("seq") if isinstance(payload, dict) else None
                expectation = self.expected.get(seq)
                if expectation is None:
                    self.strays.append((index, str(raw)[:200]))
                    continue
                self.arrivals[seq].append((index, received_at, message.get("id")))
                if not expectation.arrived.done():
                    expectation.arrived.set_result(received_at)
        except ConnectionClosed as closed:
            if not self.closing:
                self.lost.append((index, repr(closed)))
        else:
            if not self.closing:
                self.lost.append((index, "closed by the server"))

    @property
    def connected(self) -> int:
        return sum(socket is not None for socket in self.sockets)

    def expect(self, socket: int, phase: str) -> tuple[int, Expectation]:
        seq = next(self._seq)
        expectation = Expectation(socket, phase, asyncio.get_running_loop().create_future())
        self.expected[seq] = expectation
        return seq, expectation

    def missing(self) -> dict[str, int]:
        """Per phase, how many messages never arrived."""
        counts: dict[str, int] = defaultdict(int)
        for seq, expectation in self.expected.items():
            if not self.arrivals.get(seq):
                counts[expectation.phase] += 1
        return dict(counts)

    def problems(self) -> list[str]:
        """Duplicates, wrong sockets, wrong ids, strays, dropped connections."""
        found = []
        for seq, expectation in self.expected.items():
            arrivals = self.arrivals.get(seq, [])
            if not arrivals:
                continue  # counted by missing()
            if len(arrivals) > 1:
                found.append(f"message {seq} arrived {len(arrivals)} times (want once)")
                continue
            socket, _, message_id = arrivals[0]
            if socket != expectation.socket:
                found.append(f"message {seq} reached socket {socket}, not {expectation.socket}")
            if message_id != expectation.message_id:
                found.append(f"message {seq} has id {message_id}, not {expectation.message_id}")
        found += [f"unexpected message on socket {i}: {raw}" for i, raw in self.strays]
        found += [f"socket {i} closed during the run: {why}" for i, why in self.lost]
        found += [f"socket {i} did not connect: {why}" for i, why in self.failed]
        return found

    async def close(self) -> None:
        self.closing = True
        open_sockets = [socket for socket in self.sockets if socket is not None]
        for start in range(0, len(open_sockets), 200):
            await asyncio.wait_for(
                asyncio.gather(
                    *(socket.close() for socket in open_sockets[start : start + 200]),
                    return_exceptions=True,
                ),
                CLOSE_TIMEOUT,
            )
        if self.readers:
            _, pending = await asyncio.wait(self.readers, timeout=CLOSE_TIMEOUT)
            for reader in pending:
                reader.cancel()


# --- Measuring -------------------------------------------------------------------------------


@dataclass
class Latency:
    path: str
    samples: int
    missing: int
    received: list[tuple[Sent, float]]  # each send and when its message arrived

    @property
    def latencies(self) -> list[float]:
        return [received_at - sent.sent_at for sent, received_at in self.received]

    @property
    def calls(self) -> list[float]:
        return [sent.returned_at - sent.sent_at for sent, _ in self.received]


@dataclass
class Fanout:
    path: str
    messages: int
    received: int
    send_loop: float  # seconds from the first send to the last send's return
    all_received: float  # seconds from the first send to the last receipt
    latencies: list[float]
    dropped: int = 0  # refused by the channel layer: over capacity


@dataclass
class Usage:
    phase: str
    wall: float
    bench: float
    server: float
    redis: float | None
    postgres: float | None


@dataclass
class Report:
    connected: int = 0
    connect_seconds: float = 0.0
    connect_retries: int = 0
    sockets_per_worker: list[int] = field(default_factory=list)
    rss_per_worker: list[float] = field(default_factory=list)
    latency: list[Latency] = field(default_factory=list)
    fanout: list[Fanout] = field(default_factory=list)
    usage: list[Usage] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)  # per phase, over capacity
    missing: dict[str, int] = field(default_factory=dict)  # per phase, never arrived
    problems: list[str] = field(default_factory=list)
    load_end: str = ""


class CapacityDrops(logging.Handler):
    """Counts the messages channels-redis refuses because a queue is full: it logs
    "<n> of <m> channels over capacity in group <g>" and carries on."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "over capacity" in str(record.msg) and record.args:
            self.count += int(record.args[0])


class Meter:
    """CPU seconds spent by each process of the stack during a phase."""

    def __init__(self, server: AsgiServer, report: Report, drops: "CapacityDrops") -> None:
        self.server, self.report, self.drops = server, report, drops
        self.backend_pid: int | None = None  # the PostgreSQL backend of the sender thread

    def _now(self) -> tuple[float, float, float, float | None, float | None]:
        return (
            time.perf_counter(),
            own_cpu_seconds(),
            self.server.cpu_seconds(),
            redis_cpu_seconds(settings.REDIS_URL),
            backend_cpu_seconds(self.backend_pid) if self.backend_pid else None,
        )

    @staticmethod
    def _delta(after: float | None, before: float | None) -> float | None:
        return None if after is None or before is None else after - before

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        before, dropped = self._now(), self.drops.count
        yield
        self.report.dropped[name] = self.drops.count - dropped
        after = self._now()
        wall, bench, server, redis, postgres = (
            self._delta(a, b) for a, b in zip(after, before, strict=True)
        )
        self.report.usage.append(Usage(name, wall, bench, server, redis, postgres))


async def _latency(
    fleet: Fleet, sender, people: list[User], rng: random.Random, phase: str
) -> Latency:
    """One message at a time, to a person picked at random; a short random pause
    between them so they do not queue behind each other."""
    received, missing = [], 0
    for _ in range(SAMPLES):
        index = rng.randrange(len(people))
        seq, expectation = fleet.expect(index, phase)
        sent = await sender.one(people[index], seq)
        expectation.sent_at, expectation.message_id = sent.sent_at, sent.message_id
        try:
            received_at = await asyncio.wait_for(
                asyncio.shield(expectation.arrived), RECEIVE_TIMEOUT
            )
        except TimeoutError:
            missing += 1
            continue
        received.append((sent, received_at))
        await asyncio.sleep(rng.uniform(0.005, 0.02))
    return Latency(sender.name, SAMPLES, missing, received)


async def _fanout(
    fleet: Fleet, sender, people: list[User], rng: random.Random, phase: str
) -> Fanout:
    """One message to every person, in random order, as fast as the sender goes."""
    order = list(range(len(people)))
    rng.shuffle(order)
    planned = [(index, *fleet.expect(index, phase)) for index in order]
    sent = await sender.many([(people[index], seq) for index, seq, _ in planned])
    for (_, _, expectation), one in zip(planned, sent, strict=True):
        expectation.sent_at, expectation.message_id = one.sent_at, one.message_id
    futures = [expectation.arrived for _, _, expectation in planned]
    await asyncio.wait(futures, timeout=RECEIVE_TIMEOUT)
    arrived = [e for _, _, e in planned if e.arrived.done()]
    first = min(one.sent_at for one in sent)
    last = max((e.arrived.result() for e in arrived), default=math.nan)
    return Fanout(
        path=sender.name,
        messages=len(planned),
        received=len(arrived),
        send_loop=max(one.returned_at for one in sent) - first,
        all_received=last - first,
        latencies=[e.arrived.result() - e.sent_at for e in arrived],
    )


async def _benchmark(
    server: AsgiServer,
    people: list[User],
    tokens: list[str],
    pool: ThreadPoolExecutor,
    drops: CapacityDrops,
) -> Report:
    report = Report()
    meter = Meter(server, report, drops)
    rng = random.Random(20250101)  # picks people, not secrets
    fleet = Fleet([f"ws://127.0.0.1:{server.port}/ws/?token={token}" for token in tokens])
    senders = [
        ThreadSender("notify()", _notify, pool),
        ThreadSender("group_send, as notify() publishes", _group_send, pool),
        LoopSender(),
    ]
    try:
        with meter.phase("connect"):
            started = time.perf_counter()
            await fleet.connect()
            report.connect_seconds = time.perf_counter() - started
        report.connected, report.connect_retries = fleet.connected, fleet.retries
        report.sockets_per_worker = server.sockets_per_worker()
        report.rss_per_worker = [rss_mib(pid) for pid in server.worker_pids()]
        if fleet.failed:
            report.problems = fleet.problems()
            return report

        # Warm up: first database connection, Celery producer pool, Redis connections.
        meter.backend_pid = await asyncio.get_running_loop().run_in_executor(pool, _backend_pid)
        for sender in senders:
            for _ in range(WARM_UP):
                index = rng.randrange(len(people))
                seq, expectation = fleet.expect(index, "warm-up")
                sent = await sender.one(people[index], seq)
                expectation.message_id = sent.message_id
        await asyncio.sleep(1)

        for sender in senders:
            phase = f"latency: {sender.name}"
            with meter.phase(phase):
                report.latency.append(await _latency(fleet, sender, people, rng, phase))
            await asyncio.sleep(1)
        for sender in senders:
            phase = f"fan-out: {sender.name}"
            with meter.phase(phase):
                report.fanout.append(await _fanout(fleet, sender, people, rng, phase))
            await asyncio.sleep(1)

        # Late duplicates would arrive now.
        await asyncio.sleep(2)
        report.problems = fleet.problems()
        report.missing = fleet.missing()
        tolerant = {f"fan-out: {s.name}" for s in senders if s.may_overflow}
        for phase, missing in report.missing.items():
            dropped = report.dropped.get(phase, 0)
            if phase not in tolerant or missing > dropped:
                report.problems.append(
                    f"{phase}: {missing} messages never arrived"
                    f" (the channel layer refused {dropped} as over capacity)"
                )
        for fanout in report.fanout:
            fanout.dropped = report.dropped.get(f"fan-out: {fanout.path}", 0)
        report.load_end = " ".join(f"{value:.2f}" for value in os.getloadavg())
    finally:
        senders[-1].close()
        await fleet.close()
    return report


# --- Reporting -------------------------------------------------------------------------------


def _breakdown(report: Report) -> list[list[str]]:
    """notify() samples of (a), cut at publish_to_user()."""
    samples = [
        (sent, sent.inside, received_at)
        for row in report.latency
        for sent, received_at in row.received
        if sent.inside is not None and not math.isnan(sent.inside.publish_at)
    ]
    if not samples:
        return []
    segments = {
        "start -> publish (checks, SQL, COMMIT)": [i.publish_at - s.sent_at for s, i, _ in samples],
        "  of which SQL before COMMIT": [i.sql_before for _, i, _ in samples],
        "publish_to_user() (group_send)": [i.published_at - i.publish_at for _, i, _ in samples],
        "publish start -> socket received": [r - i.publish_at for _, i, r in samples],
        "after publish -> notify() returns": [
            s.returned_at - i.published_at for s, i, _ in samples
        ],
    }
    rows = [
        [name, *(_ms(percentile(values, p)) for p in (50, 95, 99, 100))]
        for name, values in segments.items()
    ]
    before = sorted(i.queries_before for _, i, _ in samples)
    total = sorted(i.queries for _, i, _ in samples)
    rows.append(
        [
            "SQL statements before publish / in all",
            f"{before[len(before) // 2]} / {total[len(total) // 2]}",
            "",
            "",
            "",
        ]
    )
    return rows


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _render(machine: list[tuple[str, str]], report: Report) -> str:
    workers = " / ".join(str(n) for n in report.sockets_per_worker)
    rss = " / ".join(f"{mib:.0f}" for mib in report.rss_per_worker)
    sections = [
        table(["Machine", ""], machine, title="== Machine ==", numeric=False),
        table(
            ["sockets", "connected", "time (s)", "per s", "retries", "per worker", "RSS MiB"],
            [
                [
                    PEOPLE,
                    report.connected,
                    f"{report.connect_seconds:.1f}",
                    f"{report.connected / report.connect_seconds:.0f}",
                    report.connect_retries,
                    workers,
                    rss,
                ]
            ],
            title=f"== Websockets: uvicorn --workers {WORKERS}, batches of {CONNECT_BATCH} ==",
        ),
    ]
    if report.latency:
        sections.append(
            table(
                ["path", "n", "lost", "call p50", "p50", "p95", "p99", "max"],
                [
                    [
                        row.path,
                        len(row.latencies),
                        row.missing,
                        _ms(percentile(row.calls, 50)),
                        _ms(percentile(row.latencies, 50)),
                        _ms(percentile(row.latencies, 95)),
                        _ms(percentile(row.latencies, 99)),
                        _ms(max(row.latencies, default=math.nan)),
                    ]
                    for row in report.latency
                ],
                title=(
                    "== (a, c) Latency, send call start -> received by the socket (ms);"
                    " one at a time =="
                ),
            )
        )
    breakdown = _breakdown(report)
    if breakdown:
        sections.append(
            table(
                ["segment of (a) notify()", "p50", "p95", "p99", "max"],
                breakdown,
                title="== Where the time of (a) goes (ms) ==",
            )
        )
    if report.fanout:
        sections.append(
            table(
                [
                    "path",
                    "messages",
                    "received",
                    "refused",
                    "send loop (s)",
                    "all received (s)",
                    "msg/s",
                    "p50 ms",
                    "p99 ms",
                    "max ms",
                ],
                [
                    [
                        row.path,
                        row.messages,
                        row.received,
                        row.dropped,
                        f"{row.send_loop:.2f}",
                        f"{row.all_received:.2f}",
                        f"{row.received / row.all_received:.0f}",
                        _ms(percentile(row.latencies, 50)),
                        _ms(percentile(row.latencies, 99)),
                        _ms(max(row.latencies, default=math.nan)),
                    ]
                    for row in report.fanout
                ],
                title="== (b, c) Fan-out: one message to each person, from one thread ==",
            )
        )
    if report.usage:

        def cpu(value: float | None) -> str:
            return "-" if value is None else f"{value:.1f}"

        sections.append(
            table(
                ["phase", "wall", "bench process", "uvicorn", "redis-server", "pg backend"],
                [
                    [
                        u.phase,
                        f"{u.wall:.1f}",
                        *(cpu(v) for v in (u.bench, u.server, u.redis, u.postgres)),
                    ]
                    for u in report.usage
                ],
                title=(
                    "== CPU seconds per phase (2 cores: at most 2 x wall);"
                    " redis-server counts all its clients; pg backend: the connection"
                    " notify() uses =="
                ),
            )
        )
    if report.problems:
        verdict = f"{len(report.problems)} problems; first: {report.problems[0]}"
    else:
        verdict = "every message arrived exactly once, with the right id, on the right socket"
        refused = {phase: n for phase, n in report.missing.items() if n}
        if refused:
            verdict += ", except those the channel layer refused as over capacity: " + ", ".join(
                f"{n} in {phase}" for phase, n in refused.items()
            )
    sections.append(f"Correctness: {verdict}.")
    sections.append(f"Load average at end: {report.load_end}")
    return "\n\n".join(sections)
