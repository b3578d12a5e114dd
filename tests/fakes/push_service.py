"""A Web Push service on loopback, and the browser half that decrypts what it receives.

The service speaks the server side of RFC 8030 as far as a sender sees it: it takes a
POST to a subscription's endpoint, keeps it, and answers 201 Created with a Location;
or, when told, 404/410 (subscription gone), 429 (slow down) or 500. The browser half
holds the keys a real browser makes when it subscribes (an ECDH P-256 pair and a
16-byte auth secret), so a test reads the payload exactly as the phone would.
"""

import base64
import itertools
import os
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class ReceivedPush:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class FakeBrowser:
    """One browser's subscription keys, as `PushManager.subscribe()` makes them."""

    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    def subscription_json(self, endpoint: str) -> dict:
        """What `PushSubscription.toJSON()` gives in the page."""
        return {
            "endpoint": endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": self.auth},
        }

    def decrypt(self, body: bytes) -> bytes:
        return http_ece.decrypt(
            body, version="aes128gcm", private_key=self.private_key, auth_secret=self.auth_secret
        )


class FakePushService:
    """Run with `with FakePushService() as service:`; endpoints are
    `service.endpoint("name")`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[ReceivedPush] = []
        self._answers: dict[str, tuple[int, int | None]] = {}
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def origin(self) -> str:
        assert self._server is not None, "start the service first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def endpoint(self, name: str) -> str:
        return f"{self.origin}/wpush/{name}"

    def answer(self, endpoint: str, status: int, *, times: int | None = None) -> None:
        """Answer POSTs to `endpoint` (URL or path) with `status`: from now on, or for the
        next `times` POSTs and then 201 again."""
        with self._lock:
            self._answers[self._path(endpoint)] = (status, times)

    def received(self, endpoint: str | None = None) -> list[ReceivedPush]:
        with self._lock:
            if endpoint is None:
                return list(self._received)
            path = self._path(endpoint)
            return [push for push in self._received if push.path == path]

    def start(self) -> "FakePushService":
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                push = ReceivedPush(
                    path=self.path,
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=body,
                )
                with service._lock:
                    service._received.append(push)
                    status, times = service._answers.get(self.path, (201, None))
                    if times is not None:
                        left = times - 1
                        if left > 0:
                            service._answers[self.path] = (status, left)
                        else:
                            del service._answers[self.path]
                    message_id = next(service._ids)
                self.send_response(status)
                if status == 201:
                    self.send_header("Location", f"/message/{message_id}")
                if status == 429:
                    self.send_header("Retry-After", "60")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakePushService":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _path(self, endpoint: str) -> str:
        return endpoint.removeprefix(self.origin)
