"""Browser tests: a real Chromium (Debian's, driven by Playwright) against the real ASGI
application served by uvicorn in a thread of the test process, with the Redis channel
layer, PostgreSQL/PostGIS and static files compressed as in production (WhiteNoise
serving the gzip files collectstatic wrote).

The server shares the test database (transactional tests: what a test writes is
committed and the server sees it). Map tiles point at a closed port, so every map page
also shows that the page works without tiles."""

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client, override_settings

from tests.fakes.sms_provider import sms_provider  # noqa: F401 - the SMS sign-in test's fixture

HERE = Path(__file__).resolve().parent
AXE = HERE / "vendor" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(django_settings.BASE_DIR) / "var" / "screenshots"
# Transferred bytes per page load (HTML, CSS, scripts, icons), map tiles excluded.
PAGE_BUDGET = 100_000
TILES = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"
STATIC_STORAGE = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

pytestmark = pytest.mark.e2e


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def static_root(tmp_path_factory) -> Path:
    """Static files as production serves them: collected, with .gz beside each file."""
    root = tmp_path_factory.mktemp("static")
    with override_settings(STATIC_ROOT=root, STORAGES=STATIC_STORAGE):
        call_command(
            "collectstatic",
            interactive=False,
            verbosity=0,
            ignore_patterns=["drf_spectacular_sidecar", "admin", "rest_framework", "gis"],
        )
    return root


@dataclass
class LiveServer:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _application():
    """A fresh ASGI application, built after the test's settings are in place: the same
    stack as production (backend.asgi)."""
    from backend.asgi import build_application

    return build_application()


@pytest.fixture
def live(transactional_db, settings, static_root, monkeypatch):
    """The app served on a free port of 127.0.0.1; `live.url` is its address."""
    # Playwright's sync API keeps an event loop in this thread; the ORM calls a test
    # makes between browser steps are plain synchronous code all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.STATIC_ROOT = static_root
    settings.STORAGES = STATIC_STORAGE
    settings.MAP_TILE_URL = TILES
    settings.ROUTER_URL = ""
    settings.GEOCODER_URL = ""
    settings.DRIVER_POSITION_INTERVAL = 1
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        _application(), log_level="warning", lifespan="off", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    running = LiveServer(url=f"http://127.0.0.1:{port}", server=server, thread=thread)
    yield running
    running.stop()
    sock.close()


# Package scope: Playwright's sync API holds an event loop in the test thread while it is
# open, and the ORM refuses to run in a thread with a loop; the tests after tests/e2e
# must find it closed.
@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: infra/bootstrap.sh installs Debian's chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def phone(browser, live):
    """new_phone(user=None, **options): a browser context at a phone's size, signed in
    as `user` (through a real session) when given."""
    contexts = []

    def new_phone(user=None, *, language: str = "en", **options):
        context = browser.new_context(
            viewport=PHONE,
            base_url=live.url,
            locale="sv-SE" if language == "sv" else "en-GB",
            **options,
        )
        context.set_default_timeout(10_000)
        cookies = [{"name": "django_language", "value": language, "url": live.url}]
        if user is not None:
            client = Client()
            client.force_login(user)
            cookies.append(
                {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live.url}
            )
        context.add_cookies(cookies)
        contexts.append(context)
        return context

    yield new_phone
    for context in contexts:
        context.close()


def check_axe(page) -> None:
    """No violations of WCAG 2.1 A/AA that axe-core finds on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
        })"""
    )
    problems = [
        {
            "rule": violation["id"],
            "help": violation["help"],
            "nodes": [node["target"] for node in violation["nodes"]][:5],
        }
        for violation in results["violations"]
    ]
    assert problems == [], f"{page.url}:\n{json.dumps(problems, indent=2, ensure_ascii=False)}"


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@dataclass
class Transfer:
    """Bytes a page load moved over the network (headers and encoded bodies)."""

    rows: list[tuple[str, int]] = field(default_factory=list)

    def watch(self, page) -> None:
        page.on("requestfinished", self._record)

    def _record(self, request) -> None:
        if "/tiles/" in request.url:
            return
        sizes = request.sizes()
        self.rows.append((request.url, sizes["responseBodySize"] + sizes["responseHeadersSize"]))

    @property
    def total(self) -> int:
        return sum(size for _url, size in self.rows)


def wait_live(page) -> None:
    """Until the page's websocket is open (live events can reach it)."""
    page.wait_for_function("document.body.dataset.liveState === 'open'")


def off_loop(function, /, **kwargs):
    """Run a service in a worker thread, as the Celery worker would: Playwright's event
    loop in the test's thread would refuse the channel layer's async_to_sync."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def run():
        try:
            return function(**kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result(timeout=30)
