"""The load test's stack and load generator, shared by the benchmark (bench_load.py) and
its short smoke version in the normal suite (tests/infra/test_load_smoke.py).

The stack is the production process layout of infra/multiproc.py (uvicorn web processes
behind nginx, Celery workers, one beat) on a database seeded by tests/perf/load_world.py:
either a PostgreSQL and Redis of its own (the benchmark) or the test database the suite
already made (the smoke test).

The generator is one asyncio process with aiohttp (HTTP and websockets): it costs far
less CPU per request than a thread per user or locust's gevent, which matters because it
shares the two cores with the servers it measures. The load is open-loop: requests
start on a fixed schedule (`rate` per second) whatever the server does, and latency
counts from the scheduled start, so a slow server cannot slow the generator down and
hide its own queueing. The mix is a deck of steps, each appearing `weight` times,
shuffled and dealt in turn, so a short run still makes every step.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from infra.multiproc import Layout, PrivatePostgres, PrivateRedis
from tests.perf._servers import ROOT, children_of, cpu_seconds, cpu_seconds_of_tree, percentile

STOCKHOLM = ZoneInfo("Europe/Stockholm")
STATIC_PATH = "/static/webapp/app.css"
REQUEST_TIMEOUT = 30.0


# --- The stack -------------------------------------------------------------------------------


@dataclass
class Sizes:
    """Per association, except `associations`."""

    associations: int = 6
    drivers: int = 80
    residents: int = 100
    sessions: int = 40
    rides: int = 600
    trips: int = 12
    things: int = 6

    def args(self) -> list[str]:
        return [arg for name, value in vars(self).items() for arg in (f"--{name}", str(value))]


@dataclass
class LoadStack:
    """Seeded database, Redis and the process layout; a context manager.

    With `database_url` and `redis_url` it runs on those (already migrated); without,
    it starts a PostgreSQL (with pg_stat_statements) and a Redis of its own."""

    sizes: Sizes
    web: int = 2
    workers: int = 1
    concurrency: int = 2
    database_url: str = ""
    redis_url: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)
    base: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="samby-load-")))
    pg: PrivatePostgres | None = None
    redis: PrivateRedis | None = None
    layout: Layout | None = None
    world: dict = field(default_factory=dict)
    seed_seconds: float = 0.0
    keep_logs: bool = field(default_factory=lambda: bool(os.environ.get("SAMBY_KEEP_LOAD_LOGS")))

    def env(self) -> dict[str, str]:
        # Production settings (DEBUG off, the connection pool), on plain HTTP: TLS ends
        # in front of nginx in production, so no redirect and no secure-only cookies here.
        return {
            "DJANGO_ENV": "production",
            "SECRET_KEY": "load-test-" + "k3Yq9Vx2Lm7Rt4Wz8Bn1Hc6Jd0Fs5Gp" * 2,
            "SITE_URL": "http://127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_COOKIES": "false",
            "SECURE_HSTS_SECONDS": "0",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SMS_BACKEND": "console",
            "SMS_CONSOLE_FILE": str(self.base / "sms.log"),
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "LOG_LEVEL": "WARNING",
            "ROUTER_URL": "",
            "GEOCODER_URL": "",
            **self.extra_env,
        }

    def _run(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        env = {**os.environ, **self.env(), "DJANGO_SETTINGS_MODULE": "backend.settings"}
        env.pop("SAMBY_TEST_REDIS_DB", None)
        return subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=env, check=True, text=True, **kwargs
        )

    def start(self) -> LoadStack:
        self.base.mkdir(parents=True, exist_ok=True)
        self.base.chmod(0o755)  # the postgres user enters it when we run as root
        if not self.database_url:
            self.pg = PrivatePostgres(self.base / "pg").init()
            (self.pg.data / "postgresql.auto.conf").open("a").write(
                "shared_preload_libraries = 'pg_stat_statements'\n"
                "max_connections = 300\n"
                "shared_buffers = '256MB'\n"
                "pg_stat_statements.track_planning = on\n"
            )
            self.pg.restart()
            self.pg.psql("create extension pg_stat_statements", database="samby")
            self.redis = PrivateRedis(self.base / "redis").start()
            self.database_url, self.redis_url = self.pg.url, self.redis.url
            self._run(["manage.py", "migrate", "--noinput", "-v", "0"])
        started = time.monotonic()
        self.world = json.loads(
            self._run(
                ["-m", "tests.perf.load_world", *self.sizes.args()], capture_output=True
            ).stdout
        )
        self.seed_seconds = time.monotonic() - started
        # nginx serves what collectstatic wrote, as in production (hashed names and a
        # manifest, which the pages need); skipped when nothing changed since last time.
        if not _static_collected():
            self._run(["manage.py", "collectstatic", "--noinput", "-v", "0"])
        self.layout = Layout(
            web=self.web,
            workers=self.workers,
            beat=True,
            env=self.env(),
            work=self.base / "layout",
            worker_concurrency=self.concurrency,
        ).start()
        return self

    def stop(self) -> None:
        if self.layout is not None:
            self.layout.stop()
        if self.redis is not None:
            self.redis.stop()
        if self.pg is not None:
            with contextlib.suppress(subprocess.CalledProcessError):
                self.pg.stop()
        if not self.keep_logs:
            shutil.rmtree(self.base, ignore_errors=True)

    def error_lines(self, limit: int = 20) -> list[str]:
        """What the servers logged about errors: the app's processes' errors and the
        database's, but for the constraint violations that are expected conflicts (two
        bookings of one slot: a 409)."""
        logs = sorted((self.base / "layout").glob("*.log")) + sorted(self.base.glob("pg/*.log"))
        found = []
        for path in logs:
            for line in path.read_text(errors="replace").splitlines():
                if _SERVER_ERROR.search(line) and not _EXPECTED_CONFLICT.search(line):
                    found.append(f"{path.name}: {line.strip()}"[:300])
        return found[:limit]

    def __enter__(self) -> LoadStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self.layout.url

    # --- CPU per part -----------------------------------------------------------------

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of each part of the stack (live processes and the children
        they reaped)."""
        parts: dict[str, float] = defaultdict(float)
        for name, process in self.layout.processes.items():
            group = "".join(c for c in name if not c.isdigit())
            parts[group] += cpu_seconds_of_tree(process.pid)
        if self.pg is not None:
            postmaster = _postmaster_pid(self.pg.data)
            if postmaster:
                parts["postgres"] = cpu_seconds_of_tree(postmaster)
        if self.redis is not None and self.redis.process is not None:
            parts["redis"] = cpu_seconds(self.redis.process.pid)
        return dict(parts)

    def top_statements(self, limit: int = 15) -> list[tuple]:
        """pg_stat_statements (private database only): (calls, ms executing, ms planning,
        statement), all statements together first, then the busiest."""
        if self.pg is None:
            return []
        columns = "round(sum(total_exec_time)::numeric, 1), round(sum(total_plan_time)::numeric, 1)"
        everything = self.pg.psql(
            f"select sum(calls), {columns}, '(all statements)' from pg_stat_statements",  # noqa: S608 - constants
            database="samby",
        )
        busiest = self.pg.psql(
            f"select sum(calls), {columns}, regexp_replace(left(query, 3000), '\\s+', ' ', 'g')"  # noqa: S608 - constants and an int
            " from pg_stat_statements group by query"
            f" order by sum(total_exec_time + total_plan_time) desc limit {int(limit)}",
            database="samby",
        )
        lines = everything.splitlines() + busiest.splitlines()
        return [tuple(line.split("|", 3)) for line in lines if line]

    def reset_statements(self) -> None:
        if self.pg is not None:
            self.pg.psql("select pg_stat_statements_reset()", database="samby")


_SERVER_ERROR = re.compile(r"ERROR|CRITICAL|Traceback|deadlock|database unavailable")
_EXPECTED_CONFLICT = re.compile(r"violates (exclusion|unique) constraint|Key \(")


def _static_collected() -> bool:
    """True when var/static has a manifest newer than every static file of the apps."""
    manifest = ROOT / "var" / "static" / "staticfiles.json"
    if not manifest.exists():
        return False
    collected = manifest.stat().st_mtime
    sources = (p for p in ROOT.glob("*/static") if p.parent.name not in {"var", ".venv"})
    return all(
        path.stat().st_mtime < collected
        for static in sources
        for path in static.rglob("*")
        if path.is_file()
    )


def _postmaster_pid(data: Path) -> int | None:
    try:
        return int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine (every process, ours and others')."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


# --- Requests ------------------------------------------------------------------------------


@dataclass
class Call:
    """One request a step makes. `ok` statuses are successes; `conflict` statuses are
    expected losses (a seat or a slot someone else took first), counted apart."""

    method: str
    path: str
    token: str = ""
    session: str = ""
    params: dict | None = None
    body: dict | None = None
    ok: tuple[int, ...] = (200,)
    conflict: tuple[int, ...] = ()

    def headers(self) -> dict[str, str]:
        headers = {"Accept-Language": "sv"}
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        if self.session:
            headers["Cookie"] = f"sessionid={self.session}; csrftoken={self.csrf_cookie()}"
        return headers

    def csrf_cookie(self) -> str:
        """The CSRF cookie a browser holds since its first page (Django sets it with the
        first form it shows, and checks only its form): any 32 letters and digits, kept
        per session. Without it, every page would make and send a new one."""
        return hashlib.md5(self.session.encode(), usedforsecurity=False).hexdigest()


@dataclass
class Step:
    name: str
    who: str  # resident, driver, coordinator
    weight: int
    make: Callable[[random.Random, World], Call]


class World:
    """The seeded people, flattened for picking at random."""

    def __init__(self, data: dict) -> None:
        self.data = data
        self.associations = data["associations"]
        self.residents = [(a, r) for a in self.associations for r in a["residents"]]
        self.browsers = [(a, r) for a, r in self.residents if r["session"]]
        self.drivers = [(a, d) for a in self.associations for d in a["drivers"]]
        self.members = sum(a["members"] for a in self.associations)

    def resident(self, rng: random.Random) -> tuple[dict, dict]:
        return rng.choice(self.residents)

    def browser(self, rng: random.Random) -> tuple[dict, dict]:
        return rng.choice(self.browsers)

    def driver(self, rng: random.Random) -> tuple[dict, dict]:
        return rng.choice(self.drivers)

    def association(self, rng: random.Random) -> dict:
        return rng.choice(self.associations)


def _future(rng: random.Random, *, days: tuple[int, int] = (2, 20), hours=(8, 17)) -> dt.datetime:
    day = dt.datetime.now(tz=STOCKHOLM).date() + dt.timedelta(days=rng.randint(*days))
    return dt.datetime.combine(
        day, dt.time(rng.randint(*hours), rng.choice((0, 15, 30, 45))), tzinfo=STOCKHOLM
    )


def _point(lonlat: list[float]) -> dict:
    return {"type": "Point", "coordinates": lonlat}


def _ride_request(rng: random.Random, world: World) -> Call:
    association, resident = world.resident(rng)
    destination = rng.choice(association["villages"])
    return Call(
        "POST",
        "/api/v1/rides/",
        token=resident["token"],
        body={
            "pickup": {"address": "Byvägen 1", "point": _point(resident["home"])},
            "destination": {"address": "Vårdcentralen", "point": _point(destination)},
            "time": {"kind": "pickup_at", "at": _future(rng).isoformat()},
        },
        ok=(201,),
        # The same person already has a ride at that time.
        conflict=(409,),
    )


def _carpool_search(rng: random.Random, world: World) -> Call:
    association, resident = world.resident(rng)
    departure = rng.choice(association["occurrences"])
    at = dt.datetime.fromisoformat(departure["at"])
    return Call(
        "GET",
        "/api/v1/carpool/search",
        token=resident["token"],
        params={
            "pickup": ",".join(map(str, departure["pickup"])),
            "dropoff": ",".join(map(str, departure["dropoff"])),
            "window_start": (at - dt.timedelta(minutes=45)).isoformat(),
            "window_end": (at + dt.timedelta(minutes=45)).isoformat(),
        },
    )


def _carpool_booking(rng: random.Random, world: World) -> Call:
    association, resident = world.resident(rng)
    departure = rng.choice(association["occurrences"])
    return Call(
        "POST",
        "/api/v1/carpool/bookings/",
        token=resident["token"],
        body={
            "departure": departure["id"],
            "pickup": _point(departure["pickup"]),
            "pickup_address": "Busshållplatsen",
            "dropoff": _point(departure["dropoff"]),
            "dropoff_address": "Torget",
        },
        ok=(201,),
        # The departure is full, or this person already asked for a seat in it.
        conflict=(409,),
    )


def _sharing_booking(rng: random.Random, world: World) -> Call:
    association, resident = world.resident(rng)
    start = _future(rng, days=(1, 60), hours=(7, 18))
    return Call(
        "POST",
        f"/api/v1/sharing/resources/{rng.choice(association['resources'])}/bookings",
        token=resident["token"],
        body={
            "starts_at": start.isoformat(),
            "ends_at": (start + dt.timedelta(hours=rng.choice((1, 2, 3)))).isoformat(),
        },
        ok=(201,),
        # Someone booked the thing for an overlapping time first.
        conflict=(409,),
    )


def _shared_things(rng: random.Random, world: World) -> Call:
    _, resident = world.resident(rng)
    lon, lat = resident["home"]
    return Call(
        "GET",
        "/api/v1/sharing/resources/",
        token=resident["token"],
        params={"lon": lon, "lat": lat},
    )


def _get(path: str, *, who: str, web: bool = False) -> Callable[[random.Random, World], Call]:
    def make(rng: random.Random, world: World) -> Call:
        if who == "coordinator":
            association = world.association(rng)
            person = association["coordinator"]
        elif who == "driver":
            association, person = world.driver(rng)
        elif web:
            association, person = world.browser(rng)
        else:
            association, person = world.resident(rng)
        resolved = path.format(association=association["id"])
        if web:
            return Call("GET", resolved, session=person["session"])
        return Call("GET", resolved, token=person["token"])

    return make


# The mix: what each kind of person does, in proportion. Residents browse far more than
# they book; drivers' apps poll their offers; coordinators keep the board open (the page
# fetches itself again on each live event) and look at the association's rides. There are
# six coordinators to 1,080 residents and drivers, so at 300 requests a second each still
# opens a page or the ride list about three times a second.
STEPS: list[Step] = [
    Step("home page", "resident", 8, _get("/", who="resident", web=True)),
    Step("my rides page", "resident", 4, _get("/rides/", who="resident", web=True)),
    Step("carpool page", "resident", 3, _get("/carpool/", who="resident", web=True)),
    Step("shared things page", "resident", 3, _get("/sharing/", who="resident", web=True)),
    Step("API my rides", "resident", 8, _get("/api/v1/rides/", who="resident")),
    Step("API villages", "resident", 4, _get("/api/v1/villages/", who="resident")),
    Step("API carpool search", "resident", 8, _carpool_search),
    Step("API shared things", "resident", 6, _shared_things),
    Step("API notifications", "resident", 4, _get("/api/v1/notifications/", who="resident")),
    Step("API ride request", "resident", 1, _ride_request),
    Step("API carpool booking", "resident", 1, _carpool_booking),
    Step("API sharing booking", "resident", 1, _sharing_booking),
    Step("API driver offers", "driver", 14, _get("/api/v1/offers/", who="driver")),
    Step("API driver rides", "driver", 5, _get("/api/v1/driver/rides", who="driver")),
    Step(
        "API association rides",
        "coordinator",
        2,
        _get("/api/v1/associations/{association}/rides/", who="coordinator"),
    ),
    Step("console board page", "coordinator", 2, _get("/console/", who="coordinator", web=True)),
    Step(
        "console roster page",
        "coordinator",
        1,
        _get("/console/roster/", who="coordinator", web=True),
    ),
]
OFFER_ACCEPT = "API offer accept (on live offer)"
BROADCAST = "API association message (to all)"
BASELINE_STATIC = "baseline: static file (nginx)"
BASELINE_HEALTHZ = "baseline: /healthz (app)"


# --- Results ----------------------------------------------------------------------------------


@dataclass
class Sample:
    name: str
    phase: str
    status: int  # 0: no answer (timeout, connection error)
    latency: float  # seconds from the scheduled start to the whole body read
    lag: float  # seconds the generator started it late
    outcome: str  # ok, conflict, error, skipped (not sent: the app had fallen behind)
    at: float = 0.0  # seconds from the start of the phase to the scheduled start


@dataclass
class Results:
    samples: list[Sample] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)  # (name, status, detail) -> n
    phases: dict[str, dict] = field(default_factory=dict)
    sockets: dict[str, Any] = field(default_factory=dict)
    skipped: int = 0
    costs: list[dict] = field(default_factory=list)  # Generator.step_costs

    def of(self, phase: str) -> list[Sample]:
        return [s for s in self.samples if s.phase == phase]

    def table_rows(self, phase: str) -> list[dict]:
        by_name: dict[str, list[Sample]] = defaultdict(list)
        for sample in self.of(phase):
            by_name[sample.name].append(sample)
        seconds = self.phases[phase]["seconds"]
        rows = [
            {"endpoint": name, **_summary(samples, seconds)} for name, samples in by_name.items()
        ]
        return sorted(rows, key=lambda r: -r["requests"])

    def total(self, phase: str) -> dict:
        return _summary(self.of(phase), self.phases[phase]["seconds"])

    def slices(self, phase: str, seconds: float = 5.0) -> list[dict]:
        """The phase in slices of `seconds` by scheduled start: where in time the slow
        requests were, and which requests to all members were sent in each."""
        by_slice: dict[int, list[Sample]] = defaultdict(list)
        for sample in self.of(phase):
            by_slice[int(sample.at // seconds)].append(sample)
        return [
            {
                "from_s": n * seconds,
                **_summary(samples, seconds),
                "broadcasts": sum(s.name == BROADCAST for s in samples),
            }
            for n, samples in sorted(by_slice.items())
        ]


def _summary(samples: list[Sample], seconds: float) -> dict:
    """Counts, and latencies of the requests that were sent. `served_per_s` counts the
    answers that were meant (successes and expected conflicts): the sustained rate."""
    sent = [s for s in samples if s.outcome != "skipped"]
    latencies = [s.latency * 1000 for s in sent]
    served = sum(s.outcome in ("ok", "conflict") for s in samples)
    return {
        "requests": len(samples),
        "per_s": len(samples) / seconds if seconds else 0.0,
        "served_per_s": served / seconds if seconds else 0.0,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies) if latencies else float("nan"),
        "conflicts": sum(s.outcome == "conflict" for s in samples),
        "errors": sum(s.outcome in ("error", "skipped") for s in samples),
        "not_sent": sum(s.outcome == "skipped" for s in samples),
        "lag_p99_ms": percentile([s.lag * 1000 for s in sent], 99),
    }


# --- The generator ------------------------------------------------------------------------


class LiveSocket:
    """A phone's websocket (`/ws/?token=`): counts what it receives; a driver's app
    accepts some of the ride offers it gets."""

    def __init__(self, person: dict, association: int, *, driver: bool) -> None:
        self.person = person
        self.association = association
        self.driver = driver
        self.kinds: Counter = Counter()
        self.ids: list[int] = []  # notification ids in the order they arrived
        self.open = False
        self.closed_early = False
        self.task: asyncio.Task | None = None


class Generator:
    def __init__(
        self,
        base_url: str,
        world: dict,
        *,
        seed: int = 1,
        connections: int = 64,
        max_in_flight: int = 600,
        accept_share: float = 0.5,
    ) -> None:
        self.base_url = base_url
        self.world = World(world)
        self.rng = random.Random(seed)
        self.connections = connections
        self.max_in_flight = max_in_flight
        self.accept_share = accept_share
        self.results = Results()
        self.sockets: list[LiveSocket] = []
        self.in_flight: set[asyncio.Task] = set()
        self.session: aiohttp.ClientSession | None = None
        self.ws_session: aiohttp.ClientSession | None = None
        self.phase = "setup"
        self.phase_start = 0.0

    async def __aenter__(self) -> Generator:
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        self.session = aiohttp.ClientSession(
            self.base_url,
            connector=aiohttp.TCPConnector(limit=self.connections, force_close=False),
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=timeout,
        )
        # Each websocket on its own connection, as each phone has.
        self.ws_session = aiohttp.ClientSession(
            self.base_url,
            connector=aiohttp.TCPConnector(limit=0),
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
        )
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close_sockets()
        await self.session.close()
        await self.ws_session.close()

    # --- HTTP ---------------------------------------------------------------------------

    async def _call(self, name: str, call: Call, scheduled: float) -> None:
        loop = asyncio.get_running_loop()
        phase = self.phase
        lag = loop.time() - scheduled
        status, detail = 0, ""
        try:
            async with self.session.request(
                call.method,
                call.path,
                headers=call.headers(),
                params=call.params,
                json=call.body,
                allow_redirects=False,
            ) as response:
                body = await response.read()
                status = response.status
                if status not in call.ok and status not in call.conflict:
                    detail = body[:200].decode(errors="replace")
        except (TimeoutError, aiohttp.ClientError) as error:
            detail = f"{type(error).__name__}: {error}"[:200]
        latency = loop.time() - scheduled
        if status in call.ok:
            outcome = "ok"
        elif status in call.conflict:
            outcome = "conflict"
        else:
            outcome = "error"
            self.results.errors[(name, status, detail)] += 1
        self.results.samples.append(
            Sample(name, phase, status, latency, lag, outcome, self._at(scheduled))
        )

    def _at(self, scheduled: float) -> float:
        """Seconds into the phase; an answer to an offer that came before the phase
        counts from its start."""
        return max(0.0, scheduled - self.phase_start)

    async def step_costs(self, each: int, cpu_probe: Callable[[], dict]) -> list[dict]:
        """Each step alone, `each` requests one after another (after 3 to warm up): the
        CPU the web processes and PostgreSQL used per request, without any queueing. With
        the mix's weights this gives the mean cost of a request, and so the most two cores
        could serve."""
        loop = asyncio.get_running_loop()
        rows = []
        for step in STEPS:
            self.phase = f"cost: {step.name}"
            for _ in range(3):
                await self._call(step.name, step.make(self.rng, self.world), loop.time())
            self.results.samples = [s for s in self.results.samples if s.phase != self.phase]
            before = cpu_probe()
            for _ in range(each):
                await self._call(step.name, step.make(self.rng, self.world), loop.time())
            used = _cpu_delta(before, cpu_probe())
            samples = self.results.of(self.phase)
            rows.append(
                {
                    "endpoint": step.name,
                    "weight": step.weight,
                    "requests": each,
                    "web_ms": used.get("web", 0.0) * 1000 / each,
                    "postgres_ms": used.get("postgres", 0.0) * 1000 / each,
                    "wall_ms": used["wall"] * 1000 / each,
                    "errors": sum(s.outcome == "error" for s in samples),
                }
            )
        return rows

    def _start(self, name: str, call: Call, scheduled: float, *, always: bool = False) -> None:
        """Start a request; a scheduled one is not sent (and counts as an error, "skipped")
        while `max_in_flight` are still unanswered: the app has fallen behind by then, and
        piling up more would only measure the generator. `always`: the few requests that
        people make in answer to an event (an offer, a message to send) go regardless."""
        if len(self.in_flight) >= self.max_in_flight and not always:
            self.results.skipped += 1
            self.results.errors[(name, 0, "not sent: too many requests in flight")] += 1
            self.results.samples.append(
                Sample(name, self.phase, 0, 0.0, 0.0, "skipped", self._at(scheduled))
            )
            return
        task = asyncio.create_task(self._call(name, call, scheduled))
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)

    async def run_phase(
        self,
        phase: str,
        *,
        rate: float,
        seconds: float,
        deal: Callable[[], tuple[str, Call]],
        at: list[tuple[float, Callable[[], None]]] = (),
    ) -> None:
        """`rate` requests a second for `seconds`, each from `deal()`; `at` are
        (offset, function) to call once on the way (the broadcasts)."""
        loop = asyncio.get_running_loop()
        self.phase = phase
        pending = sorted(at, key=lambda pair: pair[0])
        count = int(rate * seconds)
        start = self.phase_start = loop.time() + 0.05
        for i in range(count):
            scheduled = start + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            while pending and pending[0][0] <= scheduled - start:
                pending.pop(0)[1]()
            name, call = deal()
            self._start(name, call, scheduled)
        for _, function in pending:
            function()
        await self.drain()
        self.results.phases[phase] = {"rate": rate, "seconds": seconds}

    async def run_closed(
        self,
        phase: str,
        *,
        concurrency: int,
        seconds: float,
        deal: Callable[[], tuple[str, Call]],
    ) -> None:
        """Closed loop: `concurrency` clients, each sending its next request as soon as
        the last one is answered, for `seconds`. What the app can serve at most, now."""
        loop = asyncio.get_running_loop()
        self.phase = phase
        self.phase_start = loop.time()
        end = self.phase_start + seconds

        async def client() -> None:
            while loop.time() < end:
                name, call = deal()
                await self._call(name, call, loop.time())

        await asyncio.gather(*(client() for _ in range(concurrency)))
        self.results.phases[phase] = {"rate": 0.0, "seconds": seconds}

    async def drain(self, timeout: float = REQUEST_TIMEOUT + 5) -> None:
        """Until nothing is in flight, or `timeout`. A driver's answer to an offer waits
        a moment before its request starts, so one wait for what was in flight missed
        the requests those answers started, and the stack was stopped under them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.in_flight and (left := deadline - loop.time()) > 0:
            await asyncio.wait(set(self.in_flight), timeout=left)

    def dealer(self, steps: list[Step] = STEPS) -> Callable[[], tuple[str, Call]]:
        """The mix as a shuffled deck: every step `weight` times per round."""
        deck: list[Step] = []

        def deal() -> tuple[str, Call]:
            if not deck:
                deck.extend(step for step in steps for _ in range(step.weight))
                self.rng.shuffle(deck)
            step = deck.pop()
            return step.name, step.make(self.rng, self.world)

        return deal

    def constant(self, name: str, path: str) -> Callable[[], tuple[str, Call]]:
        return lambda: (name, Call("GET", path))

    def broadcast(self, association: dict) -> Callable[[], None]:
        """A coordinator's message to every member of the association."""

        def send() -> None:
            loop = asyncio.get_running_loop()
            call = Call(
                "POST",
                f"/api/v1/associations/{association['id']}/messages",
                token=association["coordinator"]["token"],
                body={"text": "Handlarskjutsen går som vanligt på torsdag."},
                ok=(202,),
            )
            self._start(BROADCAST, call, loop.time(), always=True)

        return send

    # --- Websockets ---------------------------------------------------------------------

    async def open_sockets(self, count: int, *, batch: int = 50) -> float:
        """Open `count` websockets (drivers first, then residents); returns seconds."""
        people = [(a["id"], d, True) for a in self.world.associations for d in a["drivers"]]
        people += [(a["id"], r, False) for a in self.world.associations for r in a["residents"]]
        if count > len(people):
            raise ValueError(f"only {len(people)} people to hold {count} websockets")
        people = people[:count]
        started = time.monotonic()
        for first in range(0, count, batch):
            opened = []
            for association, person, driver in people[first : first + batch]:
                socket = LiveSocket(person, association, driver=driver)
                ready = asyncio.get_running_loop().create_future()
                socket.task = asyncio.create_task(self._hold(socket, ready))
                self.sockets.append(socket)
                opened.append(ready)
            await asyncio.gather(*opened)
        return time.monotonic() - started

    async def _hold(self, socket: LiveSocket, ready: asyncio.Future) -> None:
        try:
            async with self.ws_session.ws_connect(
                f"/ws/?token={socket.person['token']}",
                headers={"Origin": self.base_url},
                heartbeat=None,
                autoping=True,
            ) as ws:
                socket.open = True
                ready.set_result(True)
                async for message in ws:
                    if message.type != aiohttp.WSMsgType.TEXT:
                        continue
                    event = json.loads(message.data)
                    if event.get("type") != "notification":
                        continue
                    socket.kinds[event["kind"]] += 1
                    socket.ids.append(event["id"])
                    if (
                        socket.driver
                        and self.phase == "mix"
                        and event["kind"] == "ride.offered"
                        and self.rng.random() < self.accept_share
                    ):
                        self._accept_later(socket, event["payload"]["offer"])
        except (aiohttp.ClientError, TimeoutError) as error:
            if not ready.done():
                ready.set_result(False)
            self.results.errors[("websocket", 0, f"{type(error).__name__}: {error}"[:200])] += 1
        finally:
            if not ready.done():
                ready.set_result(False)
            if socket.open and not self._closing:
                socket.closed_early = True
            socket.open = False

    _closing = False

    def _accept_later(self, socket: LiveSocket, offer: int) -> None:
        """The driver reads the offer and taps accept a moment later."""

        async def accept() -> None:
            await asyncio.sleep(self.rng.uniform(0.5, 2.0))
            call = Call(
                "POST",
                f"/api/v1/offers/{offer}/accept",
                token=socket.person["token"],
                ok=(200,),
                # Another driver of the same wave accepted first, or the wave moved on.
                conflict=(409,),
            )
            self._start(OFFER_ACCEPT, call, asyncio.get_running_loop().time(), always=True)

        task = asyncio.create_task(accept())
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)

    def sockets_open(self) -> int:
        return sum(s.open for s in self.sockets)

    async def wait_for_broadcasts(self, expected: dict[int, int], timeout: float) -> float:
        """Until every socket has its association's messages; returns seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if all(
                s.kinds["association.message"] >= expected.get(s.association, 0)
                for s in self.sockets
            ):
                break
            await asyncio.sleep(0.2)
        return time.monotonic() - started

    async def overtaken(self, expected: dict[int, int]) -> tuple[int, int]:
        """Of the sockets that did not get their association's message: how many had
        received a notification with a higher id before it (the socket then drops the
        message as already seen: ids are handed out on insert, not on commit, and the
        message's transaction to every member commits last), and how many did not."""
        overtaken = unexplained = 0
        for socket in self.sockets:
            if socket.kinds["association.message"] >= expected.get(socket.association, 0):
                continue
            async with self.session.get(
                "/api/v1/notifications/",
                headers=Call("GET", "", token=socket.person["token"]).headers(),
            ) as response:
                inbox = (await response.json())["results"]
            stored = [n["id"] for n in inbox if n["kind"] == "association.message"]
            if stored and socket.ids and max(socket.ids) > min(stored):
                overtaken += 1
            else:
                unexplained += 1
        return overtaken, unexplained

    async def close_sockets(self) -> None:
        self._closing = True
        for socket in self.sockets:
            if socket.task is not None and not socket.task.done():
                socket.task.cancel()
        tasks = [s.task for s in self.sockets if s.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


# --- One run ---------------------------------------------------------------------------------


@dataclass
class Plan:
    rate: float = 300
    seconds: float = 60
    baseline_seconds: float = 15
    warm_up_seconds: float = 10
    sockets: int = 1000
    broadcasts: bool = True
    drain_seconds: float = 60
    # Then the mix in a closed loop: the most the app serves on this machine right now.
    capacity_seconds: float = 0
    capacity_clients: int = 16
    # First, each step alone, this many requests one after another: its CPU cost.
    cost_requests: int = 0


async def run(stack: LoadStack, plan: Plan, *, cpu_probe: Callable[[], dict]) -> Results:
    """Warm-up, the two baselines and the mix at `plan.rate`, with the websockets open
    throughout; CPU seconds per part are taken around each measured phase."""
    async with Generator(stack.url, stack.world) as gen:
        results = gen.results
        if plan.cost_requests:
            results.costs = await gen.step_costs(plan.cost_requests, cpu_probe)
        results.sockets["open_seconds"] = await gen.open_sockets(plan.sockets)
        results.sockets["opened"] = gen.sockets_open()
        warm = gen.dealer()
        if plan.warm_up_seconds:
            await gen.run_phase(
                "warm-up", rate=plan.rate / 2, seconds=plan.warm_up_seconds, deal=warm
            )
        for phase, name, path in (
            ("baseline static", BASELINE_STATIC, STATIC_PATH),
            ("baseline healthz", BASELINE_HEALTHZ, "/healthz"),
        ):
            before = cpu_probe()
            await gen.run_phase(
                phase,
                rate=plan.rate,
                seconds=plan.baseline_seconds,
                deal=gen.constant(name, path),
            )
            results.phases[phase]["cpu"] = _cpu_delta(before, cpu_probe())
        at: list[tuple[float, Callable[[], None]]] = []
        expected: dict[int, int] = {}
        if plan.broadcasts:
            associations = gen.world.associations
            for n, association in enumerate(associations):
                # Spread over the middle of the run, one association at a time.
                offset = plan.seconds * (0.2 + 0.6 * n / max(1, len(associations)))
                at.append((offset, gen.broadcast(association)))
                expected[association["id"]] = 1
        before = cpu_probe()
        await gen.run_phase("mix", rate=plan.rate, seconds=plan.seconds, deal=gen.dealer(), at=at)
        results.phases["mix"]["cpu"] = _cpu_delta(before, cpu_probe())
        results.sockets["open_after_mix"] = gen.sockets_open()
        waited = await gen.wait_for_broadcasts(expected, plan.drain_seconds)
        await gen.drain()
        overtaken, unexplained = await gen.overtaken(expected)
        sockets = gen.sockets
        results.sockets.update(
            {
                "held": len(sockets),
                "closed_early": sum(s.closed_early for s in sockets),
                "with_every_broadcast": sum(
                    s.kinds["association.message"] >= expected.get(s.association, 0)
                    for s in sockets
                ),
                "broadcasts_expected": sum(expected.get(s.association, 0) for s in sockets),
                "broadcasts_received": sum(s.kinds["association.message"] for s in sockets),
                "offers_received": sum(s.kinds["ride.offered"] for s in sockets),
                "notifications_received": sum(sum(s.kinds.values()) for s in sockets),
                "broadcast_wait_seconds": waited,
                "missed_overtaken": overtaken,
                "missed_unexplained": unexplained,
            }
        )
        if plan.capacity_seconds:
            before = cpu_probe()
            await gen.run_closed(
                "capacity",
                concurrency=plan.capacity_clients,
                seconds=plan.capacity_seconds,
                deal=gen.dealer(),
            )
            results.phases["capacity"]["cpu"] = _cpu_delta(before, cpu_probe())
    return results


def _cpu_delta(before: dict, after: dict) -> dict:
    return {name: after.get(name, 0.0) - before.get(name, 0.0) for name in after}


def cpu_probe(stack: LoadStack) -> Callable[[], dict]:
    """CPU seconds of the stack's parts, this process (the generator) and the machine,
    with the wall clock."""

    def probe() -> dict:
        usage = os.times()
        return {
            **stack.cpu(),
            "generator": usage.user + usage.system,
            "machine": machine_cpu_seconds(),
            "wall": time.monotonic(),
        }

    return probe


def web_pids(stack: LoadStack) -> list[int]:
    return [p.pid for n, p in stack.layout.processes.items() if n.startswith("web")] + [
        child
        for n, p in stack.layout.processes.items()
        if n.startswith("web")
        for child in children_of(p.pid)
    ]
