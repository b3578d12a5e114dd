"""A Nominatim geocoder on loopback: `GET /search?q=...&format=json[&limit=1&countrycodes=se]`
answers with Nominatim's JSON list of places (empty when nothing is found).

A test says which addresses exist (`known`: address → (lon, lat)); matching ignores
case and repeated spaces, as a person types. Every request is recorded.
"""

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class GeocoderRequest:
    path: str
    query: dict[str, str]
    user_agent: str


def _normal(address: str) -> str:
    return " ".join(address.lower().split())


class FakeNominatim:
    """Run with `with FakeNominatim(known) as geocoder:`; point GEOCODER_URL at
    `geocoder.url`."""

    def __init__(self, known: dict[str, tuple[float, float]] | None = None) -> None:
        self._lock = threading.Lock()
        self._places: dict[str, tuple[str, float, float]] = {}
        self._requests: list[GeocoderRequest] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for address, (lon, lat) in (known or {}).items():
            self.add(address, lon, lat)

    def add(self, address: str, lon: float, lat: float) -> None:
        with self._lock:
            self._places[_normal(address)] = (address, lon, lat)

    @property
    def url(self) -> str:
        assert self._server is not None, "start the geocoder first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[GeocoderRequest]:
        with self._lock:
            return list(self._requests)

    def start(self) -> "FakeNominatim":
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakeNominatim":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _respond(self, path: str, query: dict[str, str], user_agent: str) -> tuple[int, str]:
        with self._lock:
            self._requests.append(GeocoderRequest(path, query, user_agent))
            found = self._places.get(_normal(query.get("q", "")))
        if path != "/search":
            return 404, json.dumps({"error": "Unknown path"})
        if query.get("format") not in {"json", "jsonv2"}:
            return 400, json.dumps({"error": "Parameter 'format' must be json"})
        if found is None:
            return 200, "[]"
        address, lon, lat = found
        place = {
            "place_id": 100000 + len(self._places),
            "licence": "Data © OpenStreetMap contributors, ODbL 1.0. https://osm.org/copyright",
            "osm_type": "node",
            "osm_id": 2_000_000_000 + len(self._places),
            "lat": f"{lat:.7f}",
            "lon": f"{lon:.7f}",
            "class": "place",
            "type": "house",
            "place_rank": 30,
            "importance": 0.00001,
            "addresstype": "place",
            "name": address.split(",")[0],
            "display_name": f"{address}, Dalarnas län, Sverige",
            "boundingbox": [
                f"{lat - 0.0001:.7f}",
                f"{lat + 0.0001:.7f}",
                f"{lon - 0.0001:.7f}",
                f"{lon + 0.0001:.7f}",
            ],
        }
        limit = int(query.get("limit", "10") or 10)
        return 200, json.dumps([place][:limit])


def _handler_for(geocoder: FakeNominatim) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {name: values[0] for name, values in parse_qs(parts.query).items()}
            status, body = geocoder._respond(parts.path, query, self.headers.get("User-Agent", ""))
            payload = body.encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format: str, *args) -> None:
            pass

    return Handler
