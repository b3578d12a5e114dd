"""An OSRM router on loopback speaking the `table` service:
`GET /table/v1/driving/{lon,lat;lon,lat;...}?annotations=distance,duration` answers
`{"code": "Ok", "distances": [[...]], "durations": [[...]]}`.

Road distances here are the straight-line planar distance in degrees x `metres_per_degree`
(so a test knows the exact answer), at `speed_m_s`. `fail=True` answers 503, as a router
that is down. Every request's path is recorded.
"""

import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class FakeOsrm:
    def __init__(self, *, metres_per_degree: float = 100_000, speed_m_s: float = 10.0) -> None:
        self.metres_per_degree = metres_per_degree
        self.speed_m_s = speed_m_s
        self.fail = False
        self.paths: list[str] = []
        # hold_first: the first request waits for `release` (a slow router); `holding`
        # says it has arrived, so a test can act while a caller waits for its answer.
        self.hold_first = False
        self.holding = threading.Event()
        self.release = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakeOsrm":
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc_info) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def answer(self, path: str) -> tuple[int, dict]:
        self.paths.append(path)
        if self.hold_first and not self.holding.is_set():
            self.holding.set()
            self.release.wait(timeout=60)
        if self.fail:
            return 503, {"code": "Unavailable"}
        prefix = "/table/v1/driving/"
        if not path.startswith(prefix):
            return 400, {"code": "InvalidService"}
        points = [tuple(map(float, pair.split(","))) for pair in path[len(prefix) :].split(";")]
        distances = [[math.dist(a, b) * self.metres_per_degree for b in points] for a in points]
        durations = [[d / self.speed_m_s for d in row] for row in distances]
        return 200, {"code": "Ok", "distances": distances, "durations": durations}


def _handler_for(fake: FakeOsrm) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = fake.answer(urlsplit(self.path).path)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:
            pass

    return Handler
