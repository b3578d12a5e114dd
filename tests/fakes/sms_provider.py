"""An SMS provider on loopback that speaks both APIs Samby sends through.

- 46elks: `POST /a1/sms` with form fields from, to, message; answers 200 with JSON
  whose `id` names the message; errors are plain text.
- Twilio: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with From, To, Body;
  answers 201 with JSON whose `sid` names the message; errors are JSON with `code`,
  `message`, `more_info` and `status`.

Both want HTTP Basic auth with the account's credentials (401 otherwise). Every request
is recorded; a test scripts the next answers ("the next 2 requests get 503", "the next
one answers after 2 s"). The Twilio half also signs inbound webhooks the way Twilio does.
"""

import base64
import binascii
import hashlib
import hmac
import itertools
import json
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

ELKS_PATH = "/a1/sms"
USERNAME = "ACfake0123456789abcdef0123456789"  # shaped like a Twilio account sid
PASSWORD = "fake-auth-token"


@dataclass(frozen=True)
class ProviderRequest:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    form: dict[str, str]
    status: int  # what the fake answered


@dataclass(frozen=True)
class Scripted:
    status: int
    body: str = ""
    delay: float = 0.0


class FakeSmsProvider:
    """Run with `with FakeSmsProvider() as provider:`; point SMS_API_URL at `provider.url`."""

    def __init__(self, *, username: str = USERNAME, password: str = PASSWORD) -> None:
        self.username, self.password = username, password
        self._lock = threading.Lock()
        self._requests: list[ProviderRequest] = []
        self._script: deque[Scripted] = deque()
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the provider first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def twilio_path(self) -> str:
        return f"/2010-04-01/Accounts/{self.username}/Messages.json"

    def answer_next(
        self, status: int, *, times: int = 1, body: str = "", delay: float = 0.0
    ) -> None:
        """The next `times` requests get `status` (after `delay` seconds); then the fake
        goes back to accepting messages."""
        with self._lock:
            self._script.extend(Scripted(status, body, delay) for _ in range(times))

    def stall_next(self, seconds: float, *, times: int = 1) -> None:
        """The next requests get no answer for `seconds`: a client with a shorter
        timeout gives up first."""
        self.answer_next(200, times=times, delay=seconds)

    @property
    def requests(self) -> list[ProviderRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def accepted(self) -> list[ProviderRequest]:
        """The messages the provider took (and would have delivered)."""
        return [r for r in self.requests if 200 <= r.status < 300]

    def start(self) -> "FakeSmsProvider":
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll keeps stop() (shutdown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes stalled handlers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakeSmsProvider":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # --- the provider's side of the protocol ---------------------------------------------

    def _respond(self, method: str, path: str, headers: dict, form: dict) -> tuple[int, str, str]:
        """Status, content type and body for one request (and record it)."""
        with self._lock:
            scripted = self._script.popleft() if self._script else None
        if scripted is not None and scripted.delay:
            self._stopping.wait(scripted.delay)
        twilio = path == self.twilio_path
        if path not in {ELKS_PATH, self.twilio_path} or method != "POST":
            status, kind, body = 404, "text/plain", "Not found"
        elif not self._authorised(headers.get("authorization", "")):
            status, kind, body = _error(twilio, 401, 20003, "Authenticate")
        elif scripted is not None and scripted.status >= 300:
            status, kind, body = _error(
                twilio, scripted.status, 20500, scripted.body or "Service unavailable"
            )
        else:
            status, kind, body = self._accept(twilio, form)
        with self._lock:
            self._requests.append(ProviderRequest(method, path, headers, form, status))
        return status, kind, body

    def _authorised(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        return decoded == f"{self.username}:{self.password}"

    def _accept(self, twilio: bool, form: dict) -> tuple[int, str, str]:
        number = next(self._ids)
        if twilio:
            missing = [f for f in ("From", "To", "Body") if not form.get(f)]
            if missing:
                return _error(True, 400, 21604, f"A '{missing[0]}' parameter is required.")
            sid = f"SM{number:032x}"
            answer = {
                "sid": sid,
                "account_sid": self.username,
                "from": form["From"],
                "to": form["To"],
                "body": form["Body"],
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "uri": f"{self.twilio_path.removesuffix('.json')}/{sid}.json",
            }
            return 201, "application/json", json.dumps(answer)
        missing = [f for f in ("from", "to", "message") if not form.get(f)]
        if missing:
            return _error(False, 400, 0, f"Missing key {missing[0]}")
        answer = {
            "status": "created",
            "direction": "outgoing",
            "from": form["from"],
            "to": form["to"],
            "message": form["message"],
            "id": f"s{number:032x}",
            "parts": 1,
            "cost": 3500,
        }
        return 200, "application/json", json.dumps(answer)


def _error(twilio: bool, status: int, code: int, message: str) -> tuple[int, str, str]:
    if twilio:
        body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        return status, "application/json", json.dumps(body)
    return status, "text/plain", message


def _handler_for(provider: FakeSmsProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length).decode()
            form = {name: values[0] for name, values in parse_qs(raw).items()}
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, kind, body = provider._respond("POST", self.path, headers, form)
            payload = body.encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left

        def log_message(self, format: str, *args) -> None:
            pass

    return Handler


def twilio_signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """X-Twilio-Signature as Twilio computes it for a webhook: HMAC-SHA1 (keyed with the
    auth token) over the URL followed by every POST parameter's name and value, in
    name order; base64."""
    data = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@pytest.fixture
def sms_provider(settings):
    """The fake provider running, and Samby configured to send through it as 46elks;
    a test switches to Twilio with `settings.SMS_BACKEND = "twilio"`."""
    with FakeSmsProvider() as provider:
        settings.SMS_BACKEND = "elks"
        settings.SMS_API_URL = provider.url
        settings.SMS_API_USERNAME = provider.username
        settings.SMS_API_PASSWORD = provider.password
        settings.SMS_SENDER = "+46766860000"
        settings.SMS_TIMEOUT = 5
        yield provider
