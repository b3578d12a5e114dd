#!/usr/bin/env python3
"""Samby's production process layout on one machine, on loopback: N uvicorn web
processes behind one load balancer, M Celery workers and (optionally) one beat. Used by
the load test and the fault tests (tests/faults/), and by hand:

    infra/multiproc.py --web 3 --workers 2 --port 8080            # uses var/services.env
    infra/multiproc.py --web 2 --workers 1 --private --seed       # own PostgreSQL + Redis

The balancer is nginx with infra/nginx/locations.conf (the same locations as
production) when nginx is installed, else a small round-robin TCP balancer in this file
(`--balancer python`): websockets pass through it untouched, but it adds no
X-Forwarded-* headers, so the app then runs with NUM_PROXIES=0.

`--private` starts a PostgreSQL cluster (with PostGIS) and a Redis of its own on free
ports in a temporary directory, migrates it and, with `--seed`, loads the demo data: a
fault test may stop and restart those freely; the machine's shared servers are never
touched. Ctrl-C stops everything this script started.

Only the standard library: the script runs before (and outside) Django.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCATIONS = ROOT / "infra" / "nginx" / "locations.conf"
PRODUCTION_STATIC = "/srv/samby/static/"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def http_status(url: str, timeout: float = 5) -> int | None:
    """The status of GET url, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, urllib.error.URLError):
        return None


def wait_http(url: str, timeout: float = 60, ok=(200,)) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if http_status(url) in ok:
            return
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer {ok} within {timeout} s")


# --- Private PostgreSQL and Redis ------------------------------------------------------------


def pg_bindir() -> Path:
    found = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "postgres").exists()),
        key=lambda p: int(p.parent.name),
    )
    if not found:
        raise RuntimeError("No PostgreSQL server binaries under /usr/lib/postgresql.")
    return found[-1]


def _as_pg_owner(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """initdb and pg_ctl refuse to run as root: run them as the `postgres` user then."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, check=True, capture_output=True, text=True, cwd="/", **kwargs)


@dataclass
class PrivatePostgres:
    """A throwaway cluster under `base`, trusting loopback (nobody else can reach it)."""

    base: Path
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.base / "pgdata"

    @property
    def url(self) -> str:
        return f"postgis://postgres@127.0.0.1:{self.port}/samby"

    def init(self) -> PrivatePostgres:
        self.base.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres")
        _as_pg_owner(
            [
                str(pg_bindir() / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--auth=trust",
            ]
        )
        self.start()
        self.psql("create database samby")
        self.psql("create extension postgis", database="samby")
        return self

    def start(self) -> None:
        _as_pg_owner(
            [
                str(pg_bindir() / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.base / "pg.log"),
                "-w",
                "-t",
                "30",
                "start",
                "-o",
                f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off",
            ]
        )

    def stop(self) -> None:
        _as_pg_owner(
            [str(pg_bindir() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]
        )

    def restart(self, down_for: float = 0) -> None:
        """Stop (fast: open connections are cut), stay down `down_for` seconds, start."""
        self.stop()
        time.sleep(down_for)
        self.start()

    def psql(self, sql: str, database: str = "postgres") -> str:
        return _as_pg_owner(
            [
                "psql",
                "-X",
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.base),
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-c",
                sql,
            ]
        ).stdout


@dataclass
class PrivateRedis:
    """A Redis without persistence: restarting it loses every queue and group, as a
    crashed production Redis without AOF would."""

    base: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        self.base.mkdir(parents=True, exist_ok=True)
        log = open(self.base / "redis.log", "ab")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.base),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own session: Ctrl-C stops the app first, Redis last (in stop()).
            start_new_session=True,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


# --- The layout ---------------------------------------------------------------------------


def nginx_config(*, work: Path, port: int, upstreams: list[int]) -> str:
    """A complete nginx.conf around the production locations, on loopback."""
    static = str(ROOT / "var" / "static") + "/"
    locations = LOCATIONS.read_text().replace(PRODUCTION_STATIC, static)
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=0;" for p in upstreams)
    temp = work / "nginx-tmp"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (temp / sub).mkdir(parents=True, exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    upstream samby_web {{
        least_conn;
{servers}
        keepalive 64;
    }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ""      close;
    }}
    server {{
        listen 127.0.0.1:{port};
        server_name _;
        client_max_body_size 10m;
{locations}
    }}
}}
"""


@dataclass
class Layout:
    """Start with `with Layout(...) as layout:`; every process is in `processes` by
    name (web1.., worker1.., beat, balancer) for a fault test to kill or restart."""

    web: int = 2
    workers: int = 1
    beat: bool = False
    port: int = field(default_factory=free_port)
    balancer: str = "auto"  # nginx, python or auto
    env: dict[str, str] = field(default_factory=dict)
    work: Path | None = None
    worker_concurrency: int = 2
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    web_ports: dict[str, int] = field(default_factory=dict)
    log_offsets: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.balancer == "auto":
            self.balancer = "nginx" if shutil.which("nginx") else "python"
        self.work = Path(self.work or tempfile.mkdtemp(prefix="samby-layout-"))
        self.work.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def child_env(self, name: str) -> dict[str, str]:
        # PGAPPNAME (read by libpq): pg_stat_activity tells which process holds a connection.
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "backend.settings",
            "PGAPPNAME": f"samby-{name}",
        }
        # nginx adds X-Forwarded-For; the TCP balancer adds nothing to trust.
        env["NUM_PROXIES"] = "1" if self.balancer == "nginx" else "0"
        env.update(self.env)
        env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        return env

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        path = self.work / f"{name}.log"
        # Where this run's lines begin, for wait_worker_ready after a restart.
        self.log_offsets[name] = path.stat().st_size if path.exists() else 0
        log = open(path, "ab")  # noqa: SIM115 - lives with the process
        # Own process group: stopping a worker stops its pool children with it.
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=self.child_env(name),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def start_web(self, name: str) -> None:
        port = self.web_ports.setdefault(name, free_port())
        self._spawn(
            name,
            [
                sys.executable,
                "-m",
                "uvicorn",
                "backend.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--ws",
                "websockets-sansio",
                "--lifespan",
                "off",
                "--no-access-log",
                "--proxy-headers",
                "--forwarded-allow-ips",
                "127.0.0.1",
                "--timeout-graceful-shutdown",
                "5",
            ],
        )

    def start_worker(self, name: str, include: tuple[str, ...] = ()) -> None:
        """`include`: further task modules to load (a test's own tasks)."""
        extra = [arg for module in include for arg in ("--include", module)]
        self._spawn(
            name,
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "backend",
                "worker",
                "-l",
                "info",
                "-n",
                f"{name}@%h",
                "--concurrency",
                str(self.worker_concurrency),
                "--without-gossip",
                "--without-mingle",
                *extra,
            ],
        )

    def start_beat(self) -> None:
        self._spawn(
            "beat",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "backend",
                "beat",
                "-l",
                "info",
                "--schedule",
                str(self.work / "celerybeat-schedule"),
            ],
        )

    def start_balancer(self) -> None:
        upstreams = list(self.web_ports.values())
        if self.balancer == "nginx":
            conf = self.work / "nginx.conf"
            conf.write_text(nginx_config(work=self.work, port=self.port, upstreams=upstreams))
            self._spawn("balancer", ["nginx", "-p", str(self.work), "-c", str(conf)])
        else:
            backends = [arg for p in upstreams for arg in ("--backend", f"127.0.0.1:{p}")]
            self._spawn(
                "balancer",
                [
                    sys.executable,
                    str(Path(__file__)),
                    "balance",
                    "--port",
                    str(self.port),
                    *backends,
                ],
            )

    def wait_worker_ready(self, name: str, timeout: float = 60) -> None:
        """Celery logs `<name>@host ready.` once it consumes."""
        log = self.work / f"{name}.log"
        start = self.log_offsets.get(name, 0)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited; see {log}")
            with open(log, "rb") as handle:
                handle.seek(start)
                if b" ready." in handle.read():
                    return
            time.sleep(0.2)
        raise TimeoutError(f"{name} not ready after {timeout} s; see {log}")

    def start(self) -> Layout:
        """Start everything and wait until it serves; if any part does not come up,
        stop what was started (no process outlives a failed start)."""
        try:
            for i in range(1, self.web + 1):
                self.start_web(f"web{i}")
            for i in range(1, self.workers + 1):
                self.start_worker(f"worker{i}")
            if self.beat:
                self.start_beat()
            for name, port in self.web_ports.items():
                wait_http(f"http://127.0.0.1:{port}/healthz", ok=(200, 503))
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"{name} exited; see {self.work / (name + '.log')}")
            self.start_balancer()
            wait_http(f"{self.url}/healthz", ok=(200, 503))
            for i in range(1, self.workers + 1):
                self.wait_worker_ready(f"worker{i}")
        except BaseException:
            self.stop()
            raise
        return self

    def signal(self, name: str, sig: int) -> None:
        """Send `sig` to the process (not its group: a pool child stays, as in a real
        crash of the parent)."""
        self.processes[name].send_signal(sig)

    def stop_process(self, name: str, timeout: float = 15) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def stop(self) -> None:
        for name in ["balancer", *[n for n in self.processes if n != "balancer"]]:
            self.stop_process(name)

    def __enter__(self) -> Layout:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


# --- The Python balancer ------------------------------------------------------------------


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def balance(port: int, backends: list[tuple[str, int]]) -> None:
    """Round-robin TCP: each connection goes to the next backend that accepts it."""
    turn = itertools.cycle(range(len(backends)))

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        first = next(turn)
        for offset in range(len(backends)):
            host, backend_port = backends[(first + offset) % len(backends)]
            try:
                server_r, server_w = await asyncio.open_connection(host, backend_port)
                break
            except OSError:
                continue
        else:
            client_w.close()
            return
        await asyncio.gather(_pipe(client_r, server_w), _pipe(server_r, client_w))

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=2048)
    async with server:
        await server.serve_forever()


# --- Command line ---------------------------------------------------------------------------


def _services_env() -> dict[str, str]:
    env_file = ROOT / "var" / "services.env"
    values = {}
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            if line.startswith("export "):
                name, _, value = line[len("export ") :].partition("=")
                values[name] = value.strip("'\"")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    bal = sub.add_parser("balance", help="run only the round-robin TCP balancer")
    bal.add_argument("--port", type=int, required=True)
    bal.add_argument("--backend", action="append", required=True, help="host:port")
    parser.add_argument("--web", type=int, default=2, help="uvicorn processes (default 2)")
    parser.add_argument("--workers", type=int, default=1, help="Celery workers (default 1)")
    parser.add_argument("--concurrency", type=int, default=2, help="processes per worker")
    parser.add_argument("--no-beat", action="store_true", help="do not start Celery beat")
    parser.add_argument("--port", type=int, default=8080, help="balancer port (default 8080)")
    parser.add_argument("--balancer", choices=["auto", "nginx", "python"], default="auto")
    parser.add_argument("--private", action="store_true", help="own PostgreSQL and Redis")
    parser.add_argument("--seed", action="store_true", help="load the demo data")
    args = parser.parse_args(argv)

    if args.command == "balance":
        pairs = [(b.rsplit(":", 1)[0], int(b.rsplit(":", 1)[1])) for b in args.backend]
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(balance(args.port, pairs))
        return 0

    env = _services_env()
    work = Path(tempfile.mkdtemp(prefix="samby-multiproc-"))
    work.chmod(0o755)  # the postgres user enters it when we run as root
    pg = redis = None
    if args.private:
        pg = PrivatePostgres(work / "pg").init()
        redis = PrivateRedis(work / "redis").start()
        env.update(DATABASE_URL=pg.url, REDIS_URL=redis.url)
    env.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
    run_env = {**os.environ, **env, "DJANGO_SETTINGS_MODULE": "backend.settings"}
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=run_env, check=True)
    # nginx serves what collectstatic wrote (as in production); the app serves the rest.
    subprocess.run(
        [*manage, "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=run_env, check=True
    )
    if args.seed:
        subprocess.run([*manage, "seed_demo"], cwd=ROOT, env=run_env, check=True)
    layout = Layout(
        web=args.web,
        workers=args.workers,
        beat=not args.no_beat,
        port=args.port,
        balancer=args.balancer,
        env=env,
        work=work,
        worker_concurrency=args.concurrency,
    )
    try:
        with layout:
            print(
                f"Samby on {layout.url}/ ({args.web} web, {args.workers} worker(s), "
                f"{layout.balancer} balancer); logs in {work}. Ctrl-C stops.",
                flush=True,
            )
            while all(p.poll() is None for p in layout.processes.values()):
                time.sleep(1)
            dead = [n for n, p in layout.processes.items() if p.poll() is not None]
            print(f"stopped: {', '.join(dead)} exited; see {work}", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        return 0
    finally:
        if redis:
            redis.stop()
        if pg:
            pg.stop()
            shutil.rmtree(pg.base, ignore_errors=True)  # the logs stay, the data goes


if __name__ == "__main__":
    sys.exit(main())
