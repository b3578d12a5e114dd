"""Helpers for the benchmarks: the app as real server processes, what the machine is,
CPU time per process, and plain-text tables."""

import contextlib
import math
import os
import platform
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- Processes ---------------------------------------------------------------------------


def raise_fd_limit(wanted: int = 65536) -> int:
    """Raise this process's soft limit on open files (children inherit it); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def current_database_url() -> str:
    """The URL of the database this test runs on (pytest-django's test database)."""
    from django.db import connection

    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="") + ":" + quote(db["PASSWORD"] or "", safe="")
    return f"postgis://{credentials}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def cpu_seconds(pid: int, *, with_reaped_children: bool = False) -> float:
    """User + system CPU time of a process (and of its children that have exited)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # After "pid (comm)": state is field 3, utime 14, stime 15, cutime 16, cstime 17.
    ticks = int(fields[11]) + int(fields[12])
    if with_reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def cpu_seconds_of_tree(pid: int) -> float:
    """A parent, its live children and the children it has reaped."""
    return cpu_seconds(pid, with_reaped_children=True) + sum(
        cpu_seconds(child) for child in children_of(pid)
    )


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after the last ")".
    return raw[raw.rindex(")") + 2 :].split()


def established_sockets(pid: int, port: int) -> int:
    """How many ESTABLISHED TCP connections on local `port` the process holds open."""
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return 0
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01" and fields[9] in inodes:
                count += 1
    return count


class AsgiServer:
    """`uvicorn backend.asgi:application` in its own process group, on the test database
    and the test Redis. Use as a context manager: the processes always end."""

    def __init__(self, *, workers: int, log_path: Path, database_url: str) -> None:
        self.port = free_port()
        self.workers = workers
        self.log_path = log_path
        self.command = [
            sys.executable,
            "-m",
            "uvicorn",
            "backend.asgi:application",
            "--workers",
            str(workers),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--ws",
            "websockets-sansio",
            "--lifespan",
            "off",
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        self.env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="tests.settings",
            DATABASE_URL=database_url,
            PYTHONUNBUFFERED="1",
        )
        self.process: subprocess.Popen | None = None
        self._log = None

    def __enter__(self) -> "AsgiServer":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        """The worker processes (the supervisor also starts a resource tracker)."""
        if self.process is None:
            return []
        return [
            pid
            for pid in children_of(self.process.pid)
            if b"spawn_main" in _read_bytes(f"/proc/{pid}/cmdline")
        ]

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until /healthz answers 200 and all workers run. Workers that are not ready do
        not accept, so a 200 proves only that one is; each worker imports the app before
        it starts accepting, so wait for the others to settle as well."""
        deadline = time.monotonic() + timeout
        healthy_since = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {self.process.returncode}:\n{self.log()}")
            if self._healthy():
                healthy_since = healthy_since or time.monotonic()
                # All workers forked, and time for the last one to finish importing.
                if len(self.worker_pids()) >= self.workers and (
                    time.monotonic() - healthy_since > 2.0
                ):
                    return
            time.sleep(0.2)
        raise RuntimeError(f"uvicorn did not become ready in {timeout:.0f} s:\n{self.log()}")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as response:  # noqa: S310 - our own server
                return response.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def cpu_seconds(self) -> float:
        return cpu_seconds_of_tree(self.process.pid) if self.process else 0.0

    def sockets_per_worker(self) -> list[int]:
        return [established_sockets(pid, self.port) for pid in self.worker_pids()]

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM to the process group (supervisor and workers), SIGKILL if it lingers."""
        process = self.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        if process is not None:
            # Workers left behind by a supervisor that died first.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None


# --- The machine ---------------------------------------------------------------------------


def machine_info() -> list[tuple[str, str]]:
    from django.conf import settings
    from django.db import connection

    cpu_model = "unknown"
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
        row = cursor.fetchone()
        postgis = row[0] if row else "-"
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        redis_version = client.info("server")["redis_version"]
    finally:
        client.close()
    packages = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in (
            "django",
            "channels",
            "channels-redis",
            "redis",
            "uvicorn",
            "websockets",
            "psycopg",
        )
    )
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    return [
        ("CPUs (nproc)", str(len(os.sched_getaffinity(0)))),
        ("CPU model", cpu_model),
        ("RAM", f"{mem_kib / 1024 / 1024:.1f} GiB"),
        ("Kernel", platform.release()),
        ("Python", platform.python_version()),
        ("PostgreSQL", f"{postgres} (PostGIS {postgis})"),
        ("Redis", redis_version),
        ("Packages", packages),
        ("Load average at start", load),
        ("CPU speed (reference loop)", f"{python_loop_ms():.0f} ms, best of 3"),
    ]


def python_loop_ms(count: int = 10_000_000) -> float:
    """CPU time of a fixed pure-Python loop, best of three. Machines called "2 cores" here
    differ by a factor of two or more in speed (and one machine from hour to hour), so
    every benchmark prints this beside its figures: runs are comparable only at about
    the same value."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        total = 0
        for number in range(count):
            total += number
        best = min(best, time.process_time() - started)
    return best * 1000


def _read_bytes(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        return b""


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


# --- Tables --------------------------------------------------------------------------------


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    title: str = "",
    *,
    numeric: bool = True,
) -> str:
    """Aligned plain text: the first column left-aligned, the others right-aligned
    (left-aligned too unless `numeric`)."""
    cells = [[str(h) for h in headers], *[[_cell(value) for value in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(
            value.ljust(widths[i]) if i == 0 or not numeric else value.rjust(widths[i])
            for i, value in enumerate(row)
        ).rstrip()

    out = [title] if title else []
    out += [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in cells[1:]]
    return "\n".join(out)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p100 is the maximum)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


def rss_mib(pid: int) -> float:
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def backend_cpu_seconds(pid: int) -> float | None:
    """CPU time of one PostgreSQL backend, when the server runs on this machine."""
    if _read(f"/proc/{pid}/comm").strip() != "postgres":
        return None  # PostgreSQL runs elsewhere
    return cpu_seconds(pid)


def redis_cpu_seconds(url: str) -> float | None:
    """CPU time of the Redis server (all its clients), from INFO."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2)
    try:
        info = client.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    except redis.RedisError:
        return None
    finally:
        client.close()
